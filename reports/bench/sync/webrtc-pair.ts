/**
 * Two devices in one process joined by a real WebRTC data channel (node-datachannel over
 * loopback), signaling through an in-memory channel (the hub's signaling is not what is
 * measured). Each side runs a {@link SyncConnection} over its link; the receiving side's
 * connection can be replaced (a fresh device per sample) while the channel stays open. Bytes
 * on the wire are the data channel messages' bytes: each sync message plus one framing byte
 * per chunk (SCTP, DTLS, UDP and IP headers are not counted).
 */

import { assert } from '../../../engine/assert.ts';
import { SeededRandom } from '../../../engine/io/random.ts';
import { SyncConnection, type SyncLink } from '../../../engine/sync/transport.ts';
import { nodePeerConnectionFactory, webRtcCleanup } from '../../../engine/sync/webrtc-node.ts';
import type { Signal, SignalingChannel } from '../../../engine/sync/webrtc-signaling.ts';
import { CHUNK_BYTES_MAX, WebRtcTransport } from '../../../engine/sync/webrtc-transport.ts';
import type { BenchDevice } from './fixtures.ts';

/** Longest wait for the channel to open, ms. */
export const CHANNEL_OPEN_MS_MAX = 30_000;
/**
 * Entries per `entries` message over the data channel: the session's default, which is what
 * the SDK's peer links send (engine/sdk/peer-links.ts sets no size). About 40 KB of the bench's
 * entries, so each message is one data channel frame, as for a real peer.
 */
export const PEER_ENTRIES_PER_MESSAGE = 256;

/** Signaling between devices of one process: signals are delivered on a later task. */
class LocalSignaling implements SignalingChannel {
  private handler: ((from: string, signal: Signal) => void) | undefined;
  peers = new Map<string, LocalSignaling>();
  constructor(private readonly self: string) {}
  send(to: string, signal: Signal): void {
    const peer = this.peers.get(to);
    setImmediate(() => peer?.handler?.(this.self, signal));
  }
  listen(handler: (from: string, signal: Signal) => void): void {
    this.handler = handler;
  }
}

/** One side of the pair. */
export interface PairSide {
  device: BenchDevice;
  transport: WebRtcTransport;
  link: SyncLink;
  connection: SyncConnection;
  /** Called after every message this side receives (and applies). */
  afterReceive: () => void;
}

/** Two devices joined by a data channel. */
export interface WebRtcPair {
  a: PairSide;
  b: PairSide;
  /** Bytes both sides have handed to the channel so far. */
  wireBytes(): number;
  /** Gives side `b` a new device (and a fresh connection); the channel stays open. */
  replaceB(device: BenchDevice): void;
  /** Closes both sides and releases node-datachannel. */
  close(): Promise<void>;
}

/** Opens a data channel between `a` and `b` and waits until it is open. */
export async function openWebRtcPair(a: BenchDevice, b: BenchDevice): Promise<WebRtcPair> {
  let wire = 0;
  const signals = new Map<string, LocalSignaling>();
  for (const d of [a, b]) signals.set(d.hex, new LocalSignaling(d.hex));
  for (const s of signals.values()) s.peers = signals;
  const side = (device: BenchDevice, other: BenchDevice, seed: number): PairSide => {
    const transport = new WebRtcTransport({
      self: device.hex,
      createPeerConnection: nodePeerConnectionFactory,
      signaling: signals.get(device.hex)!,
      random: new SeededRandom(seed),
      retryMs: 100,
    });
    const s = { device, transport, afterReceive: () => {} } as PairSide;
    const raw = transport.open(other.hex, {
      message: (m) => {
        s.connection.receive(m);
        s.afterReceive();
      },
      connected: () => s.connection.restart(),
    });
    s.link = {
      send(m) {
        wire += m.length + Math.ceil(m.length / (CHUNK_BYTES_MAX - 1));
        raw.send(m);
      },
      close: () => raw.close(),
    };
    s.connection = connectionOf(device, s.link);
    return s;
  };
  const sa = side(a, b, 1);
  const sb = side(b, a, 2);
  const started = Date.now();
  while (!(sa.transport.isOpen(b.hex) && sb.transport.isOpen(a.hex))) {
    assert(Date.now() - started < CHANNEL_OPEN_MS_MAX, 'the WebRTC channel did not open in time');
    await new Promise((r) => setTimeout(r, 5));
  }
  return {
    a: sa,
    b: sb,
    wireBytes: () => wire,
    replaceB(device) {
      sb.device = device;
      sb.connection = connectionOf(device, sb.link);
    },
    async close() {
      // Each side waits for the other to acknowledge what it sent before tearing down; only
      // then may node-datachannel's threads go.
      await Promise.all([sa.transport.close(), sb.transport.close()]);
      webRtcCleanup();
    },
  };
}

function connectionOf(device: BenchDevice, link: SyncLink): SyncConnection {
  return new SyncConnection(device.db.replica, link, {
    session: { entriesPerMessageMax: PEER_ENTRIES_PER_MESSAGE },
  });
}
