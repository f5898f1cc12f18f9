/**
 * Helpers shared by the index's tests: seeded indexes over synthetic data, and recall@k of the
 * graph search against the exact scan of the same index.
 */

import { SeededRandom } from '../io/random.ts';
import type { HnswOptions } from './hnsw-index.ts';
import { HnswIndex } from './hnsw-index.ts';
import type { SyntheticKind } from './synthetic.ts';
import { syntheticWithQueries } from './synthetic.ts';

/** A data set, its queries, and an index holding the data under ids `v0`, `v1`, ... */
export interface Fixture {
  index: HnswIndex;
  dim: number;
  data: Float32Array;
  queries: Float32Array;
}

/** Row `i` of a flat array of `dim`-component vectors. */
export function row(flat: Float32Array, dim: number, i: number): Float32Array {
  return flat.subarray(i * dim, (i + 1) * dim);
}

/** Builds a fixture: `count` vectors of `kind` (seed 1) inserted in order, `queries` more to ask. */
export function buildFixture(
  spec: { kind: SyntheticKind; count: number; dimension: number; queries: number },
  options: Partial<HnswOptions> = {},
): Fixture {
  const { data, queries } = syntheticWithQueries(
    { kind: spec.kind, count: spec.count, dimension: spec.dimension },
    spec.queries,
    new SeededRandom(1),
  );
  const index = HnswIndex.create({
    dimension: spec.dimension,
    metric: 'cosine',
    random: new SeededRandom(7),
    ...options,
  });
  for (let i = 0; i < spec.count; i++) index.upsert(`v${i}`, row(data, spec.dimension, i));
  return { index, dim: spec.dimension, data, queries };
}

/** Mean recall@k of `search` against `searchExact` over every query of the fixture. */
export function recallAt(fixture: Fixture, options: { k: number; ef: number }): number {
  const { index, dim, queries } = fixture;
  const count = queries.length / dim;
  let hits = 0;
  let expected = 0;
  for (let q = 0; q < count; q++) {
    const query = row(queries, dim, q);
    const truth = new Set(index.searchExact(query, { k: options.k }).map((h) => h.id));
    expected += truth.size;
    for (const hit of index.search(query, options)) if (truth.has(hit.id)) hits++;
  }
  return expected === 0 ? 1 : hits / expected;
}
