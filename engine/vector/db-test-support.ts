/**
 * Helpers shared by the tests of the collection vector index and its subscriptions: databases
 * on memory file systems, sync between them through the replica API, and seeded vectors.
 */

import { Database } from '../db/database.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import type { Random } from '../io/random.ts';
import { identityFromSeed } from '../log/identity.ts';

/** A database of device `n` (its own key) over `fs`, with a deterministic clock. */
export function openDb(n: number, fs: MemoryFs = new MemoryFs()): Database {
  const clock = { t: 1_700_000_000_000, nowMs: () => clock.t++ };
  return Database.open({
    fs,
    identity: identityFromSeed(new Uint8Array(32).fill(n + 1)),
    clock,
    groupCommitEntries: 4,
  });
}

/** Gives `to` every signed entry `from` holds (a sync in one direction); returns entries applied. */
export function syncInto(to: Database, from: Database): number {
  let applied = 0;
  for (const [author, seq] of from.replica.stateVector()) {
    if (seq > 0)
      applied += to.replica.ingest(from.replica.readFeed(author, 1, { limit: 1e6, maxBytes: 1e9 })).applied;
  }
  return applied;
}

/** A vector of `dim` components in [-1, 1), rounded to 3 decimals (JSON-friendly, ties likely). */
export function randomVector(random: Random, dim: number): number[] {
  const v: number[] = [];
  for (let i = 0; i < dim; i++) v.push(Math.round((random.next() * 2 - 1) * 1000) / 1000);
  // Never all zero, so every generated vector is valid under cosine.
  if (!v.some((x) => x !== 0)) v[0] = 1;
  return v;
}

/** The stable code of a typed error `fn` throws, 'none', or 'untyped ...'. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? code : `untyped ${String(err)}`;
  }
  return 'none';
}
