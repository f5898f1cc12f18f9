/**
 * The source side of `sync.webrtc-initial`, run as its own process (`node --import tsx
 * webrtc-source-process.ts N`), as the other device is: it builds a source feed of N entries
 * and answers one WebRTC peer with it. Signaling runs over stdio as JSON lines:
 *
 * - out: `{"ready": {...}}` once the feed is built (its hex key, size and state hash), then
 *   `{"signal": {"to": HEX, "signal": Signal}}` for each signal the transport sends;
 * - in: `{"peer": HEX}` names the receiving device (the process then dials it),
 *   `{"signal": {"from": HEX, "signal": Signal}}` delivers a signal, `close` (or the end of
 *   stdin) closes the channel and exits.
 */

import { createInterface } from 'node:readline';
import { SeededRandom } from '../../../engine/io/random.ts';
import { SyncConnection } from '../../../engine/sync/transport.ts';
import { nodePeerConnectionFactory, webRtcCleanup } from '../../../engine/sync/webrtc-node.ts';
import type { Signal, SignalingChannel } from '../../../engine/sync/webrtc-signaling.ts';
import { WebRtcTransport } from '../../../engine/sync/webrtc-transport.ts';
import { buildSource } from './fixtures.ts';
import { PEER_ENTRIES_PER_MESSAGE } from './webrtc-pair.ts';

/** What the source process reports once its feed is built. */
export interface SourceProcessReady {
  /** Lowercase hex of the source device's key (its feed's author and its WebRTC name). */
  hex: string;
  n: number;
  stateHash: string;
  entryBytes: number;
}

/** Signals to and from the parent process, over stdout and stdin. */
class StdioSignaling implements SignalingChannel {
  private handler: ((from: string, signal: Signal) => void) | undefined;
  send(to: string, signal: Signal): void {
    process.stdout.write(`${JSON.stringify({ signal: { to, signal } })}\n`);
  }
  listen(handler: (from: string, signal: Signal) => void): void {
    this.handler = handler;
  }
  deliver(from: string, signal: Signal): void {
    this.handler?.(from, signal);
  }
}

async function main(argv: string[]): Promise<void> {
  const n = Number(argv[0]);
  if (!Number.isSafeInteger(n) || n < 1) {
    process.stderr.write('usage: webrtc-source-process.ts N\n');
    process.exitCode = 2;
    return;
  }
  const source = buildSource(n);
  const signaling = new StdioSignaling();
  const transport = new WebRtcTransport({
    self: source.device.hex,
    createPeerConnection: nodePeerConnectionFactory,
    signaling,
    random: new SeededRandom(1),
    retryMs: 100,
  });
  const ready: SourceProcessReady = {
    hex: source.device.hex,
    n,
    stateHash: source.device.db.stateHash(),
    entryBytes: source.entryBytes,
  };
  process.stdout.write(`${JSON.stringify({ ready })}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line === 'close') return lines.close();
    const msg = JSON.parse(line) as { peer?: string; signal?: { from: string; signal: Signal } };
    if (msg.signal !== undefined) signaling.deliver(msg.signal.from, msg.signal.signal);
    if (msg.peer !== undefined) {
      let connection: SyncConnection | undefined;
      const raw = transport.open(msg.peer, {
        message: (m) => connection?.receive(m),
        connected: () => connection?.restart(),
      });
      connection = new SyncConnection(source.device.db.replica, raw, {
        session: { entriesPerMessageMax: PEER_ENTRIES_PER_MESSAGE },
      });
    }
  });
  await new Promise<void>((resolve) => lines.once('close', resolve));
  await transport.close();
  source.device.db.close();
  webRtcCleanup();
}

await main(process.argv.slice(2));
