import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport, formatRate, formatRatio, renderTables, writeReport } from './report.ts';
import type { BenchRow, MachineInfo } from './types.ts';

const machine: MachineInfo = {
  cpu: 'test cpu',
  cores: 2,
  memoryBytes: 1 << 30,
  node: 'v20.0.0',
  platform: 'linux',
  arch: 'x64',
  commit: 'unknown',
  date: '2025-01-01T00:00:00.000Z',
};

function row(workload: string, system: string, n: number, opsPerSec: number, unit = 'op'): BenchRow {
  return {
    workload,
    system,
    n,
    ops_per_sec: opsPerSec,
    median_ms_per_op: 1000 / opsPerSec,
    samples: 3,
    ops_per_sample: n,
    rss_peak_bytes: 1,
    unit,
  };
}

describe('formatting', () => {
  it('formats rates with three significant digits and a suffix', () => {
    expect(formatRate(512)).toBe('512');
    expect(formatRate(1.5)).toBe('1.50');
    expect(formatRate(12_345)).toBe('12.3K');
    expect(formatRate(2_500_000)).toBe('2.50M');
    expect(formatRate(3e9)).toBe('3.00G');
  });

  it('formats ratios, and a dash when a side is missing', () => {
    expect(formatRatio(200, 100)).toBe('2.00x');
    expect(formatRatio(50, 100)).toBe('0.50x');
    expect(formatRatio(2500, 100)).toBe('25.0x');
    expect(formatRatio(undefined, 100)).toBe('-');
    expect(formatRatio(100, undefined)).toBe('-');
    expect(formatRatio(100, 0)).toBe('-');
  });
});

describe('renderTables', () => {
  it('shows each system per workload and size, and aregula over each baseline', () => {
    const text = renderTables([
      row('lsm.put', 'aregula', 1000, 200_000, 'put'),
      row('lsm.put', 'classic-level', 1000, 100_000, 'put'),
      row('lsm.put', 'map', 1000, 2_000_000, 'put'),
      row('lsm.scan', 'aregula', 1000, 3000, 'scan'),
      row('lsm.scan', 'classic-level', 1000, 4000, 'scan'),
      row('lsm.scan', 'map', 1000, 6000, 'scan'),
    ]);
    expect(text).toContain('aregula/classic-level');
    expect(text).toContain('aregula/map');
    const putLine = text.split('\n').find((l) => l.includes('lsm.put'))!;
    expect(putLine).toMatch(/200K.*100K.*2\.00M.*2\.00x.*0\.10x/);
    const scanLine = text.split('\n').find((l) => l.includes('lsm.scan'))!;
    expect(scanLine).toMatch(/scan.*3\.00K.*4\.00K.*6\.00K.*0\.75x.*0\.50x/);
    expect(text).not.toContain('\u001b['); // no colour codes in logs
  });

  it('has no ratio columns when aregula was not measured', () => {
    const text = renderTables([row('lsm.put', 'classic-level', 10, 1), row('lsm.put', 'map', 10, 2)]);
    expect(text).toContain('classic-level ops/s');
    expect(text).not.toContain('aregula/');
  });

  it('makes one table per set of systems compared', () => {
    const text = renderTables([
      row('lsm.put', 'aregula', 1, 1),
      row('lsm.put', 'map', 1, 1),
      row('seed.writes', 'aregula', 1, 1),
      row('seed.writes', 'better-sqlite3', 1, 1),
    ]);
    expect(text.match(/┌/g)).toHaveLength(2);
  });
});

describe('buildReport and writeReport', () => {
  it('names one suite as a string and several as an array', () => {
    expect(buildReport(['lsm'], machine, [row('lsm.put', 'map', 1, 1)]).suite).toBe('lsm');
    expect(buildReport(['lsm', 'seed'], machine, []).suite).toEqual(['lsm', 'seed']);
  });

  it('writes the report as JSON, creating the directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aregula-report-test-'));
    try {
      const file = join(dir, 'deep', 'er', 'bench.json');
      const report = buildReport(['lsm'], machine, [row('lsm.put', 'map', 1, 1)]);
      writeReport(file, report);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
