/**
 * Finding and reading the report's inputs. By default: every `*.json` in `reports/out/` that
 * is a bench JSON or a sim JSON, every failing run's file under `reports/out/sim-failures/`,
 * and the run files the sim JSONs list. With explicit files: exactly those (plus the run files
 * their sim JSONs list). Every file is size-checked, parsed and validated
 * (reports/report/schema.ts); a bad one stops the report with an error that names it.
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  type BenchReportInput,
  classify,
  parseBench,
  parseJsonText,
  parseRunFile,
  parseSim,
  ReportInputError,
  type RunFileInput,
  type SimReportInput,
} from './schema.ts';

/** Largest input file read, in bytes. */
export const INPUT_BYTES_MAX = 256 * 1024 * 1024;
/** Most files of each kind one report reads. */
export const INPUT_FILES_MAX = 10_000;

/** Where the default inputs are, relative to the working directory. */
export const DEFAULT_INPUT_DIR = join('reports', 'out');
/** Where `aregula sim` writes failing runs' files, relative to the working directory. */
export const FAILURE_DIR = join('reports', 'out', 'sim-failures');

/** A bench JSON and the file it came from. */
export interface LoadedBench {
  /** The file as shown to people (relative to the working directory when inside it). */
  file: string;
  report: BenchReportInput;
}

/** A sim JSON and the file it came from. */
export interface LoadedSim {
  file: string;
  report: SimReportInput;
}

/**
 * How a run came to be in the report: `listed` by a sim JSON read here, `found` in the
 * failures folder without a sim JSON listing it (perhaps from an earlier sim), `given` on the
 * command line, or `chosen` (run now by `aregula report --run`).
 */
export type RunSource = 'listed' | 'found' | 'given' | 'chosen';

/** A run file (history, trace tail) and where it came from. */
export interface LoadedRun {
  file: string;
  source: RunSource;
  run: RunFileInput;
}

/** Everything a report is built from. */
export interface ReportInputs {
  bench: LoadedBench[];
  sim: LoadedSim[];
  runs: LoadedRun[];
  /** What was skipped or missing, for the page and the terminal. */
  notes: string[];
}

/** Which files to read. */
export interface InputRequest {
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** Bench JSON files; with `sim` and `runs` all undefined, the default inputs are read. */
  bench?: readonly string[];
  sim?: readonly string[];
  /** Run files (a failing run's history and trace). */
  runs?: readonly string[];
}

/** Reads and parses one JSON file, refusing files that are missing, not files, or too big. */
export function readJsonFile(cwd: string, file: string): unknown {
  const path = resolve(cwd, file);
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new ReportInputError(file, 'not a regular file');
    size = stat.size;
  } catch (error) {
    if (error instanceof ReportInputError) throw error;
    throw new ReportInputError(
      file,
      `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  if (size > INPUT_BYTES_MAX) {
    throw new ReportInputError(
      file,
      `${size} bytes is more than the ${INPUT_BYTES_MAX} bytes a report input may have`,
    );
  }
  return parseJsonText(file, readFileSync(path, 'utf8'));
}

/** `path` as people should see it: relative to `cwd` when inside it. */
function shown(cwd: string, path: string): string {
  const rel = relative(cwd, resolve(cwd, path));
  return rel.startsWith('..') || rel === '' ? resolve(cwd, path) : rel;
}

/** The `*.json` files directly in `dir` (sorted), or none when it does not exist. */
function jsonFilesIn(cwd: string, dir: string): string[] {
  const path = resolve(cwd, dir);
  if (!existsSync(path) || !statSync(path).isDirectory()) return [];
  const names = readdirSync(path)
    .filter((n) => n.endsWith('.json'))
    .sort();
  if (names.length > INPUT_FILES_MAX) {
    throw new ReportInputError(dir, `${names.length} JSON files; a report reads at most ${INPUT_FILES_MAX}`);
  }
  return names.filter((n) => statSync(join(path, n)).isFile()).map((n) => join(dir, n));
}

/** Reads the default inputs: classified by shape, other JSON files noted and skipped. */
function readDefaults(cwd: string, into: ReportInputs, seen: Set<string>): void {
  for (const file of jsonFilesIn(cwd, DEFAULT_INPUT_DIR)) {
    const doc = readJsonFile(cwd, file);
    const kind = classify(doc);
    seen.add(resolve(cwd, file));
    if (kind === 'bench') into.bench.push({ file, report: parseBench(file, doc) });
    else if (kind === 'sim') into.sim.push({ file, report: parseSim(file, doc) });
    else if (kind === 'run') into.runs.push({ file, source: 'found', run: parseRunFile(file, doc) });
    else into.notes.push(`${file}: not a bench JSON, sim JSON or run file; skipped`);
  }
}

/** Reads the run files every sim JSON lists; missing ones are noted, not fatal. */
function readListedRuns(cwd: string, into: ReportInputs, seen: Set<string>): void {
  for (const sim of into.sim) {
    for (const ref of sim.report.failures ?? []) {
      for (const file of [ref.file, ref.shrunk_file]) {
        if (file === undefined) continue;
        const path = resolve(cwd, file);
        if (seen.has(path)) continue;
        seen.add(path);
        if (!file.endsWith('.json')) {
          into.notes.push(`${sim.file} lists ${file} as a run file; not a .json file, not read`);
        } else if (!existsSync(path)) {
          into.notes.push(`${sim.file} lists ${file}, which does not exist (run the sim again to write it)`);
        } else {
          into.runs.push({
            file: shown(cwd, file),
            source: 'listed',
            run: parseRunFile(file, readJsonFile(cwd, file)),
          });
        }
      }
    }
  }
}

/** Marks runs found in the failures folder that a sim JSON lists as `listed`. */
function markListed(cwd: string, inputs: ReportInputs): void {
  const listed = new Set(
    inputs.sim.flatMap((s) =>
      (s.report.failures ?? []).flatMap((f) =>
        [f.file, f.shrunk_file].flatMap((x) => (x ? [resolve(cwd, x)] : [])),
      ),
    ),
  );
  for (const r of inputs.runs)
    if (r.source === 'found' && listed.has(resolve(cwd, r.file))) r.source = 'listed';
}

/** Reads the requested inputs (the defaults when none is named). */
export function readInputs(request: InputRequest): ReportInputs {
  const { cwd } = request;
  const inputs: ReportInputs = { bench: [], sim: [], runs: [], notes: [] };
  const seen = new Set<string>();
  const explicit = request.bench !== undefined || request.sim !== undefined || request.runs !== undefined;
  if (!explicit) {
    readDefaults(cwd, inputs, seen);
    for (const file of jsonFilesIn(cwd, FAILURE_DIR)) {
      seen.add(resolve(cwd, file));
      inputs.runs.push({ file, source: 'found', run: parseRunFile(file, readJsonFile(cwd, file)) });
    }
  }
  for (const file of request.bench ?? []) {
    inputs.bench.push({ file: shown(cwd, file), report: parseBench(file, readJsonFile(cwd, file)) });
  }
  for (const file of request.sim ?? []) {
    inputs.sim.push({ file: shown(cwd, file), report: parseSim(file, readJsonFile(cwd, file)) });
  }
  for (const file of request.runs ?? []) {
    seen.add(resolve(cwd, file));
    inputs.runs.push({
      file: shown(cwd, file),
      source: 'given',
      run: parseRunFile(file, readJsonFile(cwd, file)),
    });
  }
  readListedRuns(cwd, inputs, seen);
  markListed(cwd, inputs);
  return inputs;
}
