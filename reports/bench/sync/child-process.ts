/**
 * The sync suite's helper processes (`hub-process.ts`, `webrtc-source-process.ts`): started
 * with Node and the tsx loader, talking JSON lines over stdio, and stopped by a `close` line
 * (killed if they do not exit in time).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_DIR = fileURLToPath(new URL('../../../', import.meta.url));

/** Standard error kept for the message of a failed start. */
const STDERR_KEPT_MAX = 8192;
/** Longest a process may take to exit after `close`, ms; then it is killed. */
const EXIT_MS_MAX = 10_000;

/** A started helper process and the start of what it wrote to standard error. */
export interface BenchChild {
  child: ChildProcess;
  stderr(): string;
}

/** Starts the TypeScript file `file` with `args`, stdin, stdout and stderr piped. */
export function spawnBenchChild(file: string, args: string[]): BenchChild {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: REPO_DIR,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (stderr.length < STDERR_KEPT_MAX) stderr += chunk.slice(0, STDERR_KEPT_MAX - stderr.length);
  });
  return { child, stderr: () => stderr };
}

/** Sends `close` and waits for the process to exit, killing it after {@link EXIT_MS_MAX}. */
export async function stopBenchChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin!.end('close\n');
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_MS_MAX);
  await exited;
  clearTimeout(timer);
}
