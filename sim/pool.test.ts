/** Runs on worker threads give exactly the runs made one by one, in the order of the jobs. */

import { describe, expect, it } from 'vitest';
import { runJob, runSuite } from './pool.ts';

const jobs = [
  { scenario: 'offline-edit', seed: 1 },
  { scenario: 'tab-closed', seed: 2 },
  { scenario: 'offline-edit', seed: 3 },
  { scenario: 'clock-skew', seed: 4 },
];

describe('runSuite', () => {
  it('gives the same digests on two workers as here, in job order', async () => {
    const here = jobs.map(runJob);
    const seen: number[] = [];
    const pooled = await runSuite(jobs, { workers: 2, onResult: (_, i) => seen.push(i) });
    expect(pooled.map((d) => [d.scenario, d.seed, d.trace_hash, d.events])).toEqual(
      here.map((d) => [d.scenario, d.seed, d.trace_hash, d.events]),
    );
    expect(pooled.map((d) => d.violations)).toEqual(here.map((d) => d.violations));
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  }, 120_000);

  it('keeps job order with jobs sent ahead to each worker', async () => {
    const many = Array.from({ length: 9 }, (_, i) => ({ scenario: 'offline-edit', seed: i + 1 }));
    const pooled = await runSuite(many, { workers: 2 });
    expect(pooled.map((d) => [d.scenario, d.seed, d.trace_hash])).toEqual(
      many.map((job) => {
        const d = runJob(job);
        return [d.scenario, d.seed, d.trace_hash];
      }),
    );
  }, 120_000);

  it('runs here with one worker, and rejects bad input before starting', async () => {
    const one = await runSuite(jobs.slice(0, 1), { workers: 1 });
    expect(one[0]!.trace_hash).toBe(runJob(jobs[0]!).trace_hash);
    await expect(runSuite([{ scenario: 'nope', seed: 1 }])).rejects.toThrow(/unknown scenario/);
    for (const workers of [0, -1, 1.5, 65])
      await expect(runSuite(jobs, { workers })).rejects.toThrow(/workers/);
    expect(await runSuite([], { workers: 2 })).toEqual([]);
    expect(() => runJob({ scenario: 'nope', seed: 1 })).toThrow(/unknown scenario/);
  });
});
