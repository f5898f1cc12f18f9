/** Every named scenario, in the order the default suite runs them. */

import type { Scenario } from '../sim/world.ts';
import { clockSkew } from './clock-skew.ts';
import { laptopDies } from './laptop-dies.ts';
import { longOffline } from './long-offline.ts';
import { manyPeers } from './many-peers.ts';
import { offlineEdit } from './offline-edit.ts';
import { partitionSync } from './partition-sync.ts';
import { piDies } from './pi-dies.ts';
import { tabClosed } from './tab-closed.ts';

/** The scenario suite. */
export const SCENARIOS: readonly Scenario[] = [
  offlineEdit,
  laptopDies,
  piDies,
  tabClosed,
  clockSkew,
  partitionSync,
  longOffline,
  manyPeers,
];

/** The scenario called `name`, or undefined. */
export function getScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
