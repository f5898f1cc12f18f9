/**
 * For suite tests: writes rows as a bench JSON document (with a placeholder machine) and runs
 * the shared contract checker on it, returning the checker's output. One place for what every
 * suite's test did with its own copy of the machine object and the checker call.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildReport, writeReport } from './report.ts';
import type { BenchRow } from './types.ts';

/** The shared contract checker, beside the repository in `../shared`. */
export const CONTRACT_CHECKER = join(
  fileURLToPath(new URL('../../', import.meta.url)),
  '..',
  'shared',
  'tools',
  'check-contracts.mjs',
);

/** Writes `rows` of `suites` as a bench document and returns the contract checker's output. */
export function checkBenchContract(suites: string[], rows: BenchRow[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'aregula-contract-'));
  try {
    const file = join(dir, 'bench.json');
    const machine = {
      cpu: 'x',
      cores: 1,
      memoryBytes: 1,
      node: 'v',
      platform: 'p',
      arch: 'a',
      commit: 'unknown',
      date: new Date().toISOString(),
    };
    writeReport(file, buildReport(suites, machine, rows));
    return execFileSync(process.execPath, [CONTRACT_CHECKER, 'bench', file], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
