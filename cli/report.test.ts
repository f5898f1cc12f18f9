import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { benchFixture, runFileFixture, simFixture } from '../reports/report/test-fixtures.ts';
import type { CliIo } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK } from './command.ts';
import { main } from './main.ts';
import { parseRunSpec } from './report.ts';

let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'aregula-report-cli-'));
});

afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

function put(path: string, doc: unknown): void {
  mkdirSync(join(cwd, path, '..'), { recursive: true });
  writeFileSync(join(cwd, path), typeof doc === 'string' ? doc : JSON.stringify(doc));
}

/** Runs `aregula args` in-process in the temporary directory. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), tty: undefined, cwd };
  const code = await main(args, io);
  return { code, out, err };
}

describe('aregula report', () => {
  it('renders index.html and summary.md from the default inputs and prints the summary', async () => {
    put('reports/out/bench.json', benchFixture());
    put('reports/out/sim.json', simFixture());
    put('reports/out/sim-failures/b-2.json', runFileFixture());
    const { code, out, err } = await run('report');
    expect(err).toMatch(
      /report: wrote .*index\.html \(\d+ KiB, 9 charts\) and .*summary\.md from 1 bench, 1 sim and 1 run files/,
    );
    expect(code).toBe(EXIT_OK);
    const summary = readFileSync(join(cwd, 'reports/out/summary.md'), 'utf8');
    expect(out).toBe(summary);
    expect(summary).toContain('**1 of 6 runs failed**');
    const html = readFileSync(join(cwd, 'reports/out/index.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(9);
    expect(html).toContain('b seed 2');
  });

  it('writes where --out says, from the files named', async () => {
    put('in/b.json', benchFixture());
    const { code } = await run('report', '--bench', 'in/b.json', '--out', 'site');
    expect(code).toBe(EXIT_OK);
    expect(existsSync(join(cwd, 'site/index.html'))).toBe(true);
    expect(existsSync(join(cwd, 'site/summary.md'))).toBe(true);
    expect(existsSync(join(cwd, 'reports/out/index.html'))).toBe(false);
  });

  it('simulates a chosen run and draws its timeline', async () => {
    const { code, err } = await run('report', '--run', 'offline-edit:1', '--out', 'o');
    expect(err).toMatch(/from 0 bench, 0 sim and 1 run files/);
    expect(code).toBe(EXIT_OK);
    const html = readFileSync(join(cwd, 'o/index.html'), 'utf8');
    expect(html).toContain('offline-edit seed 1');
    expect(html).toContain('chosen with --run');
    expect(html).toContain('<code class="cmd">npx aregula sim offline-edit --seed 1</code>');
  });

  it('exits 2 naming a malformed file, and writes nothing', async () => {
    put('reports/out/bench.json', benchFixture());
    put('reports/out/broken.json', '{"runs": [], "violations": ');
    const { code, err } = await run('report');
    expect(code).toBe(EXIT_CANNOT_RUN);
    expect(err).toMatch(/^aregula report: reports\/out\/broken\.json: not valid JSON/);
    expect(existsSync(join(cwd, 'reports/out/index.html'))).toBe(false);
  });

  it('exits 2 naming a file that does not fit its schema', async () => {
    const sim = simFixture();
    (sim.runs as Record<string, unknown>[])[1]!.ok = 'yes';
    put('s.json', sim);
    const { code, err } = await run('report', '--sim', 's.json');
    expect(code).toBe(EXIT_CANNOT_RUN);
    expect(err).toBe(
      'aregula report: s.json: not a valid sim JSON: runs[1].ok: Invalid input: expected boolean, received string\n',
    );
  });

  it('exits 2 when there is nothing to report', async () => {
    const { code, err } = await run('report');
    expect(code).toBe(EXIT_CANNOT_RUN);
    expect(err).toMatch(/nothing to report/);
  });

  it('exits 2 on a bad --run', async () => {
    const unknown = await run('report', '--run', 'no-such-scenario:1');
    expect(unknown.code).toBe(EXIT_CANNOT_RUN);
    expect(unknown.err).toMatch(/unknown scenario "no-such-scenario"/);
    const badSeed = await run('report', '--run', 'tab-closed:x');
    expect(badSeed.code).toBe(EXIT_CANNOT_RUN);
    expect(badSeed.err).toMatch(/"x" is not a whole number/);
  });

  it('parses SCENARIO:SEED', () => {
    expect(parseRunSpec('tab-closed:17')).toEqual({ scenario: 'tab-closed', seed: 17 });
    expect(() => parseRunSpec('tab-closed')).toThrow(/not SCENARIO:SEED/);
    expect(() => parseRunSpec(':3')).toThrow(/not SCENARIO:SEED/);
    expect(() => parseRunSpec('a:99999999999')).toThrow(/outside/);
  });

  it('is listed in --help', async () => {
    const { out } = await run('--help');
    expect(out).toMatch(/^\s+report \[options\]/m);
  });
});
