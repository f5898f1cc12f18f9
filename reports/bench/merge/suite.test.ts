import { describe, expect, it } from 'vitest';
import { checkBenchContract } from '../contract-check.ts';
import { runWorkloads } from '../harness.ts';
import { FixedSampler } from '../sampler.ts';
import { checkContent, MERGE_WORKLOAD, mergeWorkload } from './suite.ts';
import { prepareSystem } from './systems.ts';
import { MERGE_BATCH_UPDATES, MERGE_DEVICES, mergePlan } from './updates.ts';

describe('the merge plan', () => {
  it('gives each device its own fields and delivers every update once, in device order', () => {
    const plan = mergePlan(1000);
    expect(plan.perDevice).toHaveLength(MERGE_DEVICES);
    expect(plan.perDevice.flat()).toHaveLength(1000);
    for (const [device, updates] of plan.perDevice.entries())
      for (const u of updates) expect(u.key.startsWith(`d${device}.`)).toBe(true);
    const next = plan.perDevice.map(() => 0);
    for (const m of plan.messages) {
      expect(m.from).toBe(next[m.device]);
      expect(m.count).toBeGreaterThan(0);
      expect(m.count).toBeLessThanOrEqual(MERGE_BATCH_UPDATES);
      next[m.device]! += m.count;
    }
    expect(next).toEqual(plan.perDevice.map((u) => u.length));
    // The expected value of each field is the last update to it.
    const last = plan.perDevice.flat().sort((a, b) => a.value - b.value);
    const want: Record<string, number> = {};
    for (const u of last) want[u.key] = u.value;
    expect(plan.expected).toEqual(want);
  });

  it('rejects a size that is not a positive integer', () => {
    expect(() => mergePlan(0)).toThrow(/positive/);
    expect(() => mergePlan(1.5)).toThrow(/integer/);
  });
});

describe('the merge bench suite', () => {
  it('applies the same updates on all three systems and ends with the same map', async () => {
    const rows = await runWorkloads([mergeWorkload()], {
      sizes: [300],
      warmupSamples: 0,
      samples: 2,
      sampler: new FixedSampler(100),
    });
    expect(rows.map((r) => r.system)).toEqual(['aregula', 'yjs', 'automerge']);
    for (const row of rows) {
      expect(row).toMatchObject({ workload: MERGE_WORKLOAD, n: 300, ops_per_sample: 300, samples: 2 });
      expect(row.ops_per_sec).toBeCloseTo(3000, 6);
      expect(row.wire_bytes as number).toBeGreaterThan(0);
      expect(row.fields).toBe(Object.keys(mergePlan(300).expected).length);
    }
    expect(checkBenchContract(['merge'], rows)).toContain('fits the bench contract');
  });

  it('holds the expected map on every system, and a fresh replica is empty', () => {
    const plan = mergePlan(200);
    for (const name of ['aregula', 'yjs', 'automerge']) {
      const system = prepareSystem(name, plan);
      try {
        system.reset();
        expect(system.content()).toEqual({});
        system.applyAll();
        expect(() => checkContent(name, plan, system.content())).not.toThrow();
        // Re-applying changes nothing; Aregula's ingest reports the duplicates as not applied,
        // which the timed loop treats as a failure (every message must apply in full).
        if (name === 'aregula') expect(() => system.applyAll()).toThrow(/applied 0 of/);
        else system.applyAll();
        expect(() => checkContent(name, plan, system.content())).not.toThrow();
      } catch (error) {
        throw new Error(`${name}: ${String(error)}`);
      } finally {
        system.close();
      }
    }
  });

  it('fails when a replica ends with a different map', () => {
    const plan = mergePlan(100);
    const wrong = { ...plan.expected, 'd0.f0': -1 };
    expect(() => checkContent('yjs', plan, wrong)).toThrow(/different map/);
    const missing: Record<string, unknown> = { ...plan.expected };
    delete missing['d1.f0'];
    expect(() => checkContent('yjs', plan, missing)).toThrow(/different map/);
    expect(() => prepareSystem('nope', plan)).toThrow(/no system/);
  });
});
