/**
 * WebRTC for a database in a worker. Browsers offer `RTCPeerConnection` on the page, not in
 * workers, while OPFS's synchronous access (which the storage needs) exists only in workers.
 * So the peer connections live on the page and the database in the worker, joined by a
 * `MessagePort`:
 *
 * - the worker's side ({@link workerPlatform}) is a {@link PeerTransport} whose links post
 *   their messages to the page, and whose signaling stays in the worker (it signs with the
 *   device key, which never leaves the worker);
 * - the page's side ({@link serveRtcBridge}) runs the real WebRTC transport with the native
 *   `RTCPeerConnection`, relays signals to and from the worker, and posts what arrives on the
 *   data channels back.
 *
 * Messages over the port are plain objects tagged by `t`; bytes travel as `Uint8Array`
 * (structured clone copies them). Anything malformed from the other side is ignored.
 */

import { InvalidArgumentError } from '../errors.ts';
import { type Random, SeededRandom } from '../io/random.ts';
import type { LinkHandlers, SyncLink } from '../sync/transport.ts';
import { systemTimers, type Timers } from '../sync/transport.ts';
import type { Signal, SignalingChannel } from '../sync/webrtc-signaling.ts';
import { backoffDelayMs, DEFAULT_BACKOFF } from './backoff.ts';
import {
  cryptoRandomBytes,
  type PeerTransport,
  type PeerTransportOptions,
  type SdkPlatform,
  webPlatform,
  webRtcTransportOf,
} from './platform.ts';

/** The part of `MessagePort` the bridge uses. */
export interface BridgePort {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
}

/** Most links one bridge serves (the SDK's own bound on peers is lower). */
export const BRIDGE_LINKS_MAX = 256;

type ToPage =
  | { t: 'init'; self: string; iceServers: RTCIceServer[] | undefined; connectTimeoutMs: number }
  | { t: 'open'; peer: string }
  | { t: 'send'; peer: string; bytes: Uint8Array }
  | { t: 'close-link'; peer: string }
  | { t: 'signal-in'; from: string; signal: Signal }
  | { t: 'close' };

type ToWorker =
  | { t: 'message'; peer: string; bytes: Uint8Array }
  | { t: 'connected'; peer: string }
  | { t: 'disconnected'; peer: string }
  | { t: 'signal-out'; to: string; signal: Signal };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** The worker's side: links whose bytes go to the page and come back from it. */
class BridgeTransport implements PeerTransport {
  private readonly handlers = new Map<string, LinkHandlers>();
  private readonly open_ = new Set<string>();
  private closed = false;

  constructor(
    private readonly port: BridgePort,
    o: PeerTransportOptions,
  ) {
    const signaling: SignalingChannel = o.signaling;
    signaling.listen((from, signal) => this.post({ t: 'signal-in', from, signal }));
    port.onmessage = (ev) => this.onMessage(ev.data, signaling);
    this.post({ t: 'init', self: o.self, iceServers: o.iceServers, connectTimeoutMs: o.connectTimeoutMs });
  }

  open(peer: string, handlers: LinkHandlers): SyncLink {
    this.handlers.set(peer, handlers);
    this.post({ t: 'open', peer });
    return {
      send: (bytes) => {
        if (this.handlers.get(peer) === handlers) this.post({ t: 'send', peer, bytes });
      },
      close: () => {
        if (this.handlers.get(peer) !== handlers) return;
        this.handlers.delete(peer);
        this.open_.delete(peer);
        this.post({ t: 'close-link', peer });
      },
    };
  }

  isOpen(peer: string): boolean {
    return this.open_.has(peer);
  }

  close(): void {
    if (this.closed) return;
    this.post({ t: 'close' });
    this.closed = true;
    this.handlers.clear();
    this.port.onmessage = null;
  }

  private post(m: ToPage): void {
    if (!this.closed) this.port.postMessage(m);
  }

