import { describe, expect, it } from 'vitest';
import {
  formatCount,
  formatMib,
  latencySeries,
  lineLabel,
  lineRatio,
  ratioSeries,
  recallSeries,
  rssMultiSize,
  rssSeries,
  scalingSeries,
  suiteName,
  workloadTables,
} from './bench-data.ts';
import { type BenchReportInput, parseBench } from './schema.ts';
import { benchFixture } from './test-fixtures.ts';

function fixture(): BenchReportInput {
  return parseBench('b.json', benchFixture());
}

describe('workload tables', () => {
  it('makes one table per workload, Aregula first, the others as baselines', () => {
    const tables = workloadTables(fixture());
    expect(tables.map((t) => t.workload)).toEqual(['lsm.put', 'vector.query', 'query.live-update']);
    const lsm = tables[0]!;
    expect(lsm.systems).toEqual(['aregula', 'classic-level', 'map']);
    expect(lsm.baselines).toEqual(['classic-level', 'map']);
    expect(lsm.unit).toBe('put');
    expect(lsm.lines.map((l) => l.n)).toEqual([1000, 10_000]);
    expect(lsm.variantFields).toEqual([]);
    expect(lsm.rssSystems).toEqual(['aregula', 'classic-level', 'map']);
    expect(tables[1]!.rssSystems).toEqual([]);
  });

  it('puts Aregula first even when a baseline row comes first', () => {
    const doc = benchFixture();
    (doc.rows as unknown[]).reverse();
    const lsm = workloadTables(parseBench('b', doc)).find((t) => t.workload === 'lsm.put')!;
    expect(lsm.systems[0]).toBe('aregula');
    expect(lsm.lines.map((l) => l.n)).toEqual([10_000, 1000]);
  });

  it('splits vector queries into one line per ef and notes their recall', () => {
    const vector = workloadTables(fixture())[1]!;
    expect(vector.variantFields).toEqual(['ef']);
    expect(vector.lines.map((l) => l.variant)).toEqual([{ ef: 50 }, { ef: 200 }]);
    expect(vector.extras).toEqual([{ field: 'recall', systems: ['aregula', 'hnswlib-node'] }]);
    expect(lineLabel(vector.lines[1]!)).toBe('n=10K ef=200');
  });

  it('keeps the first of two rows for one workload, system and size, and says so', () => {
    const doc = benchFixture();
    (doc.rows as Record<string, unknown>[]).push({
      workload: 'lsm.put',
      system: 'map',
      n: 1000,
      ops_per_sec: 1,
    });
    const notes: string[] = [];
    const lsm = workloadTables(parseBench('b', doc), notes)[0]!;
    expect(lsm.lines[0]!.bySystem.get('map')?.ops_per_sec).toBe(400_000);
    expect(notes).toEqual(['lsm.put map n=1K: more than one row; the first is shown']);
  });

  it('has no baselines when Aregula was not measured', () => {
    const doc = benchFixture();
    doc.rows = (doc.rows as Record<string, unknown>[]).filter((r) => r.system !== 'aregula');
    const tables = workloadTables(parseBench('b', doc));
    expect(tables[0]!.baselines).toEqual([]);
    expect(ratioSeries(tables)).toEqual([]);
  });
});

describe('ratios', () => {
  it('divides Aregula ops/s by each baseline on the same line', () => {
    const lsm = workloadTables(fixture())[0]!;
    expect(lineRatio(lsm.lines[0]!, 'classic-level')).toBe(4);
    expect(lineRatio(lsm.lines[0]!, 'map')).toBe(0.5);
    expect(lineRatio(lsm.lines[0]!, 'absent')).toBeUndefined();
  });

  it('gives no ratio against a zero rate (either side)', () => {
    const doc = benchFixture();
    (doc.rows as Record<string, unknown>[])[1]!.ops_per_sec = 0;
    (doc.rows as Record<string, unknown>[])[3]!.ops_per_sec = 0;
    const lsm = workloadTables(parseBench('b', doc))[0]!;
    expect(lineRatio(lsm.lines[0]!, 'classic-level')).toBeUndefined();
    expect(lineRatio(lsm.lines[1]!, 'classic-level')).toBeUndefined();
  });

  it('makes one ratio bar per line and baseline', () => {
    const ratios = ratioSeries(workloadTables(fixture()));
    expect(ratios.filter((r) => r.workload === 'lsm.put')).toEqual([
      { workload: 'lsm.put', n: 1000, label: 'lsm.put n=1K', baseline: 'classic-level', ratio: 4 },
      { workload: 'lsm.put', n: 1000, label: 'lsm.put n=1K', baseline: 'map', ratio: 0.5 },
      { workload: 'lsm.put', n: 10_000, label: 'lsm.put n=10K', baseline: 'classic-level', ratio: 5 },
      { workload: 'lsm.put', n: 10_000, label: 'lsm.put n=10K', baseline: 'map', ratio: 0.5 },
    ]);
    expect(ratios.filter((r) => r.workload === 'vector.query').map((r) => r.label)).toEqual([
      'vector.query n=10K ef=50',
      'vector.query n=10K ef=200',
    ]);
  });
});

