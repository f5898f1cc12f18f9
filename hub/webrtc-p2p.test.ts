/**
 * Two Node peers sync directly over WebRTC data channels (node-datachannel), signaling through
 * a real hub on a loopback socket; then the hub stops and they keep syncing over the open
 * channel. Everything is closed and node-datachannel cleaned up at the end, so the test
 * process exits.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SeededRandom } from '../engine/io/random.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { authorToHex } from '../engine/sync/messages.ts';
import { SyncConnection } from '../engine/sync/transport.ts';
import { nodePeerConnectionFactory, webRtcCleanup } from '../engine/sync/webrtc-node.ts';
import { HubSignaling } from '../engine/sync/webrtc-signaling.ts';
import { WebRtcTransport } from '../engine/sync/webrtc-transport.ts';
import { memoryLog } from './log.ts';
import { type HubServer, startHubServer } from './server.ts';
import { identityOf, makeDevice, type TestDevice } from './testing.ts';

/** Longest wait for a condition, ms (a generous bound for a loaded machine, not a speed test). */
const WAIT_MS_MAX = 60_000;

async function until(what: string, cond: () => boolean): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > WAIT_MS_MAX) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Peer {
  device: TestDevice;
  hex: string;
  signaling: HubSignaling;
  transport: WebRtcTransport;
  connection: SyncConnection;
}

function startPeer(url: string, device: TestDevice, other: TestDevice, seed: number): Peer {
  const hex = authorToHex(device.identity.publicKey);
  const signaling = new HubSignaling({
    url,
    identity: device.identity,
    certificate: device.certificate,
    signer: nodeSigner,
    random: new SeededRandom(seed),
    pollWaitMs: 5_000,
    backoffMsMin: 20,
    backoffMsMax: 200,
  });
  const transport = new WebRtcTransport({
    self: hex,
    createPeerConnection: nodePeerConnectionFactory,
    signaling,
    random: new SeededRandom(seed + 100),
    retryMs: 100,
  });
  const peer = { device, hex, signaling, transport } as Peer;
  const link = transport.open(authorToHex(other.identity.publicKey), {
    message: (m) => peer.connection.receive(m),
    connected: () => peer.connection.restart(),
  });
  peer.connection = new SyncConnection(device.db.replica, link, { session: { entriesPerMessageMax: 512 } });
  return peer;
}

function write(p: Peer, prefix: string, n: number): void {
  const notes = p.device.db.collection('notes');
  const shared = p.device.db.collection('shared');
  for (let i = 0; i < n; i++) {
    notes.put(`${prefix}-${i}`, { by: prefix, i });
    shared.patch('doc', { [prefix]: i, last: prefix });
  }
  p.device.db.commit();
  p.connection.pushLocal();
}

describe('two peers over WebRTC, signaling through the hub', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aregula-p2p-'));
  let server: HubServer | undefined;
  const peers: Peer[] = [];

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.transport.close()));
    await Promise.all(peers.map((p) => p.signaling.close()));
    await server?.close();
    webRtcCleanup();
    for (const p of peers) p.device.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('they converge, then keep syncing directly after the hub stops', async () => {
    const owner = identityOf(900);
    server = await startHubServer({ dataDir: dir, port: 0, owner: owner.publicKey, log: memoryLog() });
    const a = makeDevice(owner, 1);
    const b = makeDevice(owner, 2);
    peers.push(startPeer(server.url, a, b, 1), startPeer(server.url, b, a, 2));
    const [pa, pb] = peers as [Peer, Peer];
    // A device is known to the hub (and may be signaled) once it has logged in.
    for (const p of peers) p.signaling.start();
    await until('both devices paired', () => server!.hub.access.deviceCount === 2);

    write(pa, 'a', 300);
    write(pb, 'b', 200);
    await until('a channel', () => pa.transport.isOpen(pb.hex) && pb.transport.isOpen(pa.hex));
    await until('convergence', () => a.db.stateHash() === b.db.stateHash());
    expect(a.db.collection('notes').get('b-199')).toEqual({ by: 'b', i: 199 });
    expect(b.db.collection('notes').get('a-299')).toEqual({ by: 'a', i: 299 });
    // The hub relayed signals only: it stored no entries.
    expect(server.hub.index.end).toBe(0);

    await server.close();
    server = undefined;
    write(pa, 'a2', 50);
    write(pb, 'b2', 70);
    await until('convergence without the hub', () => a.db.stateHash() === b.db.stateHash());
    expect(b.db.collection('notes').get('a2-49')).toEqual({ by: 'a2', i: 49 });
    expect(a.db.collection('notes').get('b2-69')).toEqual({ by: 'b2', i: 69 });
    expect(pa.transport.isOpen(pb.hex)).toBe(true);
    expect(a.db.collection('shared').get('doc')).toEqual(b.db.collection('shared').get('doc'));
  });
});
