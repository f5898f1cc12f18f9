/**
 * `aregula bench [SUITE...]`: runs benchmark suites, prints a table of each system's ops/s and
 * Aregula's ratio to each baseline, and with `--json FILE` writes the bench JSON document.
 */

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BarProgress, LineProgress } from '../reports/bench/progress.ts';
import { findSuite, SUITES } from '../reports/bench/registry.ts';
import { renderTables, writeReport } from '../reports/bench/report.ts';
import { runBench } from '../reports/bench/run.ts';
import type { Suite } from '../reports/bench/types.ts';
import type { CliContext, CliIo, CommandModule } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, UsageError } from './command.ts';
import { parseIntegerIn, parseNames, parseSizes } from './options.ts';

/** Most timed samples `--samples` accepts. */
export const SAMPLES_MAX = 1000;

/** The options commander hands the action. */
interface BenchFlags {
  quick?: boolean;
  json?: string;
  sizes?: string;
  samples?: string;
  systems?: string;
  /** False with `--no-rss`. */
  rss?: boolean;
}

/** The suites named on the command line (all of them when none is named). */
export function resolveSuites(names: readonly string[]): Suite[] {
  if (names.length === 0) return [...SUITES];
  const known = SUITES.map((s) => s.name).join(', ');
  return [...new Set(names)].map((name) => {
    const suite = findSuite(name);
    if (suite === undefined) throw new UsageError(`unknown suite "${name}" (known suites: ${known})`);
    return suite;
  });
}

/** Runs the bench command; returns its exit code. */
async function bench(names: readonly string[], flags: BenchFlags, io: CliIo): Promise<number> {
  const suites = resolveSuites(names);
  const sizes = flags.sizes === undefined ? undefined : parseSizes('--sizes', flags.sizes);
  const samples =
    flags.samples === undefined
      ? undefined
      : parseIntegerIn('--samples', flags.samples, { min: 1, max: SAMPLES_MAX });
  const knownSystems = [...new Set(suites.flatMap((s) => s.systems))];
  const systems =
    flags.systems === undefined ? undefined : parseNames('--systems', flags.systems, knownSystems);
  const progress = io.tty !== undefined ? new BarProgress(io.tty) : new LineProgress({ write: io.err });
  try {
    const report = await runBench({
      suites,
      quick: flags.quick === true,
      sizes,
      samples,
      systems,
      rss: flags.rss !== false,
      progress,
      repoDir: io.cwd,
    });
    io.out(`${renderTables(report.rows)}\n`);
    for (const row of report.rows) {
      // The simulator's figures that the ops/s table does not show (design.md: sim.suite).
      if (typeof row.speedup === 'number' && typeof row.seeds_per_min === 'number')
        io.out(
          `${row.workload} n=${row.n}: ${row.speedup.toFixed(0)}x real time, ${row.seeds_per_min.toFixed(0)} runs/min` +
            `${typeof row.failed_runs === 'number' && row.failed_runs > 0 ? `, ${row.failed_runs} runs FAILED a check` : ''}\n`,
        );
    }
    if (flags.json !== undefined) {
      const file = resolve(io.cwd, flags.json);
      writeReport(file, report);
      io.err(`bench: wrote ${file}\n`);
    }
    return EXIT_OK;
  } catch (error) {
    io.err(`aregula bench: could not run: ${describe(error)}\n`);
    return EXIT_CANNOT_RUN;
  }
}

/** A message with the stack and causes, for a failure nobody expected. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause === undefined ? '' : `\ncaused by: ${describe(error.cause)}`;
  return `${error.stack ?? error.message}${cause}`;
}

/** The `bench` subcommand. */
export const benchCommand: CommandModule = {
  name: 'bench',
  register(program: Command, context: CliContext): void {
    const suiteList = SUITES.map((s) => `  ${s.name.padEnd(10)} ${s.description}`).join('\n');
    program
      .command('bench')
      .description('run benchmark suites, comparing Aregula with baselines in the same run')
      .argument('[suites...]', `suites to run (default: all)`)
      .option('--quick', 'small sizes and few samples (the whole suite in well under a minute)')
      .option('--json <file>', 'write the results as JSON to FILE')
      .option('--sizes <list>', 'comma-separated sizes n, e.g. 1000,10K,1M (default: the suite profile)')
      .option('--samples <k>', 'timed samples per system (default: the suite profile)')
      .option('--systems <list>', 'only these systems, e.g. aregula,map')
      .option(
        '--no-rss',
        'skip peak memory (each system is otherwise run once more alone in a child process)',
      )
      .addHelpText('after', `\nSuites:\n${suiteList}`)
      .action(async (names: string[], flags: BenchFlags) => {
        context.exitCode = await bench(names, flags, context.io);
      });
  },
};
