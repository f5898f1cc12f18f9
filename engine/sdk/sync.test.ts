/**
 * The SDK against a real hub process over loopback: status events in order, writes pushed at
 * once, the hub stopped (offline, writes go on), restarted on the same port (online again,
 * catch-up, one stateHash), a revoked device's `error`, and two devices linked directly over
 * WebRTC that keep syncing after the hub stops.
 */

import { afterAll, describe, expect, test } from 'vitest';
import { certify, killAll, startHub, tempDir, testIdentity, until } from '../../test/sdk-hub.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { nodeSigner } from '../log/node-signer.ts';
import { toBase64Url } from '../sync/base64.ts';
import { issueRevocation } from '../sync/pairing.ts';
import { nodePlatform } from './node.ts';
import { type AregulaDb, open } from './open.ts';
import type { SyncStatusEvent } from './status.ts';

/** Quick reconnects, so the test does not wait out real-world delays. */
const backoff = { delayMsMin: 20, delayMsMax: 300 };
const owner = testIdentity(1);
/** A resync interval longer than any test: only pushes and relays move entries. */
const NO_RESYNC_MS = 600_000;
const opened: AregulaDb[] = [];

afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
  killAll();
});

async function device(n: number): Promise<{ db: AregulaDb; cert: Uint8Array; events: SyncStatusEvent[] }> {
  const identity = testIdentity(n);
  const db = await open({
    storage: new MemoryFs(),
    identity,
    platform: nodePlatform,
    random: new SeededRandom(n),
  });
  opened.push(db);
  const events: SyncStatusEvent[] = [];
  db.sync.on('*', (e) => events.push(e));
  return { db, cert: certify(owner, identity), events };
}

function write(db: AregulaDb, prefix: string, n: number): void {
  const notes = db.collection('notes');
  for (let i = 0; i < n; i++) {
    notes.put(`${prefix}-${i}`, { by: prefix, i });
    db.collection('shared').patch('doc', { [prefix]: i, last: prefix });
  }
}

