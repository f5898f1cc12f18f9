/**
 * A suites module for the tests of reports/bench/rss.ts: one suite whose `big` system touches
 * {@link BIG_ALLOCATION_BYTES} of memory in its sample, whose `spawner` system starts a process
 * that does (as the seed suite runs the sqlite3 program), whose `failing` system throws in its
 * sample, and whose `small` system touches none,
 * so that a child's peak can be checked against a known difference.
 */

import { spawnSync } from 'node:child_process';
import type { BenchCase, Suite } from './types.ts';

/** Memory the `big` system writes to in its sample. */
export const BIG_ALLOCATION_BYTES = 96 * 1024 * 1024;

/** Keeps the allocation reachable until teardown, so that it is resident at its peak. */
const held: Buffer[] = [];

function allocCase(system: string): BenchCase {
  return {
    async setup() {},
    async beforeSample() {},
    async sample() {
      // fill() writes every page: an allocation never touched would not be resident.
      if (system === 'big') held.push(Buffer.alloc(BIG_ALLOCATION_BYTES).fill(1));
      if (system === 'failing') throw new Error('the failing system failed its sample');
      if (system === 'spawner') {
        // The process holds its memory for 300 ms, many poll intervals, then exits.
        const script = `Buffer.alloc(${BIG_ALLOCATION_BYTES}).fill(1); const t = Date.now(); while (Date.now() - t < 300);`;
        const result = spawnSync(process.execPath, ['-e', script], { stdio: 'ignore' });
        if (result.status !== 0) throw new Error(`the spawned process failed: ${result.status}`);
      }
    },
    async afterSample() {},
    async teardown() {
      held.length = 0;
    },
  };
}

const testSuite: Suite = {
  name: 'lsm',
  description: 'test suite for the peak-memory child',
  systems: ['big', 'small', 'spawner', 'failing'],
  full: { sizes: [1], warmupSamples: 0, samples: 1 },
  quick: { sizes: [1], warmupSamples: 0, samples: 1 },
  async open() {
    return {
      workloads: [
        {
          name: 'lsm.alloc',
          systems: ['big', 'small', 'spawner', 'failing'],
          opsPerSample: () => 1,
          fields: () => ({}),
          createCase: (system: string) => allocCase(system),
        },
      ],
      notes: [],
    };
  },
};

/** The lookup the child calls, as reports/bench/registry.ts exports it. */
export function findSuite(name: string): Suite | undefined {
  return name === testSuite.name ? testSuite : undefined;
}
