/**
 * The hub as real processes over loopback: a hub (`aregula hub`) and two peer processes
 * writing concurrently, the hub stopped in the middle (a partition: the peers go on writing
 * offline), restarted, and everyone converging to one stateHash; and a hub killed with
 * SIGKILL at random moments while a client pushes, which after each restart still serves
 * every entry it acknowledged.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { bytesToHex } from '../engine/hex.ts';
import { SeededRandom } from '../engine/io/random.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { toBase64Url } from '../engine/sync/base64.ts';
import { authorToHex, encodeMessage } from '../engine/sync/messages.ts';
import { issueCertificate, signChallenge } from '../engine/sync/pairing.ts';
import { Hub } from './hub.ts';
import { memoryLog } from './log.ts';
import { identityOf, makeDevice } from './testing.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const owner = identityOf(1);
const children = new Set<ChildProcess>();
const dirs: string[] = [];

afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'aregula-e2e-'));
  dirs.push(d);
  return d;
}

/** A child process whose stdout is read line by line. */
function launch(args: string[]): {
  child: ChildProcess;
  next: (pred: (line: string) => boolean) => Promise<string>;
} {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  type Waiter = { pred: (l: string) => boolean; resolve: (l: string) => void; reject: (e: Error) => void };
  const waiting: Waiter[] = [];
  // One exit listener fails every line still awaited (one per wait would pile up listeners).
  child.on('exit', (code) => {
    children.delete(child);
    for (const w of waiting.splice(0))
      w.reject(new Error(`process exited (${code}) before the expected line`));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const i = waiting.findIndex((w) => w.pred(line));
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(line);
  });
  const next = (pred: (line: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`process exited (${child.exitCode}) before the expected line`));
        return;
      }
      waiting.push({ pred, resolve, reject });
    });
  return { child, next };
}

async function startHub(dataDir: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  const h = launch([
    'bin/aregula.js',
    'hub',
    '--port',
    String(port),
    '--data',
    dataDir,
    '--owner',
    bytesToHex(owner.publicKey),
  ]);
  const line = await h.next((l) => l.includes('"hub listening"'));
  return { child: h.child, port: (JSON.parse(line) as { port: number }).port };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function seedOf(n: number): Uint8Array {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, n);
  seed[31] = 0x5a;
  return seed;
}

