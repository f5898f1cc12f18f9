/**
 * Peak memory of a process's own child processes, for systems that run outside Node (the
 * sqlite3 program): `process.resourceUsage().maxRSS` counts only the calling process, and Node
 * has no `RUSAGE_CHILDREN`. A worker thread polls Linux's `/proc/PID/task/PID/children` every
 * {@link DESCENDANT_POLL_MS} and sums the peak resident size (`VmHWM`) of the children alive at
 * each poll; the figure is the largest such sum. It runs in a worker because `spawnSync` blocks
 * the main thread for as long as the child lives. A child that lives less than one poll
 * interval, or that grows in its last one, is undercounted: the figure is a lower bound. On other
 * systems (no `/proc`) it is 0. Children of children are not counted.
 */

import { Worker } from 'node:worker_threads';

/** How often the worker looks at the children, in milliseconds. */
export const DESCENDANT_POLL_MS = 5;

/**
 * The worker's source: plain JavaScript, evaluated, so that it needs no TypeScript loader in
 * the worker. `workerData` is `{pid, pollMs, stop}`; it posts the peak in KiB once `stop[0]`
 * is set.
 */
const WORKER_SOURCE = `
const { readFileSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const { pid, pollMs, stop } = workerData;
const read = (path) => { try { return readFileSync(path, 'utf8'); } catch { return ''; } };
let peakKib = 0;
while (Atomics.load(stop, 0) === 0) {
  let sum = 0;
  for (const child of read('/proc/' + pid + '/task/' + pid + '/children').trim().split(/\\s+/)) {
    if (!/^[0-9]+$/.test(child)) continue;
    const m = /VmHWM:\\s+([0-9]+) kB/.exec(read('/proc/' + child + '/status'));
    if (m) sum += Number(m[1]);
  }
  if (sum > peakKib) peakKib = sum;
  Atomics.wait(stop, 0, 0, pollMs);
}
parentPort.postMessage(peakKib);
`;

/** A running watch; {@link DescendantWatch.stop} ends it and gives the peak in bytes. */
export interface DescendantWatch {
  stop(): Promise<number>;
}

/** Starts watching this process's children. */
export function watchDescendants(pollMs = DESCENDANT_POLL_MS): DescendantWatch {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { pid: process.pid, pollMs, stop },
  });
  const peak = new Promise<number>((resolve, reject) => {
    worker.once('message', (kib: number) => resolve(kib * 1024));
    worker.once('error', reject);
  });
  return {
    async stop() {
      Atomics.store(stop, 0, 1);
      Atomics.notify(stop, 0);
      const bytes = await peak;
      await worker.terminate();
      return bytes;
    },
  };
}
