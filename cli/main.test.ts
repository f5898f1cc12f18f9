import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SUITES } from '../reports/bench/registry.ts';
import type { CliIo } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK } from './command.ts';
import { main, packageVersion } from './main.ts';

const repoDir = fileURLToPath(new URL('../', import.meta.url));

/** Runs `aregula args` in-process and captures what it prints. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), tty: undefined, cwd: repoDir };
  const code = await main(args, io);
  return { code, out, err };
}

describe('aregula', () => {
  it('--help lists every command and exits 0', async () => {
    const { code, out } = await run('--help');
    expect(code).toBe(EXIT_OK);
    expect(out).toMatch(/Usage: aregula/);
    expect(out).toMatch(/^\s+sim \[options\] \[scenarios\.\.\.\]/m);
    expect(out).toMatch(/^\s+replay \[options\] \[scenario\] \[seed\]/m);
    expect(out).toMatch(/^\s+export-feeds \[options\]/m);
    expect(out).toMatch(/^\s+bench \[options\] \[suites\.\.\.\]/m);
  });

  it('--version prints the package version', async () => {
    const { code, out } = await run('--version');
    expect(code).toBe(EXIT_OK);
    expect(out.trim()).toBe(packageVersion());
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('with no arguments prints usage on stderr and exits 2', async () => {
    const { code, out, err } = await run();
    expect(code).toBe(EXIT_CANNOT_RUN);
    expect(out).toBe('');
    expect(err).toMatch(/Usage: aregula/);
  });

  it('rejects an unknown command or option with exit 2', async () => {
    const command = await run('frobnicate');
    expect(command.code).toBe(EXIT_CANNOT_RUN);
    expect(command.err).toMatch(/unknown command 'frobnicate'/);
    const option = await run('bench', '--frob');
    expect(option.code).toBe(EXIT_CANNOT_RUN);
    expect(option.err).toMatch(/unknown option '--frob'/);
  });
});

describe('aregula bench', () => {
  it('--help lists the options and the registered suites', async () => {
    const { code, out } = await run('bench', '--help');
    expect(code).toBe(EXIT_OK);
    for (const option of [
      '--quick',
      '--json <file>',
      '--sizes <list>',
      '--samples <k>',
      '--systems <list>',
      '--no-rss',
    ]) {
      expect(out).toContain(option);
    }
    expect(out).toMatch(/Suites:\n\s+lsm\s.*\n\s+seed\s/);
    for (const suite of SUITES) expect(out).toMatch(new RegExp(`\\n\\s+${suite.name}\\s`));
  });

  it('names an unknown suite on stderr and exits 2 without running anything', async () => {
    const { code, out, err } = await run('bench', 'lsm', 'nosuch');
    expect(code).toBe(EXIT_CANNOT_RUN);
    expect(out).toBe('');
    expect(err).toContain(`unknown suite "nosuch" (known suites: ${SUITES.map((s) => s.name).join(', ')})`);
    expect(SUITES.map((s) => s.name)).toEqual(expect.arrayContaining(['lsm', 'seed', 'sim']));
  });

  it.each([
    [['--sizes', '10x'], /--sizes: "10x" is not a size/],
    [['--sizes', '0'], /--sizes: sizes must be at least 1/],
    [['--samples', '0'], /--samples: 0 is outside/],
    [['--samples', 'many'], /--samples: "many" is not a whole number/],
    [['--systems', 'sqlite'], /--systems: unknown "sqlite"/],
    [['--json'], /option '--json <file>' argument missing/],
  ])('rejects bad arguments %j with exit 2', async (args, message) => {
    const { code, err } = await run('bench', 'lsm', ...args);
    expect(code).toBe(EXIT_CANNOT_RUN);
    expect(err).toMatch(message);
  });

  it('runs a tiny suite, prints the table and writes the JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aregula-cli-test-'));
    try {
      const file = join(dir, 'out', 'bench.json');
      const { code, out, err } = await run(
        'bench',
        'lsm',
        '--sizes',
        '100',
        '--samples',
        '1',
        '--systems',
        'map,classic-level',
        '--no-rss',
        '--json',
        file,
      );
      expect(err).not.toContain('could not run');
      expect(code).toBe(EXIT_OK);
      expect(out).toMatch(/lsm\.get-cold\s*│\s*100\s*│\s*get/);
      expect(err).toContain(`wrote ${file}`);
      const report = JSON.parse(readFileSync(file, 'utf8'));
      expect(report.suite).toBe('lsm');
      expect(report.rows).toHaveLength(10);
      expect(report.rows[0]).not.toHaveProperty('rss_peak_bytes');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('aregula bench sim', () => {
  it('runs every scenario at one seed and prints the speed-up and runs per minute', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aregula-cli-test-'));
    try {
      const file = join(dir, 'bench.json');
      const { code, out, err } = await run('bench', 'sim', '--sizes', '1', '--no-rss', '--json', file);
      expect(err).not.toContain('could not run');
      expect(code).toBe(EXIT_OK);
      expect(out).toMatch(/sim\.suite n=1: \d+x real time, \d+ runs\/min\n/);
      const report = JSON.parse(readFileSync(file, 'utf8'));
      expect(report.suite).toBe('sim');
      expect(report.rows).toHaveLength(1);
      expect(report.rows[0]).toMatchObject({
        workload: 'sim.suite',
        system: 'aregula',
        n: 1,
        failed_runs: 0,
      });
      expect(report.rows[0].speedup).toBeGreaterThan(1);
      expect(report.rows[0].ops_per_sample).toBe(report.rows[0].scenarios);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bin/aregula.js', () => {
  const bin = join(repoDir, 'bin', 'aregula.js');

  it('exists and runs the command line through tsx', () => {
    expect(existsSync(bin)).toBe(true);
    const out = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(out).toMatch(/bench \[options\] \[suites\.\.\.\]/);
  });

  it('exits 2 with a message for an unknown suite', () => {
    const result = spawnSync(process.execPath, [bin, 'bench', 'nosuch'], { encoding: 'utf8' });
    expect(result.status).toBe(EXIT_CANNOT_RUN);
    expect(result.stderr).toContain('unknown suite "nosuch"');
    expect(result.stdout).toBe('');
  });
});
