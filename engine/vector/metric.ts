/**
 * Similarity metrics, their distance kernels, and the checks every incoming vector passes.
 *
 * Scores: every search result carries a `score` where higher means closer, for every metric:
 * - `cosine`: the cosine similarity, in [-1, 1]. Vectors are normalised when stored and
 *   queries when asked, so the score is the inner product of unit vectors.
 * - `dot`: the inner product of the vectors as given.
 * - `l2`: the negated squared Euclidean distance (`Math.sqrt(-score)` is the distance).
 *
 * Internally the graph orders by a distance where lower is closer, and that distance is
 * exactly `-score` (negation is exact in floating point), so ordering by distance and by score
 * agree bit for bit and ties can be broken the same way in both.
 *
 * Distances are computed in float32 arithmetic in a fixed order (kernel-wasm.ts), so a score
 * has about seven significant digits and is the same on every platform.
 */

import { InvalidArgumentError } from '../errors.ts';

/** The similarity metric of an index. */
export type VectorMetric = 'cosine' | 'l2' | 'dot';

/** Every metric, in code order. */
export const VECTOR_METRICS: readonly VectorMetric[] = ['cosine', 'l2', 'dot'];

/** The metric's code in the file format (docs/formats/hnsw.md). */
export function metricCode(metric: VectorMetric): number {
  return VECTOR_METRICS.indexOf(metric) + 1;
}

/** The metric with file-format code `code`, or undefined for an unknown code. */
export function getMetricByCode(code: number): VectorMetric | undefined {
  return VECTOR_METRICS[code - 1];
}

/** True when `value` names a metric. */
export function isVectorMetric(value: unknown): value is VectorMetric {
  return typeof value === 'string' && (VECTOR_METRICS as readonly string[]).includes(value);
}

/** The score reported for internal distance `distance` (see the module comment). */
export function scoreOf(distance: number): number {
  // -0 would print as "-0" and compare oddly in tests that use Object.is; a zero score is 0.
  return distance === 0 ? 0 : -distance;
}

/**
 * Checks `input` (dimension, finite components, not zero under cosine) and writes it, as
 * stored (Float32, normalised under cosine), into `out[0, dim)`. Throws
 * {@link InvalidArgumentError} naming the problem; on error `out` may hold garbage but nothing
 * else was touched.
 */
export function prepareVector(
  input: ArrayLike<number>,
  options: { dimension: number; metric: VectorMetric; what: string; out: Float32Array },
): void {
  const { dimension, metric, what, out } = options;
  if (input === null || typeof input !== 'object' || typeof input.length !== 'number') {
    throw new InvalidArgumentError(`${what}: expected an array of numbers or a Float32Array`);
  }
  if (input.length !== dimension) {
    throw new InvalidArgumentError(
      `${what}: has ${input.length} components, the index has dimension ${dimension}`,
    );
  }
  let normSquared = 0;
  for (let i = 0; i < dimension; i++) {
    const x = input[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new InvalidArgumentError(`${what}: component ${i} is ${String(x)}, not a finite number`);
    }
    out[i] = x;
    // A finite double can overflow Float32 (1e39 becomes Infinity): check what is stored.
    const stored = out[i]!;
    if (!Number.isFinite(stored)) {
      throw new InvalidArgumentError(`${what}: component ${i} (${x}) overflows a 32-bit float`);
    }
    normSquared += stored * stored;
  }
  if (metric !== 'cosine') return;
  if (normSquared === 0) {
    throw new InvalidArgumentError(`${what}: a zero vector has no direction under the cosine metric`);
  }
  // Normalised in double: the largest component is at least 1 / sqrt(dimension) of the norm,
  // so no non-zero vector, however small, normalises to zero.
  const inv = 1 / Math.sqrt(normSquared);
  for (let i = 0; i < dimension; i++) out[i] = out[i]! * inv;
}
