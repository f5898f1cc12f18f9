import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONTRACT_CHECKER, checkBenchContract } from './contract-check.ts';
import { lsmSuite } from './lsm/suite.ts';
import { LineProgress } from './progress.ts';
import type { RssJob, RssProbe } from './rss.ts';
import { NothingMeasuredError, runBench } from './run.ts';

const repoDir = fileURLToPath(new URL('../../', import.meta.url));

describe('a tiny lsm run', () => {
  it('writes JSON that fits the bench contract', async () => {
    // Never skipped: without the checker this test fails and says why.
    expect(
      existsSync(CONTRACT_CHECKER),
      `${CONTRACT_CHECKER} is missing: run the tests from a clone that has the shared folder beside it, as CI does`,
    ).toBe(true);
    const lines: string[] = [];
    // The real child process is tested in rss.test.ts; here the rows' shape is what matters.
    const jobs: RssJob[] = [];
    const rssProbe: RssProbe = {
      async measure(job) {
        jobs.push(job);
        return { peakBytes: 300_000_000, baseBytes: 100_000_000, childrenBytes: 0 };
      },
    };
    const report = await runBench({
      suites: [lsmSuite],
      quick: true,
      sizes: [200],
      samples: 2,
      systems: ['map', 'classic-level'],
      rss: true,
      rssProbe,
      progress: new LineProgress({ write: (t) => lines.push(t) }),
      repoDir,
    });
    expect(jobs).toHaveLength(10);
    expect(jobs[0]).toEqual({
      suite: 'lsm',
      workloadIndex: 0,
      workload: 'lsm.put',
      system: 'classic-level',
      n: 200,
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
      expect(row).toMatchObject({ rss_peak_bytes: 300_000_000, rss_base_bytes: 100_000_000 });
    }
    expect(report.rows.find((r) => r.workload === 'lsm.scan')).toMatchObject({
      unit: 'scan',
      entries_per_scan: 100,
    });
    expect(lines.join('')).toContain('lsm.get-cold n=200 [classic-level, map]');

    expect(checkBenchContract(['lsm'], report.rows)).toContain('fits the bench contract');
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
    expect(report.rows[0]).not.toHaveProperty('rss_peak_bytes'); // not asked for
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
