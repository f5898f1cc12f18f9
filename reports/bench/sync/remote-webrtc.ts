/**
 * A WebRTC data channel between a fresh device in this process and a source device in its own
 * process (`webrtc-source-process.ts`), as two devices are: each side's work runs on its own
 * core. Signaling goes over the child's stdio. This side's connection can be replaced (a fresh
 * device per sample) while the channel stays open. Bytes on the wire are counted here, both
 * directions, as `webrtc-pair.ts` counts them: each sync message plus one framing byte per
 * chunk (SCTP, DTLS, UDP and IP headers are not counted).
 */

import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { assert } from '../../../engine/assert.ts';
import { SeededRandom } from '../../../engine/io/random.ts';
import { SyncConnection, type SyncLink } from '../../../engine/sync/transport.ts';
import { nodePeerConnectionFactory, webRtcCleanup } from '../../../engine/sync/webrtc-node.ts';
import type { Signal, SignalingChannel } from '../../../engine/sync/webrtc-signaling.ts';
import { CHUNK_BYTES_MAX, WebRtcTransport } from '../../../engine/sync/webrtc-transport.ts';
import { spawnBenchChild, stopBenchChild } from './child-process.ts';
import type { BenchDevice } from './fixtures.ts';
import { CHANNEL_OPEN_MS_MAX, PEER_ENTRIES_PER_MESSAGE } from './webrtc-pair.ts';
import type { SourceProcessReady } from './webrtc-source-process.ts';

const SOURCE_PROCESS = fileURLToPath(new URL('./webrtc-source-process.ts', import.meta.url));

/** Longest the source process may take to build its feed, ms (100K entries take seconds). */
export const SOURCE_READY_MS_MAX = 300_000;

/** The receiving side of a channel to a source in another process. */
export interface RemoteWebRtcPair {
  readonly source: SourceProcessReady;
  /** The device now on this side. */
  readonly device: BenchDevice;
  /** Called after every message this side receives (and applies). */
  afterReceive: () => void;
  /** Starts a sync from this side (a `hello`). */
  hello(): void;
  /** Bytes carried so far, both directions. */
  wireBytes(): number;
  /** Puts a new device (and a fresh connection) on this side; the channel stays open. */
  replace(device: BenchDevice): void;
  /** Closes the channel, stops the source process and releases node-datachannel. */
  close(): Promise<void>;
}

/** Signals between this process and the source process. */
class ChildSignaling implements SignalingChannel {
  private handler: ((from: string, signal: Signal) => void) | undefined;
  constructor(
    private readonly self: string,
    private readonly write: (line: string) => void,
  ) {}
  send(_to: string, signal: Signal): void {
    this.write(JSON.stringify({ signal: { from: this.self, signal } }));
  }
  listen(handler: (from: string, signal: Signal) => void): void {
    this.handler = handler;
  }
  deliver(from: string, signal: Signal): void {
    this.handler?.(from, signal);
  }
}

/** Starts a source of `n` entries in its own process and opens a channel to it from `device`. */
export async function openRemoteWebRtcPair(n: number, device: BenchDevice): Promise<RemoteWebRtcPair> {
  const { child, stderr } = spawnBenchChild(SOURCE_PROCESS, [String(n)]);
  const signaling = new ChildSignaling(device.hex, (line) => {
    if (child.stdin!.writable) child.stdin!.write(`${line}\n`);
  });
  const ready = new Promise<SourceProcessReady>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the source process did not start in time')),
      SOURCE_READY_MS_MAX,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the source process exited (${code ?? signal}): ${stderr()}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { ready?: SourceProcessReady; signal?: { signal: Signal } };
      if (msg.ready !== undefined) {
        clearTimeout(timer);
        resolve(msg.ready);
      }
      if (msg.signal !== undefined) signaling.deliver(source?.hex ?? '', msg.signal.signal);
    });
  });
  let source: SourceProcessReady | undefined;
  try {
    source = await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return openChannel(
    source,
    device,
    signaling,
    (line) => child.stdin!.write(`${line}\n`),
    () => stopBenchChild(child),
  );
}

async function openChannel(
  source: SourceProcessReady,
  first: BenchDevice,
  signaling: ChildSignaling,
  write: (line: string) => void,
  stopChild: () => Promise<void>,
): Promise<RemoteWebRtcPair> {
  let wire = 0;
  const framed = (m: Uint8Array) => m.length + Math.ceil(m.length / (CHUNK_BYTES_MAX - 1));
  const transport = new WebRtcTransport({
    self: first.hex,
    createPeerConnection: nodePeerConnectionFactory,
    signaling,
    random: new SeededRandom(2),
    retryMs: 100,
  });
  let device = first;
  let connection: SyncConnection;
  const pair: RemoteWebRtcPair = {
    source,
    get device() {
      return device;
    },
    afterReceive: () => {},
    hello: () => connection.hello(),
    wireBytes: () => wire,
    replace(next) {
      device = next;
      connection = connectionOf(next, link);
    },
    async close() {
      // The transport waits for the other side to acknowledge what it sent; then the child.
      await transport.close();
      await stopChild();
      webRtcCleanup();
    },
  };
  const raw = transport.open(source.hex, {
    message: (m) => {
      wire += framed(m);
      connection.receive(m);
      pair.afterReceive();
    },
    connected: () => connection.restart(),
  });
  const link: SyncLink = {
    send(m) {
      wire += framed(m);
      raw.send(m);
    },
    close: () => raw.close(),
  };
  connection = connectionOf(first, link);
  // The source dials this side once it knows its name.
  write(JSON.stringify({ peer: first.hex }));
  const started = Date.now();
  while (!transport.isOpen(source.hex)) {
    assert(Date.now() - started < CHANNEL_OPEN_MS_MAX, 'the WebRTC channel did not open in time');
    await new Promise((r) => setTimeout(r, 5));
  }
  return pair;
}

function connectionOf(device: BenchDevice, link: SyncLink): SyncConnection {
  return new SyncConnection(device.db.replica, link, {
    session: { entriesPerMessageMax: PEER_ENTRIES_PER_MESSAGE },
  });
}
