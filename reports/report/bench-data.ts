/**
 * Shaping bench rows for the report: one table per workload (a line per size, and per `ef`
 * for vector queries, with each system's ops/s and Aregula's ratio to each baseline), and the
 * flat series the charts plot (ratio bars, scaling curves over n, recall/QPS curves, latency).
 */

import { SUBJECT_SYSTEM } from '../bench/report.ts';
import type { BenchReportInput, BenchRowInput } from './schema.ts';

/** The system every other one is compared against (the bench's own). */
export { SUBJECT_SYSTEM };

/**
 * Row fields that split one workload at one size into several lines (one per value). A
 * workload's rows that carry `variant` (the harness's name for it: `clustered ef=10`,
 * `uniform recall>=0.95`) are split by it alone, since their other fields may differ between
 * systems on the same line (the `ef` each system needed to reach a recall); rows without it are
 * split by `ef`.
 */
export const VARIANT_FIELDS: readonly string[] = ['variant', 'ef'];

/** The variant fields a workload's rows are split by (see {@link VARIANT_FIELDS}). */
function variantFieldsOf(rows: readonly BenchRowInput[]): string[] {
  if (rows.some((r) => typeof r.variant === 'string')) return ['variant'];
  return ['ef'].filter((f) => rows.some((r) => r[f] !== undefined));
}

/**
 * Extra numeric row fields the tables show beside ops/s (design.md's workload table), in
 * this order, when a workload's rows carry them.
 */
export const EXTRA_FIELDS: readonly string[] = [
  'recall',
  'latency_ms',
  'wire_ratio',
  'speedup',
  'seeds_per_min',
  'failed_runs',
  'lost_acked',
  'kills',
  'score',
];

/** One line of a workload table: one size (and variant) with every system measured. */
export interface BenchLine {
  n: number;
  /** The variant fields' values (e.g. `{ef: 200}`), empty for most workloads. */
  variant: Record<string, number | string>;
  /** The row of each system on this line. */
  bySystem: Map<string, BenchRowInput>;
}

/** A workload's table. */
export interface WorkloadTable {
  workload: string;
  /** `unit` of the first row that names one (e.g. `write`), else `op`. */
  unit: string;
  /** Systems in order of first appearance, Aregula first when present. */
  systems: string[];
  /** Systems Aregula is compared with (all the others, when Aregula was measured). */
  baselines: string[];
  /** Variant fields this workload's rows carry. */
  variantFields: string[];
  /** Extra fields present, each with the systems that carry it. */
  extras: { field: string; systems: string[] }[];
  /** Systems whose rows carry a peak RSS (measured alone in a child process), in table order. */
  rssSystems: string[];
  lines: BenchLine[];
}

/** One bar of the ratio chart. */
export interface RatioPoint {
  workload: string;
  n: number;
  /** `workload n=10K` (plus the variant), the chart's category. */
  label: string;
  baseline: string;
  /** Aregula's ops/s over the baseline's; above 1 means Aregula is faster. */
  ratio: number;
}

/** One point of a scaling curve or a recall/QPS curve. */
export interface RatePoint {
  workload: string;
  system: string;
  n: number;
  ops_per_sec: number;
}

/** One point of a recall/QPS curve. */
export interface RecallPoint extends RatePoint {
  recall: number;
  /** The search breadth, when the row names one. */
  ef: number | undefined;
}

/** One bar of a latency chart (rows with `latency_ms`). */
export interface LatencyPoint {
  workload: string;
  system: string;
  n: number;
  latency_ms: number;
}

/** The suite name(s) of a bench document, as one string. */
export function suiteName(report: BenchReportInput): string {
  return Array.isArray(report.suite) ? report.suite.join(', ') : report.suite;
}

/** The variant of a row (its `fields` that are set). */
function variantOf(row: BenchRowInput, fields: readonly string[]): Record<string, number | string> {
  const variant: Record<string, number | string> = {};
  for (const field of fields) {
    const v = row[field];
    if (typeof v === 'number' || typeof v === 'string') variant[field] = v;
  }
  return variant;
}

