/**
 * Runs many `(scenario, seed)` pairs of the named scenarios on several cores: each worker
 * thread takes the next pair when it finishes one, and results come back in the order of the
 * jobs whatever the order they finished in. A run is a pure function of its pair, so the
 * results (trace hashes included) are exactly those of running the jobs one by one; only wall
 * time changes. With one worker, or when worker threads cannot start, the jobs run here.
 *
 * Workers return a {@link RunDigest}, not the run's history: a caller that wants the history of
 * a failing run (to report or shrink it) runs that pair again here, which gives the same run.
 */

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from '../engine/errors.ts';
import { getScenario } from '../scenarios/index.ts';
import type { Violation } from './checkers.ts';
import { type RunResult, runScenario, type Swarm } from './world.ts';

/** One run to make: a named scenario (scenarios/index.ts) and a seed. */
export interface SuiteJob {
  scenario: string;
  seed: number;
}

/** What a run produced, without its history (structured-clone safe). */
export interface RunDigest {
  scenario: string;
  seed: number;
  trace_hash: string;
  violations: Violation[];
  events: number;
  simulated_ms: number;
  /** Virtual ms outside the scenario's quiet stretches. */
  active_ms: number;
  wall_ms: number;
  converged_ms: number | undefined;
  swarm: Swarm | undefined;
  writes: number;
  crashes: number;
  /** Actions the run performed (sim/actions.ts). */
  actions: number;
  /** Set when the run threw instead of finishing: `name: message` and the stack. */
  error?: string;
}

/** Most jobs sent ahead to one worker thread (it runs them one after another). */
export const WORKER_JOBS_QUEUED = 2;

/** Most worker threads a pool starts. */
export const POOL_WORKERS_MAX = 64;

/** Options of {@link runSuite}. */
export interface SuiteOptions {
  /** Worker threads; default the machine's available parallelism. 1 runs everything here. */
  workers?: number;
  /** Called as each run finishes (in completion order), e.g. for a progress bar. */
  onResult?: (digest: RunDigest, index: number) => void;
}

/** The digest of a finished run. */
export function digestOf(r: RunResult): RunDigest {
  return {
    scenario: r.scenario,
    seed: r.seed,
    trace_hash: r.trace_hash,
    violations: r.violations,
    events: r.events,
    simulated_ms: r.simulated_ms,
    active_ms: r.active_ms,
    wall_ms: r.wall_ms,
    converged_ms: r.converged_ms,
    swarm: r.swarm,
    writes: r.writes,
    crashes: r.crashes,
    actions: r.actions.filter((a) => a.performed).length,
  };
}

/** Runs one job here, turning an exception into a digest with `error` (it is a finding). */
export function runJob(job: SuiteJob): RunDigest {
  const scenario = getScenario(job.scenario);
  if (scenario === undefined) throw new InvalidArgumentError(`unknown scenario "${job.scenario}"`);
  try {
    return digestOf(runScenario(scenario, job.seed));
  } catch (err) {
    const e = err as Error;
    return {
      scenario: job.scenario,
      seed: job.seed,
      trace_hash: '0'.repeat(64),
      violations: [{ checker: 'exception', message: `${e.name}: ${e.message}` }],
      events: 0,
      simulated_ms: 0,
      active_ms: 0,
      wall_ms: 0,
      converged_ms: undefined,
      swarm: undefined,
      writes: 0,
      crashes: 0,
      actions: 0,
      error: `${e.name}: ${e.message}\n${e.stack ?? ''}`,
    };
  }
}

function checkJobs(jobs: readonly SuiteJob[]): void {
  for (const job of jobs) {
    if (getScenario(job.scenario) === undefined)
      throw new InvalidArgumentError(`unknown scenario "${job.scenario}"`);
  }
}

/** Runs `jobs` on worker threads; resolves with their digests in the order of `jobs`. */
export async function runSuite(jobs: readonly SuiteJob[], options: SuiteOptions = {}): Promise<RunDigest[]> {
  checkJobs(jobs);
  const wanted = options.workers ?? availableParallelism();
  if (!Number.isSafeInteger(wanted) || wanted < 1 || wanted > POOL_WORKERS_MAX)
    throw new InvalidArgumentError(`workers must be an integer in 1..${POOL_WORKERS_MAX}, got ${wanted}`);
  const workers = Math.min(wanted, jobs.length);
  if (workers <= 1) {
    return jobs.map((job, i) => {
      const d = runJob(job);
      options.onResult?.(d, i);
      return d;
    });
  }
  const results: (RunDigest | undefined)[] = new Array(jobs.length).fill(undefined);
  let next = 0;
  const serve = (worker: Worker): Promise<void> =>
    new Promise((resolve, reject) => {
      // Jobs sent to this worker and not answered yet, in the order sent (a worker answers in
      // that order). Up to WORKER_JOBS_QUEUED of them, so that a worker finds its next job
      // waiting when it finishes one; near the end only one, so that no job waits behind
      // another while a worker is idle.
      const sent: number[] = [];
      const give = () => {
        while (
          next < jobs.length &&
          (sent.length === 0 || (sent.length < WORKER_JOBS_QUEUED && jobs.length - next > workers))
        ) {
          sent.push(next);
          worker.postMessage(jobs[next++]);
        }
        if (sent.length === 0) void worker.terminate().then(() => resolve());
      };
      worker.on('message', (d: RunDigest) => {
        const index = sent.shift();
        if (index === undefined) {
          reject(new Error('a simulator worker answered a job it was not given'));
          return;
        }
        results[index] = d;
        options.onResult?.(d, index);
        give();
      });
      worker.on('error', (err) => reject(err));
      worker.on('exit', (code) => {
        if (sent.length > 0 || next < jobs.length)
          reject(new Error(`a simulator worker exited with code ${code} before its work was done`));
      });
      give();
    });
  const pool = Array.from({ length: workers }, () => startWorker());
  await Promise.all(pool.map(serve));
  return results.map((d, i) => {
    if (d === undefined) throw new Error(`no result for job ${i}`);
    return d;
  });
}

/**
 * A worker thread running sim/pool-worker.ts. The TypeScript sources need a loader in the
 * worker too: it registers tsx's (the one `bin/aregula.js` uses), then imports the body.
 * (`--import tsx` in the worker's execArgv does not reach the worker's own entry module.)
 */
function startWorker(): Worker {
  const api = import.meta.resolve('tsx/esm/api');
  const body = new URL('./pool-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(body)}); });`;
  // A larger young generation: a run allocates many short-lived buffers (measured about 7%
  // less CPU with 64 MiB semi-spaces than with the default).
  return new Worker(code, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 192 } });
}
