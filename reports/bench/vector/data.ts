/**
 * The data of the `vector` suite: seeded synthetic vectors (clustered Gaussian and uniform, 128
 * dimensions, engine/vector/synthetic.ts), a set of queries from the same distribution, and
 * their exact 10 nearest neighbours under cosine similarity, computed here in double precision
 * by a plain scan that shares no code with either system measured.
 */

import { assert } from '../../../engine/assert.ts';
import { SeededRandom } from '../../../engine/io/random.ts';
import type { SyntheticKind } from '../../../engine/vector/synthetic.ts';
import { syntheticWithQueries } from '../../../engine/vector/synthetic.ts';

/** Components per vector. */
export const VECTOR_DIMENSION = 128;
/** Queries per sample of a query workload (and per recall measurement). */
export const QUERIES = 500;
/** Neighbours asked for; recall is recall@K. */
export const K = 10;

/** A data set with its queries and their exact neighbours. */
export interface VectorData {
  kind: SyntheticKind;
  /** Number of vectors. */
  n: number;
  dim: number;
  /** `n` vectors, flat. */
  data: Float32Array;
  /** {@link QUERIES} vectors, flat. */
  queries: Float32Array;
  /** For query `q`, the labels (row numbers) of its K nearest vectors at `[q * K, (q + 1) * K)`. */
  truth: Int32Array;
}

/** The seed of each kind's data: fixed, so every run measures the same vectors. */
const SEEDS: Record<SyntheticKind, number> = { clustered: 1001, uniform: 1002 };

/** Generates the data set of `kind` with `n` vectors, and its ground truth. */
export function generateVectorData(kind: SyntheticKind, n: number, dim = VECTOR_DIMENSION): VectorData {
  assert(Number.isSafeInteger(n) && n >= K, `a vector data set needs at least ${K} vectors, got ${n}`);
  const { data, queries } = syntheticWithQueries(
    { kind, count: n, dimension: dim },
    QUERIES,
    new SeededRandom(SEEDS[kind]),
  );
  return { kind, n, dim, data, queries, truth: exactNeighbours({ data, queries, dim, k: K }) };
}

/** The `k` rows of `data` most cosine-similar to each query, best first, by a double-precision scan. */
export function exactNeighbours(options: {
  data: Float32Array;
  queries: Float32Array;
  dim: number;
  k: number;
}): Int32Array {
  const { data, queries, dim, k } = options;
  const n = data.length / dim;
  const nq = queries.length / dim;
  const invNorm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[i * dim + j]! ** 2;
    invNorm[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
  }
  const truth = new Int32Array(nq * k);
  const bestScore = new Float64Array(k);
  const bestRow = new Int32Array(k);
  for (let q = 0; q < nq; q++) {
    bestScore.fill(Number.NEGATIVE_INFINITY);
    bestRow.fill(-1);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += queries[q * dim + j]! * data[i * dim + j]!;
      const score = dot * invNorm[i]!;
      if (score <= bestScore[k - 1]!) continue;
      // Insert into the sorted top-k (best first).
      let at = k - 1;
      while (at > 0 && bestScore[at - 1]! < score) {
        bestScore[at] = bestScore[at - 1]!;
        bestRow[at] = bestRow[at - 1]!;
        at--;
      }
      bestScore[at] = score;
      bestRow[at] = i;
    }
    truth.set(bestRow, q * k);
  }
  return truth;
}

/** Mean recall@K over all queries, given each query's returned labels. */
export function recallOf(data: VectorData, labelsOf: (q: number) => ArrayLike<number>): number {
  const nq = data.truth.length / K;
  let hits = 0;
  for (let q = 0; q < nq; q++) {
    const truth = new Set(data.truth.subarray(q * K, (q + 1) * K));
    const labels = labelsOf(q);
    for (let i = 0; i < labels.length && i < K; i++) if (truth.has(labels[i]!)) hits++;
  }
  return hits / (nq * K);
}
