/**
 * Failing-run artifacts of `aregula sim`: with a deliberately broken engine part (remote
 * entries skip the document views, as in sim/broken/views-skip-ingest.test.ts, patched in this
 * file only), the command exits 1 and writes one JSON file per failing run, named by scenario
 * and seed, holding the history, the trace tail and the command that replays it; the sim JSON
 * lists those files for the report.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewWriter } from '../engine/db/views.ts';
import type { CliIo } from './command.ts';
import { EXIT_OK, EXIT_VIOLATION } from './command.ts';
import { main } from './main.ts';
import { FAILURE_FILE_VERSION, FAILURE_TRACE_LINES } from './sim.ts';

const original = ViewWriter.prototype.applyEntry;
ViewWriter.prototype.applyEntry = function (this: ViewWriter, entry) {
  const reader = (this as unknown as { read: (k: Uint8Array) => unknown }).read;
  if (reader.length === 1 && entry.seq % 2 === 0) return true;
  return original.call(this, entry);
};

let cwd: string;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'aregula-sim-artifacts-'));
});

afterAll(() => {
  rmSync(cwd, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), tty: undefined, cwd };
  const code = await main(args, io);
  return { code, out, err };
}

interface Failure {
  scenario: string;
  seed: number;
  file: string;
  replay: string;
  shrunk_file?: string;
  shrunk_replay?: string;
}

describe('aregula sim: failing-run artifacts', () => {
  it('writes one file per failing run with its history, trace and replay command, and lists them', async () => {
    // One job: the broken engine part is patched in this thread only, not in worker threads.
    const r = await run(
      'sim',
      'offline-edit',
      '--seeds',
      '5',
      '--jobs',
      '1',
      '--no-shrink',
      '--json',
      'sim.json',
    );
    expect(r.code).toBe(EXIT_VIOLATION);
    const doc = JSON.parse(readFileSync(join(cwd, 'sim.json'), 'utf8'));
    const failing = doc.runs.filter((x: { ok: boolean }) => !x.ok).map((x: { seed: number }) => x.seed);
    expect(failing.length).toBeGreaterThan(0);
    const failures: Failure[] = doc.failures;
    expect(failures.map((f) => f.seed)).toEqual(failing);
    for (const f of failures) {
      expect(f.file).toBe(join('reports', 'out', 'sim-failures', `offline-edit-${f.seed}.json`));
      expect(f.replay).toBe(`npx aregula sim offline-edit --seed ${f.seed}`);
      expect(f.shrunk_file).toBeUndefined();
      expect(r.err).toContain(`history and trace: ${f.file}\n  replay: ${f.replay}`);
      const body = JSON.parse(readFileSync(join(cwd, f.file), 'utf8'));
      expect(body).toMatchObject({
        kind: 'sim-failure',
        version: FAILURE_FILE_VERSION,
        shrunk: false,
        replay: f.replay,
        scenario: 'offline-edit',
        seed: f.seed,
        ok: false,
      });
      expect(body.violations.length).toBeGreaterThan(0);
      expect(body.trace_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(body.history.length).toBeGreaterThan(0);
      expect(body.history[0]).toHaveProperty('kind');
      // The whole tail ring, not the short one runs carry: every event up to the ring's size.
      expect(body.trace_tail.length).toBeLessThanOrEqual(FAILURE_TRACE_LINES);
      expect(body.trace_tail.length).toBeGreaterThan(40);
    }
    // Passing seeds leave no file.
    for (let seed = 1; seed <= 5; seed++) {
      if (failing.includes(seed)) continue;
      expect(existsSync(join(cwd, 'reports', 'out', 'sim-failures', `offline-edit-${seed}.json`))).toBe(
        false,
      );
    }
  });

  it('writes the shrunk case beside it, with the command that replays the shrunk case', async () => {
    const first = JSON.parse(readFileSync(join(cwd, 'sim.json'), 'utf8')).failures[0] as Failure;
    const r = await run('sim', 'offline-edit', '--seed', String(first.seed), '--json', 'one.json');
    expect(r.code).toBe(EXIT_VIOLATION);
    const f = JSON.parse(readFileSync(join(cwd, 'one.json'), 'utf8')).failures[0] as Failure;
    expect(f.shrunk_file).toBe(
      join('reports', 'out', 'sim-failures', `offline-edit-${first.seed}-shrunk.json`),
    );
    expect(f.shrunk_replay).toMatch(
      new RegExp(`^npx aregula sim offline-edit --seed ${first.seed} --case '[a-z,-]*:[0-9,]*'$`),
    );
    const body = JSON.parse(readFileSync(join(cwd, f.shrunk_file!), 'utf8'));
    expect(body).toMatchObject({
      kind: 'sim-failure',
      shrunk: true,
      replay: f.shrunk_replay,
      seed: first.seed,
    });
    expect(body.violations.length).toBeGreaterThan(0);
    // The shrunk case replays with its command, and fails the same way.
    const caseText = /--case '([^']*)'/.exec(f.shrunk_replay!)![1]!;
    const again = await run(
      'sim',
      'offline-edit',
      '--seed',
      String(first.seed),
      '--case',
      caseText,
      '--json',
      'case.json',
    );
    expect(again.code).toBe(EXIT_VIOLATION);
    const replayed = JSON.parse(readFileSync(join(cwd, 'case.json'), 'utf8')).runs[0];
    expect(replayed.trace_hash).toBe(body.trace_hash);
    const bad = await run('sim', 'offline-edit', '--seed', '1', '--case', 'bogus:1');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown reduction');
  });

  it('writes no failure list entries when every run passes', async () => {
    ViewWriter.prototype.applyEntry = original;
    const r = await run('sim', 'offline-edit', '--seeds', '2', '--json', 'ok.json');
    expect(r.code).toBe(EXIT_OK);
    expect(JSON.parse(readFileSync(join(cwd, 'ok.json'), 'utf8')).failures).toEqual([]);
  });
});
