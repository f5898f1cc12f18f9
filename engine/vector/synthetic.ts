/**
 * Seeded synthetic vector data sets for the index's tests and the `vector` benchmark suite:
 * uniform random vectors and clustered Gaussian ones (the shape real embeddings tend to have:
 * dense clusters of related items). Everything is drawn from a {@link Random}, so a seed names
 * a data set exactly.
 */

import { assert } from '../assert.ts';
import type { Random } from '../io/random.ts';

/** The kinds of data set. */
export type SyntheticKind = 'uniform' | 'clustered';

/** What to generate. */
export interface SyntheticSpec {
  kind: SyntheticKind;
  /** Number of vectors. */
  count: number;
  /** Components per vector. */
  dimension: number;
  /** Clusters of a clustered set (default 64); ignored for uniform. */
  clusters?: number;
  /** Standard deviation of each component around its cluster centre (default 0.35). */
  spread?: number;
}

/** Default number of clusters. */
export const DEFAULT_CLUSTERS = 64;
/** Default per-component spread around a centre (centres have unit-variance components). */
export const DEFAULT_SPREAD = 0.35;

/** A standard normal draw (Box-Muller; the second value of the pair is not kept). */
export function gaussian(random: Random): number {
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A data set of `count` vectors, flat (`dimension` components each). Uniform: components
 * uniform in [-1, 1). Clustered: centres with standard normal components, each vector a
 * centre chosen uniformly plus Gaussian noise of standard deviation `spread`. The centres are
 * drawn first, so two calls with the same spec and seed agree, and a clustered set's queries
 * can come from a second call with a different `random` only if it shares centres: use
 * {@link syntheticWithQueries} for that.
 */
export function synthetic(spec: SyntheticSpec, random: Random): Float32Array {
  return syntheticWithQueries(spec, 0, random).data;
}

/** A data set and `queries` more vectors from the same distribution (same centres). */
export function syntheticWithQueries(
  spec: SyntheticSpec,
  queries: number,
  random: Random,
): { data: Float32Array; queries: Float32Array } {
  const { count, dimension } = spec;
  assert(Number.isSafeInteger(count) && count >= 0, 'count must be a non-negative integer');
  assert(Number.isSafeInteger(dimension) && dimension >= 1, 'dimension must be a positive integer');
  const total = count + queries;
  const out = new Float32Array(total * dimension);
  if (spec.kind === 'uniform') {
    for (let i = 0; i < out.length; i++) out[i] = 2 * random.next() - 1;
  } else {
    const clusters = spec.clusters ?? DEFAULT_CLUSTERS;
    const spread = spec.spread ?? DEFAULT_SPREAD;
    assert(Number.isSafeInteger(clusters) && clusters >= 1, 'clusters must be a positive integer');
    const centres = new Float64Array(clusters * dimension);
    for (let i = 0; i < centres.length; i++) centres[i] = gaussian(random);
    for (let v = 0; v < total; v++) {
      const c = random.int(clusters);
      for (let j = 0; j < dimension; j++) {
        out[v * dimension + j] = centres[c * dimension + j]! + spread * gaussian(random);
      }
    }
  }
  return { data: out.subarray(0, count * dimension), queries: out.subarray(count * dimension) };
}
