/**
 * The bench's handle on a hub running in its own process (`hub-process.ts`): it starts the
 * process, waits for the hub to be filled and serving, asks it for its byte count, and stops
 * it. Used by `sync.hub-initial`, so that the hub's serving work runs beside the fresh device
 * rather than on its thread, as it does when the hub is another machine.
 */

import type { ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnBenchChild, stopBenchChild } from './child-process.ts';
import type { HubProcessReady } from './hub-process.ts';

const HUB_PROCESS = fileURLToPath(new URL('./hub-process.ts', import.meta.url));

/** Longest the process may take to build and serve its feed, ms (100K entries take seconds). */
export const HUB_PROCESS_READY_MS_MAX = 300_000;
/** Longest a question to the running process may take, ms. */
const ANSWER_MS_MAX = 30_000;

/** A hub serving in another process. */
export interface RemoteHub {
  readonly ready: HubProcessReady;
  /** Bytes the hub's connections carried so far, both directions. */
  wireBytes(): Promise<number>;
  /** Closes the hub and waits for its process to exit. */
  close(): Promise<void>;
}

/** Starts a hub process that serves a feed of `n` entries from `dataDir`. */
export async function startHubProcess(n: number, dataDir: string): Promise<RemoteHub> {
  const { child, stderr } = spawnBenchChild(HUB_PROCESS, [String(n), dataDir]);
  const lines = createInterface({ input: child.stdout! });
  const next = lineReader(child, lines, stderr);
  let ready: HubProcessReady;
  try {
    ready = (JSON.parse(await next(HUB_PROCESS_READY_MS_MAX)) as { ready: HubProcessReady }).ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    ready,
    async wireBytes() {
      child.stdin!.write('bytes\n');
      return (JSON.parse(await next(ANSWER_MS_MAX)) as { bytes: number }).bytes;
    },
    close: () => stopBenchChild(child),
  };
}

/** Reads the process's output a line at a time, failing on a timeout or an early exit. */
function lineReader(
  child: ChildProcess,
  lines: Interface,
  stderr: () => string,
): (ms: number) => Promise<string> {
  const queued: string[] = [];
  let waiter: ((line: string | Error) => void) | undefined;
  lines.on('line', (line) => {
    if (waiter === undefined) queued.push(line);
    else waiter(line);
  });
  child.once('exit', (code, signal) => {
    waiter?.(new Error(`the hub process exited (${code ?? signal}): ${stderr()}`));
  });
  return (ms) =>
    new Promise<string>((resolve, reject) => {
      const line = queued.shift();
      if (line !== undefined) return resolve(line);
      if (child.exitCode !== null || child.signalCode !== null)
        return reject(new Error(`the hub process has exited: ${stderr()}`));
      const timer = setTimeout(() => finish(new Error(`the hub process did not answer within ${ms} ms`)), ms);
      const finish = (got: string | Error) => {
        clearTimeout(timer);
        waiter = undefined;
        if (got instanceof Error) reject(got);
        else resolve(got);
      };
      waiter = finish;
    });
}
