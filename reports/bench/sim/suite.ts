/**
 * The `sim` suite: how fast the deterministic simulator runs its default suite, every scenario
 * over seeds 1..n (n = 100 in a full run, 5 with `--quick`), exactly as `aregula sim --seeds n`
 * runs it, checkers included.
 *
 * One workload, `sim.suite`, one system, `aregula`. An operation is one run (one scenario at
 * one seed), so `ops_per_sec` is runs per second and a sample performs `n x scenarios` of
 * them. The row's extra fields (design.md's contract):
 *
 * - `speedup`: simulated time over wall time (virtual ms of all runs / wall ms of the sample);
 *   the target is 1,000x.
 * - `seeds_per_min`: runs per minute, 60 x runs / wall time of the sample; the target is the
 *   suite of 100 seeds per scenario within 60 s.
 * - `active_speedup`: the same with only the virtual time outside the scenarios' quiet
 *   stretches (nights, flights: docs/sim.md), so that long idle stretches cannot flatter the
 *   figure unseen.
 * - `events_per_sec`, `simulated_ms`, `active_ms`, `events`, `scenarios`, `failed_runs`,
 *   `workers`.
 *
 * A sample runs on the machine's cores, as `aregula sim` does (sim/pool.ts worker threads; the
 * results and trace hashes do not depend on the number of workers); a scenario that is not in
 * the registry (scenarios/index.ts; tests) runs in this thread.
 *
 * The extra fields come from the median sample by wall time measured inside the sample, so
 * they agree with `ops_per_sec` (timed by the harness around the same call) to within the
 * call's overhead. There is no warm-up sample: one sample is hundreds of runs, and the first
 * runs' JIT warm-up is part of what a user waits for.
 *
 * Every sample must produce the same trace hashes run for run (the simulator is
 * deterministic); a sample that does not fails the benchmark. Runs that violate a check are
 * counted in `failed_runs`, not hidden: `aregula sim` is the gate for them.
 */

import { availableParallelism } from 'node:os';
import { assert } from '../../../engine/assert.ts';
import { getScenario, SCENARIOS } from '../../../scenarios/index.ts';
import { POOL_WORKERS_MAX, runSuite as runPool } from '../../../sim/pool.ts';
import { runScenario, type Scenario } from '../../../sim/world.ts';
import { median } from '../stats.ts';
import type { BenchCase, OpenedSuite, RowFields, Suite, Workload } from '../types.ts';

/** The workload's name in the bench JSON. */
export const SIM_WORKLOAD = 'sim.suite';

/** What one sample measured. */
export interface SuiteSample {
  wallMs: number;
  simulatedMs: number;
  /** Virtual ms outside quiet stretches. */
  activeMs: number;
  events: number;
  /** Worker threads the sample ran on (1: this thread). */
  workers: number;
  failedRuns: number;
  /** Every run's trace hash, in run order. */
  traceHashes: string[];
}

/** Runs every scenario over seeds 1..`seeds`, timing the whole suite. */
export function runSuite(scenarios: readonly Scenario[], seeds: number): SuiteSample {
  const sample: SuiteSample = {
    wallMs: 0,
    simulatedMs: 0,
    activeMs: 0,
    events: 0,
    workers: 1,
    failedRuns: 0,
    traceHashes: [],
  };
  const started = performance.now();
  for (const scenario of scenarios) {
    for (let seed = 1; seed <= seeds; seed++) {
      try {
        const r = runScenario(scenario, seed);
        sample.simulatedMs += r.simulated_ms;
        sample.activeMs += r.active_ms;
        sample.events += r.events;
        sample.traceHashes.push(r.trace_hash);
        if (r.violations.length > 0) sample.failedRuns++;
      } catch {
        // An exception inside a run is a finding (aregula sim reports it); here it is a failed run.
        sample.failedRuns++;
        sample.traceHashes.push('exception');
      }
    }
  }
  sample.wallMs = performance.now() - started;
  return sample;
}

/**
 * {@link runSuite} on `workers` worker threads (sim/pool.ts), for scenarios of the registry;
 * the same runs, trace hashes and totals, in less wall time.
 */
