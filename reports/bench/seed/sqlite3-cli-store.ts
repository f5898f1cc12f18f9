/**
 * The `sqlite3-cli` system of the `seed` suite: the `sqlite3` program, driven the way the seed
 * article drove it. A timed sample is ONE run of the program on a script file (stdin), its
 * output sent to /dev/null: for writes the PRAGMAs and one autocommit `INSERT OR REPLACE`
 * statement per document, for reads the PRAGMAs and one `SELECT` by primary key per planned
 * read. The figure is operations / elapsed time of the whole process, so process start-up and
 * SQL parsing are included (rows say so in `note`). The scripts are written at open, untimed.
 */

import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../../../engine/assert.ts';
import { SQLITE_FILE, SQLITE_PRAGMAS, SQLITE_SCHEMA } from './better-sqlite3-store.ts';
import type { SeedData } from './data.ts';
import type { DocStore, DocSystem } from './doc-store.ts';

/** The program run; found on PATH (CI installs Debian's `sqlite3` package). */
export const SQLITE3_PROGRAM = 'sqlite3';
/** Largest output captured from an untimed run (a full dump of 1M documents fits). */
const CAPTURE_BYTES_MAX = 1 << 30;

/** A SQL string literal holding `text`. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The write script: PRAGMAs, then one autocommit INSERT OR REPLACE per document. */
export function writeScript(data: SeedData): string {
  const lines: string[] = [...SQLITE_PRAGMAS];
  for (let i = 0; i < data.n; i++) {
    lines.push(
      `INSERT OR REPLACE INTO docs(id, doc) VALUES (${sqlString(data.ids[i]!)}, ${sqlString(data.texts[i]!)});`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The read script: PRAGMAs, then one SELECT by primary key per planned read. */
export function readScript(data: SeedData): string {
  const lines: string[] = [...SQLITE_PRAGMAS];
  for (const id of data.readIds) lines.push(`SELECT doc FROM docs WHERE id = ${sqlString(id)};`);
  return `${lines.join('\n')}\n`;
}

/** Thrown when the sqlite3 program cannot be run or reports an error. */
export class Sqlite3CliError extends Error {
  readonly code = 'ARE_BENCH_SQLITE3_CLI';
}

/** What to feed the program and what to do with its output. */
interface RunSpec {
  /** Arguments after the database file (SQL or dot-commands run before stdin). */
  args?: readonly string[];
  /** A script file for stdin, or text for stdin. */
  stdinFile?: string;
  stdinText?: string;
  /** Capture stdout (untimed checks) instead of sending it to /dev/null. */
  capture: boolean;
}

/** Runs `sqlite3 -bail DB ...`; throws {@link Sqlite3CliError} on any failure; returns stdout. */
export function runSqlite3(dbFile: string, spec: RunSpec): string {
  const fd = spec.stdinFile === undefined ? undefined : openSync(spec.stdinFile, 'r');
  try {
    const result = spawnSync(SQLITE3_PROGRAM, ['-bail', dbFile, ...(spec.args ?? [])], {
      stdio: [fd ?? 'pipe', spec.capture ? 'pipe' : 'ignore', 'pipe'],
      input: spec.stdinText,
      encoding: 'utf8',
      maxBuffer: CAPTURE_BYTES_MAX,
    });
    if (result.error !== undefined) {
      throw new Sqlite3CliError(
        `cannot run ${SQLITE3_PROGRAM} (install Debian's sqlite3 package): ${result.error.message}`,
        { cause: result.error },
      );
    }
    const stderr = result.stderr.trim();
    if (result.status !== 0 || stderr !== '') {
      throw new Sqlite3CliError(`${SQLITE3_PROGRAM} exited with ${result.status}: ${stderr}`);
    }
    return spec.capture ? result.stdout : '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The output lines of a captured run, without the trailing empty line. */
function outputLines(stdout: string): string[] {
  const lines = stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Drops the line `PRAGMA journal_mode=WAL` prints, checking it says the database is in WAL mode. */
function afterPragmaOutput(lines: string[]): string[] {
  assert(lines[0] === 'wal', `sqlite3 journal_mode printed ${JSON.stringify(lines[0])}, expected "wal"`);
  return lines.slice(1);
}

/** A store on a database file driven by the sqlite3 program. */
class Sqlite3CliStore implements DocStore {
  readonly lastWriteSignatures = undefined;
  private readonly dbFile: string;
  private readonly writesFile: string;
  private readonly readsFile: string;

  constructor(
    dir: string,
    private readonly data: SeedData,
  ) {
    this.dbFile = join(dir, SQLITE_FILE);
    this.writesFile = join(dir, 'writes.sql');
    this.readsFile = join(dir, 'reads.sql');
    writeFileSync(this.writesFile, writeScript(data));
    writeFileSync(this.readsFile, readScript(data));
    runSqlite3(this.dbFile, {
      stdinText: `${SQLITE_PRAGMAS.join('\n')}\n${SQLITE_SCHEMA}\n`,
      capture: false,
    });
  }

  async writeAll(): Promise<void> {
    runSqlite3(this.dbFile, { stdinFile: this.writesFile, capture: false });
  }

  async readPlanned(): Promise<void> {
    runSqlite3(this.dbFile, { stdinFile: this.readsFile, capture: false });
  }

  async load(): Promise<void> {
    // One transaction around the write script's INSERTs (its PRAGMAs run before BEGIN).
    const inserts = writeScript(this.data).split('\n').slice(SQLITE_PRAGMAS.length).join('\n');
    runSqlite3(this.dbFile, {
      stdinText: `${SQLITE_PRAGMAS.join('\n')}\nBEGIN;\n${inserts}COMMIT;\n`,
      capture: false,
    });
  }

  async readBack(ids: readonly string[]): Promise<(unknown | undefined)[]> {
    const stdout = runSqlite3(this.dbFile, { args: ['-json', 'SELECT id, doc FROM docs;'], capture: true });
    const rows = stdout.trim() === '' ? [] : (JSON.parse(stdout) as { id: string; doc: string }[]);
    const byId = new Map(rows.map((r) => [r.id, r.doc]));
    return ids.map((id) => {
      const doc = byId.get(id);
      return doc === undefined ? undefined : (JSON.parse(doc) as unknown);
    });
  }

  /** The timed read script's own output; a document it did not find prints no line at all. */
  async checkReads(): Promise<(unknown | undefined)[]> {
    const stdout = runSqlite3(this.dbFile, { stdinFile: this.readsFile, capture: true });
    return afterPragmaOutput(outputLines(stdout)).map((line) => JSON.parse(line) as unknown);
  }

  async reopen(): Promise<void> {
    // Every run of the program opens the database afresh: there is nothing to reopen.
  }

  async close(): Promise<void> {}
}

/** The `sqlite3-cli` system. */
export const sqlite3CliSystem: DocSystem = {
  name: 'sqlite3-cli',
  async open(dir: string, data: SeedData): Promise<DocStore> {
    return new Sqlite3CliStore(dir, data);
  },
};

/** The program's version line, or an error message saying why it cannot run. */
export function sqlite3Version(): { version: string } | { error: string } {
  const result = spawnSync(SQLITE3_PROGRAM, ['-version'], { encoding: 'utf8' });
  if (result.error !== undefined) return { error: `${SQLITE3_PROGRAM} cannot run: ${result.error.message}` };
  if (result.status !== 0) return { error: `${SQLITE3_PROGRAM} -version exited with ${result.status}` };
  return { version: result.stdout.trim() };
}
