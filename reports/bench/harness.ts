/**
 * The benchmark harness. For each workload and size it prepares every system, then runs rounds
 * in which each system takes one sample, in an order that rotates from round to round (see
 * {@link roundOrder}). The first rounds are warm-up and are thrown away; the figure reported
 * is the median of the rest. Measuring all systems in the same run, interleaved, is what makes
 * the ratio between them meaningful: they share the machine's state at the time.
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert } from '../../engine/assert.ts';
import type { Progress } from './progress.ts';
import { SilentProgress } from './progress.ts';
import type { Sampler } from './sampler.ts';
import { TinybenchSampler } from './sampler.ts';
import { roundOrder, summarizeSamples } from './stats.ts';
import type { BenchCase, BenchRow, CaseEnv, Workload } from './types.ts';

/** How a run is shaped. */
export interface HarnessOptions {
  /** Sizes (`n`) to run every workload at. */
  sizes: readonly number[];
  /** Untimed samples per system before the timed ones. */
  warmupSamples: number;
  /** Timed samples per system. */
  samples: number;
  /** When given, only these systems are measured (others are skipped silently). */
  systems?: readonly string[] | undefined;
  /** Times samples; tinybench unless a test substitutes one. */
  sampler?: Sampler | undefined;
  /** Receives progress; silent by default. */
  progress?: Progress | undefined;
  /** Reads the process's resident set size; `process.memoryUsage.rss` by default. */
  readRss?: (() => number) | undefined;
  /** Directory under which temporary stores are created; the OS temp dir by default. */
  tempRoot?: string | undefined;
}

/** A workload at one size, as scheduled. */
interface Group {
  workload: Workload;
  n: number;
  systems: string[];
}

/** Runs every workload at every size and returns one row per workload, size and system. */
export async function runWorkloads(
  workloads: readonly Workload[],
  options: HarnessOptions,
): Promise<BenchRow[]> {
  assert(Number.isSafeInteger(options.samples), 'samples must be an integer');
  assert(options.samples >= 1, `samples must be at least 1, got ${options.samples}`);
  assert(Number.isSafeInteger(options.warmupSamples), 'warmupSamples must be an integer');
  assert(options.warmupSamples >= 0, `warmupSamples must be non-negative, got ${options.warmupSamples}`);
  for (const n of options.sizes)
    assert(Number.isSafeInteger(n) && n > 0, `size must be a positive integer: ${n}`);
  const progress = options.progress ?? new SilentProgress();
  const groups = planGroups(workloads, options, (note) => progress.note(note));
  const rounds = options.warmupSamples + options.samples;
  progress.start(groups.reduce((sum, g) => sum + g.systems.length * rounds, 0));
  const root = mkdtempSync(join(options.tempRoot ?? tmpdir(), 'aregula-bench-'));
  try {
    const rows: BenchRow[] = [];
    for (const group of groups) rows.push(...(await runGroup(group, options, progress, tempEnv(root))));
    return rows;
  } finally {
    progress.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** The workload and size pairs to run, in order, with the systems each one measures. */
function planGroups(
  workloads: readonly Workload[],
  options: HarnessOptions,
  note: (line: string) => void,
): Group[] {
  const groups: Group[] = [];
  for (const workload of workloads) {
    const systems = workload.systems.filter(
      (s) => options.systems === undefined || options.systems.includes(s),
    );
    if (systems.length === 0) continue;
    for (const n of options.sizes) {
      const measured = systems.filter((s) => {
        const why = workload.skip?.(s, n);
        if (why !== undefined) note(`bench: ${workload.name} n=${n}: ${s} not measured: ${why}`);
        return why === undefined;
      });
      if (measured.length > 0) groups.push({ workload, n, systems: measured });
    }
  }
  return groups;
}

/** A {@link CaseEnv} whose directories all live under `root`. */
function tempEnv(root: string): CaseEnv {
  let next = 0;
  return {
    freshDir(label: string): string {
      next += 1;
      const dir = join(root, `${next}-${label.replace(/[^A-Za-z0-9._-]/g, '_')}`);
      mkdirSync(dir);
      return dir;
    },
  };
}

/** Per-system measurements gathered while a group runs. */
interface Tally {
  samplesMs: number[];
  rssPeakBytes: number;
}

/** Runs one workload at one size on all of its systems, interleaved. */
async function runGroup(
  group: Group,
  options: HarnessOptions,
  progress: Progress,
  env: CaseEnv,
): Promise<BenchRow[]> {
  const { workload, n, systems } = group;
  const sampler = options.sampler ?? new TinybenchSampler();
  const readRss = options.readRss ?? (() => process.memoryUsage.rss());
  progress.group(`${workload.name} n=${n}`, systems);
  const cases = new Map<string, BenchCase>();
  const tallies = new Map<string, Tally>();
  let failure: unknown;
  try {
    for (const system of systems) {
      const benchCase = workload.createCase(system, n, env);
      cases.set(system, benchCase);
      await benchCase.setup();
      tallies.set(system, { samplesMs: [], rssPeakBytes: readRss() });
    }
    const rounds = options.warmupSamples + options.samples;
    for (let round = 0; round < rounds; round++) {
      for (const system of roundOrder(systems, round)) {
        const ms = await sampler.time(cases.get(system)!, `${workload.name} n=${n} ${system}`);
        const tally = tallies.get(system)!;
        if (round >= options.warmupSamples) tally.samplesMs.push(ms);
        tally.rssPeakBytes = Math.max(tally.rssPeakBytes, readRss());
        progress.sampleDone();
      }
    }
  } catch (error) {
    failure = error;
  }
  const teardownFailures = await teardownAll(cases.values());
  if (failure !== undefined && teardownFailures.length > 0) {
    throw new AggregateError(
      [failure, ...teardownFailures],
      `${workload.name} n=${n} failed, and so did clean-up`,
    );
  }
  if (failure !== undefined) throw failure;
  if (teardownFailures.length > 0) throw teardownFailures[0];
  return systems.map((system) => toRow(group, system, tallies.get(system)!));
}

/** Tears down every case, even when some teardowns fail, and returns the failures. */
async function teardownAll(cases: Iterable<BenchCase>): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const benchCase of cases) {
    try {
      await benchCase.teardown();
    } catch (error) {
      failures.push(error);
    }
  }
  return failures;
}

/** The JSON row for one system of a group. */
function toRow(group: Group, system: string, tally: Tally): BenchRow {
  const opsPerSample = group.workload.opsPerSample(group.n);
  const summary = summarizeSamples(tally.samplesMs, opsPerSample);
  return {
    workload: group.workload.name,
    system,
    n: group.n,
    ops_per_sec: summary.opsPerSec,
    median_ms_per_op: summary.medianMsPerOp,
    samples: summary.samples,
    ops_per_sample: opsPerSample,
    rss_peak_bytes: tally.rssPeakBytes,
    ...group.workload.fields(group.n, system),
  };
}