describe('hub and peers as processes over loopback', () => {
  test('oversized headers get 431, the hub serves on, logs JSON lines and stops cleanly on SIGTERM', async () => {
    const dir = tempDir();
    const h = launch([
      'bin/aregula.js',
      'hub',
      '--port',
      '0',
      '--data',
      dir,
      '--owner',
      bytesToHex(owner.publicKey),
    ]);
    const lines: string[] = [];
    h.child.stdout!.on('data', (b: Buffer) =>
      lines.push(
        ...b
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      ),
    );
    const port = (JSON.parse(await h.next((l) => l.includes('"hub listening"'))) as { port: number }).port;
    const url = `http://127.0.0.1:${port}`;
    const big = await fetch(`${url}/v1/health`, { headers: { 'x-junk': 'j'.repeat(20_000) } });
    expect(big.status).toBe(431);
    const health = await fetch(`${url}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', protocol: 1, entries: 0 });
    h.child.kill('SIGTERM');
    expect(await exited(h.child)).toBe(0);
    const records = lines.map((l) => JSON.parse(l) as { msg: string; level: string; ts: string });
    expect(records.every((r) => typeof r.ts === 'string' && typeof r.level === 'string')).toBe(true);
    expect(records.map((r) => r.msg)).toEqual(
      expect.arrayContaining(['hub opened', 'request', 'signal', 'hub closed']),
    );
  });

  test('two peers write concurrently, the hub stops and restarts, all converge', async () => {
    const hubDir = tempDir();
    let hub = await startHub(hubDir, 0);
    const url = `http://127.0.0.1:${hub.port}`;
    const peers = [20, 21].map((n, i) => {
      const identity = identityOf(n);
      const certificate = issueCertificate({
        owner,
        device: identity.publicKey,
        issuedAtMs: 1,
        signer: nodeSigner,
      }).bytes;
      const config = {
        url,
        dataDir: tempDir(),
        deviceSeed: bytesToHex(seedOf(n)),
        certificate: bytesToHex(certificate),
        prefix: ['a', 'b'][i],
        writes: 400,
        batch: 10,
        pauseMs: 15,
      };
      return launch(['--import', 'tsx', 'hub/test-peer.ts', JSON.stringify(config)]);
    });
    const report = async (p: (typeof peers)[number]) => {
      p.child.stdin!.write('report\n');
      return JSON.parse(await p.next((l) => l.startsWith('{"written"'))) as {
        written: number;
        status: string;
        stateHash: string;
        failures: number;
      };
    };
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // Let them write and sync a while, then cut the hub off (SIGTERM: a clean stop).
    for (let i = 0; i < 200 && (await report(peers[0]!)).written < 100; i++) await pause(20);
    hub.child.kill('SIGTERM');
    expect(await exited(hub.child)).toBe(0);
    for (let i = 0; i < 200 && (await report(peers[0]!)).written < 250; i++) await pause(20);
    const offline = await Promise.all(peers.map(report));
    // Offline: their requests fail (the status may read `syncing` during a retry).
    expect(offline.every((r) => r.failures > 0)).toBe(true);
    hub = await startHub(hubDir, hub.port);
    let reports = await Promise.all(peers.map(report));
    for (let i = 0; i < 1500; i++) {
      reports = await Promise.all(peers.map(report));
      const done = reports.every((r) => r.written === 400 && r.status === 'synced');
      if (done && reports[0]!.stateHash === reports[1]!.stateHash) break;
      await pause(20);
    }
    expect(reports.map((r) => r.written)).toEqual([400, 400]);
    expect(reports[1]!.stateHash).toBe(reports[0]!.stateHash);
    expect(reports.every((r) => r.failures > 0)).toBe(true);
    for (const p of peers) p.child.stdin!.write('exit\n');
    await Promise.all(peers.map((p) => exited(p.child)));
    hub.child.kill('SIGTERM');
    expect(await exited(hub.child)).toBe(0);
    const reopened = Hub.open({ dataDir: hubDir, log: memoryLog() });
    try {
      expect(reopened.stateHash()).toBe(reports[0]!.stateHash);
      expect(reopened.index.end).toBe(2 * 400 * 2);
    } finally {
      reopened.close();
    }
  });

  test('a hub killed with SIGKILL while a client pushes serves every entry it acknowledged', async () => {
    const seed = Number(process.env.AREGULA_KILL_SEED ?? 7);
    const random = new SeededRandom(seed);
    const hubDir = tempDir();
    const device = makeDevice(owner, 30);
    const author = authorToHex(device.identity.publicKey);
    let acked = 0;
    let hub = await startHub(hubDir, 0);
    const url = `http://127.0.0.1:${hub.port}`;
    let token: string | undefined;
    let stop = false;
    const login = async () => {
      const c = (await (await fetch(`${url}/v1/auth/challenge`, { method: 'POST' })).json()) as {
        challenge: string;
      };
      const challenge = Uint8Array.from(Buffer.from(c.challenge, 'base64url'));
      const res = await fetch(`${url}/v1/auth/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          certificate: toBase64Url(device.certificate),
          challenge: c.challenge,
          signature: toBase64Url(signChallenge(challenge, device.identity, nodeSigner)),
        }),
      });
      return ((await res.json()) as { token: string }).token;
    };
    const refusals: string[] = [];
    const pusher = (async () => {
      const notes = device.db.collection('notes');
      let n = 0;
      while (!stop) {
        for (let i = 0; i < 10; i++, n++) notes.put(`k${n}`, { n });
        device.db.commit();
        try {
          token ??= await login();
          const entries = device.db.replica.readFeed(author, acked + 1, { limit: 1000, maxBytes: 4 << 20 });
          const res = await fetch(`${url}/v1/sync`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-aregula-sync' },
            body: encodeMessage({ type: 'entries', entries }) as Uint8Array<ArrayBuffer>,
          });
          if (res.status === 200)
            acked = Math.max(acked, entries.length === 0 ? acked : acked + entries.length);
          else if (res.status === 401) token = undefined;
          else if (res.status === 429) await new Promise((r) => setTimeout(r, 50));
          else refusals.push(`${res.status} ${await res.text()}`);
        } catch {
          token = undefined;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })();
    const kills = 6;
    const ackedAtKill: number[] = [];
    for (let k = 0; k < kills; k++) {
      // Once the client is pushing to this hub (an acknowledgement arrived), kill it at a
      // random moment within the next 300 ms.
      const ackedBefore = acked;
      for (let i = 0; i < 1000 && acked === ackedBefore; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, random.int(300)));
      ackedAtKill.push(acked);
      hub.child.kill('SIGKILL');
      await exited(hub.child);
      hub = await startHub(hubDir, hub.port);
    }
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await pusher;
    const ackedAtEnd = acked;
    hub.child.kill('SIGKILL');
    await exited(hub.child);
    expect(refusals).toEqual([]);
    // Every hub life acknowledged something before it was killed.
    for (let k = 1; k < kills; k++) expect(ackedAtKill[k]!).toBeGreaterThan(ackedAtKill[k - 1]!);
    const reopened = Hub.open({ dataDir: hubDir, log: memoryLog() });
    try {
      const head = reopened.db.feeds.head(device.identity.publicKey);
      expect(
        head?.signedSeq ?? 0,
        `seed ${seed}: replay with AREGULA_KILL_SEED=${seed}`,
      ).toBeGreaterThanOrEqual(ackedAtEnd);
      // The same entries (bodies: a receiver keeps only the signatures it checked).
      const mine = device.db.feeds.readEntries(device.identity.publicKey, 1, ackedAtEnd);
      const theirs = reopened.db.feeds.readEntries(device.identity.publicKey, 1, ackedAtEnd);
      expect(theirs.length).toBe(ackedAtEnd);
      expect(theirs.map((e) => bytesToHex(e.body))).toEqual(mine.map((e) => bytesToHex(e.body)));
      // The cursor index covers exactly what the replica holds, after every torn end.
      expect(reopened.index.end).toBe(head!.signedSeq);
    } finally {
      reopened.close();
    }
  });
});
