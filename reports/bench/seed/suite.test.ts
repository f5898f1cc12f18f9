import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runWorkloads } from '../harness.ts';
import { LineProgress } from '../progress.ts';
import { findSuite } from '../registry.ts';
import { writeReport } from '../report.ts';
import { runBench } from '../run.ts';
import { aregulaDocSystem, expectedSignatures } from './aregula-store.ts';
import { betterSqlite3System } from './better-sqlite3-store.ts';
import type { DocSystem } from './doc-store.ts';
import { sqlite3CliSystem } from './sqlite3-cli-store.ts';
import {
  SEED_SYSTEMS,
  SQLITE3_CLI_NOTE,
  SQLITE3_CLI_WRITES_N_MAX,
  seedSuite,
  seedWorkloads,
  sqlite3CliWritesSkipped,
} from './suite.ts';

const repoDir = fileURLToPath(new URL('../../../', import.meta.url));
// The contract checker lives in the shared folder beside the checkout (../shared), as in CI.
const checker = join(repoDir, '..', 'shared', 'tools', 'check-contracts.mjs');
const WORKLOADS = ['seed.writes', 'seed.reads-hot', 'seed.reads-cold'];

describe('the seed suite', () => {
  it('is registered and finds all three systems on this machine', async () => {
    expect(findSuite('seed')).toBe(seedSuite);
    const opened = await seedSuite.open();
    // Never skipped: a missing sqlite3 program or an unbuilt better-sqlite3 fails here, saying which.
    expect(opened.notes, 'systems unavailable (.ci/run installs sqlite3 and builds better-sqlite3)').toEqual(
      [],
    );
    expect(opened.workloads.map((w) => w.name)).toEqual(WORKLOADS);
    for (const w of opened.workloads) expect(w.systems).toEqual([...SEED_SYSTEMS]);
  });

  it('a tiny run measures every workload on every system and fits the bench contract', async () => {
    expect(
      existsSync(checker),
      `${checker} is missing: run the tests from a clone that has the shared folder beside it, as CI does`,
    ).toBe(true);
    const lines: string[] = [];
    const report = await runBench({
      suites: [seedSuite],
      quick: true,
      sizes: [200],
      samples: 2,
      progress: new LineProgress({ write: (t) => lines.push(t) }),
      repoDir,
    });
    expect(report.suite).toBe('seed');
    expect(report.rows.map((r) => `${r.workload} ${r.system}`)).toEqual(
      WORKLOADS.flatMap((w) => SEED_SYSTEMS.map((s) => `${w} ${s}`)),
    );
    for (const row of report.rows) {
      expect(row).toMatchObject({ n: 200, samples: 2, note: SQLITE3_CLI_NOTE });
      expect(row.ops_per_sec).toBeGreaterThan(0);
      expect(Number.isFinite(row.ops_per_sec)).toBe(true);
      expect(row.ops_per_sample).toBe(200);
      expect(row.doc_bytes).toBeGreaterThan(80);
    }
    expect(report.rows.find((r) => r.workload === 'seed.writes')).toMatchObject({
      unit: 'write',
      aregula_signatures: expectedSignatures(200),
      aregula_group_commit: 256,
    });
    expect(report.rows.find((r) => r.workload === 'seed.reads-cold')).toMatchObject({ unit: 'read' });
    expect(lines.join('')).toContain('seed.reads-cold n=200 [aregula, better-sqlite3, sqlite3-cli]');

    const dir = mkdtempSync(join(tmpdir(), 'aregula-seed-contract-test-'));
    try {
      const file = join(dir, 'seed.json');
      writeReport(file, report);
      const out = execFileSync(process.execPath, [checker, 'bench', file], { encoding: 'utf8' });
      expect(out).toContain('fits the bench contract');
      expect(JSON.parse(readFileSync(file, 'utf8')).rows).toHaveLength(9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skips the sqlite3 program past its write size, saying so in a note and in the rows', async () => {
    const systems = new Map<string, DocSystem>([
      ['aregula', aregulaDocSystem],
      ['better-sqlite3', betterSqlite3System],
      ['sqlite3-cli', sqlite3CliSystem],
    ]);
    const lines: string[] = [];
    const rows = await runWorkloads(seedWorkloads(systems, { cliWritesNMax: 100 }), {
      sizes: [100, 101],
      warmupSamples: 0,
      samples: 1,
      progress: new LineProgress({ write: (t) => lines.push(t) }),
    });
    const at = (workload: string, n: number) =>
      rows.filter((r) => r.workload === workload && r.n === n).map((r) => r.system);
    expect(at('seed.writes', 100)).toEqual([...SEED_SYSTEMS]);
    expect(at('seed.writes', 101)).toEqual(['aregula', 'better-sqlite3']);
    expect(at('seed.reads-hot', 101)).toEqual([...SEED_SYSTEMS]);
    const skipped = rows.filter((r) => r.workload === 'seed.writes' && r.n === 101);
    for (const r of skipped) expect(r.sqlite3_cli_not_measured).toMatch(/measured up to n=100 /);
    expect(rows.filter((r) => r.n === 100).every((r) => r.sqlite3_cli_not_measured === undefined)).toBe(true);
    expect(lines.join('')).toMatch(/seed\.writes n=101: sqlite3-cli not measured: .*disk-bound/);
    expect(sqlite3CliWritesSkipped(SQLITE3_CLI_WRITES_N_MAX)).toBeUndefined();
    expect(sqlite3CliWritesSkipped(SQLITE3_CLI_WRITES_N_MAX + 1)).toMatch(/SQLITE3_CLI_WRITES_N_MAX/);
  });

  it('keeps to the systems asked for', async () => {
    const report = await runBench({
      suites: [seedSuite],
      quick: true,
      sizes: [50],
      samples: 1,
      systems: ['better-sqlite3'],
      progress: new LineProgress({ write: () => {} }),
      repoDir,
    });
    expect(report.rows.map((r) => r.system)).toEqual(['better-sqlite3', 'better-sqlite3', 'better-sqlite3']);
  });
});
