/**
 * The `aregula` command line: a program with one subcommand per registered module (`sim`,
 * `replay`, `export-feeds`, `bench`). Later subcommands (`hub`, `report`) are added to
 * {@link COMMANDS}.
 */

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { benchCommand } from './bench.ts';
import type { CliContext, CliIo, CommandModule } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, UsageError } from './command.ts';
import { exportFeedsCommandModule } from './export-feeds.ts';
import { hubCommand } from './hub.ts';
import { certCommand, keysCommand } from './keys.ts';
import { replayCommand } from './replay.ts';
import { reportCommand } from './report.ts';
import { simCommand } from './sim.ts';

/** Every subcommand, in `--help` order. */
export const COMMANDS: readonly CommandModule[] = [
  simCommand,
  replayCommand,
  exportFeedsCommandModule,
  benchCommand,
  hubCommand,
  reportCommand,
  keysCommand,
  certCommand,
];

/** The package version, from package.json. */
export function packageVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const version: unknown = JSON.parse(text).version;
  return typeof version === 'string' ? version : 'unknown';
}

/** The real terminal: a progress bar only on an interactive stderr outside CI. */
export function processIo(): CliIo {
  const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    tty: process.stderr.isTTY === true && !ci ? process.stderr : undefined,
    cwd: process.cwd(),
  };
}

/** Builds the program for one invocation. */
export function buildProgram(context: CliContext): Command {
  const program = new Command('aregula')
    .description('Aregula: a local-first database engine, and the harness that tests and measures it')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => context.io.out(s), writeErr: (s) => context.io.err(s) });
  for (const command of COMMANDS) command.register(program, context);
  for (const command of program.commands) {
    command
      .exitOverride()
      .configureOutput({ writeOut: (s) => context.io.out(s), writeErr: (s) => context.io.err(s) });
  }
  return program;
}

/**
 * Runs `aregula` with `args` (the arguments after the program name) and returns the exit code:
 * 0 ok, 1 a violation found, 2 could not run (bad arguments included).
 */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  const context: CliContext = { io, exitCode: EXIT_OK };
  const program = buildProgram(context);
  if (args.length === 0) {
    program.outputHelp({ error: true });
    return EXIT_CANNOT_RUN;
  }
  try {
    await program.parseAsync([...args], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version "errors" are commander's way of stopping early; real ones exit 2.
      return error.exitCode === 0 ? EXIT_OK : EXIT_CANNOT_RUN;
    }
    if (error instanceof UsageError) {
      io.err(`aregula: ${error.message}\n(run with --help for usage)\n`);
      return EXIT_CANNOT_RUN;
    }
    throw error;
  }
}
