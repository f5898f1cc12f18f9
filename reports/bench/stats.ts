/**
 * The statistics and the sampling order of the harness, kept pure so that they can be tested
 * with made-up timings.
 */

import { assert } from '../../engine/assert.ts';

/**
 * The median of `values` (the mean of the two middle values for an even count). The median,
 * not the mean, because one sample slowed down by a GC pause or a noisy neighbour should not
 * move the figure.
 */
export function median(values: readonly number[]): number {
  assert(values.length > 0, 'median of no values');
  for (const v of values) assert(Number.isFinite(v), `median of a non-finite value ${v}`);
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[mid]!;
  return (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The order in which the systems take their sample in round `round`: the list rotated by one
 * place per round. Every system therefore goes first, second, ... equally often, so that a
 * drift over the run (thermal throttling, a growing page cache, GC pressure left by the previous
 * system) does not always favour the same one.
 */
export function roundOrder<T>(systems: readonly T[], round: number): T[] {
  assert(Number.isSafeInteger(round), `round must be an integer, got ${round}`);
  assert(round >= 0, `round must be non-negative, got ${round}`);
  const count = systems.length;
  if (count === 0) return [];
  const shift = round % count;
  return [...systems.slice(shift), ...systems.slice(0, shift)];
}

/** The figures reported for one system from its timed samples. */
export interface SampleSummary {
  /** Operations per second at the median time per operation. */
  opsPerSec: number;
  /** Median over samples of the time per operation. */
  medianMsPerOp: number;
  /** Number of samples summarised. */
  samples: number;
}

/**
 * Summarises timed samples that each performed `opsPerSample` operations. A sample measured as
 * zero time (a coarse timer) is kept at a floor of one nanosecond per sample, so that the figure
 * stays finite instead of claiming infinite speed.
 */
export function summarizeSamples(samplesMs: readonly number[], opsPerSample: number): SampleSummary {
  assert(samplesMs.length > 0, 'no samples to summarise');
  assert(Number.isSafeInteger(opsPerSample), `opsPerSample must be an integer, got ${opsPerSample}`);
  assert(opsPerSample > 0, `opsPerSample must be positive, got ${opsPerSample}`);
  for (const ms of samplesMs) assert(ms >= 0, `a sample took negative time: ${ms} ms`);
  const floorMs = 1e-6;
  const medianMsPerOp = median(samplesMs.map((ms) => Math.max(ms, floorMs) / opsPerSample));
  return { opsPerSec: 1000 / medianMsPerOp, medianMsPerOp, samples: samplesMs.length };
}
