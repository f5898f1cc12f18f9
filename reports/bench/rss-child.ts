/**
 * The child process of the peak-memory measurement (reports/bench/rss.ts): loads a suite, runs
 * one system of one workload at one size alone (setup, one sample with its hooks, teardown) in
 * a temporary directory, and prints one line
 * `aregula-rss {"peakBytes":..,"baseBytes":..,"childrenBytes":..}`: its own peak plus the peak of
 * the processes it started (see rss-descendants.ts), its own peak before the case, and the
 * latter part alone.
 *
 * Usage: `node --expose-gc --import tsx rss-child.ts SUITES_MODULE SUITE WORKLOAD_INDEX WORKLOAD SYSTEM N`,
 * where SUITES_MODULE either exports `findSuite(name)` (reports/bench/registry.ts, a test's
 * module) or exports the suite itself (a suite's own `NAME/suite.ts`).
 * Exit code 0 with the line, 2 on bad arguments or an unknown suite, workload or system.
 */

import { mkdtempSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempEnv } from './harness.ts';
import { RSS_RESULT_PREFIX } from './rss.ts';
import { watchDescendants } from './rss-descendants.ts';
import type { Suite } from './types.ts';

/** `process.resourceUsage().maxRSS` is in KiB (the kernel's `ru_maxrss`). */
const KIB = 1024;

function fail(message: string): never {
  process.stderr.write(`rss-child: ${message}\n`);
  process.exit(2);
}

const [suitesModule, suiteName, indexText, workloadName, system, nText] = process.argv.slice(2);
if (nText === undefined || suitesModule === undefined || suiteName === undefined)
  fail('usage: rss-child.ts SUITES_MODULE SUITE WORKLOAD_INDEX WORKLOAD SYSTEM N');
const index = Number(indexText);
const n = Number(nText);
if (!Number.isSafeInteger(index) || index < 0) fail(`bad workload index ${indexText}`);
if (!Number.isSafeInteger(n) || n <= 0) fail(`bad size ${nText}`);

/** The suite called `name` that `module` exports, or finds with its `findSuite`. */
function suiteIn(module: Record<string, unknown>, name: string): Suite | undefined {
  const find = module.findSuite;
  if (typeof find === 'function') return (find as (n: string) => Suite | undefined)(name);
  return Object.values(module).find(
    (v): v is Suite =>
      typeof v === 'object' && v !== null && (v as Suite).name === name && 'open' in v && 'full' in v,
  );
}

const loaded = (await import(pathToFileURL(suitesModule).href)) as Record<string, unknown>;
const suite = suiteIn(loaded, suiteName) ?? fail(`unknown suite ${suiteName}`);
const opened = await suite.open();
const workload = opened.workloads[index] ?? fail(`${suiteName} has no workload ${index}`);
if (workload.name !== workloadName) fail(`workload ${index} is ${workload.name}, not ${workloadName}`);
if (system === undefined || !workload.systems.includes(system))
  fail(`${workload.name} has no system ${system}`);

/**
 * Resets the kernel's high-water mark of this process to its current resident size (Linux:
 * writing 5 to /proc/self/clear_refs), so that a transient peak while modules loaded cannot
 * hide a smaller system's peak. False where that is not possible.
 */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    // Not Linux, or /proc is read-only: the figure then counts from the process's start.
    return false;
  }
}

// Systems that run in their own process (the sqlite3 program) are counted through their peaks.
// The watch starts before the floor is read, so that its worker thread is part of the floor.
const descendants = watchDescendants();
// The floor: what is resident once the suite is loaded and the garbage collected (--expose-gc).
(globalThis as { gc?: () => void }).gc?.();
const baseBytes = resetPeak() ? process.memoryUsage.rss() : process.resourceUsage().maxRSS * KIB;
const root = mkdtempSync(join(tmpdir(), 'aregula-rss-'));
let childrenBytes = 0;
try {
  const benchCase = workload.createCase(system, n, tempEnv(root));
  try {
    await benchCase.setup();
    await benchCase.beforeSample();
    await benchCase.sample();
    await benchCase.afterSample();
  } finally {
    await benchCase.teardown();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
  // Stopped on every path: a process that exits on an error while the watch's worker is still
  // polling can hang in exit, waiting for that thread.
  childrenBytes = await descendants.stop();
}
const peakBytes = Math.max(process.resourceUsage().maxRSS * KIB, baseBytes) + childrenBytes;
writeSync(1, `${RSS_RESULT_PREFIX}${JSON.stringify({ peakBytes, baseBytes, childrenBytes })}\n`);
// Suites may leave handles open (a native module's threads); the figure is out, so leave now.
process.exit(0);