export async function runSuiteParallel(
  scenarios: readonly Scenario[],
  seeds: number,
  workers: number,
): Promise<SuiteSample> {
  const jobs = scenarios.flatMap((s) =>
    Array.from({ length: seeds }, (_, i) => ({ scenario: s.name, seed: i + 1 })),
  );
  const started = performance.now();
  const digests = await runPool(jobs, { workers });
  const wallMs = performance.now() - started;
  const sample: SuiteSample = {
    wallMs,
    simulatedMs: 0,
    activeMs: 0,
    events: 0,
    workers,
    failedRuns: 0,
    traceHashes: [],
  };
  for (const d of digests) {
    sample.simulatedMs += d.simulated_ms;
    sample.activeMs += d.active_ms;
    sample.events += d.events;
    sample.traceHashes.push(d.error === undefined ? d.trace_hash : 'exception');
    if (d.violations.length > 0) sample.failedRuns++;
  }
  return sample;
}

/** The row fields from the samples of one size: those of the median sample by wall time. */
export function suiteFields(samples: readonly SuiteSample[], scenarios: number): RowFields {
  assert(samples.length > 0, 'sim.suite row fields asked before any sample ran');
  const wallMs = median(samples.map((s) => s.wallMs));
  const first = samples[0]!;
  const runs = first.traceHashes.length;
  return {
    unit: 'run',
    scenarios,
    speedup: first.simulatedMs / Math.max(wallMs, 1e-6),
    active_speedup: first.activeMs / Math.max(wallMs, 1e-6),
    seeds_per_min: (60_000 * runs) / Math.max(wallMs, 1e-6),
    events_per_sec: (1000 * first.events) / Math.max(wallMs, 1e-6),
    simulated_ms: first.simulatedMs,
    active_ms: first.activeMs,
    events: first.events,
    workers: first.workers,
    failed_runs: first.failedRuns,
    note: 'an op is one run (one scenario at one seed); seeds_per_min counts runs',
  };
}

/**
 * The `sim.suite` workload over `scenarios`, on `workers` threads (default: the machine's
 * cores) when every scenario is registered, else in this thread.
 */
export function simWorkload(
  scenarios: readonly Scenario[],
  workers = Math.min(availableParallelism(), POOL_WORKERS_MAX),
): Workload {
  const registered = scenarios.every((s) => getScenario(s.name) === s);
  const samplesBySize = new Map<number, SuiteSample[]>();
  return {
    name: SIM_WORKLOAD,
    systems: ['aregula'],
    opsPerSample: (n) => n * scenarios.length,
    fields: (n) => suiteFields(samplesBySize.get(n) ?? [], scenarios.length),
    createCase(system: string, n: number): BenchCase {
      assert(system === 'aregula', `sim.suite has no system ${system}`);
      const samples: SuiteSample[] = [];
      samplesBySize.set(n, samples);
      let last: SuiteSample | undefined;
      return {
        async setup() {},
        async beforeSample() {},
        async sample() {
          last =
            registered && workers > 1
              ? await runSuiteParallel(scenarios, n, workers)
              : runSuite(scenarios, n);
        },
        async afterSample() {
          const s = last!;
          const ref = samples[0];
          if (ref !== undefined) {
            const same = ref.traceHashes.join() === s.traceHashes.join();
            assert(
              same,
              `sim.suite n=${n}: a sample's trace hashes differ from the first's (not deterministic)`,
            );
          }
          samples.push(s);
        },
        async teardown() {},
      };
    },
  };
}

/** The `sim` suite. */
export const simSuite: Suite = {
  name: 'sim',
  description: 'the simulator: every scenario over seeds 1..n, as `aregula sim` runs it (speedup, seeds/min)',
  systems: ['aregula'],
  full: { sizes: [100], warmupSamples: 0, samples: 1 },
  quick: { sizes: [5], warmupSamples: 0, samples: 1 },
  async open(): Promise<OpenedSuite> {
    return { workloads: [simWorkload(SCENARIOS)], notes: [] };
  },
};
