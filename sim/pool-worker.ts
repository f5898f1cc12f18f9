/**
 * The body of a sim/pool.ts worker thread: runs each `(scenario, seed)` job it is sent and
 * posts back the run's digest.
 */

import { parentPort } from 'node:worker_threads';
import { assert } from '../engine/assert.ts';
import { runJob, type SuiteJob } from './pool.ts';

const port = parentPort;
assert(port !== null, 'sim/pool-worker.ts runs only as a worker thread');
port.on('message', (job: SuiteJob) => port.postMessage(runJob(job)));
