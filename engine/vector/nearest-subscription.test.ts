import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { SeededRandom } from '../io/random.ts';
import { createVectorIndex, type VectorIndexOptions } from './collection-index.ts';
import { codeOf, openDb, randomVector, syncInto } from './db-test-support.ts';
import type { DocFilter, VectorFilter } from './filtered-search.ts';
import type { VectorHit } from './hnsw-index.ts';
import { subscribeNearest } from './nearest-subscription.ts';

const DIM = 4;
const base: VectorIndexOptions = {
  collection: 'notes',
  field: 'emb',
  dimension: DIM,
  m: 8,
  efConstruction: 64,
};
/** Lets every queued microtask (and the subscriptions' flushes) run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Vectors from a small grid, so equal scores (ties broken by id) are common. */
const gridVector = (seed: number) => {
  const r = new SeededRandom(seed);
  return Array.from({ length: DIM }, () => r.int(3) - 1).map((x, i) => (i === 0 && x === 0 ? 1 : x));
};

describe('live nearest-neighbour subscriptions', () => {
  it('every delivered answer equals a fresh exact search at that moment, under local and remote writes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            kind: fc.constantFrom('local', 'local', 'remote', 'sync', 'tick', 'delete', 'retag'),
            id: fc.integer({ min: 0, max: 11 }),
            seed: fc.integer({ min: 0, max: 500 }),
          }),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 5 }),
        async (ops, k) => {
          const a = openDb(0);
          const b = openDb(1);
          const index = createVectorIndex(a, base);
          const filters: (VectorFilter | undefined)[] = [
            undefined,
            (doc) => doc.tag === 1,
            { field: 'tag', op: 'eq', value: 0 },
          ];
          const checks = filters.map((filter, n) => {
            const q = { vector: gridVector(1000 + n), k, filter };
            const seen: (readonly VectorHit[])[] = [];
            const stop = subscribeNearest(index, q, (hits) => {
              expect(hits).toEqual(index.searchExact(q.vector, q));
              if (seen.length > 0) expect(hits).not.toEqual(seen[seen.length - 1]);
              seen.push(hits);
            });
            return { q, seen, stop };
          });
          for (const op of ops) {
            const id = `d${op.id}`;
            const doc = { emb: gridVector(op.seed), tag: op.seed % 2 };
            if (op.kind === 'local') a.collection('notes').put(id, doc);
            else if (op.kind === 'remote') b.collection('notes').put(id, doc);
            else if (op.kind === 'delete') (op.seed % 2 === 0 ? a : b).collection('notes').delete(id);
            else if (op.kind === 'retag') a.collection('notes').patch(id, { tag: op.seed % 2 });
            else if (op.kind === 'sync') syncInto(a, b);
            else await tick();
          }
          syncInto(a, b);
          await tick();
          for (const { q, seen, stop } of checks) {
            expect(seen.length).toBeGreaterThan(0);
            expect(seen[seen.length - 1]).toEqual(index.searchExact(q.vector, q));
            stop();
          }
          expect(index.stats().watchers).toBe(0);
          a.close();
          b.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('coalesces the writes of one tick and searches again only when a member leaves', async () => {
    const db = openDb(0);
    const index = createVectorIndex(db, base);
    const notes = db.collection('notes');
    const rng = new SeededRandom(2);
    for (let i = 0; i < 30; i++) notes.put(`d${i}`, { emb: randomVector(rng, DIM) });
    const q = [1, 0, 0, 0];
    const calls: (readonly VectorHit[])[] = [];
    subscribeNearest(index, { vector: q, k: 3 }, (hits) => calls.push(hits));
    expect(calls).toHaveLength(0); // the first answer comes in a microtask, never inside subscribe
    await tick();
    expect(calls).toHaveLength(1);
    const search = vi.spyOn(index, 'search');
    for (let i = 0; i < 10; i++) notes.put(`far${i}`, { emb: [-1, 0, 0, i / 100] });
    notes.put('near', { emb: [1, 0, 0, 0.001] });
    await tick();
    expect(calls).toHaveLength(2); // eleven writes, one delivery
    expect(calls[1]![0]!.id).toBe('near');
    expect(search).not.toHaveBeenCalled(); // entering and not entering need no search
    notes.put('x-far', { emb: [-1, 0, 0, 0] });
    await tick();
    expect(calls).toHaveLength(2); // the answer did not change: nothing delivered
    notes.delete('near');
    await tick();
    expect(search).toHaveBeenCalledTimes(1); // a member left: search afresh
    expect(calls[2]).toEqual(calls[0]);
    db.close();
  });

  it('unsubscribing stops deliveries and frees the subscription; a rebuild re-answers', async () => {
    const db = openDb(0);
    const index = createVectorIndex(db, base);
    db.collection('notes').put('a', { emb: [1, 0, 0, 0] });
    const calls: (readonly VectorHit[])[] = [];
    const stop = subscribeNearest(index, { vector: [1, 0, 0, 0], k: 2 }, (hits) => calls.push(hits));
    const other = subscribeNearest(index, { vector: [0, 1, 0, 0], k: 2 }, () => {});
    expect(index.stats().watchers).toBe(2);
    await tick();
    index.rebuild();
    await tick();
    expect(calls).toHaveLength(1); // same answer after the rebuild: not delivered again
    stop();
    stop(); // idempotent
    db.collection('notes').put('b', { emb: [1, 0, 0, 0.5] });
    await tick();
    expect(calls).toHaveLength(1);
    expect(index.stats().watchers).toBe(1);
    other();
    expect(index.stats().watchers).toBe(0);
    db.close();
  });

  it('a bad query is a typed error at once; a throwing callback goes to onError', async () => {
    const db = openDb(0);
    const index = createVectorIndex(db, base);
    const none = () => {};
    expect(codeOf(() => subscribeNearest(index, { vector: [1, 2], k: 1 }, none))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => subscribeNearest(index, { vector: [0, 0, 0, 0], k: 1 }, none))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => subscribeNearest(index, { vector: [1, 0, 0, 0], k: 0 }, none))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => subscribeNearest(index, { vector: [1, 0, 0, 0], k: 1e6 }, none))).toBe(
      'ARE_LIMIT_EXCEEDED',
    );
    expect(
      codeOf(() =>
        subscribeNearest(index, { vector: [1, 0, 0, 0], k: 1, filter: 3 as unknown as DocFilter }, none),
      ),
    ).toBe('ARE_INVALID_ARGUMENT');
    expect(
      codeOf(() => subscribeNearest(index, { vector: [1, 0, 0, 0], k: 1 }, 'x' as unknown as () => void)),
    ).toBe('ARE_INVALID_ARGUMENT');
    expect(index.stats().watchers).toBe(0);
    const errors: unknown[] = [];
    let calls = 0;
    subscribeNearest(
      index,
      { vector: [1, 0, 0, 0], k: 1 },
      () => {
        calls++;
        throw new Error('callback failed');
      },
      { onError: (e) => errors.push(e) },
    );
    await tick();
    db.collection('notes').put('a', { emb: [1, 0, 0, 0] });
    await tick();
    expect(calls).toBe(2);
    expect(errors.map((e) => (e as Error).message)).toEqual(['callback failed', 'callback failed']);
    db.close();
  });
});