/** `10K`, `1M`, `500`: a size as people read it. */
export function formatCount(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}K`;
  return String(n);
}

/** `n=10K`, `n=10K ef=200` or `n=10K clustered recall>=0.95` (a `variant` field shows bare). */
export function lineLabel(line: Pick<BenchLine, 'n' | 'variant'>): string {
  const parts = [`n=${formatCount(line.n)}`];
  for (const [k, v] of Object.entries(line.variant)) parts.push(k === 'variant' ? String(v) : `${k}=${v}`);
  return parts.join(' ');
}

/** Systems in order of first appearance, with Aregula first. */
function orderSystems(rows: readonly BenchRowInput[]): string[] {
  const seen = [...new Set(rows.map((r) => r.system))];
  return seen.includes(SUBJECT_SYSTEM) ? [SUBJECT_SYSTEM, ...seen.filter((s) => s !== SUBJECT_SYSTEM)] : seen;
}

/**
 * Groups a document's rows into one table per workload (in order of first appearance). Two
 * rows for the same workload, system, size and variant: the first is kept and a note says so.
 */
export function workloadTables(report: BenchReportInput, notes: string[] = []): WorkloadTable[] {
  const byWorkload = new Map<string, BenchRowInput[]>();
  for (const row of report.rows) {
    const list = byWorkload.get(row.workload) ?? [];
    list.push(row);
    byWorkload.set(row.workload, list);
  }
  return [...byWorkload.entries()].map(([workload, rows]) => {
    const systems = orderSystems(rows);
    const variantFields = variantFieldsOf(rows);
    const lines = new Map<string, BenchLine>();
    for (const row of rows) {
      const variant = variantOf(row, variantFields);
      const key = JSON.stringify([row.n, variant]);
      const line = lines.get(key) ?? { n: row.n, variant, bySystem: new Map() };
      if (line.bySystem.has(row.system)) {
        notes.push(`${workload} ${row.system} ${lineLabel(line)}: more than one row; the first is shown`);
        continue;
      }
      line.bySystem.set(row.system, row);
      lines.set(key, line);
    }
    const unitRow = rows.find((r) => typeof r.unit === 'string');
    return {
      workload,
      unit: unitRow === undefined ? 'op' : String(unitRow.unit),
      systems,
      baselines: systems.includes(SUBJECT_SYSTEM) ? systems.filter((s) => s !== SUBJECT_SYSTEM) : [],
      variantFields,
      extras: EXTRA_FIELDS.flatMap((field) => {
        const carriers = systems.filter((s) =>
          rows.some((r) => r.system === s && typeof r[field] === 'number'),
        );
        return carriers.length === 0 ? [] : [{ field, systems: carriers }];
      }),
      rssSystems: systems.filter((s) => rows.some((r) => r.system === s && rssPeakOf(r) !== undefined)),
      lines: [...lines.values()],
    };
  });
}

/** A row's peak RSS in bytes, or undefined when it carries none. */
export function rssPeakOf(row: BenchRowInput): number | undefined {
  const v = row.rss_peak_bytes;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Bytes per mebibyte, the unit the report shows memory in. */
export const MIB_BYTES = 1024 * 1024;

/** `123.4` (MiB, one decimal), or `-` when there is no figure. */
export function formatMib(bytes: number | undefined): string {
  return bytes === undefined ? '-' : (bytes / MIB_BYTES).toFixed(1);
}

/** Aregula's ops/s over `baseline`'s on a line; undefined when either is missing or zero. */
export function lineRatio(line: BenchLine, baseline: string): number | undefined {
  const subject = line.bySystem.get(SUBJECT_SYSTEM)?.ops_per_sec;
  const base = line.bySystem.get(baseline)?.ops_per_sec;
  if (subject === undefined || base === undefined || base === 0 || subject === 0) return undefined;
  return subject / base;
}

/** Every ratio of Aregula to a baseline, for the ratio bars. */
export function ratioSeries(tables: readonly WorkloadTable[]): RatioPoint[] {
  return tables.flatMap((t) =>
    t.lines.flatMap((line) =>
      t.baselines.flatMap((baseline) => {
        const ratio = lineRatio(line, baseline);
        if (ratio === undefined) return [];
        return [
          { workload: t.workload, n: line.n, label: `${t.workload} ${lineLabel(line)}`, baseline, ratio },
        ];
      }),
    ),
  );
}

/**
 * Ops/s over n for every workload measured at two sizes or more (scaling curves). Workloads
 * with variants (one line per `ef`) are left to the recall curves.
 */
export function scalingSeries(tables: readonly WorkloadTable[]): RatePoint[] {
  return tables.flatMap((t) => {
    if (t.variantFields.length > 0) return [];
    if (new Set(t.lines.map((l) => l.n)).size < 2) return [];
    return t.lines.flatMap((line) =>
      [...line.bySystem.values()].map((row) => ({
        workload: t.workload,
        system: row.system,
        n: row.n,
        ops_per_sec: row.ops_per_sec,
      })),
    );
  });
}

/** Queries per second against recall for every row with a numeric `recall` (vector search). */
export function recallSeries(report: BenchReportInput): RecallPoint[] {
  return report.rows.flatMap((row) => {
    const recall = row.recall;
    if (typeof recall !== 'number' || !Number.isFinite(recall)) return [];
    return [
      {
        workload: row.workload,
        system: row.system,
        n: row.n,
        ops_per_sec: row.ops_per_sec,
        recall,
        ef: typeof row.ef === 'number' ? row.ef : undefined,
      },
    ];
  });
}

/** One point of the memory chart: a system's peak RSS at one size, alone in a child process. */
export interface RssPoint {
  workload: string;
  system: string;
  n: number;
  /** The child's peak RSS, MiB. */
  peak_mib: number;
  /** What the system and its data added above the child's floor (Node and modules), MiB. */
  added_mib: number;
}

/**
 * Peak memory per workload, system and size, for rows that carry it. Workloads that share a
 * name share their measurement (see reports/bench/rss.ts), so each (workload, system, n) is
 * plotted once.
 */
export function rssSeries(report: BenchReportInput): RssPoint[] {
  const seen = new Set<string>();
  return report.rows.flatMap((row) => {
    const peak = rssPeakOf(row);
    if (peak === undefined) return [];
    const key = JSON.stringify([row.workload, row.system, row.n]);
    if (seen.has(key)) return [];
    seen.add(key);
    const base =
      typeof row.rss_base_bytes === 'number' && row.rss_base_bytes <= peak ? row.rss_base_bytes : 0;
    return [
      {
        workload: row.workload,
        system: row.system,
        n: row.n,
        peak_mib: peak / MIB_BYTES,
        added_mib: (peak - base) / MIB_BYTES,
      },
    ];
  });
}

/** The memory points of workloads measured at two sizes or more (curves over n). */
export function rssMultiSize(points: readonly RssPoint[]): RssPoint[] {
  const sizes = new Map<string, Set<number>>();
  for (const p of points) sizes.set(p.workload, (sizes.get(p.workload) ?? new Set()).add(p.n));
  return points.filter((p) => (sizes.get(p.workload)?.size ?? 0) >= 2);
}

/** Every row with a numeric `latency_ms` (live-query latency and the like). */
export function latencySeries(report: BenchReportInput): LatencyPoint[] {
  return report.rows.flatMap((row) =>
    typeof row.latency_ms === 'number' && Number.isFinite(row.latency_ms)
      ? [{ workload: row.workload, system: row.system, n: row.n, latency_ms: row.latency_ms }]
      : [],
  );
}
