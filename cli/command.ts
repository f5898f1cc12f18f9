/**
 * What every `aregula` subcommand shares: how it reaches the terminal, how it reports a usage
 * error, and how it plugs into the program. The exit codes are a contract that CI reads:
 * 0 all good, 1 a check found a violation, 2 could not run (bad arguments, missing environment).
 */

import type { Command } from 'commander';

/** Exit code: everything ran and every check held. */
export const EXIT_OK = 0;
/** Exit code: a check found a violation. */
export const EXIT_VIOLATION = 1;
/** Exit code: could not run (bad arguments, unknown names, missing environment, a crash). */
export const EXIT_CANNOT_RUN = 2;

/** The terminal as a command sees it; tests substitute buffers. */
export interface CliIo {
  /** Results (tables, listings). */
  out(text: string): void;
  /** Diagnostics, notes and plain progress lines. */
  err(text: string): void;
  /** A terminal a live progress bar may draw on; undefined when output goes to a log or a pipe. */
  tty: NodeJS.WriteStream | undefined;
  /** Directory relative paths are resolved against, and whose git commit reports name. */
  cwd: string;
}

/** Bad arguments: reported on stderr with exit code {@link EXIT_CANNOT_RUN}. */
export class UsageError extends Error {
  readonly code = 'ARE_USAGE';
}

/** The state one invocation's command actions share with `main`. */
export interface CliContext {
  io: CliIo;
  /** The exit code the action chose; `main` returns it. */
  exitCode: number;
}

/** A subcommand: registered on the program by `main`. */
export interface CommandModule {
  /** The subcommand's name, as typed. */
  name: string;
  /** Adds the subcommand (its arguments, options and action) to `program`. */
  register(program: Command, context: CliContext): void;
}
