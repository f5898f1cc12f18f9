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
import type { RssFigures, RssProbe } from './rss.ts';
import type { Sampler } from './sampler.ts';
import { TinybenchSampler } from './sampler.ts';
import { roundOrder, summarizeSamples } from './stats.ts';
import type { BenchCase, BenchRow, CaseEnv, Workload } from './types.ts';

/** How a run is shaped. */
export interface HarnessOptions {
  /** Sizes (`n`) to run every workload at. */
  sizes: readonly number[];
  /** Untimed samples per system before the timed ones (at least; see {@link warmupOpsMin}). */
  warmupSamples: number;
  /**
   * Untimed operations per system before the timed samples, at least: a group whose samples
   * are smaller takes more warm-up samples (`ceil(warmupOpsMin / opsPerSample)`, at most
   * {@link WARMUP_SAMPLES_MAX}). A JIT-compiled system runs its first few thousand operations
   * in slower tiers, and one warm-up sample of a small size ends before that; the figures are
   * steady-state rates, as a long-running app sees them. Default 0 (only `warmupSamples`).
   */
  warmupOpsMin?: number | undefined;
  /** Timed samples per system. */
  samples: number;
  /** When given, only these systems are measured (others are skipped silently). */
  systems?: readonly string[] | undefined;
  /** Times samples; tinybench unless a test substitutes one. */
  sampler?: Sampler | undefined;
  /** Receives progress; silent by default. */
  progress?: Progress | undefined;
  /** Peak memory per system (see reports/bench/rss.ts); not measured when absent. */
  rss?: RssOptions | undefined;
  /** Directory under which temporary stores are created; the OS temp dir by default. */
  tempRoot?: string | undefined;
}

/** Which rows get a peak-memory figure, and how it is measured. */
export interface RssOptions {
  /** Measures one system at one size alone (a child process in real runs). */
  probe: RssProbe;
  /** The suite the workloads come from (the child loads it by name). */
  suite: string;
  /**
   * `all`: every size of every workload. `quick`: only each workload's largest size, and only
   * workloads that compare two systems or more (a child costs about a second plus the case's
   * setup, and the single-system suites, the simulator above all, are the slow ones).
   */
  scope: 'all' | 'quick';
}

/** Most warm-up samples {@link HarnessOptions.warmupOpsMin} adds to a group (a tiny size would take thousands). */
export const WARMUP_SAMPLES_MAX = 32;

/** The warm-up samples a group of `opsPerSample`-operation samples takes (see {@link HarnessOptions.warmupOpsMin}). */
export function warmupSamplesFor(options: HarnessOptions, opsPerSample: number): number {
  const byOps = Math.ceil((options.warmupOpsMin ?? 0) / Math.max(1, opsPerSample));
  return Math.max(options.warmupSamples, Math.min(WARMUP_SAMPLES_MAX, byOps));
}

/** A workload at one size, as scheduled. */
interface Group {
  workload: Workload;
  /** Index of the workload in the list given to {@link runWorkloads} (the child finds it so). */
  workloadIndex: number;
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
  const warmupOpsMin = options.warmupOpsMin ?? 0;
  assert(Number.isSafeInteger(warmupOpsMin), 'warmupOpsMin must be an integer');
  assert(warmupOpsMin >= 0, `warmupOpsMin must be non-negative, got ${warmupOpsMin}`);
  const groups = planGroups(workloads, options, (note) => progress.note(note));
  progress.start(groups.reduce((sum, g) => sum + g.systems.length * roundsOf(g, options), 0));
  const root = mkdtempSync(join(options.tempRoot ?? tmpdir(), 'aregula-bench-'));
  const memory = new Map<string, RssFigures>();
  try {
    const rows: BenchRow[] = [];
    for (const group of groups) {
      const groupRows = await runGroup(group, options, progress, tempEnv(root));
      if (options.rss !== undefined) await addRss(groupRows, group, groups, options.rss, memory, progress);
      rows.push(...groupRows);
    }
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
  for (const [workloadIndex, workload] of workloads.entries()) {
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
      if (measured.length > 0) groups.push({ workload, workloadIndex, n, systems: measured });
    }
  }
  return groups;
}

/** Rounds a group runs: its warm-up samples, then the timed ones. */
function roundsOf(group: Group, options: HarnessOptions): number {
  return warmupSamplesFor(options, group.workload.opsPerSample(group.n)) + options.samples;
}

/** A {@link CaseEnv} whose directories all live under `root` (also used by the RSS child). */
export function tempEnv(root: string): CaseEnv {
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

/**
 * Adds the peak-memory fields to a group's rows, measuring each system alone with the probe.
 * Workloads sharing a name (vector's lines per `ef` and data kind) share one measurement per
 * size and system, taken with the first of them: they hold the same index and data.
 */
async function addRss(
  rows: BenchRow[],
  group: Group,
  groups: readonly Group[],
  rss: RssOptions,
  memory: Map<string, RssFigures>,
  progress: Progress,
): Promise<void> {
  const { workload, n } = group;
  if (workload.rssNotMeasured !== undefined) {
    // The JSON says why, as the notes say why a system was skipped.
    for (const row of rows) row.rss_not_measured = workload.rssNotMeasured;
    return;
  }
  if (rss.scope === 'quick') {
    if (workload.systems.length < 2) return;
    const largest = Math.max(...groups.filter((g) => g.workload.name === workload.name).map((g) => g.n));
    if (n !== largest) return;
  }
  for (const row of rows) {
    const key = JSON.stringify([workload.name, n, row.system]);
    let figures = memory.get(key);
    if (figures === undefined) {
      progress.note(`bench: ${workload.name} n=${n}: peak RSS of ${row.system} alone in a child process`);
      figures = await rss.probe.measure({
        suite: rss.suite,
        workloadIndex: group.workloadIndex,
        workload: workload.name,
        system: row.system,
        n,
      });
      memory.set(key, figures);
    }
    row.rss_peak_bytes = figures.peakBytes;
    row.rss_base_bytes = figures.baseBytes;
    if (figures.childrenBytes > 0) row.rss_children_bytes = figures.childrenBytes;
  }
}

/** Per-system measurements gathered while a group runs. */
interface Tally {
  samplesMs: number[];
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
  progress.group(`${workload.name} n=${n}`, systems);
  const cases = new Map<string, BenchCase>();
  const tallies = new Map<string, Tally>();
  let failure: unknown;
  try {
    for (const system of systems) {
      const benchCase = workload.createCase(system, n, env);
      cases.set(system, benchCase);
      await benchCase.setup();
      tallies.set(system, { samplesMs: [] });
    }
    const warmups = warmupSamplesFor(options, workload.opsPerSample(n));
    const rounds = warmups + options.samples;
    for (let round = 0; round < rounds; round++) {
      for (const system of roundOrder(systems, round)) {
        const ms = await sampler.time(cases.get(system)!, `${workload.name} n=${n} ${system}`);
        const tally = tallies.get(system)!;
        if (round >= warmups) tally.samplesMs.push(ms);
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
    ...group.workload.fields(group.n, system),
  };
}
