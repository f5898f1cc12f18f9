/**
 * One `aregula bench` run: the chosen suites, each with its profile (full or quick) and the
 * user's overrides, measured by the harness and gathered into one report.
 */

import { type RssOptions, runWorkloads } from './harness.ts';
import { machineInfo } from './machine.ts';
import type { Progress } from './progress.ts';
import { buildReport } from './report.ts';
import { childRssProbe, type RssProbe } from './rss.ts';
import type { Sampler } from './sampler.ts';
import type { BenchReport, BenchRow, Suite } from './types.ts';

/** What to run. */
export interface BenchRunOptions {
  /** Suites to run, in order. */
  suites: readonly Suite[];
  /** Use each suite's quick profile (small sizes, few samples). */
  quick: boolean;
  /** Sizes overriding the profile's. */
  sizes?: readonly number[] | undefined;
  /** Timed samples overriding the profile's. */
  samples?: number | undefined;
  /** Only these systems. */
  systems?: readonly string[] | undefined;
  /** Receives progress and notes. */
  progress: Progress;
  /**
   * Measures each system's peak memory alone in a child process (reports/bench/rss.ts): at
   * every size in a full run; with `quick`, at each workload's largest size and only for
   * workloads that compare systems (see {@link RssOptions.scope}). Off unless asked
   * (`aregula bench` asks unless given `--no-rss`), so that tests stay fast.
   */
  rss?: boolean | undefined;
  /** Runs the peak-memory children; the real child process unless a test substitutes one. */
  rssProbe?: RssProbe | undefined;
  /** Times samples (tinybench by default). */
  sampler?: Sampler | undefined;
  /** Checkout whose commit the report names. */
  repoDir: string;
}

/** Thrown when a run measured nothing (every system filtered out or unavailable). */
export class NothingMeasuredError extends Error {
  readonly code = 'ARE_BENCH_NOTHING_MEASURED';
}

/** Runs the suites and returns the report (rows in suite, workload, size, system order). */
export async function runBench(options: BenchRunOptions): Promise<BenchReport> {
  const started = new Date();
  const rows: BenchRow[] = [];
  const probe = options.rssProbe ?? childRssProbe();
  for (const suite of options.suites) {
    const profile = options.quick ? suite.quick : suite.full;
    const opened = await suite.open();
    for (const note of opened.notes) options.progress.note(note);
    rows.push(
      ...(await runWorkloads(opened.workloads, {
        sizes: options.sizes ?? profile.sizes,
        warmupSamples: profile.warmupSamples,
        warmupOpsMin: profile.warmupOpsMin,
        samples: options.samples ?? profile.samples,
        systems: options.systems,
        sampler: options.sampler,
        progress: options.progress,
        rss:
          options.rss !== true
            ? undefined
            : { probe, suite: suite.name, scope: options.quick ? 'quick' : 'all' },
      })),
    );
  }
  if (rows.length === 0) {
    throw new NothingMeasuredError(
      'nothing was measured: no available system matched the suites and --systems given',
    );
  }
  return buildReport(
    options.suites.map((s) => s.name),
    machineInfo({ date: started, repoDir: options.repoDir }),
    rows,
  );
}
