import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readInputs } from './inputs.ts';
import { ReportInputError } from './schema.ts';
import { benchFixture, runFileFixture, simFixture } from './test-fixtures.ts';

let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'aregula-report-inputs-'));
  mkdirSync(join(cwd, 'reports', 'out', 'sim-failures'), { recursive: true });
});

afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

function put(path: string, doc: unknown): void {
  mkdirSync(join(cwd, path, '..'), { recursive: true });
  writeFileSync(join(cwd, path), typeof doc === 'string' ? doc : JSON.stringify(doc));
}

function readError(request: Parameters<typeof readInputs>[0]): ReportInputError {
  try {
    readInputs(request);
  } catch (error) {
    expect(error).toBeInstanceOf(ReportInputError);
    return error as ReportInputError;
  }
  throw new Error('expected a ReportInputError');
}

describe('default inputs', () => {
  it('reads bench and sim JSONs from reports/out, the failures folder, and skips other JSON', () => {
    put('reports/out/bench-lsm.json', benchFixture());
    put('reports/out/sim.json', simFixture());
    put('reports/out/other.json', { hello: 'world' });
    put('reports/out/notes.txt', 'not json at all');
    put('reports/out/sim-failures/b-2.json', runFileFixture());
    put('reports/out/sim-failures/old-9.json', runFileFixture({ scenario: 'old', seed: 9 }));
    const inputs = readInputs({ cwd });
    expect(inputs.bench.map((b) => b.file)).toEqual(['reports/out/bench-lsm.json']);
    expect(inputs.sim.map((s) => s.file)).toEqual(['reports/out/sim.json']);
    expect(inputs.runs.map((r) => [r.file, r.source])).toEqual([
      ['reports/out/sim-failures/b-2.json', 'listed'],
      ['reports/out/sim-failures/old-9.json', 'found'],
    ]);
    expect(inputs.notes).toEqual(['reports/out/other.json: not a bench JSON, sim JSON or run file; skipped']);
  });

  it('reads nothing (and fails nothing) when reports/out does not exist', () => {
    rmSync(join(cwd, 'reports'), { recursive: true });
    expect(readInputs({ cwd })).toEqual({ bench: [], sim: [], runs: [], notes: [] });
  });

  it('notes a run file a sim JSON lists that is missing, or is not a .json file', () => {
    const sim = simFixture();
    (sim.failures as Record<string, unknown>[]).push({
      scenario: 'a',
      seed: 1,
      file: '/etc/passwd',
      replay: '',
    });
    put('reports/out/sim.json', sim);
    const inputs = readInputs({ cwd });
    expect(inputs.runs).toEqual([]);
    expect(inputs.notes).toEqual([
      'reports/out/sim.json lists reports/out/sim-failures/b-2.json, which does not exist (run the sim again to write it)',
      'reports/out/sim.json lists /etc/passwd as a run file; not a .json file, not read',
    ]);
  });

  it('stops at a malformed file, naming it', () => {
    put('reports/out/bench.json', benchFixture());
    put('reports/out/half.json', '{"suite": "lsm", "rows": [');
    expect(readError({ cwd }).message).toMatch(/^reports\/out\/half\.json: not valid JSON/);
  });

  it('stops at a file that looks like a bench JSON but does not fit the schema', () => {
    put('reports/out/bench.json', { suite: 'lsm', rows: [{ workload: 'lsm.put' }] });
    const error = readError({ cwd });
    expect(error.file).toBe('reports/out/bench.json');
    expect(error.message).toMatch(/not a valid bench JSON: machine: .*; rows\[0\]\.system/);
  });

  it('stops at a malformed failure file', () => {
    put('reports/out/sim-failures/x.json', { ...runFileFixture(), history: 'none' });
    expect(readError({ cwd }).message).toMatch(
      /^reports\/out\/sim-failures\/x\.json: not a valid sim run file: history: /,
    );
  });
});

describe('explicit inputs', () => {
  it('reads exactly the files named, plus the run files their sim JSONs list', () => {
    put('reports/out/ignored.json', benchFixture());
    put('elsewhere/b.json', benchFixture());
    put('elsewhere/s.json', simFixture());
    put('reports/out/sim-failures/b-2.json', runFileFixture());
    put('reports/out/sim-failures/unlisted.json', runFileFixture());
    put('elsewhere/r.json', runFileFixture({ scenario: 'c', seed: 4 }));
    const inputs = readInputs({
      cwd,
      bench: ['elsewhere/b.json'],
      sim: ['elsewhere/s.json'],
      runs: ['elsewhere/r.json'],
    });
    expect(inputs.bench.map((b) => b.file)).toEqual(['elsewhere/b.json']);
    expect(inputs.sim.map((s) => s.file)).toEqual(['elsewhere/s.json']);
    expect(inputs.runs.map((r) => [r.file, r.source])).toEqual([
      ['elsewhere/r.json', 'given'],
      ['reports/out/sim-failures/b-2.json', 'listed'],
    ]);
  });

  it('refuses a named file of the wrong kind, a missing one, and a directory', () => {
    put('s.json', simFixture());
    expect(readError({ cwd, bench: ['s.json'] }).message).toMatch(/^s\.json: not a valid bench JSON: /);
    expect(readError({ cwd, sim: ['missing.json'] }).message).toBe('missing.json: cannot read it (ENOENT)');
    expect(readError({ cwd, sim: ['reports'] }).message).toBe('reports: not a regular file');
  });

  it('shows absolute paths outside the working directory as they are', () => {
    const outside = mkdtempSync(join(tmpdir(), 'aregula-report-outside-'));
    try {
      writeFileSync(join(outside, 'b.json'), JSON.stringify(benchFixture()));
      expect(readInputs({ cwd, bench: [join(outside, 'b.json')] }).bench[0]?.file).toBe(
        join(outside, 'b.json'),
      );
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