describe('variants', () => {
  it("splits lines by the harness's variant field alone when rows carry one, so per-system fields do not split them", () => {
    const doc = benchFixture();
    const rows = doc.rows as Record<string, unknown>[];
    const base = { workload: 'vector.query-at-recall', n: 2000, ops_per_sec: 100, recall: 0.95 };
    rows.push(
      { ...base, system: 'aregula', variant: 'clustered recall>=0.95', ef: 40 },
      { ...base, system: 'hnswlib-node', variant: 'clustered recall>=0.95', ef: 25 },
      { ...base, system: 'aregula', variant: 'uniform recall>=0.95', ef: 90 },
      { ...base, system: 'hnswlib-node', variant: 'uniform recall>=0.95', ef: 60 },
    );
    const notes: string[] = [];
    const table = workloadTables(parseBench('b', doc), notes).find((t) => t.workload === base.workload)!;
    expect(notes).toEqual([]);
    expect(table.variantFields).toEqual(['variant']);
    expect(table.lines.map(lineLabel)).toEqual(['n=2K clustered recall>=0.95', 'n=2K uniform recall>=0.95']);
    expect(table.lines.map((l) => l.bySystem.get('hnswlib-node')?.ef)).toEqual([25, 60]);
  });
});

describe('series', () => {
  it('draws scaling curves only for workloads measured at two sizes or more, without variants', () => {
    const points = scalingSeries(workloadTables(fixture()));
    expect(new Set(points.map((p) => p.workload))).toEqual(new Set(['lsm.put']));
    expect(points).toHaveLength(6);
    expect(points.find((p) => p.system === 'map' && p.n === 10_000)?.ops_per_sec).toBe(300_000);
  });

  it('takes recall curves from rows with a numeric recall', () => {
    const points = recallSeries(fixture());
    expect(points.map((p) => [p.system, p.recall, p.ef, p.ops_per_sec])).toEqual([
      ['aregula', 0.9, 50, 5000],
      ['hnswlib-node', 0.91, 50, 8000],
      ['aregula', 0.97, 200, 2500],
      ['hnswlib-node', 0.96, 200, 6000],
    ]);
    const doc = benchFixture();
    (doc.rows as Record<string, unknown>[])[6]!.recall = 'high';
    expect(recallSeries(parseBench('b', doc))).toHaveLength(3);
  });

  it('takes memory points from rows with a positive rss_peak_bytes, once per workload, system and size', () => {
    const points = rssSeries(fixture());
    expect(points).toHaveLength(6);
    expect(points.find((p) => p.system === 'classic-level' && p.n === 10_000)).toEqual({
      workload: 'lsm.put',
      system: 'classic-level',
      n: 10_000,
      peak_mib: 130,
      added_mib: 50,
    });
    const doc = benchFixture();
    const rows = doc.rows as Record<string, unknown>[];
    rows.push({ ...rows[0]!, ef: 1 }); // the same workload, system and size again (a variant)
    rows[1]!.rss_peak_bytes = 0; // not a figure
    rows[2]!.rss_base_bytes = 10 * 1024 ** 3; // a floor above the peak: ignored, not negative
    const again = rssSeries(parseBench('b', doc));
    expect(again).toHaveLength(5);
    expect(again.find((p) => p.system === 'map' && p.n === 1000)?.added_mib).toBe(101);
  });

  it('draws memory curves only for workloads measured at two sizes or more', () => {
    const points = rssSeries(fixture());
    const one = { workload: 'merge.lww-map', system: 'yjs', n: 1000, peak_mib: 1, added_mib: 1 };
    expect(rssMultiSize([...points, one])).toEqual(points);
    expect(rssMultiSize([one])).toEqual([]);
  });

  it('takes latency bars from rows with a numeric latency_ms', () => {
    expect(latencySeries(fixture())).toEqual([
      { workload: 'query.live-update', system: 'aregula', n: 1000, latency_ms: 1.5 },
    ]);
  });
});

describe('formatting', () => {
  it('writes sizes as people read them', () => {
    expect([1, 999, 1000, 1500, 10_000, 100_000, 1_000_000, 2_500_000, 1234].map(formatCount)).toEqual([
      '1',
      '999',
      '1K',
      '1.5K',
      '10K',
      '100K',
      '1M',
      '2.5M',
      '1234',
    ]);
  });

  it('writes memory in MiB with one decimal', () => {
    expect([undefined, 0, 1024 * 1024, 1.25 * 1024 * 1024].map(formatMib)).toEqual([
      '-',
      '0.0',
      '1.0',
      '1.3',
    ]);
  });

  it('joins several suites into one name', () => {
    expect(suiteName(fixture())).toBe('lsm, vector');
    expect(suiteName({ ...fixture(), suite: 'seed' })).toBe('seed');
  });
});