  private onMessage(data: unknown, signaling: SignalingChannel): void {
    if (!isRecord(data) || typeof data.t !== 'string') return;
    const m = data as ToWorker;
    if (m.t === 'signal-out') {
      if (typeof m.to === 'string' && isRecord(m.signal)) signaling.send(m.to, m.signal);
      return;
    }
    const h = typeof m.peer === 'string' ? this.handlers.get(m.peer) : undefined;
    if (h === undefined) return;
    if (m.t === 'message' && m.bytes instanceof Uint8Array) h.message(m.bytes);
    else if (m.t === 'connected') {
      this.open_.add(m.peer);
      h.connected?.();
    } else if (m.t === 'disconnected') {
      this.open_.delete(m.peer);
      h.disconnected?.();
    }
  }
}

/**
 * The platform for a database in a worker whose page runs {@link serveRtcBridge} on the other
 * end of `port`: the web platform, with `connectPeer` going through the page.
 */
export function workerPlatform(port: BridgePort): SdkPlatform {
  return Object.freeze({
    ...webPlatform,
    name: 'web-worker',
    leasePeerConnections: () => ({
      makeTransport: (o: PeerTransportOptions) => new BridgeTransport(port, o),
      release: () => {},
    }),
  });
}

/** Options of {@link serveRtcBridge}. */
export interface RtcBridgeOptions {
  /** Makes peer connections. Default: the page's native `RTCPeerConnection`. */
  createPeerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  random?: Random;
  timers?: Timers;
}

/**
 * The page's side: serves a worker's direct links over `port` with the page's WebRTC.
 * Returns a function that closes every connection.
 */
export function serveRtcBridge(port: BridgePort, options: RtcBridgeOptions = {}): () => void {
  const Ctor = (globalThis as { RTCPeerConnection?: typeof RTCPeerConnection }).RTCPeerConnection;
  const create = options.createPeerConnection ?? (Ctor === undefined ? undefined : (c) => new Ctor(c));
  if (create === undefined)
    throw new InvalidArgumentError('serveRtcBridge needs RTCPeerConnection (run it on the page)');
  const b = cryptoRandomBytes(4);
  const random =
    options.random ?? new SeededRandom(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
  let transport: PeerTransport | undefined;
  let toTransport: ((from: string, signal: Signal) => void) | undefined;
  const links = new Map<string, SyncLink>();
  const post = (m: ToWorker) => port.postMessage(m);
  const close = () => {
    for (const l of links.values()) l.close();
    links.clear();
    // The page keeps running, so the links drain in the background; nothing waits on them.
    void transport?.close();
    transport = undefined;
  };
  port.onmessage = (ev) => {
    const m = ev.data as ToPage;
    if (!isRecord(m) || typeof m.t !== 'string') return;
    if (m.t === 'init' && typeof m.self === 'string') {
      close();
      transport = webRtcTransportOf(create, {
        self: m.self,
        signaling: {
          send: (to, signal) => post({ t: 'signal-out', to, signal }),
          listen: (handler) => {
            toTransport = handler;
          },
        },
        random,
        timers: options.timers ?? systemTimers,
        iceServers: m.iceServers,
        retryDelayMs: (failures) => backoffDelayMs(failures, random, DEFAULT_BACKOFF),
        connectTimeoutMs: typeof m.connectTimeoutMs === 'number' ? m.connectTimeoutMs : 10_000,
      });
    } else if (m.t === 'signal-in' && typeof m.from === 'string' && isRecord(m.signal)) {
      toTransport?.(m.from, m.signal);
    } else if (m.t === 'open' && typeof m.peer === 'string' && transport !== undefined) {
      if (!links.has(m.peer) && links.size >= BRIDGE_LINKS_MAX) return;
      const peer = m.peer;
      links.get(peer)?.close();
      links.set(
        peer,
        transport.open(peer, {
          message: (bytes) => post({ t: 'message', peer, bytes }),
          connected: () => post({ t: 'connected', peer }),
          disconnected: () => post({ t: 'disconnected', peer }),
        }),
      );
    } else if (m.t === 'send' && typeof m.peer === 'string' && m.bytes instanceof Uint8Array) {
      links.get(m.peer)?.send(m.bytes);
    } else if (m.t === 'close-link' && typeof m.peer === 'string') {
      links.get(m.peer)?.close();
      links.delete(m.peer);
    } else if (m.t === 'close') {
      close();
    }
  };
  return close;
}
