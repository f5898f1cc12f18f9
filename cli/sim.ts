/**
 * `aregula sim [SCENARIO...] --seeds N [--seed S] [--json FILE] [--shard i/n]`: runs the
 * convergence scenarios in the deterministic simulator, prints a summary table, and for any
 * violation the seed, what failed, the one command that replays it, and a failure file under
 * `reports/out/sim-failures/` (history, trace tail, replay command) for the report.
 * `aregula replay SCENARIO SEED` (registered in cli/replay.ts) runs one seed twice and proves
 * the trace is identical.
 *
 * Exit codes (design.md): 0 every check held, 1 a check found a violation, 2 could not run.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../engine/errors.ts';
import { getScenario, SCENARIOS } from '../scenarios/index.ts';
import { POOL_WORKERS_MAX, runSuite } from '../sim/pool.ts';
import { TRACE_TAIL_LINES } from '../sim/scheduler.ts';
import { formatCase, parseCase, runCase, type ShrunkCase, shrink } from '../sim/shrink.ts';
import { type RunResult, runScenario, type Scenario, World } from '../sim/world.ts';
import type { CliContext, CliIo, CommandModule } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, EXIT_VIOLATION, UsageError } from './command.ts';
import { parseIntegerIn } from './options.ts';

/** Most seeds one invocation may run. */
export const SEEDS_MAX = 1_000_000;

/** Trace lines a failure file keeps: the scheduler's whole tail ring. */
export const FAILURE_TRACE_LINES = TRACE_TAIL_LINES;

/** Version of the failure files' shape (`reports/out/sim-failures/*.json`). */
export const FAILURE_FILE_VERSION = 1;

/** A failing run's file, as the `sim` JSON lists it for the report. */
export interface FailureFile {
  scenario: string;
  seed: number;
  /** Path relative to the working directory. */
  file: string;
  /** The command that replays the run exactly. */
  replay: string;
  /** The shrunk case's file, when the run was shrunk. */
  shrunk_file?: string;
  /** The command that replays the shrunk case. */
  shrunk_replay?: string;
}

interface SimFlags {
  shrink?: boolean;
  seeds?: string;
  seed?: string;
  json?: string;
  shard?: string;
  jobs?: string;
  case?: string;
}

/** One run's line in the JSON document (the history stays in the failure files). */
export interface RunSummary {
  scenario: string;
  seed: number;
  trace_hash: string;
  ok: boolean;
  violations: { checker: string; message: string; peer?: string }[];
  events: number;
  simulated_ms: number;
  /** Virtual ms outside the scenario's quiet stretches (nights, flights). */
  active_ms: number;
  wall_ms: number;
  converged_ms: number | null;
  writes: number;
  crashes: number;
  swarm: RunResult['swarm'];
}

/** Resolves scenario names (all when none is named). */
export function resolveScenarios(names: readonly string[]): Scenario[] {
  if (names.length === 0) return [...SCENARIOS];
  return [...new Set(names)].map((n) => {
    const s = getScenario(n);
    if (!s)
      throw new UsageError(`unknown scenario "${n}" (known: ${SCENARIOS.map((x) => x.name).join(', ')})`);
    return s;
  });
}

/** Parses `--shard i/n` (1-based i). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--shard must look like i/n, e.g. 2/4, got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${text}: need 1 <= i <= n`);
  return { index, count };
}

/** The seeds this invocation runs. */
export function seedList(flags: SimFlags): number[] {
  if (flags.seed !== undefined) return [parseIntegerIn('--seed', flags.seed, { min: 0, max: 2 ** 32 - 1 })];
  const n = parseIntegerIn('--seeds', flags.seeds ?? '20', { min: 1, max: SEEDS_MAX });
  const seeds = Array.from({ length: n }, (_, i) => i + 1);
  if (flags.shard === undefined) return seeds;
  const { index, count } = parseShard(flags.shard);
  return seeds.filter((_, i) => i % count === index - 1);
}

/**
 * Runs one seed, turning an unexpected exception into a violation (it is a finding). A failing
 * run keeps the scheduler's whole trace tail ({@link FAILURE_TRACE_LINES} lines) for its
 * failure file.
 */
export function safeRun(
  scenario: Scenario,
  seed: number,
  shrunk?: ShrunkCase,
): RunResult | { scenario: string; seed: number; error: string } {
  try {
    if (shrunk !== undefined) return runCase(scenario, seed, shrunk);
    const world = new World(scenario, seed);
    const r = world.run();
    return r.violations.length === 0
      ? r
      : { ...r, trace_tail: world.scheduler.traceTail(FAILURE_TRACE_LINES) };
  } catch (err) {
    const e = err as Error;
    return { scenario: scenario.name, seed, error: `${e.name}: ${e.message}\n${e.stack ?? ''}` };
  }
}

