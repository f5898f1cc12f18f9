/**
 * Shared pieces of the query tests: an in-memory database on a counting clock, and the JSON
 * values the differential and model tests draw (every type the total order ranks, with ties).
 */

import fc from 'fast-check';
import type { JsonValue } from '../crdt/lww.ts';
import { Database } from '../db/database.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { identityFromSeed } from '../log/identity.ts';

/** A fresh in-memory database of the device whose key seed is 32 bytes of `seedByte`; its clock ticks 1 ms a read. */
export function openTestDatabase(seedByte: number): Database {
  const clock = { t: 1_700_000_000_000, nowMs: () => clock.t++ };
  return Database.open({
    fs: new MemoryFs(),
    identity: identityFromSeed(new Uint8Array(32).fill(seedByte)),
    clock,
  });
}

/** Small JSON values of every type, with many equal and near-equal ones. */
export const queryValueArb: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(null, true, false, 'a', 'b', 'é', [1], { x: [2] }),
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
);
