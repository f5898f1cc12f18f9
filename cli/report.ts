/**
 * `aregula report [--bench FILE...] [--sim FILE...] [--run-file FILE...] [--run SCENARIO:SEED...]
 * [--out DIR]`: renders `DIR/index.html` (one self-contained offline page: benchmark tables and
 * charts, the simulator's results, Jepsen-style timelines of failing or chosen runs) and
 * `DIR/summary.md` (Markdown tables for CI logs and pull requests, also printed on stdout).
 *
 * Without file options it reads every bench JSON and sim JSON in `reports/out/`, the failing
 * runs' files in `reports/out/sim-failures/`, and the run files the sim JSONs list. `--run`
 * runs a scenario seed in the simulator now (deterministic, so the same as any earlier run of
 * it) to draw its timeline even when it passed.
 *
 * Exit codes: 0 written; 2 could not run (bad arguments, no input at all, or an input that is
 * not valid JSON or does not fit its schema: the message names the file).
 */

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { writeReport } from '../reports/report/build.ts';
import { type LoadedRun, type ReportInputs, readInputs } from '../reports/report/inputs.ts';
import { parseRunFile, ReportInputError } from '../reports/report/schema.ts';
import { World } from '../sim/world.ts';
import type { CliContext, CliIo, CommandModule } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, UsageError } from './command.ts';
import { parseIntegerIn } from './options.ts';
import { FAILURE_TRACE_LINES, resolveScenarios } from './sim.ts';

/** Most runs `--run` may simulate in one report. */
export const CHOSEN_RUNS_MAX = 20;

/** The options commander hands the action. */
export interface ReportFlags {
  bench?: string[];
  sim?: string[];
  runFile?: string[];
  run?: string[];
  out?: string;
}

/** Parses `SCENARIO:SEED`. */
export function parseRunSpec(text: string): { scenario: string; seed: number } {
  const at = text.lastIndexOf(':');
  if (at <= 0) throw new UsageError(`--run: "${text}" is not SCENARIO:SEED (e.g. tab-closed:17)`);
  const seed = parseIntegerIn(`--run ${text}`, text.slice(at + 1), { min: 0, max: 2 ** 32 - 1 });
  return { scenario: text.slice(0, at), seed };
}

/**
 * Runs `SCENARIO:SEED` in the simulator and returns it as a run file would hold it (summary,
 * history, trace tail, actions), checked against the same schema as files on disk.
 */
export function chosenRun(spec: string): LoadedRun {
  const { scenario: name, seed } = parseRunSpec(spec);
  const scenario = resolveScenarios([name])[0]!;
  const world = new World(scenario, seed);
  const r = world.run();
  const actions = (r as { actions?: unknown }).actions;
  const doc = {
    scenario: r.scenario,
    seed: r.seed,
    trace_hash: r.trace_hash,
    ok: r.violations.length === 0,
    violations: r.violations,
    events: r.events,
    simulated_ms: r.simulated_ms,
    wall_ms: r.wall_ms,
    converged_ms: r.converged_ms ?? null,
    writes: r.writes,
    crashes: r.crashes,
    swarm: r.swarm,
    trace_tail: world.scheduler.traceTail(FAILURE_TRACE_LINES),
    history: r.history.toJSON(),
    ...(actions === undefined ? {} : { actions }),
  };
  // Through JSON, as a file would be: Infinity in the fault mix becomes null.
  const label = `--run ${spec}`;
  return { file: label, source: 'chosen', run: parseRunFile(label, JSON.parse(JSON.stringify(doc))) };
}

/** Reads the inputs the flags name (the defaults when they name none) and the chosen runs. */
export function gatherInputs(flags: ReportFlags, cwd: string): ReportInputs {
  const chosen = [...new Set(flags.run ?? [])];
  if (chosen.length > CHOSEN_RUNS_MAX) throw new UsageError(`--run: at most ${CHOSEN_RUNS_MAX} runs`);
  const inputs = readInputs({ cwd, bench: flags.bench, sim: flags.sim, runs: flags.runFile });
  for (const spec of chosen) inputs.runs.push(chosenRun(spec));
  return inputs;
}

/** Runs the report command; returns its exit code. */
export async function report(flags: ReportFlags, io: CliIo): Promise<number> {
  const started = performance.now();
  let inputs: ReportInputs;
  try {
    inputs = gatherInputs(flags, io.cwd);
  } catch (error) {
    if (!(error instanceof ReportInputError)) throw error;
    io.err(`aregula report: ${error.message}\n`);
    return EXIT_CANNOT_RUN;
  }
  if (inputs.bench.length + inputs.sim.length + inputs.runs.length === 0) {
    io.err(
      'aregula report: nothing to report: no bench JSON, sim JSON or run file found in reports/out/ ' +
        '(write them with `npm run bench -- --json reports/out/bench.json` and `aregula sim --json reports/out/sim.json`)\n',
    );
    return EXIT_CANNOT_RUN;
  }
  const outDir = resolve(io.cwd, flags.out ?? 'reports/out');
  const written = await writeReport(inputs, { outDir, generatedAt: new Date() });
  for (const note of written.model.notes) io.err(`report: note: ${note}\n`);
  io.out(written.summary);
  io.err(
    `report: wrote ${written.pagePath} (${Math.round(written.pageBytes / 1024)} KiB, ${written.charts} charts) and ` +
      `${written.summaryPath} from ${inputs.bench.length} bench, ${inputs.sim.length} sim and ${inputs.runs.length} run files ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return EXIT_OK;
}

/** The `report` subcommand. */
export const reportCommand: CommandModule = {
  name: 'report',
  register(program: Command, context: CliContext): void {
    program
      .command('report')
      .description(
        'render reports/out/index.html (benchmarks, simulator results, run timelines) and summary.md',
      )
      .option('--bench <files...>', 'bench JSON files to read (default: every one in reports/out/)')
      .option('--sim <files...>', 'sim JSON files to read (default: every one in reports/out/)')
      .option(
        '--run-file <files...>',
        'run files (a failing run with its history and trace) to draw timelines of',
      )
      .option(
        '--run <scenario:seed...>',
        'simulate SCENARIO:SEED now and draw its timeline (e.g. tab-closed:17)',
      )
      .option('--out <dir>', 'where to write index.html and summary.md', 'reports/out')
      .addHelpText(
        'after',
        '\nWith none of --bench, --sim and --run-file, reads reports/out/*.json (bench and sim JSONs)\n' +
          'and reports/out/sim-failures/*.json. Exit codes: 0 written, 2 could not run (a bad input is named).',
      )
      .action(async (flags: ReportFlags) => {
        try {
          context.exitCode = await report(flags, context.io);
        } catch (error) {
          if (error instanceof UsageError) {
            context.io.err(`aregula: ${error.message}\n`);
            context.exitCode = EXIT_CANNOT_RUN;
            return;
          }
          context.io.err(`aregula report: could not run: ${(error as Error).stack ?? String(error)}\n`);
          context.exitCode = EXIT_CANNOT_RUN;
        }
      });
  },
};