describe('the SDK and a hub process', () => {
  test('status events, live pushes, a stopped and restarted hub, catch-up to one stateHash', async () => {
    let hub = await startHub(owner.publicKey, tempDir('sdk-hub'));
    const a = await device(11);
    const b = await device(12);
    a.db.sync.connect(hub.url, { certificate: a.cert, backoff });
    b.db.sync.connect(hub.url, { certificate: toBase64Url(b.cert), backoff, resyncIntervalMs: 500 });
    await Promise.all([a.db.sync.synced(), b.db.sync.synced()]);
    expect(a.events.slice(0, 3).map((e) => e.status)).toEqual(['online', 'syncing', 'synced']);
    expect(a.events[0]).toEqual({ status: 'online', link: 'hub', target: hub.url });

    write(a.db, 'a', 50);
    await until('b sees a live', () => b.db.collection('notes').get('a-49') !== undefined);

    // The hub goes away: both notice, and go on writing offline.
    const port = hub.port;
    expect(await hub.stop()).toBe(0);
    await until('both offline', () => a.db.sync.state.hub === 'offline' && b.db.sync.state.hub === 'offline');
    write(a.db, 'a-off', 600);
    write(b.db, 'b-off', 700);
    expect(a.db.stateHash()).not.toBe(b.db.stateHash());

    // Back on the same port and data: both reconnect on their own and catch up.
    hub = await startHub(owner.publicKey, hub.dataDir, port);
    await until('convergence', () => a.db.stateHash() === b.db.stateHash(), 60_000);
    expect(a.db.collection('notes').get('b-off-699')).toEqual({ by: 'b-off', i: 699 });
    expect(b.db.collection('notes').get('a-off-599')).toEqual({ by: 'a-off', i: 599 });
    // Equal state hashes can come a moment before a's last answer is done: wait for synced.
    const offline = a.events.findIndex((e) => e.status === 'offline');
    expect(offline).toBeGreaterThan(2);
    await until('a synced again', () => a.events.slice(offline + 1).some((e) => e.status === 'synced'));
    const statuses = a.events.slice(offline + 1).map((e) => e.status);
    expect(statuses).toEqual(expect.arrayContaining(['online', 'synced']));
    // The restarted hub forgot a's session: logging in again is routine, not an error.
    expect(statuses).not.toContain('error');
    expect(a.events[offline]!.detail?.code).toMatch(/network|http_503|timeout/);

    // reconnect() starts a fresh client at once; disconnect() says offline/closed.
    await a.db.sync.reconnect();
    await a.db.sync.synced();
    await a.db.sync.disconnect();
    expect(a.events.at(-1)).toMatchObject({ status: 'offline', detail: { code: 'closed' } });
    expect(a.db.sync.state.hub).toBeUndefined();
    await hub.stop();
  });

  test('a revoked device gets an error event with code revoked', async () => {
    const hub = await startHub(owner.publicKey, tempDir('sdk-revoke'));
    const c = await device(13);
    c.db.sync.connect(hub.url, { certificate: c.cert, backoff });
    await c.db.sync.synced();
    const revocation = issueRevocation({
      owner,
      device: c.db.database.identity.publicKey,
      revokedAtMs: 5,
      signer: nodeSigner,
    });
    const res = await fetch(`${hub.url}/v1/devices/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ revocation: toBase64Url(revocation.bytes) }),
    });
    expect(res.status).toBe(200);
    c.db.collection('notes').put('after', { x: 1 });
    await until('error event', () => c.events.some((e) => e.status === 'error'));
    expect(c.events.find((e) => e.status === 'error')?.detail?.code).toBe('revoked');
    await hub.stop();
  });

  test('two devices over WebRTC: synced events, and syncing goes on after the hub stops', async () => {
    const hub = await startHub(owner.publicKey, tempDir('sdk-p2p'));
    const a = await device(21);
    const b = await device(22);
    a.db.sync.connectPeer(b.db.deviceId, { hub: hub.url, certificate: a.cert, backoff });
    b.db.sync.connectPeer(a.db.deviceId, { hub: hub.url, certificate: b.cert, backoff });
    write(a.db, 'a', 100);
    write(b.db, 'b', 80);
    await until('convergence', () => a.db.stateHash() === b.db.stateHash(), 60_000);
    await until('peer synced', () => a.db.sync.state.peers[b.db.deviceId] === 'synced');
    const peerEvents = a.events.filter((e) => e.link === 'peer').map((e) => e.status);
    expect(peerEvents.slice(0, 2)).toEqual(['online', 'syncing']);
    expect(a.events.every((e) => e.link !== 'peer' || e.target === b.db.deviceId)).toBe(true);

    expect(await hub.stop()).toBe(0);
    write(a.db, 'a2', 30);
    write(b.db, 'b2', 40);
    await until('convergence without the hub', () => a.db.stateHash() === b.db.stateHash(), 30_000);
    expect(b.db.collection('notes').get('a2-29')).toEqual({ by: 'a2', i: 29 });
    expect(a.db.sync.isPeerOpen(b.db.deviceId)).toBe(true);
  });

  test('a device linked to the hub and to a peer relays between them', async () => {
    const hub = await startHub(owner.publicKey, tempDir('sdk-relay'));
    const x = await device(31); // the hub only
    const y = await device(32); // the hub and z
    const z = await device(33); // y only (the hub relays its signaling, nothing else)
    x.db.sync.connect(hub.url, { certificate: x.cert, backoff, resyncIntervalMs: NO_RESYNC_MS });
    y.db.sync.connect(hub.url, { certificate: y.cert, backoff, resyncIntervalMs: NO_RESYNC_MS });
    y.db.sync.connectPeer(z.db.deviceId, {
      hub: hub.url,
      certificate: y.cert,
      backoff,
      resyncIntervalMs: NO_RESYNC_MS,
    });
    z.db.sync.connectPeer(y.db.deviceId, {
      hub: hub.url,
      certificate: z.cert,
      backoff,
      resyncIntervalMs: NO_RESYNC_MS,
    });
    write(x.db, 'x', 40);
    write(z.db, 'z', 30);
    await until(
      'all three converge',
      () => x.db.stateHash() === y.db.stateHash() && y.db.stateHash() === z.db.stateHash(),
      25_000,
    );
    expect(z.db.collection('notes').get('x-39')).toEqual({ by: 'x', i: 39 });
    expect(x.db.collection('notes').get('z-29')).toEqual({ by: 'z', i: 29 });
    expect(z.db.sync.state.hub).toBeUndefined();
    await hub.stop();
  });
});
