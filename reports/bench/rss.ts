/**
 * Peak memory per system. The harness runs every system of a workload in one process, open at
 * the same time, so the process's resident set size cannot say which system used what. Instead
 * each system is run once more, alone, in a child process (reports/bench/rss-child.ts) that
 * loads the suite, prepares that one system at that one size, takes one sample, tears it down,
 * and reports its own peak resident set size (`process.resourceUsage().maxRSS`, the kernel's
 * high-water mark, which no sampling interval can miss). The child's peak just before the case
 * is created is reported too: Node, tsx and the suite's modules, the floor every system shares.
 * A system that runs in a process of its own (the sqlite3 program) is counted by the child
 * watching its own children's peaks (reports/bench/rss-descendants.ts), added to the peak.
 *
 * The child runs after the group's timed samples, never during them, so it does not disturb the
 * timings.
 */

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../../engine/errors.ts';

/** The child script. */
const CHILD = fileURLToPath(new URL('./rss-child.ts', import.meta.url));
/** The checkout, from which `tsx` resolves. */
const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
/** The registry, where the child finds a suite that has no module of its own. */
export const DEFAULT_SUITES_MODULE = fileURLToPath(new URL('./registry.ts', import.meta.url));
/** The folder of the suites, each in `NAME/suite.ts`. */
const SUITES_DIR = fileURLToPath(new URL('./', import.meta.url));

/**
 * The module the child loads for suite `name`: the suite's own `NAME/suite.ts` when it exists,
 * else the registry. Loading one suite instead of all of them takes about a fifth of the time
 * and keeps the floor lower (about 80 MiB instead of 130).
 */
export function suiteModuleFor(name: string): string {
  const own = join(SUITES_DIR, name, 'suite.ts');
  return /^[a-z0-9-]+$/.test(name) && existsSync(own) ? own : DEFAULT_SUITES_MODULE;
}
/** How long one child may take (setup at 1M records included) before it is killed. */
export const RSS_CHILD_TIMEOUT_MS = 30 * 60_000;
/** Most stderr kept from a failing child, for the error message. */
const STDERR_KEPT_MAX = 4096;
/** The prefix of the child's one result line on stdout. */
export const RSS_RESULT_PREFIX = 'aregula-rss ';

/** What one child measured. */
export interface RssFigures {
  /**
   * The child's peak resident set size over its whole life, plus the peak of the processes it
   * started (the sqlite3 program), in bytes.
   */
  peakBytes: number;
  /** The child's size when the case was created: Node, tsx and the suite's modules (bytes). */
  baseBytes: number;
  /** The part of `peakBytes` that the child's own child processes held (0 for most systems). */
  childrenBytes: number;
}

/** Which workload, system and size a child measures. */
export interface RssJob {
  /** Suite name: the child takes the suite of that name from the suites module. */
  suite: string;
  /** Index of the workload in the suite's opened workloads. */
  workloadIndex: number;
  /** The workload's name, checked by the child against the index. */
  workload: string;
  system: string;
  n: number;
}

/** Measures the peak memory of one system at one size (a child process, or a test's fake). */
export interface RssProbe {
  measure(job: RssJob): Promise<RssFigures>;
}

/** Thrown when a child did not report its figures. */
export class RssChildError extends Error {
  readonly code = 'ARE_BENCH_RSS_CHILD';
}

/** Parses the child's result line; undefined when `line` is not one. */
export function parseRssLine(line: string): RssFigures | undefined {
  if (!line.startsWith(RSS_RESULT_PREFIX)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(RSS_RESULT_PREFIX.length));
  } catch {
    // Not JSON after the prefix: not a result line (the caller reports the missing result).
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { peakBytes, baseBytes, childrenBytes } = parsed as Record<string, unknown>;
  for (const v of [peakBytes, baseBytes, childrenBytes])
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return undefined;
  const figures = { peakBytes, baseBytes, childrenBytes } as RssFigures;
  if (figures.baseBytes === 0 || figures.peakBytes < figures.baseBytes + figures.childrenBytes)
    return undefined;
  return figures;
}

/** The command-line arguments of the child for `job`. */
export function rssChildArgs(job: RssJob, suitesModule: string): string[] {
  if (!Number.isSafeInteger(job.workloadIndex) || job.workloadIndex < 0)
    throw new InvalidArgumentError(`workload index must be a non-negative integer: ${job.workloadIndex}`);
  if (!Number.isSafeInteger(job.n) || job.n <= 0)
    throw new InvalidArgumentError(`n must be a positive integer: ${job.n}`);
  return [
    '--expose-gc',
    '--import',
    'tsx',
    CHILD,
    suitesModule,
    job.suite,
    String(job.workloadIndex),
    job.workload,
    job.system,
    String(job.n),
  ];
}

/**
 * An {@link RssProbe} that runs each job in a child process of this Node. The child loads the
 * suite from `suitesModule` when given (tests), else from {@link suiteModuleFor}.
 */
export function childRssProbe(options: { suitesModule?: string; timeoutMs?: number } = {}): RssProbe {
  const timeoutMs = options.timeoutMs ?? RSS_CHILD_TIMEOUT_MS;
  return {
    measure: (job) =>
      runChild(rssChildArgs(job, options.suitesModule ?? suiteModuleFor(job.suite)), timeoutMs, job),
  };
}

function runChild(args: string[], timeoutMs: number, job: RssJob): Promise<RssFigures> {
  const label = `${job.workload} n=${job.n} ${job.system}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      // Only the last line matters; keep the tail so that a chatty suite cannot grow this.
      stdout = (stdout + chunk).slice(-STDERR_KEPT_MAX);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT_MAX);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new RssChildError(`peak RSS of ${label}: could not start the child`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const figures = stdout
        .split('\n')
        .map(parseRssLine)
        .find((f) => f !== undefined);
      if (code === 0 && figures !== undefined) {
        resolve(figures);
        return;
      }
      const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
      reject(new RssChildError(`peak RSS of ${label}: the child ended with ${how}\n${stderr.trim()}`));
    });
  });
}
