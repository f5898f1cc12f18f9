/**
 * The SDK's parts without a network: backoff, status events, key files, the stored device
 * key, and open()/connect() argument checks.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ClosedError, InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { bytesToHex } from '../hex.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { NodeFs } from '../io/node-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { identityFromSeed } from '../log/identity.ts';
import { nodeSigner } from '../log/node-signer.ts';
import { issueCertificate } from '../sync/pairing.ts';
import { backoffDelayMs, checkBackoff, RECONNECT_DELAY_MS_MAX, RECONNECT_DELAY_MS_MIN } from './backoff.ts';
import { DEVICE_KEY_FILE } from './device-key.ts';
import { decodeKeyFile, encodeKeyFile } from './key-file.ts';
import { nodePlatform, nodeStorage } from './node.ts';
import { open } from './open.ts';
import { STATUS_LISTENERS_MAX, StatusEmitter, type SyncStatusEvent } from './status.ts';

const seed = (n: number) => new Uint8Array(32).fill(n);

describe('backoff', () => {
  test('doubles from the minimum to the maximum, half fixed and half random', () => {
    const random = new SeededRandom(7);
    for (let failures = 1; failures <= 40; failures++) {
      const ceiling = Math.min(RECONNECT_DELAY_MS_MAX, RECONNECT_DELAY_MS_MIN * 2 ** (failures - 1));
      const d = backoffDelayMs(failures, random);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
    const bounds = { delayMsMin: 10, delayMsMax: 50 };
    expect(backoffDelayMs(1, { next: () => 0, int: () => 0 }, bounds)).toBe(5);
    expect(backoffDelayMs(3, { next: () => 0.999999, int: () => 0 }, bounds)).toBe(40);
    expect(backoffDelayMs(100, { next: () => 0.999999, int: () => 0 }, bounds)).toBe(50);
  });

  test('is the same for the same seed', () => {
    const run = (s: number) => {
      const r = new SeededRandom(s);
      return Array.from({ length: 12 }, (_, i) => backoffDelayMs(i + 1, r));
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  test('refuses bad failures counts and bounds', () => {
    const r = new SeededRandom(1);
    for (const f of [0, -1, 1.5, Number.NaN])
      expect(() => backoffDelayMs(f, r)).toThrow(InvalidArgumentError);
    expect(() => checkBackoff({ delayMsMin: 0, delayMsMax: 10 })).toThrow(/delayMsMin/);
    expect(() => checkBackoff({ delayMsMin: 10, delayMsMax: 5 })).toThrow(/delayMsMax/);
    expect(() => checkBackoff({ delayMsMin: 1.5, delayMsMax: 5 })).toThrow(/delayMsMin/);
    expect(() => checkBackoff({ delayMsMin: 1, delayMsMax: 1 })).not.toThrow();
  });
});

describe('status events', () => {
  const ev = (status: SyncStatusEvent['status']): SyncStatusEvent => ({ status, link: 'hub', target: 'x' });

  test('reach listeners of their status and of every status, in order; unsubscribe works', async () => {
    const e = new StatusEmitter();
    const seen: string[] = [];
    const off = e.on('synced', (x) => seen.push(`synced:${x.status}`));
    e.on('*', (x) => seen.push(`*:${x.status}`));
    const next = e.once('offline');
    e.emit(ev('online'));
    e.emit(ev('synced'));
    off();
    e.emit(ev('synced'));
    e.emit(ev('offline'));
    expect(seen).toEqual(['*:online', 'synced:synced', '*:synced', '*:synced', '*:offline']);
    expect((await next).status).toBe('offline');
  });

  test('a throwing listener does not stop the others; listeners are bounded', () => {
    const e = new StatusEmitter();
    const seen: string[] = [];
    const errors: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => {
      try {
        fn();
      } catch (err) {
        errors.push(err);
      }
    };
    try {
      e.on('online', () => {
        throw new Error('listener bug');
      });
      e.on('online', () => seen.push('second'));
      e.emit(ev('online'));
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(seen).toEqual(['second']);
    expect(errors).toHaveLength(1);
    const f = new StatusEmitter();
    for (let i = 0; i < STATUS_LISTENERS_MAX; i++) f.on('online', () => i);
    expect(() => f.on('online', () => 0)).toThrow(LimitExceededError);
  });
});

describe('key files', () => {
  test('round-trip owner and device keys', () => {
    const id = identityFromSeed(seed(3));
    const text = encodeKeyFile('owner', id);
    expect(JSON.parse(text)).toEqual({
      format: 'aregula-key',
      version: 1,
      role: 'owner',
      publicKey: bytesToHex(id.publicKey),
      secretKey: bytesToHex(id.secretKey),
    });
    const back = decodeKeyFile(text, 'owner');
    expect(back.role).toBe('owner');
    expect(back.identity.publicKey).toEqual(id.publicKey);
    expect(decodeKeyFile(encodeKeyFile('device', id)).role).toBe('device');
  });

  test('refuse every malformed file with a reason', () => {
    const id = identityFromSeed(seed(3));
    const good = JSON.parse(encodeKeyFile('device', id)) as Record<string, unknown>;
    const other = bytesToHex(identityFromSeed(seed(4)).publicKey);
    const cases: [string, RegExp][] = [
      ['', /not JSON/],
      ['[]', /not a JSON object/],
      ['null', /not a JSON object/],
      [JSON.stringify({ ...good, format: 'pem' }), /format/],
      [JSON.stringify({ ...good, version: 2 }), /version 2/],
      [JSON.stringify({ ...good, role: 'admin' }), /role/],
      [JSON.stringify({ ...good, secretKey: 'AB'.repeat(32) }), /secretKey/],
      [JSON.stringify({ ...good, secretKey: 'ab' }), /secretKey/],
      [JSON.stringify({ ...good, publicKey: 42 }), /publicKey/],
      [JSON.stringify({ ...good, publicKey: other }), /does not belong/],
      [' '.repeat(5000), /at most 4096/],
    ];
    for (const [text, message] of cases)
      expect(() => decodeKeyFile(text), text.slice(0, 40)).toThrow(message);
    expect(() => decodeKeyFile(JSON.stringify(good), 'owner')).toThrow(/expected a owner key/);
  });
});

describe('open', () => {
  test('on Node, a database on disk flushes on worker threads; one in memory stays inline', async () => {
    expect(nodePlatform.lsmOptionsFor?.(new MemoryFs())).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'aregula-sdk-background-'));
    try {
      expect(nodePlatform.lsmOptionsFor?.(new NodeFs(dir))?.background).toBeDefined();
      // A small memtable, so these writes go through several flushes on the workers.
      const lsm = { memtableBytes: 16 * 1024 };
      const db = await open({ storage: nodeStorage(dir), platform: nodePlatform, lsm });
      const notes = db.collection('notes');
      for (let i = 0; i < 600; i++) notes.put(`n${i}`, { i, text: 'x'.repeat(64) });
      await db.close();
      const again = await open({ storage: nodeStorage(dir), platform: nodePlatform, lsm });
      for (let i = 0; i < 600; i++)
        expect(again.collection('notes').get(`n${i}`)).toEqual({ i, text: 'x'.repeat(64) });
      expect(again.database.rebuild()).toBe(true);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('generates a device key on first open, stores it, and reads it back', async () => {
    const storage = new MemoryFs();
    const db = await open({ storage, platform: nodePlatform });
    const id = db.deviceId;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    db.collection('notes').put('a', { x: 1 });
    await db.close();
    expect(storage.exists(DEVICE_KEY_FILE)).toBe(true);
    const again = await open({ storage, platform: nodePlatform });
    expect(again.deviceId).toBe(id);
    expect(again.collection('notes').get('a')).toEqual({ x: 1 });
    await again.close();
    await again.close(); // idempotent
    expect(() => again.collection('notes').put('b', {})).toThrow(ClosedError);
    expect(() => again.sync.connect('http://127.0.0.1:1', { certificate: new Uint8Array(149) })).toThrow(
      ClosedError,
    );
  });

  test('refuses missing storage, another device key, and a damaged stored key', async () => {
    await expect(open(undefined as never)).rejects.toThrow(InvalidArgumentError);
    await expect(open({} as never)).rejects.toThrow(/storage/);
    const storage = new MemoryFs();
    const db = await open({ storage, identity: identityFromSeed(seed(5)) });
    await db.close();
    await expect(open({ storage, identity: identityFromSeed(seed(6)) })).rejects.toThrow(
      /another device key/,
    );
    const h = storage.open(DEVICE_KEY_FILE);
    h.write(0, new TextEncoder().encode('{"nope'));
    h.close();
    await expect(open({ storage })).rejects.toThrow(/not a key file/);
  });

  test('connect and connectPeer refuse bad arguments before any network', async () => {
    const owner = identityFromSeed(seed(9));
    const db = await open({ storage: new MemoryFs(), identity: identityFromSeed(seed(10)) });
    const cert = issueCertificate({
      owner,
      device: db.database.identity.publicKey,
      issuedAtMs: 1,
      signer: nodeSigner,
    });
    const otherCert = issueCertificate({ owner, device: owner.publicKey, issuedAtMs: 1, signer: nodeSigner });
    const url = 'http://127.0.0.1:9';
    const bad: [() => void, RegExp][] = [
      [() => db.sync.connect('not a url', { certificate: cert.bytes }), /not a URL/],
      [() => db.sync.connect('ftp://x', { certificate: cert.bytes }), /http: or https:/],
      [() => db.sync.connect(url, { certificate: new Uint8Array(10) }), /149 bytes/],
      [() => db.sync.connect(url, { certificate: 'not base64url!' }), /certificate/],
      [() => db.sync.connect(url, { certificate: otherCert.bytes }), /another device key/],
      [
        () => db.sync.connect(url, { certificate: cert.bytes, backoff: { delayMsMin: 0, delayMsMax: 1 } }),
        /delayMsMin/,
      ],
      [() => db.sync.connect(url, { certificate: cert.bytes, resyncIntervalMs: 0 }), /resyncIntervalMs/],
      // webPlatform in Node: there is no RTCPeerConnection.
      [
        () => db.sync.connectPeer('ab'.repeat(32), { hub: url, certificate: cert.bytes }),
        /no RTCPeerConnection/,
      ],
      [() => db.sync.connectPeer('ab'.repeat(32), { hub: 'x', certificate: cert.bytes }), /not a URL/],
    ];
    for (const [fn, message] of bad) expect(fn).toThrow(message);
    expect(db.sync.state).toEqual({ hub: undefined, peers: {} });
    await expect(db.sync.synced()).rejects.toThrow(/not connected/);
    await db.close();

    const nodeDb = await open({
      storage: new MemoryFs(),
      identity: identityFromSeed(seed(10)),
      platform: nodePlatform,
    });
    const id = nodeDb.deviceId;
    for (const [peer, message] of [
      ['AB'.repeat(32), /64 lowercase hex/],
      ['ab', /64 lowercase hex/],
      [id, /itself/],
    ] as const)
      expect(() => nodeDb.sync.connectPeer(peer, { hub: url, certificate: cert.bytes })).toThrow(message);
    await nodeDb.close();
  });
});