function summarize(r: RunResult | { scenario: string; seed: number; error: string }): RunSummary {
  if ('error' in r) {
    return {
      scenario: r.scenario,
      seed: r.seed,
      trace_hash: '0'.repeat(64),
      ok: false,
      violations: [{ checker: 'exception', message: r.error }],
      events: 0,
      simulated_ms: 0,
      active_ms: 0,
      wall_ms: 0,
      converged_ms: null,
      writes: 0,
      crashes: 0,
      swarm: undefined as unknown as RunResult['swarm'],
    };
  }
  return {
    scenario: r.scenario,
    seed: r.seed,
    trace_hash: r.trace_hash,
    ok: r.violations.length === 0,
    violations: r.violations,
    events: r.events,
    simulated_ms: r.simulated_ms,
    active_ms: r.active_ms,
    wall_ms: r.wall_ms,
    converged_ms: r.converged_ms ?? null,
    writes: r.writes,
    crashes: r.crashes,
    swarm: r.swarm,
  };
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Writes a failing run's file, `reports/out/sim-failures/SCENARIO-SEED[-shrunk].json`: what
 * failed, the fault mix, the command that replays it, the trace tail and the whole history.
 * Returns its path relative to the working directory.
 */
export function failureFile(
  io: CliIo,
  r: RunResult | { scenario: string; seed: number; error: string },
  options: { shrunk: boolean; replay: string },
): string {
  const name = `${r.scenario}-${r.seed}${options.shrunk ? '-shrunk' : ''}.json`;
  const file = join(io.cwd, 'reports', 'out', 'sim-failures', name);
  mkdirSync(dirname(file), { recursive: true });
  const head = {
    kind: 'sim-failure',
    version: FAILURE_FILE_VERSION,
    shrunk: options.shrunk,
    replay: options.replay,
  };
  const body =
    'error' in r
      ? { ...head, ...summarize(r), trace_tail: [], history: [] }
      : { ...head, ...summarize(r), trace_tail: r.trace_tail, history: r.history.toJSON() };
  writeFileSync(file, `${JSON.stringify(body, null, 1)}\n`);
  return relative(io.cwd, file);
}

/** The shrunk case of `--case`, which needs one scenario and one `--seed`. */
function caseFlag(flags: SimFlags, scenarios: readonly Scenario[]): ShrunkCase | undefined {
  if (flags.case === undefined) return undefined;
  if (flags.seed === undefined || scenarios.length !== 1)
    throw new UsageError('--case replays one shrunk case: name one scenario and its --seed');
  try {
    return parseCase(flags.case);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(`--case: ${err.message}`);
    throw err;
  }
}

/**
 * Runs every (scenario, seed) on `jobs` worker threads; returns the runs in order, a failing
 * one run again here for its history (the same run: a run is a pure function of its seed).
 */
async function runParallel(
  scenarios: readonly Scenario[],
  seeds: readonly number[],
  jobs: number,
  onDone: (label: string) => void,
): Promise<(RunResult | { scenario: string; seed: number; error: string } | RunSummary)[]> {
  const work = scenarios.flatMap((s) => seeds.map((seed) => ({ scenario: s.name, seed })));
  const digests = await runSuite(work, {
    workers: jobs,
    onResult: (d) => onDone(`${d.scenario} seed ${d.seed}`),
  });
  return digests.map((d, i) => {
    if (d.violations.length > 0) return safeRun(scenarios[Math.floor(i / seeds.length)]!, d.seed);
    const summary: RunSummary = {
      scenario: d.scenario,
      seed: d.seed,
      trace_hash: d.trace_hash,
      ok: true,
      violations: [],
      events: d.events,
      simulated_ms: d.simulated_ms,
      active_ms: d.active_ms,
      wall_ms: d.wall_ms,
      converged_ms: d.converged_ms ?? null,
      writes: d.writes,
      crashes: d.crashes,
      swarm: d.swarm!,
    };
    return summary;
  });
}

/** Runs the sim command; returns its exit code. */
export async function sim(names: readonly string[], flags: SimFlags, io: CliIo): Promise<number> {
  const scenarios = resolveScenarios(names);
  const seeds = seedList(flags);
  const shrunk = caseFlag(flags, scenarios);
  const total = scenarios.length * seeds.length;
  const jobs =
    flags.jobs === undefined
      ? Math.min(availableParallelism(), POOL_WORKERS_MAX)
      : parseIntegerIn('--jobs', flags.jobs, { min: 1, max: POOL_WORKERS_MAX });
  const bar = io.tty
    ? new SingleBar(
        {
          stream: io.tty,
          format: '{bar} {value}/{total} runs | {label}',
          hideCursor: true,
          clearOnComplete: true,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { label: '' });
  const started = performance.now();
  const runs: RunSummary[] = [];
  const failures: FailureFile[] = [];
  const record = (
    scenario: Scenario,
    seed: number,
    r: RunResult | { scenario: string; seed: number; error: string } | RunSummary,
  ) => {
    const s = 'ok' in r ? r : summarize(r);
    runs.push(s);
    if (s.ok || 'ok' in r) return;
    failures.push(reportViolation(io, { scenario, seed, r, s, shrink: flags.shrink !== false && !shrunk }));
  };
  if (jobs > 1 && total > 1 && shrunk === undefined) {
    if (!bar) io.err(`sim: ${total} runs on ${jobs} worker threads\n`);
    const results = await runParallel(scenarios, seeds, jobs, (label) => bar?.increment(1, { label }));
    for (const [i, r] of results.entries()) {
      record(scenarios[Math.floor(i / seeds.length)]!, seeds[i % seeds.length]!, r);
    }
  } else {
    for (const scenario of scenarios) {
      if (!bar) io.err(`sim: ${scenario.name} x ${seeds.length} seeds\n`);
      for (const seed of seeds) {
        record(scenario, seed, safeRun(scenario, seed, shrunk));
        bar?.increment(1, { label: `${scenario.name} seed ${seed}` });
      }
    }
  }
  bar?.stop();
  const wallMs = Math.round(performance.now() - started);
  printTable(io, scenarios, runs);
  const simulated = runs.reduce((a, r) => a + r.simulated_ms, 0);
  const active = runs.reduce((a, r) => a + r.active_ms, 0);
  const violations = runs.flatMap((r) =>
    r.violations.map((v) => ({ scenario: r.scenario, seed: r.seed, ...v })),
  );
  io.out(
    `${runs.length} runs, ${runs.filter((r) => r.ok).length} passed, ${runs.length - runs.filter((r) => r.ok).length} failed; ` +
      `${(simulated / 1000).toFixed(0)} s simulated in ${(wallMs / 1000).toFixed(1)} s (${(simulated / Math.max(1, wallMs)).toFixed(0)}x real time; ` +
      `${(active / 1000).toFixed(0)} s outside quiet stretches, ${(active / Math.max(1, wallMs)).toFixed(0)}x)\n`,
  );
  if (flags.json !== undefined) {
    const file = resolve(io.cwd, flags.json);
    mkdirSync(dirname(file), { recursive: true });
    const doc = {
      runs,
      seeds,
      scenarios: scenarios.map((s) => s.name),
      violations,
      events: runs.reduce((a, r) => a + r.events, 0),
      simulated_ms: simulated,
      active_ms: active,
      wall_ms: wallMs,
      speedup: simulated / Math.max(1, wallMs),
      active_speedup: active / Math.max(1, wallMs),
      seeds_per_min: runs.length / Math.max(1e-9, wallMs / 60_000),
      failures,
    };
    writeFileSync(file, `${JSON.stringify(doc, null, 1)}\n`);
    io.err(`sim: wrote ${file}\n`);
  }
  return violations.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}

/** Prints a violation, writes its failure file (and the shrunk case's), and says how to replay. */
function reportViolation(
  io: CliIo,
  o: {
    scenario: Scenario;
    seed: number;
    r: RunResult | { scenario: string; seed: number; error: string };
    s: RunSummary;
    shrink: boolean;
  },
): FailureFile {
  const replay = `npx aregula sim ${o.scenario.name} --seed ${o.seed}`;
  const file = failureFile(io, o.r, { shrunk: false, replay });
  io.err(`\nVIOLATION in ${o.scenario.name} at seed ${o.seed}:\n`);
  for (const v of o.s.violations.slice(0, 10))
    io.err(`  [${v.checker}]${v.peer ? ` ${v.peer}:` : ''} ${v.message.split('\n')[0]}\n`);
  if (o.s.swarm) io.err(`  fault mix: ${JSON.stringify(o.s.swarm)}\n`);
  io.err(`  history and trace: ${file}\n  replay: ${replay}\n`);
  const entry: FailureFile = { scenario: o.scenario.name, seed: o.seed, file, replay };
  if (o.shrink && !('error' in o.r)) return { ...entry, ...reportShrink(io, o.scenario, o.seed, o.r) };
  return entry;
}

/** Shrinks a failing run and reports the smallest failing case it found. */
function reportShrink(
  io: CliIo,
  scenario: Scenario,
  seed: number,
  first: RunResult,
): { shrunk_file: string; shrunk_replay: string } {
  const sh = shrink(scenario, seed, first);
  const replay = `npx aregula sim ${scenario.name} --seed ${seed} --case '${formatCase(sh.case)}'`;
  const file = failureFile(io, sh.run, { shrunk: true, replay });
  const ops = sh.run.history.records.filter((x) => x.type !== 'info').length;
  const firstOps = first.history.records.filter((x) => x.type !== 'info').length;
  io.err(
    `  shrunk in ${sh.runs} runs: ${sh.kept.length > 0 ? sh.kept.join(', ') : 'nothing could be removed'}\n` +
      `  smallest failing case: ${sh.run.writes} writes, ${ops} operations (from ${first.writes} writes, ${firstOps} operations), ` +
      `${sh.run.simulated_ms} ms simulated; first violation: ${sh.run.violations[0]?.message.split('\n')[0] ?? ''}\n` +
      `  its history: ${file}\n  replay the shrunk case: ${replay}\n`,
  );
  return { shrunk_file: file, shrunk_replay: replay };
}

function printTable(io: CliIo, scenarios: Scenario[], runs: RunSummary[]): void {
  const t = new Table({
    style: { head: [], border: [] },
    head: ['scenario', 'runs', 'failed', 'writes (median)', 'converged ms (median)', 'events', 'wall s'],
  });
  for (const s of scenarios) {
    const rs = runs.filter((r) => r.scenario === s.name);
    t.push([
      s.name,
      rs.length,
      rs.filter((r) => !r.ok).length,
      median(rs.map((r) => r.writes)),
      median(rs.flatMap((r) => (r.converged_ms === null ? [] : [r.converged_ms]))),
      rs.reduce((a, r) => a + r.events, 0),
      (rs.reduce((a, r) => a + r.wall_ms, 0) / 1000).toFixed(1),
    ]);
  }
  io.out(`${t.toString()}\n`);
}

/** `aregula replay SCENARIO SEED`: runs twice; identical traces and no violation → 0. */
export function replay(name: string, seedText: string, io: CliIo): number {
  const scenario = resolveScenarios([name])[0]!;
  const seed = parseIntegerIn('seed', seedText, { min: 0, max: 2 ** 32 - 1 });
  const a = runScenario(scenario, seed);
  const b = runScenario(scenario, seed);
  io.out(`${scenario.name} seed ${seed}\n  run 1 trace ${a.trace_hash}\n  run 2 trace ${b.trace_hash}\n`);
  if (a.trace_hash !== b.trace_hash) {
    io.out('  NOT DETERMINISTIC: the traces differ\n');
    return EXIT_VIOLATION;
  }
  io.out(
    `  identical (${a.events} events, ${a.simulated_ms} ms simulated); ${a.violations.length} violations\n`,
  );
  for (const v of a.violations) io.out(`  [${v.checker}] ${v.message}\n`);
  return a.violations.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}

/** The `sim` subcommand. */
export const simCommand: CommandModule = {
  name: 'sim',
  register(program: Command, context: CliContext): void {
    const list = SCENARIOS.map((s) => `  ${s.name.padEnd(16)} ${s.description}`).join('\n');
    program
      .command('sim')
      .description('run convergence scenarios in the deterministic simulator')
      .argument('[scenarios...]', 'scenarios to run (default: all)')
      .option('--seeds <n>', 'run seeds 1..n (default 20)')
      .option('--seed <s>', 'run exactly this seed (replays a failure)')
      .option('--json <file>', 'write the results as JSON to FILE')
      .option('--shard <i/n>', 'run only the i-th of n interleaved slices of the seeds (for CI matrices)')
      .option('--shrink', 'shrink every failing run to its smallest failing case (the default)')
      .option('--no-shrink', 'report failing runs without shrinking them')
      .option('--jobs <n>', 'worker threads running seeds in parallel (default: the cores available)')
      .option(
        '--case <text>',
        'replay a shrunk case (with one scenario and --seed), as a failure report prints it',
      )
      .addHelpText('after', `\nScenarios:\n${list}`)
      .action(async (names: string[], flags: SimFlags) => {
        context.exitCode = await guardAsync(context.io, () => sim(names, flags, context.io));
      });
  },
};

/** {@link guard} for a command whose body is asynchronous. */
export async function guardAsync(io: CliIo, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    return guard(io, () => {
      throw err;
    });
  }
}

/** Runs a command's body: a usage error or an unexpected exception exits 2 with a message. */
export function guard(io: CliIo, fn: () => number): number {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`aregula: ${err.message}\n`);
      return EXIT_CANNOT_RUN;
    }
    io.err(`aregula: could not run: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT_CANNOT_RUN;
  }
}
