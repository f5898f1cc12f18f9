/**
 * Shaping the simulator's results for the report: totals, one line per scenario, the
 * scenarios x seeds matrix, how failures spread over the fault mixes the seeds drew, the
 * convergence-time distribution, and every failing seed with the command that replays it.
 */

import type { RunSummaryInput, SimReportInput, SwarmInput } from './schema.ts';

/** Most seed columns the scenarios x seeds table shows (the failing seeds are listed apart). */
export const SEED_COLUMNS_MAX = 100;

/** Totals of one sim document. */
export interface SimTotals {
  runs: number;
  passed: number;
  failed: number;
  scenarios: number;
  seeds: number;
  simulatedMs: number;
  wallMs: number;
  /** Simulated time over wall time. */
  speedup: number;
}

/** One scenario's line. */
export interface ScenarioSummary {
  scenario: string;
  runs: number;
  failed: number;
  writesMedian: number;
  crashesTotal: number;
  /** Convergence times (virtual ms after healing) of the runs that converged. */
  convergedMedianMs: number | undefined;
  convergedP95Ms: number | undefined;
  convergedMaxMs: number | undefined;
  /** Runs that never converged (converged_ms null). */
  notConverged: number;
  eventsTotal: number;
  wallMsTotal: number;
}

/** The scenarios x seeds matrix: each cell is a run's outcome. */
export interface SeedMatrix {
  scenarios: string[];
  /** The seeds shown (at most {@link SEED_COLUMNS_MAX}, ascending). */
  seeds: number[];
  /** Seeds left out of the table. */
  seedsHidden: number;
  /** `scenario -> seed -> ok` (a seed run twice shows failed if either failed). */
  cells: Map<string, Map<number, boolean>>;
}

/** How many runs drew one value of one fault-mix setting, and how many of them failed. */
export interface FaultMixRow {
  /** The setting, e.g. `lossRate` or `crashEveryMs`. */
  setting: string;
  /** Its value as text (`none` for Infinity, which JSON writes as null). */
  value: string;
  runs: number;
  failed: number;
}

/** A failing run: what failed and how to replay it. */
export interface FailingSeed {
  scenario: string;
  seed: number;
  checkers: string[];
  /** The first line of the first violation. */
  firstMessage: string;
  violations: number;
  /** The command that replays the run, or undefined when the scenario name is not a plain word. */
  replay: string | undefined;
  /** The command that replays its shrunk case, when the sim wrote one. */
  shrunkReplay: string | undefined;
  /** The run file (history and trace), as the sim JSON names it. */
  file: string | undefined;
  shrunkFile: string | undefined;
}

/** One convergence time, for the distribution chart. */
export interface ConvergencePoint {
  scenario: string;
  seed: number;
  converged_ms: number;
}

/** Scenario names a replay command may contain: a shell word that needs no quoting. */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** A shrunk case's text (`half-chaos,no-loss:3,17,42`): safe inside single quotes. */
const CASE_TEXT = /^[a-z0-9,:-]{0,100000}$/;

/**
 * The `--case` argument of a replay command as the sim writes it (`... --case 'TEXT'`), without
 * its quotes; anything after `--case` as it is when it is not one quoted word (so that
 * {@link replayCommand} refuses it); undefined when there is no `--case`.
 */
export function caseFromReplay(replay: string | undefined): string | undefined {
  if (replay === undefined) return undefined;
  const at = replay.indexOf(' --case ');
  if (at < 0) return undefined;
  const arg = replay.slice(at + ' --case '.length);
  return /^'([^']*)'$/.exec(arg)?.[1] ?? arg;
}

/**
 * The command that replays `scenario` at `seed` (as cli/sim.ts prints it), built from the
 * name, the number and the shrunk case's text rather than copied from the input; undefined
 * when the name would need shell quoting or the case text has characters a case never has
 * (an input that is not the simulator's own). A shrunk run without its case text (a file from
 * before `--case`) gets the command that shrinks it again.
 */
export function replayCommand(
  scenario: string,
  seed: number,
  shrunk: { caseText: string | undefined } | undefined = undefined,
): string | undefined {
  if (!PLAIN_NAME.test(scenario)) return undefined;
  const base = `npx aregula sim ${scenario} --seed ${seed}`;
  if (shrunk === undefined) return base;
  if (shrunk.caseText === undefined) return `${base} --shrink`;
  return CASE_TEXT.test(shrunk.caseText) ? `${base} --case '${shrunk.caseText}'` : undefined;
}

/** The value at quantile `q` (0..1) of `xs` by the nearest-rank method; undefined when empty. */
export function quantile(xs: readonly number[], q: number): number | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** Totals of a sim document, computed from its runs (not from its own totals). */
export function simTotals(report: SimReportInput): SimTotals {
  const failed = report.runs.filter((r) => !r.ok).length;
  const simulatedMs = report.runs.reduce((a, r) => a + r.simulated_ms, 0);
  return {
    runs: report.runs.length,
    passed: report.runs.length - failed,
    failed,
    scenarios: new Set(report.runs.map((r) => r.scenario)).size,
    seeds: new Set(report.runs.map((r) => r.seed)).size,
    simulatedMs,
    wallMs: report.wall_ms,
    speedup: simulatedMs / Math.max(1, report.wall_ms),
  };
}

