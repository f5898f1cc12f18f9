import { describe, expect, it } from 'vitest';
import { checkBenchContract } from '../contract-check.ts';
import { runWorkloads } from '../harness.ts';
import { renderTables } from '../report.ts';
import { FixedSampler } from '../sampler.ts';
import { exactNeighbours, generateVectorData, K, QUERIES, recallOf } from './data.ts';
import { loadHnswlib } from './engines.ts';
import {
  calibrateEf,
  EF_CALIBRATION_MAX,
  EF_SWEEP,
  TARGET_RECALLS,
  VectorBenchState,
  vectorWorkloads,
} from './suite.ts';

describe('vector suite data', () => {
  it('finds the exact cosine neighbours, best first', () => {
    // Rows: along x, along y, diagonal, -x; the query points mostly along x.
    const data = new Float32Array([1, 0, 0, 1, 1, 1, -1, 0]);
    const queries = new Float32Array([2, 0.5]);
    expect([...exactNeighbours({ data, queries, dim: 2, k: 3 })]).toEqual([0, 2, 1]);
  });

  it('generates the same data and truth for the same kind and size', () => {
    const a = generateVectorData('clustered', 50, 8);
    const b = generateVectorData('clustered', 50, 8);
    expect(a.data).toEqual(b.data);
    expect(a.truth).toEqual(b.truth);
    expect(a.truth).toHaveLength(QUERIES * K);
    expect(generateVectorData('uniform', 50, 8).data).not.toEqual(a.data);
  });

  it('computes recall@10 from returned labels', () => {
    const d = generateVectorData('uniform', 30, 4);
    expect(recallOf(d, (q) => d.truth.subarray(q * K, (q + 1) * K))).toBe(1);
    expect(recallOf(d, () => [])).toBe(0);
    // Half of each truth list, in reverse order, is recall 0.5.
    expect(recallOf(d, (q) => [...d.truth.subarray(q * K, q * K + K / 2)].reverse())).toBe(0.5);
  });
});

describe('ef calibration', () => {
  const curve = (ef: number) => 1 - 1 / Math.sqrt(ef);
  it('finds the smallest ef that reaches the target', () => {
    const c = calibrateEf(curve, 0.9);
    expect(c).toEqual({ ef: 100, recall: 0.9, reached: true });
    expect(curve(c.ef - 1)).toBeLessThan(0.9);
  });

  it('stops at k when k already reaches the target, and at the maximum when nothing does', () => {
    expect(calibrateEf(() => 1, 0.99)).toEqual({ ef: K, recall: 1, reached: true });
    expect(calibrateEf(curve, 0.999)).toMatchObject({ ef: EF_CALIBRATION_MAX, reached: false });
  });
});

describe('the vector suite', () => {
  it('measures both systems per data kind: build, one row per ef, and queries at equal recall', async () => {
    const loaded = await loadHnswlib();
    const hnswlib = typeof loaded === 'string' ? undefined : loaded;
    const systems = hnswlib === undefined ? ['aregula'] : ['aregula', 'hnswlib-node'];
    const rows = await runWorkloads(vectorWorkloads(new VectorBenchState(hnswlib), systems), {
      sizes: [300],
      warmupSamples: 0,
      samples: 1,
      sampler: new FixedSampler(100),
    });
    const perKind = 1 + EF_SWEEP.length + TARGET_RECALLS.length;
    expect(rows).toHaveLength(2 * perKind * systems.length);
    for (const row of rows) {
      expect(row.n).toBe(300);
      expect(['clustered', 'uniform']).toContain(row.data);
      if (row.workload === 'vector.build') {
        expect(row.ops_per_sec).toBeCloseTo(3000, 6);
        continue;
      }
      expect(row.ops_per_sec).toBeCloseTo(QUERIES * 10, 6);
      expect(row.recall as number).toBeGreaterThan(0);
      expect(row.recall as number).toBeLessThanOrEqual(1);
      if (row.workload === 'vector.query-at-recall') {
        expect(row.reached).toBe(1);
        expect(row.recall as number).toBeGreaterThanOrEqual(row.target_recall as number);
      }
    }
    // With ef at least n the walk covers the whole graph: recall is (nearly) exact for both.
    for (const row of rows.filter((r) => r.workload === 'vector.query' && (r.ef as number) >= 320)) {
      expect(row.recall as number).toBeGreaterThanOrEqual(0.99);
    }
    const table = renderTables(rows);
    expect(table).toContain('vector.query clustered ef=10');
    expect(table).toContain('vector.query-at-recall uniform recall>=0.95');

    // The contract wants a baseline in the same run: checked when hnswlib-node is installed.
    if (hnswlib !== undefined)
      expect(checkBenchContract(['vector'], rows)).toContain('fits the bench contract');
  });
});
