/**
 * Timing of one sample. The harness decides what runs when (warm-up, rounds, alternation);
 * a {@link Sampler} only times one call of {@link BenchCase.sample} with its untimed hooks
 * around it. The real one uses tinybench; tests substitute scripted timings.
 */

import { Bench } from 'tinybench';
import { assert } from '../../engine/assert.ts';
import type { BenchCase } from './types.ts';

/** Times one sample of a case. */
export interface Sampler {
  /**
   * Runs `beforeSample`, the timed `sample`, then `afterSample`, and returns the milliseconds
   * `sample` took. Errors from any of the three propagate.
   */
  time(benchCase: BenchCase, label: string): Promise<number>;
}

/**
 * A {@link Sampler} on tinybench: one task, exactly one iteration, no tinybench warm-up (the
 * harness runs its own warm-up samples in the same alternating order as the timed ones), on
 * the `process.hrtime` clock.
 */
export class TinybenchSampler implements Sampler {
  async time(benchCase: BenchCase, label: string): Promise<number> {
    const bench = new Bench({
      iterations: 1,
      time: 0,
      warmup: false,
      throws: true,
      retainSamples: true,
      timestampProvider: 'hrtimeNow',
    });
    bench.add(label, () => benchCase.sample(), {
      async: true,
      beforeEach: () => benchCase.beforeSample(),
      afterEach: () => benchCase.afterSample(),
    });
    const [task] = await bench.run();
    assert(task !== undefined, 'tinybench returned no task');
    const result = task.result;
    if (result.state === 'errored') throw result.error;
    assert(result.state === 'completed', `tinybench task ${label} ended in state ${result.state}`);
    const samples = result.latency.samples;
    assert(samples !== undefined, 'tinybench kept no samples');
    assert(samples.length === 1, `expected one tinybench sample, got ${samples.length}`);
    return samples[0];
  }
}

/**
 * A {@link Sampler} for tests: runs the three hooks like the real one but reports a fixed time,
 * so that the figures a test checks are exact.
 */
export class FixedSampler implements Sampler {
  constructor(private readonly ms: number) {}

  async time(benchCase: BenchCase): Promise<number> {
    await benchCase.beforeSample();
    await benchCase.sample();
    await benchCase.afterSample();
    return this.ms;
  }
}
