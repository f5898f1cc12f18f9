/**
 * Turning benchmark rows into what people and programs read: the bench JSON document and a
 * terminal table with the ratio of Aregula to each baseline.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Table from 'cli-table3';
import type { BenchReport, BenchRow, MachineInfo } from './types.ts';

/** The system every other one is compared against in the ratio columns. */
export const SUBJECT_SYSTEM = 'aregula';

/** Builds the bench JSON document; one suite is a string, several an array. */
export function buildReport(
  suites: readonly string[],
  machine: MachineInfo,
  rows: readonly BenchRow[],
): BenchReport {
  return { suite: suites.length === 1 ? suites[0]! : [...suites], machine, rows: [...rows] };
}

/** Writes `report` as JSON to `file`, creating its directory. */
export function writeReport(file: string, report: BenchReport): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** Formats an operation rate with three significant digits and a K/M/G suffix. */
export function formatRate(opsPerSec: number): string {
  const units: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, suffix] of units) {
    if (opsPerSec >= scale) return `${(opsPerSec / scale).toPrecision(3)}${suffix}`;
  }
  return opsPerSec.toPrecision(3);
}

/** Formats `subject / baseline` as e.g. `1.25x`, or `-` when either is missing. */
export function formatRatio(subject: number | undefined, baseline: number | undefined): string {
  if (subject === undefined || baseline === undefined || baseline === 0) return '-';
  const ratio = subject / baseline;
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}x`;
}

/**
 * Renders the rows as tables, one per set of systems compared (a suite's workloads usually
 * share one): a line per workload and size with each system's ops/s, then
 * `aregula/<baseline>` for each baseline (above 1 means Aregula is faster).
 */
export function renderTables(rows: readonly BenchRow[]): string {
  const bySystems = new Map<string, BenchRow[]>();
  for (const key of lineKeys(rows)) {
    const line = rows.filter((r) => lineKey(r) === key);
    const systems = line.map((r) => r.system).join(',');
    bySystems.set(systems, [...(bySystems.get(systems) ?? []), ...line]);
  }
  return [...bySystems.entries()]
    .map(([systems, group]) => renderTable(systems.split(','), group))
    .join('\n');
}

/** One table for rows that all compare the same `systems`. */
function renderTable(systems: readonly string[], rows: readonly BenchRow[]): string {
  const baselines = systems.includes(SUBJECT_SYSTEM) ? systems.filter((s) => s !== SUBJECT_SYSTEM) : [];
  const table = new Table({
    head: [
      'workload',
      'n',
      'unit',
      ...systems.map((s) => `${s} ops/s`),
      ...baselines.map((b) => `${SUBJECT_SYSTEM}/${b}`),
    ],
    style: { head: [], border: [] },
    colAligns: [
      'left',
      'right',
      'left',
      ...systems.map(() => 'right' as const),
      ...baselines.map(() => 'right' as const),
    ],
  });
  for (const key of lineKeys(rows)) {
    const line = rows.filter((r) => lineKey(r) === key);
    const first = line[0]!;
    const rate = (system: string): number | undefined => line.find((r) => r.system === system)?.ops_per_sec;
    table.push([
      typeof first.variant === 'string' ? `${first.workload} ${first.variant}` : first.workload,
      first.n.toLocaleString('en-US'),
      typeof first.unit === 'string' ? first.unit : 'op',
      ...systems.map((s) => {
        const r = rate(s);
        return r === undefined ? '-' : formatRate(r);
      }),
      ...baselines.map((b) => formatRatio(rate(SUBJECT_SYSTEM), rate(b))),
    ]);
  }
  return table.toString();
}

/** Identifies a table line: one workload (and variant, if any) at one size. */
function lineKey(row: BenchRow): string {
  return `${row.workload}\u0000${row.n}\u0000${typeof row.variant === 'string' ? row.variant : ''}`;
}

/** The distinct line keys of `rows`, in order of first appearance. */
function lineKeys(rows: readonly BenchRow[]): string[] {
  return [...new Set(rows.map(lineKey))];
}
