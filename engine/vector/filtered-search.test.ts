import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../crdt/lww.ts';
import { SeededRandom } from '../io/random.ts';
import type { Filter } from '../query/types.ts';
import { type CollectionVectorIndex, createVectorIndex } from './collection-index.ts';
import { codeOf, openDb, randomVector } from './db-test-support.ts';
import { FILTER_SCAN_LIVE_MAX, toDocFilter } from './filtered-search.ts';
import type { VectorHit } from './hnsw-index.ts';

const DIM = 8;

/** A database with `count` documents `{ emb, tag: 0..9, even }` and its index. */
function fixture(count: number, seed = 1): { index: CollectionVectorIndex; close: () => void } {
  const db = openDb(0);
  const index = createVectorIndex(db, {
    collection: 'notes',
    field: 'emb',
    dimension: DIM,
    m: 8,
    efConstruction: 64,
  });
  const rng = new SeededRandom(seed);
  db.transaction((tx) => {
    for (let i = 0; i < count; i++)
      tx.put('notes', `d${i}`, { emb: randomVector(rng, DIM), tag: i % 10, even: i % 2 === 0 });
  });
  return { index, close: () => db.close() };
}

function expectSortedAndFiltered(
  hits: VectorHit[],
  accepts: (doc: JsonObject, id: string) => boolean,
  index: CollectionVectorIndex,
) {
  for (let i = 1; i < hits.length; i++) {
    const a = hits[i - 1]!;
    const b = hits[i]!;
    expect(a.score > b.score || (a.score === b.score && a.id < b.id)).toBe(true);
  }
  for (const h of hits) expect(accepts(index.getDocument(h.id)!, h.id)).toBe(true);
}

describe('filtered vector search', () => {
  const sizes = [40, 600];
  const built = sizes.map((n) => fixture(n));
  afterAll(() => {
    for (const b of built) b.close();
  });

  it('returns results sorted by score, each satisfying the filter, as many as match up to k', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: sizes.length - 1 }),
        fc.integer({ min: 0, max: 10 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 0, max: 1e6 }),
        (which, below, useAst, k, seed) => {
          const { index } = built[which]!;
          const ast: Filter = { field: 'tag', op: 'lt', value: below };
          const fn = (doc: JsonObject) => typeof doc.tag === 'number' && doc.tag < below;
          const filter = useAst ? ast : fn;
          const vector = randomVector(new SeededRandom(seed), DIM);
          const { hits, plan } = index.searchWithPlan(vector, { k, filter });
          expectSortedAndFiltered(hits, fn, index);
          const matching = Math.round((sizes[which]! * below) / 10);
          expect(hits.length).toBe(Math.min(k, matching));
          const exact = index.searchExact(vector, { k, filter });
          if (plan?.plan === 'scan') expect(hits).toEqual(exact);
          else {
            // The graph walk is approximate: most of the exact answer, never anything the filter refuses.
            const truth = new Set(exact.map((h) => h.id));
            const found = hits.filter((h) => truth.has(h.id)).length;
            expect(found / exact.length).toBeGreaterThanOrEqual(0.6);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('recall of the graph plan stays high on average', () => {
    const { index } = built[1]!;
    let found = 0;
    let expected = 0;
    for (let q = 0; q < 40; q++) {
      const vector = randomVector(new SeededRandom(500 + q), DIM);
      const filter = (doc: JsonObject) => doc.even === true;
      const { hits, plan } = index.searchWithPlan(vector, { k: 10, filter });
      expect(plan?.plan).toBe('graph');
      const truth = new Set(index.searchExact(vector, { k: 10, filter }).map((h) => h.id));
      expected += truth.size;
      found += hits.filter((h) => truth.has(h.id)).length;
    }
    expect(found / expected).toBeGreaterThanOrEqual(0.95);
  });

  it('plans a scan for small indexes and selective filters, a graph walk otherwise', () => {
    const [small, large] = [built[0]!.index, built[1]!.index];
    const v = randomVector(new SeededRandom(3), DIM);
    expect(small.size).toBeLessThanOrEqual(FILTER_SCAN_LIVE_MAX);
    expect(small.searchWithPlan(v, { k: 5, filter: () => true }).plan?.plan).toBe('scan');
    expect(large.searchWithPlan(v, { k: 5, filter: () => true }).plan).toMatchObject({
      plan: 'graph',
      accepted: 64,
    });
    expect(large.searchWithPlan(v, { k: 5, filter: { field: 'tag', op: 'lt', value: 5 } }).plan?.plan).toBe(
      'graph',
    );
    // One document in 600: no sampled id matches; a walk would visit everything.
    const one = large.searchWithPlan(v, { k: 5, filter: { field: '_id', op: 'eq', value: 'd17' } });
    expect(one.plan?.plan).toBe('scan');
    expect(one.hits.map((h) => h.id)).toEqual(['d17']);
    expect(large.searchWithPlan(v, { k: 5, filter: () => false }).hits).toEqual([]);
    expect(large.searchWithPlan(v, { k: 5 }).plan).toBeUndefined();
    expect(toDocFilter({ field: 'tag', op: 'in', values: [1, 2] })({ tag: 2 }, 'x')).toBe(true);
  });

  it('a malformed filter is a typed error', () => {
    const { index } = built[0]!;
    const v = randomVector(new SeededRandom(3), DIM);
    expect(
      codeOf(() => index.search(v, { k: 1, filter: { field: 'tag', op: 'near' } as unknown as Filter })),
    ).toBe('ARE_QUERY_INVALID');
    expect(codeOf(() => index.search(v, { k: 1, filter: 7 as unknown as Filter }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => index.searchExact(v, { k: 1, filter: null as unknown as Filter }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
  });
});
