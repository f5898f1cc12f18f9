import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { getScenario } from '../../../scenarios/index.ts';
import type { Scenario } from '../../../sim/world.ts';
import { runWorkloads } from '../harness.ts';
import { buildReport, writeReport } from '../report.ts';
import type { Sampler } from '../sampler.ts';
import type { BenchCase } from '../types.ts';
import { runSuite, SIM_WORKLOAD, simWorkload, suiteFields } from './suite.ts';

const repoDir = fileURLToPath(new URL('../../../', import.meta.url));
const checker = join(repoDir, '..', 'shared', 'tools', 'check-contracts.mjs');

/** Runs the hooks and reports a fixed time, so the figures are exact. */
class FixedSampler implements Sampler {
  constructor(private readonly ms: number) {}
  async time(c: BenchCase): Promise<number> {
    await c.beforeSample();
    await c.sample();
    await c.afterSample();
    return this.ms;
  }
}

const offlineEdit = getScenario('offline-edit')!;

describe('the sim bench suite', () => {
  it('runs every scenario over seeds 1..n and reports runs/s, speedup and seeds/min', async () => {
    const scenarios = [offlineEdit, getScenario('tab-closed')!];
    const rows = await runWorkloads([simWorkload(scenarios)], {
      sizes: [2],
      warmupSamples: 0,
      samples: 2,
      sampler: new FixedSampler(1000),
    });
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({
      workload: SIM_WORKLOAD,
      system: 'aregula',
      n: 2,
      ops_per_sample: 4,
      samples: 2,
    });
    // Four runs per 1,000 ms sample (the harness's timing) is 4 ops/s.
    expect(row.ops_per_sec).toBeCloseTo(4, 6);
    expect(row.failed_runs).toBe(0);
    expect(row.scenarios).toBe(2);
    expect(row.speedup as number).toBeGreaterThan(0);
    // The extra fields use the sample's own wall time: consistent with each other.
    const wallMs = (60_000 * 4) / (row.seeds_per_min as number);
    expect((row.simulated_ms as number) / wallMs).toBeCloseTo(row.speedup as number, 6);
    expect(row.events as number).toBeGreaterThan(0);

    const dir = mkdtempSync(join(tmpdir(), 'aregula-sim-bench-'));
    try {
      const file = join(dir, 'bench.json');
      writeReport(
        file,
        buildReport(
          ['sim'],
          {
            cpu: 'x',
            cores: 1,
            memoryBytes: 1,
            node: 'v',
            platform: 'p',
            arch: 'a',
            commit: 'unknown',
            date: new Date().toISOString(),
          },
          rows,
        ),
      );
      expect(execFileSync(process.execPath, [checker, 'bench', file], { encoding: 'utf8' })).toContain(
        'fits the bench contract',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives one trace hash per run, the same on every sample', () => {
    const a = runSuite([offlineEdit], 3);
    const b = runSuite([offlineEdit], 3);
    expect(a.traceHashes).toHaveLength(3);
    expect(new Set(a.traceHashes).size).toBe(3);
    expect(b.traceHashes).toEqual(a.traceHashes);
    expect(b.simulatedMs).toBe(a.simulatedMs);
  });

  it('fails the benchmark when samples are not deterministic', async () => {
    // A story that notes a value from outside the seed: every run differs.
    const leaky: Scenario = {
      ...offlineEdit,
      name: 'leaky',
      script: (w) => w.scheduler.note(String(Math.random())),
    };
    await expect(
      runWorkloads([simWorkload([leaky])], {
        sizes: [1],
        warmupSamples: 0,
        samples: 2,
        sampler: new FixedSampler(10),
      }),
    ).rejects.toThrow(/not deterministic/);
  });

  it('counts failed runs instead of hiding them', () => {
    const broken: Scenario = {
      ...offlineEdit,
      name: 'broken',
      script: () => {
        throw new Error('a story that throws');
      },
    };
    const s = runSuite([broken], 2);
    expect(s.failedRuns).toBe(2);
    expect(suiteFields([s], 1).failed_runs).toBe(2);
  });
});
