/**
 * One kill cycle of the `durability` suite: start the writer child (writer.ts) on a store,
 * wait until it is writing, let it write for a chosen number of milliseconds, SIGKILL it,
 * collect every acknowledgement it printed (including those still in the pipe), and wait for
 * it to die. The caller then reopens the store and checks the acknowledged writes.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type AckedWrite, parseAck } from './store.ts';

/** The writer script. */
const WRITER = fileURLToPath(new URL('./writer.ts', import.meta.url));
/** The checkout, from which `tsx` resolves. */
const REPO_DIR = fileURLToPath(new URL('../../../', import.meta.url));
/** How long a writer may take to open the store and print `ready`. */
export const WRITER_READY_TIMEOUT_MS = 30_000;
/** Most stderr kept from a writer, for the error message when it fails. */
const STDERR_KEPT_MAX = 4096;

/** What one cycle did. */
export interface CycleResult {
  /** Writes the child acknowledged. */
  acked: AckedWrite[];
  /** Milliseconds between the child's `ready` and the kill. */
  writingMs: number;
}

/** How to run one cycle. */
export interface CycleOptions {
  /** The store's directory. */
  dir: string;
  /** The incarnation's name (document ids are `<run>-<i>`). */
  run: string;
  /** How long after `ready` to send SIGKILL. */
  killAfterMs: number;
}

/** Runs one cycle; rejects if the writer does not start, or ends other than by the kill. */
export function killCycle(options: CycleOptions): Promise<CycleResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, options.dir, options.run], {
      cwd: REPO_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: AckedWrite[] = [];
    let pending = '';
    let stderr = '';
    let readyAt: number | undefined;
    let killedAt: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    const readyTimer = setTimeout(() => child.kill('SIGKILL'), WRITER_READY_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready' && readyAt === undefined) {
          clearTimeout(readyTimer);
          readyAt = performance.now();
          timer = setTimeout(() => {
            killedAt = performance.now();
            child.kill('SIGKILL');
          }, options.killAfterMs);
          continue;
        }
        const ack = parseAck(line);
        if (ack !== undefined) acked.push(ack);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < STDERR_KEPT_MAX) stderr += chunk.slice(0, STDERR_KEPT_MAX - stderr.length);
    });
    child.on('error', (error) => {
      clearTimeout(readyTimer);
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(readyTimer);
      clearTimeout(timer);
      if (readyAt === undefined || killedAt === undefined || signal !== 'SIGKILL') {
        const why = readyAt === undefined ? 'never became ready' : `ended before the kill (code ${code})`;
        reject(new Error(`durability writer ${options.run} ${why}: ${stderr.trim()}`));
        return;
      }
      // A last line without its newline was cut by the kill mid-print: not an acknowledgement.
      resolve({ acked, writingMs: killedAt - readyAt });
    });
  });
}
