/**
 * Checking the options of an index and of a search. Every check throws a typed error
 * ({@link InvalidArgumentError} for a malformed value, {@link LimitExceededError} for one past a
 * named limit) before anything is created or stored.
 */

import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import type { Random } from '../io/random.ts';
import type { KernelChoice } from './kernel.ts';
import {
  DEFAULT_COMPACT_DELETED_FRACTION,
  DEFAULT_EF_CONSTRUCTION,
  DEFAULT_EF_SEARCH,
  DEFAULT_M,
  MAX_DIMENSION,
  MAX_EF,
  MAX_ID_LENGTH,
  MAX_K,
  MAX_M,
  MIN_M,
} from './limits.ts';
import type { VectorMetric } from './metric.ts';
import { isVectorMetric } from './metric.ts';

/** How to create an index. */
export interface HnswOptions {
  /** Components per vector, 1..{@link MAX_DIMENSION}; fixed for the index's life. */
  dimension: number;
  /** The similarity metric (see metric.ts for what scores mean). */
  metric: VectorMetric;
  /** Links per node on the upper layers, {@link MIN_M}..{@link MAX_M}; layer 0 keeps `2m`. Default 16. */
  m?: number;
  /** Beam width while inserting, `m`..{@link MAX_EF}. Default 200. */
  efConstruction?: number;
  /** Beam width of a search that gives none, 1..{@link MAX_EF}. Default 64. */
  efSearch?: number;
  /** Where level draws come from: the same seed and inserts give the same graph, byte for byte. */
  random: Random;
  /**
   * A delete that leaves more than this fraction of the nodes tombstoned compacts the index,
   * (0, 1]; 1 never compacts automatically. Default 0.3.
   */
  compactDeletedFraction?: number;
  /**
   * `auto` (default) runs the WebAssembly SIMD distance kernel where the platform has it and
   * its exact scalar emulation elsewhere; `scalar` forces the emulation (for tests). Both give
   * the same results bit for bit.
   */
  kernel?: KernelChoice;
}

/** Options with every default filled in, as the index keeps them. */
export interface ResolvedOptions {
  dimension: number;
  metric: VectorMetric;
  m: number;
  efConstruction: number;
  efSearch: number;
  compactDeletedFraction: number;
}

/** Throws unless `value` is an integer in [min, max]; `limit` names the upper bound. */
export function checkInteger(
  value: unknown,
  range: { what: string; min: number; max: number; limit: string },
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`${range.what} must be an integer, got ${String(value)}`);
  }
  if (value < range.min)
    throw new InvalidArgumentError(`${range.what} must be at least ${range.min}, got ${value}`);
  if (value > range.max) {
    throw new LimitExceededError({ limit: range.limit, max: range.max, actual: value, what: range.what });
  }
  return value;
}

/** Checks `options` and fills in the defaults. */
export function resolveOptions(options: HnswOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('HNSW options must be an object');
  const dimension = checkInteger(options.dimension, {
    what: 'dimension',
    min: 1,
    max: MAX_DIMENSION,
    limit: 'MAX_DIMENSION',
  });
  if (!isVectorMetric(options.metric)) {
    throw new InvalidArgumentError(`metric must be cosine, l2 or dot, got ${String(options.metric)}`);
  }
  const m = checkInteger(options.m ?? DEFAULT_M, { what: 'm', min: MIN_M, max: MAX_M, limit: 'MAX_M' });
  const efConstruction = checkInteger(options.efConstruction ?? DEFAULT_EF_CONSTRUCTION, {
    what: 'efConstruction',
    min: m,
    max: MAX_EF,
    limit: 'MAX_EF',
  });
  const efSearch = checkInteger(options.efSearch ?? DEFAULT_EF_SEARCH, {
    what: 'efSearch',
    min: 1,
    max: MAX_EF,
    limit: 'MAX_EF',
  });
  checkRandom(options.random);
  const fraction = options.compactDeletedFraction ?? DEFAULT_COMPACT_DELETED_FRACTION;
  checkFraction(fraction);
  checkKernel(options.kernel);
  return { dimension, metric: options.metric, m, efConstruction, efSearch, compactDeletedFraction: fraction };
}

/** Throws unless `random` looks like a {@link Random}. */
export function checkRandom(random: unknown): asserts random is Random {
  const r = random as Partial<Random> | null | undefined;
  if (r === null || typeof r !== 'object' || typeof r.next !== 'function') {
    throw new InvalidArgumentError('random must be a Random (engine/io/random.ts)');
  }
}

/** Throws unless `fraction` is a valid `compactDeletedFraction`. */
export function checkFraction(fraction: unknown): asserts fraction is number {
  if (typeof fraction !== 'number' || !(fraction > 0) || !(fraction <= 1)) {
    throw new InvalidArgumentError(`compactDeletedFraction must be in (0, 1], got ${String(fraction)}`);
  }
}

/** Throws unless `kernel` is undefined or a {@link KernelChoice}. */
export function checkKernel(kernel: unknown): void {
  if (kernel !== undefined && kernel !== 'auto' && kernel !== 'scalar') {
    throw new InvalidArgumentError(`kernel must be auto or scalar, got ${String(kernel)}`);
  }
}

/** What a search asks for. */
export interface SearchOptions {
  /** How many results, 1..{@link MAX_K}. */
  k: number;
  /** Beam width; default the index's `efSearch`. Raised to `k` when smaller. */
  ef?: number;
  /**
   * Only ids for which this returns true are returned. It must not use the index (that throws)
   * and may be called more than once for the same id in one search (the graph walk, then the
   * exact scan when the walk falls back to it).
   */
  filter?: (id: string) => boolean;
}

/** Checks a search's options; returns the `k` and the effective `ef`. */
export function resolveSearch(options: SearchOptions, efSearch: number): { k: number; ef: number } {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('search options must be an object');
  const k = checkInteger(options.k, { what: 'k', min: 1, max: MAX_K, limit: 'MAX_K' });
  const ef = checkInteger(options.ef ?? efSearch, { what: 'ef', min: 1, max: MAX_EF, limit: 'MAX_EF' });
  if (options.filter !== undefined && typeof options.filter !== 'function') {
    throw new InvalidArgumentError('filter must be a function');
  }
  return { k, ef: Math.max(k, ef) };
}

/** Throws unless `id` is a non-empty, well-formed string of at most {@link MAX_ID_LENGTH} code units. */
export function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string') throw new InvalidArgumentError(`an id must be a string, got ${typeof id}`);
  if (id.length === 0) throw new InvalidArgumentError('an id must not be empty');
  if (id.length > MAX_ID_LENGTH) {
    throw new LimitExceededError({
      limit: 'MAX_ID_LENGTH',
      max: MAX_ID_LENGTH,
      actual: id.length,
      what: 'id length',
    });
  }
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = id.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    // A lone surrogate has no UTF-8 form: the id could not be saved and read back unchanged.
    throw new InvalidArgumentError(`id has a lone surrogate at ${i}`);
  }
}
