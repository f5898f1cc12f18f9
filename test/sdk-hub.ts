/**
 * Test support (never imported by the SDK): a real hub process (`aregula hub`) on loopback,
 * an owner and certified device keys, and a runner for TypeScript scripts as child processes.
 * Every process started here is killed by {@link killAll}.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { bytesToHex } from '../engine/hex.ts';
import { type Identity, identityFromSeed } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { issueCertificate } from '../engine/sync/pairing.ts';

/** The repository's root directory. */
export const REPO_DIR = fileURLToPath(new URL('../', import.meta.url));
/** Longest wait for a hub to start, ms (tsx compiles the CLI first; the machine may be loaded). */
const HUB_START_MS_MAX = 60_000;

const children = new Set<ChildProcess>();
const dirs: string[] = [];

/** A fresh temporary directory, removed by {@link killAll}. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `aregula-${prefix}-`));
  dirs.push(d);
  return d;
}

/** Kills every child process started here and removes every temporary directory. */
export function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A deterministic identity from a small number. */
export function testIdentity(n: number): Identity {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, n);
  seed[31] = 0xa7;
  return identityFromSeed(seed);
}

/** `owner`'s certificate for `device`. */
export function certify(owner: Identity, device: Identity): Uint8Array {
  return issueCertificate({ owner, device: device.publicKey, issuedAtMs: 1_000, signer: nodeSigner }).bytes;
}

/** A running hub process. */
export interface HubProcess {
  child: ChildProcess;
  port: number;
  url: string;
  dataDir: string;
  /** SIGTERM, then resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `aregula hub` for `owner` (a public key) on `port` (0: any free port) over `dataDir`,
 * with `extraArgs` after the others.
 */
export async function startHub(
  owner: Uint8Array,
  dataDir: string,
  port = 0,
  extraArgs: readonly string[] = [],
): Promise<HubProcess> {
  const child = spawn(
    process.execPath,
    [
      'bin/aregula.js',
      'hub',
      '--port',
      String(port),
      '--data',
      dataDir,
      '--owner',
      bytesToHex(owner),
      ...extraArgs,
    ],
    { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const listening = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the hub did not start in time')), HUB_START_MS_MAX);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('"hub listening"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the hub exited (${code}) before listening: ${stderr}`));
    });
  });
  return {
    child,
    port: listening,
    url: `http://127.0.0.1:${listening}`,
    dataDir,
    stop: () => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return done;
    },
  };
}

/** What a finished script printed. */
export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript file with Node (tsx loader) and resolves when it exits on its own; kills
 * it and rejects after `timeoutMs` (a script that does not exit is a failed shutdown).
 */
export function runScript(file: string, args: string[], timeoutMs: number): Promise<ScriptResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: REPO_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${file} did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`),
      );
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves when `cond()` holds (checked every 10 ms); rejects after `timeoutMs`. */
export async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves when `cond()` resolves true (awaited, then checked again after 20 ms); rejects after `timeoutMs`. */
export async function untilAsync(
  what: string,
  cond: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
