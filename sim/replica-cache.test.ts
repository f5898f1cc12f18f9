/** The replica memo answers exactly as the replica, only within a step, and forgets on ingest. */

import { describe, expect, it } from 'vitest';
import type { StateVector } from '../engine/sync/messages.ts';
import type { IngestResult, SyncReplica } from '../engine/sync/session.ts';
import { ReplicaCache } from './replica-cache.ts';

/** A replica whose answers change with every ingest, counting the questions asked. */
class FakeReplica implements SyncReplica {
  calls = { stateVector: 0, headHash: 0, readFeed: 0, ingest: 0 };
  head = 1;

  stateVector(): StateVector {
    this.calls.stateVector++;
    return new Map([['aa', this.head]]);
  }

  headHash(_author: string, seq: number): Uint8Array | undefined {
    this.calls.headHash++;
    return seq > this.head ? undefined : Uint8Array.of(seq, this.head);
  }

  readFeed(): Uint8Array[] {
    this.calls.readFeed++;
    return [];
  }

  ingest(entries: Uint8Array[]): IngestResult {
    this.calls.ingest++;
    this.head += entries.length;
    return { applied: entries.length, gapped: [], rejected: [] };
  }
}

describe('ReplicaCache', () => {
  it('passes every call through outside a step', () => {
    const fake = new FakeReplica();
    const cache = new ReplicaCache(fake);
    cache.stateVector();
    cache.stateVector();
    cache.headHash('aa', 1);
    cache.headHash('aa', 1);
    expect(fake.calls).toMatchObject({ stateVector: 2, headHash: 2 });
    expect(cache.stats).toEqual({ hits: 0, misses: 0, applied: 0 });
  });

  it('remembers reads within a step, and gives copies', () => {
    const fake = new FakeReplica();
    const cache = new ReplicaCache(fake);
    cache.during(() => {
      const a = cache.stateVector();
      a.set('aa', 99);
      expect(cache.stateVector()).toEqual(new Map([['aa', 1]]));
      const h = cache.headHash('aa', 1)!;
      h[0] = 42;
      expect(cache.headHash('aa', 1)).toEqual(Uint8Array.of(1, 1));
      expect(cache.headHash('aa', 2)).toBeUndefined();
      expect(cache.headHash('aa', 2)).toBeUndefined();
      // Nested steps share the memo.
      cache.during(() => cache.stateVector());
      expect(cache.stateVector()).toEqual(new Map([['aa', 1]]));
    });
    expect(fake.calls).toMatchObject({ stateVector: 1, headHash: 2 });
    expect(cache.stats).toEqual({ hits: 5, misses: 3, applied: 0 });
    // After the step, the replica is asked again.
    cache.during(() => cache.stateVector());
    expect(fake.calls.stateVector).toBe(2);
  });

  it('forgets on ingest, so answers after it are the new ones', () => {
    const fake = new FakeReplica();
    const cache = new ReplicaCache(fake);
    cache.during(() => {
      expect(cache.stateVector().get('aa')).toBe(1);
      expect(cache.headHash('aa', 2)).toBeUndefined();
      expect(cache.ingest([new Uint8Array(1)]).applied).toBe(1);
      expect(cache.stateVector().get('aa')).toBe(2);
      expect(cache.headHash('aa', 2)).toEqual(Uint8Array.of(2, 2));
    });
    expect(fake.calls).toMatchObject({ stateVector: 2, headHash: 2, ingest: 1 });
    // Entries applied are counted (a peer's sync pacing measures change by them).
    cache.ingest([new Uint8Array(1), new Uint8Array(1)]);
    expect(cache.stats.applied).toBe(3);
  });

  it('forgets when a step throws', () => {
    const fake = new FakeReplica();
    const cache = new ReplicaCache(fake);
    expect(() =>
      cache.during(() => {
        cache.stateVector();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    fake.head = 5;
    cache.during(() => expect(cache.stateVector().get('aa')).toBe(5));
  });
});
