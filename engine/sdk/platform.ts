/**
 * What the SDK takes from the platform it runs on: a signing backend, key randomness, and
 * (for direct peer links) WebRTC peer connections. {@link webPlatform} uses only web
 * standards (WebCrypto's `getRandomValues`, the native `RTCPeerConnection`, the portable noble
 * signer), so it runs in browsers and in Node alike; `nodePlatform` (node.ts) swaps in
 * node:crypto and node-datachannel, and lives in its own file so browser bundles never see it.
 */

import { InvalidArgumentError } from '../errors.ts';
import type { FileSystem } from '../io/fs.ts';
import { type Random, SeededRandom } from '../io/random.ts';
import type { RandomBytes } from '../log/identity.ts';
import { nobleSigner, type Signer } from '../log/signer.ts';
import type { LsmOptions } from '../lsm/options.ts';
import type { Timers, Transport } from '../sync/transport.ts';
import type { SignalingChannel } from '../sync/webrtc-signaling.ts';
import { type PeerConnectionFactory, WebRtcTransport } from '../sync/webrtc-transport.ts';

/** The platform's parts the SDK uses. */
export interface SdkPlatform {
  /** Short name for diagnostics (`web`, `node`). */
  readonly name: string;
  /** Synchronous ed25519 + SHA-256 (the write path signs synchronously). */
  readonly signer: Signer;
  /** Cryptographically strong random bytes (new device keys). */
  readonly randomBytes: RandomBytes;
  /**
   * A lease on WebRTC peer connections, or undefined where there are none (then `connectPeer`
   * throws). The SDK takes one lease per database that links to peers and releases it after
   * closing its connections (node-datachannel's threads keep a Node process alive until the
   * last lease is released).
   */
  leasePeerConnections(): PeerConnectionLease | undefined;
  /**
   * Calls `onOnline` whenever the platform says the network is back (a browser's `online`
   * event), so links reconnect at once instead of waiting out their backoff. Returns a
   * function that stops watching. Optional: platforms that cannot tell never call it.
   */
  watchNetwork?(onOnline: () => void): () => void;
  /**
   * Storage tuning this platform suggests for `storage` (Node: flushes and compactions on
   * worker threads for a directory on disk). `open()` lays the caller's `lsm` options over it.
   * Optional: platforms without threads for storage suggest nothing.
   */
  lsmOptionsFor?(storage: FileSystem): LsmOptions | undefined;
}

/** A transport of direct links: WebRTC here, or a bridge to WebRTC elsewhere (rtc-bridge.ts). */
export interface PeerTransport extends Transport {
  /** Whether the data channel to `peer` is open. */
  isOpen(peer: string): boolean;
  /**
   * Closes every link. May return a promise that settles when every link is down (WebRTC
   * drains what is queued first); callers await it before releasing the platform's resources.
   */
  close(): void | Promise<void>;
}

/** What a {@link PeerTransport} is made with. */
export interface PeerTransportOptions {
  /** This device's id (hex public key). */
  self: string;
  signaling: SignalingChannel;
  random: Random;
  timers: Timers;
  iceServers: RTCIceServer[] | undefined;
  /** Delay before offering again after the `failures`-th failure in a row, ms. */
  retryDelayMs: (failures: number) => number;
  /** An offer whose channel has not opened by then is made again, ms. */
  connectTimeoutMs: number;
}

/** Access to WebRTC peer connections until {@link PeerConnectionLease.release}. */
export interface PeerConnectionLease {
  /** Makes the transport of one database's direct links. */
  makeTransport(options: PeerTransportOptions): PeerTransport;
  /** Called once, after the transport is closed. */
  release(): void;
}

/** A WebRTC transport over peer connections from `create`. */
export function webRtcTransportOf(create: PeerConnectionFactory, o: PeerTransportOptions): PeerTransport {
  return new WebRtcTransport({ ...o, createPeerConnection: create });
}

/** Random bytes from WebCrypto (`globalThis.crypto`, present in browsers, workers and Node 20+). */
export const cryptoRandomBytes: RandomBytes = (n) => {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c === undefined || typeof c.getRandomValues !== 'function')
    throw new InvalidArgumentError('this platform has no crypto.getRandomValues: pass `identity` to open()');
  return c.getRandomValues(new Uint8Array(n));
};

/** The native `RTCPeerConnection`, when the global scope has one (windows; not workers, not Node). */
function nativePeerConnections(): PeerConnectionLease | undefined {
  const Ctor = (globalThis as { RTCPeerConnection?: typeof RTCPeerConnection }).RTCPeerConnection;
  if (typeof Ctor !== 'function') return undefined;
  const create: PeerConnectionFactory = (config) => new Ctor(config);
  return { makeTransport: (o) => webRtcTransportOf(create, o), release: () => {} };
}

/** The global scope's `online` events (windows and workers; Node has none). */
function watchOnlineEvents(onOnline: () => void): () => void {
  const g = globalThis as Partial<Pick<EventTarget, 'addEventListener' | 'removeEventListener'>>;
  if (typeof g.addEventListener !== 'function' || typeof g.removeEventListener !== 'function')
    return () => {};
  const listener = () => onOnline();
  g.addEventListener('online', listener);
  return () => g.removeEventListener?.('online', listener);
}

/** Web standards only: noble signer, WebCrypto randomness, the native `RTCPeerConnection`, `online` events. */
export const webPlatform: SdkPlatform = Object.freeze({
  name: 'web',
  signer: nobleSigner,
  randomBytes: cryptoRandomBytes,
  leasePeerConnections: nativePeerConnections,
  watchNetwork: watchOnlineEvents,
});

/** A {@link Random} for jitter and session names, seeded from `randomBytes`. */
export function randomFrom(randomBytes: RandomBytes): Random {
  const b = randomBytes(4);
  return new SeededRandom(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
}
