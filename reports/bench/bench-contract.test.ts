import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lsmSuite } from './lsm/suite.ts';
import { LineProgress } from './progress.ts';
import { writeReport } from './report.ts';
import { NothingMeasuredError, runBench } from './run.ts';

const repoDir = fileURLToPath(new URL('../../', import.meta.url));
// The contract checker lives in the shared folder beside the checkout (../shared), as in CI.
const checker = join(repoDir, '..', 'shared', 'tools', 'check-contracts.mjs');

describe('a tiny lsm run', () => {
  it('writes JSON that fits the bench contract', async () => {
    // Never skipped: without the checker this test fails and says why.
    expect(
      existsSync(checker),
      `${checker} is missing: run the tests from a clone that has the shared folder beside it, as CI does`,
    ).toBe(true);
    const lines: string[] = [];
    const report = await runBench({
      suites: [lsmSuite],
      quick: true,
      sizes: [200],
      samples: 2,
      systems: ['map', 'classic-level'],
      progress: new LineProgress({ write: (t) => lines.push(t) }),
      repoDir,
    });
    expect(report.suite).toBe('lsm');
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.commit).toMatch(/^([0-9a-f]{40,64}|unknown)$/);
    expect(Number.isNaN(Date.parse(report.machine.date))).toBe(false);
    const workloads = ['lsm.put', 'lsm.put-batch', 'lsm.get-hot', 'lsm.get-cold', 'lsm.scan'];
    expect(report.rows.map((r) => `${r.workload} ${r.system}`)).toEqual(
      workloads.flatMap((w) => [`${w} classic-level`, `${w} map`]),
    );
    for (const row of report.rows) {
      expect(row).toMatchObject({ n: 200, samples: 2 });
      expect(row.ops_per_sec).toBeGreaterThan(0);
      expect(row.rss_peak_bytes).toBeGreaterThan(0);
    }
    expect(report.rows.find((r) => r.workload === 'lsm.scan')).toMatchObject({
      unit: 'scan',
      entries_per_scan: 100,
    });
    expect(lines.join('')).toContain('lsm.get-cold n=200 [classic-level, map]');

    const dir = mkdtempSync(join(tmpdir(), 'aregula-contract-test-'));
    try {
      const file = join(dir, 'bench.json');
      writeReport(file, report);
      const out = execFileSync(process.execPath, [checker, 'bench', file], { encoding: 'utf8' });
      expect(out).toContain('fits the bench contract');
      expect(JSON.parse(readFileSync(file, 'utf8')).rows).toHaveLength(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('measures aregula on every workload, its answers checked like the others', async () => {
    const report = await runBench({
      suites: [lsmSuite],
      quick: true,
      sizes: [300],
      samples: 1,
      progress: new LineProgress({ write: () => {} }),
      repoDir,
    });
    const aregula = report.rows.filter((r) => r.system === 'aregula').map((r) => r.workload);
    expect(aregula).toEqual(['lsm.put', 'lsm.put-batch', 'lsm.get-hot', 'lsm.get-cold', 'lsm.scan']);
    expect(report.rows).toHaveLength(15);
  });

  it('fails when no system is left to measure', async () => {
    await expect(
      runBench({
        suites: [lsmSuite],
        quick: true,
        sizes: [10],
        systems: ['better-sqlite3'],
        progress: new LineProgress({ write: () => {} }),
        repoDir,
      }),
    ).rejects.toBeInstanceOf(NothingMeasuredError);
  });
});
