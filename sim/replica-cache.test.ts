/**
 * The replica memo answers exactly as the replica would: checked against twin databases (same
 * identity, clock and operations), one asked through the memo and one directly, over random
 * sequences of local writes, commits, entries ingested from another device and questions.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Database } from '../engine/db/database.ts';
import { MemoryFs } from '../engine/io/memory-fs.ts';
import { type Identity, identityFromSeed } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { authorToHex, type StateVector } from '../engine/sync/messages.ts';
import type { IngestResult, SyncReplica } from '../engine/sync/session.ts';
import { ReplicaCache } from './replica-cache.ts';

function identityOf(seed: number): Identity {
  return identityFromSeed(new Uint8Array(32).fill(seed));
}

/** The author (hex) of device `seed`. */
function authorOf(seed: number): string {
  return authorToHex(identityOf(seed).publicKey);
}

/** A database with a clock that ticks one ms per reading (the same readings for twins). */
function device(seed: number, groupCommitEntries: number): Database {
  let t = 1_700_000_000_000 + seed;
  return Database.open({
    fs: new MemoryFs(),
    identity: identityFromSeed(new Uint8Array(32).fill(seed)),
    clock: { nowMs: () => t++ },
    signer: nodeSigner,
    groupCommitEntries,
  });
}

type Step =
  | { kind: 'write'; id: number; commit: boolean }
  | { kind: 'commit' }
  | { kind: 'remote-write'; id: number }
  | { kind: 'ingest'; next: boolean; from: number; count: number }
  | { kind: 'state-vector' }
  | { kind: 'head-hash'; who: 'local' | 'remote'; seq: number }
  | { kind: 'read-feed'; who: 'local' | 'remote'; from: number; limit: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), id: fc.nat(5), commit: fc.boolean() }),
  fc.record({ kind: fc.constant('commit' as const) }),
  fc.record({ kind: fc.constant('remote-write' as const), id: fc.nat(5) }),
  fc.record({
    kind: fc.constant('ingest' as const),
    next: fc.boolean(),
    from: fc.integer({ min: 1, max: 12 }),
    count: fc.nat(6),
  }),
  fc.record({ kind: fc.constant('state-vector' as const) }),
  fc.record({
    kind: fc.constant('head-hash' as const),
    who: fc.constantFrom('local' as const, 'remote' as const),
    seq: fc.integer({ min: 1, max: 14 }),
  }),
  fc.record({
    kind: fc.constant('read-feed' as const),
    who: fc.constantFrom('local' as const, 'remote' as const),
    from: fc.integer({ min: 1, max: 14 }),
    limit: fc.integer({ min: 1, max: 5 }),
  }),
);

/** Counts the questions that reach the replica behind the memo. */
class Counting implements SyncReplica {
  asked = 0;
  constructor(private readonly inner: SyncReplica) {}
  stateVector(): StateVector {
    this.asked++;
    return this.inner.stateVector();
  }
  headHash(author: string, seq: number): Uint8Array | undefined {
    this.asked++;
    return this.inner.headHash(author, seq);
  }
  readFeed(author: string, fromSeq: number, options: { limit: number; maxBytes: number }): Uint8Array[] {
    this.asked++;
    return this.inner.readFeed(author, fromSeq, options);
  }
  ingest(entries: Uint8Array[]): IngestResult {
    return this.inner.ingest(entries);
  }
}

