/**
 * The benchmark suites by name. A new suite is a module exporting a {@link Suite}, added here;
 * `aregula bench` and its `--help` pick it up from this list.
 */

import { durabilitySuite } from './durability/suite.ts';
import { lsmSuite } from './lsm/suite.ts';
import { mergeSuite } from './merge/suite.ts';
import { querySuite } from './query/suite.ts';
import { seedSuite } from './seed/suite.ts';
import { simSuite } from './sim/suite.ts';
import { syncSuite } from './sync/suite.ts';
import type { Suite } from './types.ts';
import { vectorSuite } from './vector/suite.ts';

/** Every registered suite, in the order `aregula bench` runs them when none is named. */
export const SUITES: readonly Suite[] = [
  lsmSuite,
  seedSuite,
  querySuite,
  simSuite,
  vectorSuite,
  mergeSuite,
  durabilitySuite,
  syncSuite,
];

/** The suite called `name`, or undefined. */
export function findSuite(name: string): Suite | undefined {
  return SUITES.find((s) => s.name === name);
}