/** Groups runs by scenario, in order of first appearance. */
function byScenario(runs: readonly RunSummaryInput[]): Map<string, RunSummaryInput[]> {
  const groups = new Map<string, RunSummaryInput[]>();
  for (const r of runs) {
    const list = groups.get(r.scenario) ?? [];
    list.push(r);
    groups.set(r.scenario, list);
  }
  return groups;
}

/** One line per scenario. */
export function scenarioSummaries(report: SimReportInput): ScenarioSummary[] {
  return [...byScenario(report.runs).entries()].map(([scenario, runs]) => {
    const converged = runs.flatMap((r) => (r.converged_ms === null ? [] : [r.converged_ms]));
    return {
      scenario,
      runs: runs.length,
      failed: runs.filter((r) => !r.ok).length,
      writesMedian: quantile(
        runs.map((r) => r.writes),
        0.5,
      )!,
      crashesTotal: runs.reduce((a, r) => a + r.crashes, 0),
      convergedMedianMs: quantile(converged, 0.5),
      convergedP95Ms: quantile(converged, 0.95),
      convergedMaxMs: converged.length === 0 ? undefined : Math.max(...converged),
      notConverged: runs.length - converged.length,
      eventsTotal: runs.reduce((a, r) => a + r.events, 0),
      wallMsTotal: runs.reduce((a, r) => a + r.wall_ms, 0),
    };
  });
}

/** The scenarios x seeds matrix (seeds beyond {@link SEED_COLUMNS_MAX} are counted, not shown). */
export function seedMatrix(report: SimReportInput): SeedMatrix {
  const allSeeds = [...new Set(report.runs.map((r) => r.seed))].sort((a, b) => a - b);
  const seeds = allSeeds.slice(0, SEED_COLUMNS_MAX);
  const shown = new Set(seeds);
  const cells = new Map<string, Map<number, boolean>>();
  for (const r of report.runs) {
    const row = cells.get(r.scenario) ?? new Map<number, boolean>();
    cells.set(r.scenario, row);
    if (!shown.has(r.seed)) continue;
    row.set(r.seed, (row.get(r.seed) ?? true) && r.ok);
  }
  return { scenarios: [...cells.keys()], seeds, seedsHidden: allSeeds.length - seeds.length, cells };
}

/** A run's fault-mix settings as `[setting, value]` pairs (link faults flattened). */
export function faultSettings(swarm: SwarmInput | undefined): [string, string][] {
  if (swarm === undefined) return [['swarm', 'unknown']];
  const text = (v: unknown): string => (v === null ? 'none' : typeof v === 'number' ? String(v) : '?');
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(swarm)) {
    if (k === 'faults' || (typeof v !== 'number' && v !== null)) continue;
    pairs.push([k, text(v)]);
  }
  for (const [k, v] of Object.entries(swarm.faults ?? {})) {
    if (typeof v === 'number' || v === null) pairs.push([k, text(v)]);
  }
  return pairs;
}

/**
 * For every fault-mix setting and value the seeds drew: how many runs drew it and how many of
 * those failed (settings in order of first appearance, values ascending).
 */
export function faultMixRows(report: SimReportInput): FaultMixRow[] {
  const counts = new Map<string, Map<string, { runs: number; failed: number }>>();
  for (const r of report.runs) {
    for (const [setting, value] of faultSettings(r.swarm)) {
      const values = counts.get(setting) ?? new Map<string, { runs: number; failed: number }>();
      counts.set(setting, values);
      const c = values.get(value) ?? { runs: 0, failed: 0 };
      c.runs++;
      if (!r.ok) c.failed++;
      values.set(value, c);
    }
  }
  const order = (a: string, b: string): number => {
    const x = Number(a);
    const y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return a < b ? -1 : a > b ? 1 : 0;
    return x - y;
  };
  return [...counts.entries()].flatMap(([setting, values]) =>
    [...values.entries()]
      .sort(([a], [b]) => order(a, b))
      .map(([value, c]) => ({ setting, value, runs: c.runs, failed: c.failed })),
  );
}

/** Every failing run, with the replay commands and the run files the sim JSON lists. */
export function failingSeeds(report: SimReportInput): FailingSeed[] {
  return report.runs
    .filter((r) => !r.ok)
    .map((r) => {
      const ref = report.failures?.find((f) => f.scenario === r.scenario && f.seed === r.seed);
      return {
        scenario: r.scenario,
        seed: r.seed,
        checkers: [...new Set(r.violations.map((v) => v.checker))],
        firstMessage: (r.violations[0]?.message ?? '(no violation recorded)').split('\n')[0]!,
        violations: r.violations.length,
        replay: replayCommand(r.scenario, r.seed),
        shrunkReplay:
          ref?.shrunk_file === undefined
            ? undefined
            : replayCommand(r.scenario, r.seed, { caseText: caseFromReplay(ref.shrunk_replay) }),
        file: ref?.file,
        shrunkFile: ref?.shrunk_file,
      };
    });
}

/** Convergence times of every run that converged. */
export function convergenceSeries(report: SimReportInput): ConvergencePoint[] {
  return report.runs.flatMap((r) =>
    r.converged_ms === null ? [] : [{ scenario: r.scenario, seed: r.seed, converged_ms: r.converged_ms }],
  );
}