describe('ReplicaCache', () => {
  it('answers as the replica does, whatever happens between the questions', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 3), fc.array(step, { maxLength: 40 }), (group, steps) => {
        const direct = device(1, group);
        const cached = device(1, group);
        const remote = device(2, 1);
        const counting = new Counting(cached.replica);
        const cache = new ReplicaCache(counting);
        const localAuthor = authorOf(1);
        const remoteAuthor = authorOf(2);
        const remoteHeld = (db: Database) => db.feeds.head(identityOf(2).publicKey)?.seq;
        let questions = 0;
        for (const s of steps) {
          if (s.kind === 'write') {
            for (const db of [direct, cached])
              db.transaction((tx) => tx.put('c', `d${s.id}`, { n: s.id }), { commit: s.commit });
            cache.changed();
          } else if (s.kind === 'commit') {
            direct.commit();
            cached.commit();
            cache.changed();
          } else if (s.kind === 'remote-write') {
            remote.transaction((tx) => tx.put('c', `d${s.id}`, { r: s.id }), { commit: true });
          } else if (s.kind === 'ingest') {
            // What a sync session would send next, or any range (a duplicate, or a gap).
            const from = s.next ? (remoteHeld(direct) ?? 0) + 1 : s.from;
            const wire = remote.replica.readFeed(remoteAuthor, from, { limit: s.count, maxBytes: 1 << 20 });
            const a = direct.replica.ingest(wire.map((w) => w.slice()));
            const b = cache.ingest(wire.map((w) => w.slice()));
            expect(b).toEqual(a);
          } else if (s.kind === 'state-vector') {
            questions++;
            const a = direct.replica.stateVector();
            const b = cache.stateVector();
            expect(b).toEqual(a);
            // A caller may change the map it gets without changing the next answer.
            b.clear();
          } else if (s.kind === 'read-feed') {
            questions++;
            const author = s.who === 'local' ? localAuthor : remoteAuthor;
            const options = { limit: s.limit, maxBytes: 1 << 20 };
            const b = cache.readFeed(author, s.from, options);
            expect(b).toEqual(direct.replica.readFeed(author, s.from, options));
            b.length = 0;
          } else {
            questions++;
            const author = s.who === 'local' ? localAuthor : remoteAuthor;
            const a = direct.replica.headHash(author, s.seq);
            const b = cache.headHash(author, s.seq);
            expect(b).toEqual(a);
            b?.fill(0);
          }
        }
        // The stores behind both stayed identical (the memo skipped no signing or syncing).
        expect(cached.stateHash()).toBe(direct.stateHash());
        expect(cached.replica.stateVector()).toEqual(direct.replica.stateVector());
        expect(counting.asked).toBeLessThanOrEqual(questions);
      }),
      { numRuns: 100 },
    );
  });

  it('asks the replica once while nothing changes, and again after a change', () => {
    const db = device(3, 1);
    db.transaction((tx) => tx.put('c', 'd', { n: 1 }), { commit: true });
    const counting = new Counting(db.replica);
    const cache = new ReplicaCache(counting);
    const author = authorOf(3);
    for (let i = 0; i < 5; i++) {
      cache.stateVector();
      cache.headHash(author, 1);
      cache.headHash(author, 2);
    }
    expect(counting.asked).toBe(3);
    expect(cache.stats).toMatchObject({ hits: 12, misses: 3 });
    db.transaction((tx) => tx.put('c', 'd', { n: 2 }), { commit: true });
    cache.changed();
    expect(cache.stateVector().get(author)).toBe(2);
    expect(cache.headHash(author, 2)).toEqual(db.replica.headHash(author, 2));
    // The hash of entry 1 is still remembered: a held entry never changes.
    cache.headHash(author, 1);
    expect(counting.asked).toBe(5);
  });

  it('remembers a feed range by the signed head: more entries signed, a longer range', () => {
    const db = device(6, 2);
    const author = authorOf(6);
    const cache = new ReplicaCache(db.replica);
    const write = (n: number) => {
      db.transaction((tx) => tx.put('c', 'd', { n }));
      cache.changed();
    };
    for (let n = 1; n <= 3; n++) write(n);
    // Entries 1 and 2 are signed (a group of two), entry 3 is pending until the state vector.
    expect(cache.stateVector().get(author)).toBe(3);
    expect(cache.readFeed(author, 1, { limit: 10, maxBytes: 1 << 20 })).toHaveLength(3);
    expect(cache.stats.misses).toBe(2);
    expect(cache.readFeed(author, 1, { limit: 10, maxBytes: 1 << 20 })).toHaveLength(3);
    expect(cache.stats.hits).toBe(1);
    write(4);
    write(5);
    expect(cache.stateVector().get(author)).toBe(5);
    expect(cache.readFeed(author, 1, { limit: 10, maxBytes: 1 << 20 })).toEqual(
      db.replica.readFeed(author, 1, { limit: 10, maxBytes: 1 << 20 }),
    );
    expect(cache.readFeed(author, 1, { limit: 10, maxBytes: 1 << 20 })).toHaveLength(5);
  });

  it('counts entries applied by ingest', () => {
    const a = device(4, 1);
    const b = device(5, 1);
    b.transaction((tx) => tx.put('c', 'd', { n: 1 }), { commit: true });
    b.transaction((tx) => tx.put('c', 'e', { n: 2 }), { commit: true });
    const author = authorOf(5);
    const cache = new ReplicaCache(a.replica);
    expect(cache.stateVector().size).toBe(0);
    cache.ingest(b.replica.readFeed(author, 1, { limit: 10, maxBytes: 1 << 20 }));
    expect(cache.stats.applied).toBe(2);
    expect(cache.stateVector().get(author)).toBe(2);
  });
});
