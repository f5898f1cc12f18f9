/**
 * Helpers for the hub's tests: an owner, devices with databases and certificates, a hub in a
 * temporary directory driven in-process (its app's `fetch`, no socket), and an in-process
 * `fetch` for clients.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../engine/db/database.ts';
import { systemClock } from '../engine/io/clock.ts';
import { MemoryFs } from '../engine/io/memory-fs.ts';
import { type Identity, identityFromSeed } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { toBase64Url } from '../engine/sync/base64.ts';
import { issueCertificate, signChallenge } from '../engine/sync/pairing.ts';
import { type AppState, createHubApp, type HubAppOptions } from './app.ts';
import { Hub, type HubOptions } from './hub.ts';
import { memoryLog } from './log.ts';

/** A deterministic identity from a small number. */
export function identityOf(n: number): Identity {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, n);
  seed[31] = 0x5a;
  return identityFromSeed(seed);
}

/** A device: identity, certificate from `owner`, and an in-memory database. */
export interface TestDevice {
  identity: Identity;
  certificate: Uint8Array;
  db: Database;
}

/** Makes a device numbered `n` certified by `owner`. */
export function makeDevice(owner: Identity, n: number, options: { expiresAtMs?: number } = {}): TestDevice {
  const identity = identityOf(n);
  const certificate = issueCertificate({
    owner,
    device: identity.publicKey,
    issuedAtMs: 1_000,
    expiresAtMs: options.expiresAtMs,
    signer: nodeSigner,
  }).bytes;
  const db = Database.open({ fs: new MemoryFs(), identity, clock: systemClock, signer: nodeSigner });
  return { identity, certificate, db };
}

/** A hub in a fresh temporary directory, with its app and an in-process fetch. */
export interface TestHub {
  dir: string;
  hub: Hub;
  state: AppState;
  app: ReturnType<typeof createHubApp>;
  log: ReturnType<typeof memoryLog>;
  fetch: typeof fetch;
  /** Reopens the hub on the same directory (a restart). */
  reopen(): void;
  close(): void;
}

/** Opens a test hub owned by `owner`; `app` options go to its HTTP app (CORS origins). */
export function openTestHub(
  owner: Identity,
  options: Partial<HubOptions> = {},
  app: HubAppOptions = {},
): TestHub {
  const dir = mkdtempSync(join(tmpdir(), 'aregula-hub-'));
  const log = memoryLog();
  const t = {} as TestHub;
  const open = () => {
    t.hub = Hub.open({ dataDir: dir, owner: owner.publicKey, log, ...options });
    t.state = { draining: false, startedAtMs: Date.now() };
    t.app = createHubApp(t.hub, t.state, app);
  };
  open();
  Object.assign(t, {
    dir,
    log,
    fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
      t.app.fetch(new Request(input, init))) as typeof fetch,
    reopen: () => {
      t.hub.close();
      open();
    },
    close: () => {
      t.hub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  return t;
}

/** Authenticates `device` against the app; returns the bearer token. */
export async function login(t: TestHub, device: TestDevice): Promise<string> {
  const c = (await (await t.app.request('/v1/auth/challenge', { method: 'POST' })).json()) as {
    challenge: string;
  };
  const challenge = Uint8Array.from(Buffer.from(c.challenge, 'base64url'));
  const res = await t.app.request('/v1/auth/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      certificate: toBase64Url(device.certificate),
      challenge: c.challenge,
      signature: toBase64Url(signChallenge(challenge, device.identity, nodeSigner)),
    }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Writes `n` documents on `device` and signs them. */
export function writeDocs(device: TestDevice, prefix: string, n: number): void {
  const notes = device.db.collection('notes');
  for (let i = 0; i < n; i++) notes.put(`${prefix}-${i}`, { text: `${prefix} ${i}`, n: i });
  device.db.commit();
}
