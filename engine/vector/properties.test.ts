// Model-based properties of the index: random sequences of upserts, deletes and compactions on
// small indexes, checked against a Map of what should be stored. Vectors come from a small
// integer grid so that ties are common and, under l2 and dot, float32 distances are exact
// (sums of products of small integers), which lets the exact search be compared with the model
// to the bit. fast-check prints the seed and path of a failure; pass them to
// `test.prop(..., { seed, path })` to replay it.

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { HnswIndex } from './hnsw-index.ts';

type Metric = 'cosine' | 'l2' | 'dot';
type Op =
  | { kind: 'upsert'; id: string; vector: number[] }
  | { kind: 'delete'; id: string }
  | { kind: 'compact' };

const DIM_MAX = 6;
const idArb = fc.constantFrom(...Array.from({ length: 24 }, (_, i) => `id${i}`), 'a', 'B', 'é', '🙂');
const gridVector = (dim: number) =>
  fc.array(fc.integer({ min: -2, max: 2 }), { minLength: dim, maxLength: dim });
const opArb = (dim: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant('upsert' as const), id: idArb, vector: gridVector(dim) }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: idArb }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
  );
const scenarioArb = fc
  .record({
    dim: fc.integer({ min: 1, max: DIM_MAX }),
    metric: fc.constantFrom<Metric>('cosine', 'l2', 'dot'),
  })
  .chain(({ dim, metric }) =>
    fc.record({
      dim: fc.constant(dim),
      metric: fc.constant(metric),
      m: fc.integer({ min: 2, max: 6 }),
      seed: fc.nat(),
      ops: fc.array(opArb(dim), { maxLength: 80 }),
      queries: fc.array(
        fc.record({
          vector: gridVector(dim),
          k: fc.integer({ min: 1, max: 12 }),
          ef: fc.integer({ min: 1, max: 30 }),
          modulus: fc.integer({ min: 1, max: 5 }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
    }),
  );

const isZero = (v: readonly number[]) => v.every((x) => x === 0);

/** Applies `ops` to a new index and to a Map model; returns both. */
function replay(s: { dim: number; metric: Metric; m: number; seed: number; ops: Op[] }) {
  const index = HnswIndex.create({
    dimension: s.dim,
    metric: s.metric,
    m: s.m,
    efConstruction: 2 * s.m,
    random: new SeededRandom(s.seed),
    compactDeletedFraction: 1,
  });
  const model = new Map<string, number[]>();
  for (const op of s.ops) {
    if (op.kind === 'compact') index.compact();
    else if (op.kind === 'delete') expect(index.delete(op.id)).toBe(model.delete(op.id));
    else if (s.metric === 'cosine' && isZero(op.vector))
      expect(() => index.upsert(op.id, op.vector)).toThrow(/zero vector/);
    else {
      index.upsert(op.id, op.vector);
      model.set(op.id, op.vector);
    }
  }
  return { index, model };
}

/** The model's score of `v` for `q` (exact for l2 and dot on the integer grid). */
function modelScore(metric: Metric, q: readonly number[], v: readonly number[]): number {
  let dot = 0;
  let l2 = 0;
  let qq = 0;
  let vv = 0;
  for (let i = 0; i < q.length; i++) {
    dot += q[i]! * v[i]!;
    l2 += (q[i]! - v[i]!) ** 2;
    qq += q[i]! ** 2;
    vv += v[i]! ** 2;
  }
  if (metric === 'l2') return -l2;
  if (metric === 'dot') return dot;
  return dot / Math.sqrt(qq * vv);
}

/** Checks the invariants every result list must hold. */
function checkHits(
  hits: { id: string; score: number }[],
  c: {
    k: number;
    model: Map<string, number[]>;
    filter: (id: string) => boolean;
    metric: Metric;
    query: number[];
  },
) {
  const matching = [...c.model.keys()].filter(c.filter).length;
  expect(hits).toHaveLength(Math.min(c.k, matching));
  expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
  for (let i = 0; i < hits.length; i++) {
    const hit = hits[i]!;
    expect(c.model.has(hit.id)).toBe(true);
    expect(c.filter(hit.id)).toBe(true);
    expect(hit.score).toBeCloseTo(modelScore(c.metric, c.query, c.model.get(hit.id)!), 4);
    if (i > 0) {
      const prev = hits[i - 1]!;
      expect(prev.score >= hit.score).toBe(true);
      if (prev.score === hit.score) expect(prev.id < hit.id).toBe(true);
    }
  }
}

describe('HNSW index properties', () => {
  test.prop([scenarioArb])(
    'results are live, filtered, at most k (exactly min(k, matches)), sorted by score then id',
    (s) => {
      const { index, model } = replay(s);
      expect(index.size).toBe(model.size);
      expect(new Set(index.liveIds())).toEqual(new Set(model.keys()));
      for (const q of s.queries) {
        if (s.metric === 'cosine' && isZero(q.vector)) continue;
        const filter = (id: string) => id.length % q.modulus === 0 || id.charCodeAt(0) % q.modulus === 0;
        for (const f of [undefined, filter]) {
          const c = { k: q.k, model, filter: f ?? (() => true), metric: s.metric, query: q.vector };
          checkHits(index.search(q.vector, { k: q.k, ef: q.ef, filter: f }), c);
          checkHits(index.searchExact(q.vector, { k: q.k, filter: f }), c);
        }
      }
    },
  );

  test.prop([scenarioArb.filter((s) => s.metric !== 'cosine')])(
    'exact search equals the model, ties and all (l2 and dot)',
    (s) => {
      const { index, model } = replay(s);
      for (const q of s.queries) {
        const expected = [...model.entries()]
          .map(([id, v]) => ({ id, score: modelScore(s.metric, q.vector, v) }))
          .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
          .slice(0, q.k)
          .map((h) => ({ ...h, score: h.score === 0 ? 0 : h.score }));
        expect(index.searchExact(q.vector, { k: q.k })).toEqual(expected);
      }
    },
  );

  test.prop([scenarioArb])('a reopened index answers exactly as the original', (s) => {
    const { index } = replay(s);
    const saved = new MemoryFs();
    index.save(saved, 'p');
    const reopened = HnswIndex.load(saved, 'p', { random: new SeededRandom(0) });
    for (const q of s.queries) {
      if (s.metric === 'cosine' && isZero(q.vector)) continue;
      expect(reopened.search(q.vector, { k: q.k, ef: q.ef })).toEqual(
        index.search(q.vector, { k: q.k, ef: q.ef }),
      );
    }
  });
});
