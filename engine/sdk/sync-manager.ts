/**
 * `db.sync`: the database's links to a hub and to peers, their status events, and the glue
 * that keeps them fed:
 *
 * - after local writes, new entries are pushed to every link (coalesced: one push per burst of
 *   synchronous writes, after {@link PUSH_DELAY_MS});
 * - when one link brings in entries and there are others, a `hello` goes to every link after
 *   {@link RELAY_DELAY_MS}, so a device with a hub and a peer relays between them;
 * - reconnects, backoff and catch-up are the links' own (hub-link.ts, peer-links.ts).
 */

import { ClosedError, InvalidArgumentError } from '../errors.ts';
import type { Random } from '../io/random.ts';
import type { Identity } from '../log/identity.ts';
import type { Signer } from '../log/signer.ts';
import { fromBase64Url } from '../sync/base64.ts';
import { authorToHex } from '../sync/messages.ts';
import { CERTIFICATE_BYTES, decodeCertificate } from '../sync/pairing.ts';
import type { SyncReplica } from '../sync/session.ts';
import type { TimerHandle, Timers } from '../sync/transport.ts';
import { type BackoffBounds, checkBackoff, DEFAULT_BACKOFF } from './backoff.ts';
import { HUB_REQUEST_TIMEOUT_MS, HUB_RESYNC_INTERVAL_MS, HubLink } from './hub-link.ts';
import { checkPeerId, PEER_RESYNC_INTERVAL_MS, PeerLinks } from './peer-links.ts';
import type { PeerConnectionLease } from './platform.ts';
import { StatusEmitter, type SyncStatus, type SyncStatusEvent, type SyncStatusListener } from './status.ts';

/** Delay between a local write and its push, ms (coalesces a burst of writes into one push). */
export const PUSH_DELAY_MS = 0;
/** Delay between entries arriving on one link and a `hello` on the others, ms. */
export const RELAY_DELAY_MS = 50;

/** How to reach a hub. */
export interface ConnectOptions {
  /** The owner's certificate for this device: its 149 bytes, or them in base64url. */
  certificate: Uint8Array | string;
  /** Reconnect delays. Default 200 ms doubling to 30 s, half of each random. */
  backoff?: BackoffBounds;
  /** A `hello` this often, ms. Default {@link HUB_RESYNC_INTERVAL_MS}. */
  resyncIntervalMs?: number;
  /** Request timeout, ms. Default {@link HUB_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
  /** `fetch` to use (tests, proxies). Default: the global one. */
  fetch?: typeof fetch;
}

/** How to reach a peer directly. */
export interface ConnectPeerOptions extends ConnectOptions {
  /** The hub that relays signaling (the peers' offers, answers and candidates). */
  hub: string;
  /** STUN/TURN servers; none by default (loopback and LAN need none). */
  iceServers?: RTCIceServer[];
}

/** What the manager needs from `open`. */
export interface SyncManagerOptions {
  replica: SyncReplica;
  identity: Identity;
  signer: Signer;
  random: Random;
  timers: Timers;
  leasePeerConnections: () => PeerConnectionLease | undefined;
  /** The platform's network watch (see `SdkPlatform.watchNetwork`). */
  watchNetwork: ((onOnline: () => void) => () => void) | undefined;
}

/** Where every link stands. */
export interface SyncState {
  /** The hub link's status, or undefined when not connected to a hub. */
  hub: SyncStatus | undefined;
  /** Each directly linked peer's status, by device id. */
  peers: Record<string, SyncStatus>;
}

/** Parses a certificate given as bytes or base64url; it must be for `device`. */
function certificateBytes(c: Uint8Array | string, device: Uint8Array): Uint8Array {
  const bytes = typeof c === 'string' ? fromBase64Url(c, 'certificate') : c;
  if (!(bytes instanceof Uint8Array) || bytes.length !== CERTIFICATE_BYTES)
    throw new InvalidArgumentError(`a certificate is ${CERTIFICATE_BYTES} bytes (or them in base64url)`);
  const cert = decodeCertificate(bytes);
  for (let i = 0; i < device.length; i++) {
    if (cert.device[i] !== device[i])
      throw new InvalidArgumentError('this certificate is for another device key');
  }
  return bytes;
}

function checkUrl(url: string, what: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError(`${what} is not a URL: ${String(url).slice(0, 80)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new InvalidArgumentError(`${what} must be an http: or https: URL`);
  return url.replace(/\/+$/, '');
}

function checkInterval(v: number | undefined, fallback: number, what: string): number {
  const x = v ?? fallback;
  if (!Number.isSafeInteger(x) || x < 1)
    throw new InvalidArgumentError(`${what} must be an integer >= 1 (ms)`);
  return x;
}

/** The database's sync links (see the module comment). */
export class SyncManager {
  private readonly events = new StatusEmitter();
  private hub: HubLink | undefined;
  private peerLinks: PeerLinks | undefined;
  private pushTimer: TimerHandle | undefined;
  private unwatchNetwork: (() => void) | undefined;
  private relayTimer: TimerHandle | undefined;
  private closed = false;

  /** @internal Built by `open`. */
  constructor(private readonly o: SyncManagerOptions) {}

  /**
   * Connects to the hub at `url` (replacing an earlier hub connection) and keeps syncing
   * with it, reconnecting on its own, until {@link disconnect}.
   */
  connect(url: string, options: ConnectOptions): void {
    this.checkOpen();
    const base = checkUrl(url, 'the hub URL');
    const certificate = certificateBytes(options.certificate, this.o.identity.publicKey);
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    checkBackoff(backoff);
    const old = this.hub;
    this.hub = new HubLink({
      url: base,
      replica: this.o.replica,
      identity: this.o.identity,
      certificate,
      signer: this.o.signer,
      random: this.o.random,
      timers: this.o.timers,
      backoff,
      resyncIntervalMs: checkInterval(options.resyncIntervalMs, HUB_RESYNC_INTERVAL_MS, 'resyncIntervalMs'),
      requestTimeoutMs: checkInterval(options.requestTimeoutMs, HUB_REQUEST_TIMEOUT_MS, 'requestTimeoutMs'),
      fetch: options.fetch,
      events: this.events,
    });
    void old?.close();
    this.unwatchNetwork ??= this.o.watchNetwork?.(() => void this.reconnect());
  }

  /**
   * Links directly to device `peer` (its id: 64 hex digits) over WebRTC, signaling through
   * `options.hub`. Syncing goes on over the data channel when the hub is gone.
   */
  connectPeer(peer: string, options: ConnectPeerOptions): void {
    this.checkOpen();
    checkPeerId(peer, authorToHex(this.o.identity.publicKey));
    const hub = checkUrl(options.hub, 'the signaling hub URL');
    if (this.peerLinks !== undefined && this.peerLinks.url !== hub)
      throw new InvalidArgumentError('every peer of a database signals through the same hub');
    if (this.peerLinks === undefined) {
      const backoff = options.backoff ?? DEFAULT_BACKOFF;
      checkBackoff(backoff);
      const certificate = certificateBytes(options.certificate, this.o.identity.publicKey);
      const lease = this.o.leasePeerConnections();
      if (lease === undefined)
        throw new InvalidArgumentError(
          'no RTCPeerConnection here (a worker, or Node without nodePlatform): see docs/sdk.md',
        );
      this.peerLinks = new PeerLinks({
        url: hub,
        replica: this.o.replica,
        identity: this.o.identity,
        certificate,
        signer: this.o.signer,
        random: this.o.random,
        timers: this.o.timers,
        backoff,
        resyncIntervalMs: checkInterval(
          options.resyncIntervalMs,
          PEER_RESYNC_INTERVAL_MS,
          'resyncIntervalMs',
        ),
        lease,
        iceServers: options.iceServers,
        fetch: options.fetch,
        events: this.events,
      });
    }
    this.peerLinks.open(peer);
  }

  /** Calls `listener` on every `status` event (or every event, with `'*'`); returns an unsubscriber. */
  on(status: SyncStatus | '*', listener: SyncStatusListener): () => void {
    return this.events.on(status, listener);
  }

  /** Resolves with the next event of `status`. */
  once(status: SyncStatus | '*'): Promise<SyncStatusEvent> {
    return this.events.once(status);
  }

  /** Where every link stands now. */
  get state(): SyncState {
    return {
      hub: this.hub?.status,
      peers: Object.fromEntries(this.peerLinks?.statuses() ?? []),
    };
  }

  /** Resolves when the hub link is next synced (at once if it is); rejects without a hub. */
  synced(): Promise<void> {
    if (this.hub === undefined) return Promise.reject(new InvalidArgumentError('not connected to a hub'));
    return this.hub.synced();
  }

  /** Whether the data channel to `peer` is open. */
  isPeerOpen(peer: string): boolean {
    return this.peerLinks?.isOpen(peer) ?? false;
  }

  /**
   * Reconnects to the hub now, forgetting the backoff: for when the network is back after a
   * long offline stretch. Called on its own when the platform reports it (a browser's
   * `online` event, see `SdkPlatform.watchNetwork`).
   */
  async reconnect(): Promise<void> {
    await this.hub?.reconnect();
  }

  /** Closes every link (the database stays open; `connect` again later). */
  async disconnect(): Promise<void> {
    this.o.timers.clearTimeout(this.pushTimer);
    this.o.timers.clearTimeout(this.relayTimer);
    this.pushTimer = undefined;
    this.relayTimer = undefined;
    this.unwatchNetwork?.();
    this.unwatchNetwork = undefined;
    const hub = this.hub;
    const peers = this.peerLinks;
    this.hub = undefined;
    this.peerLinks = undefined;
    await Promise.all([hub?.close(), peers?.close()]);
  }

  /** @internal Closes for good (the database is closing). */
  async close(): Promise<void> {
    this.closed = true;
    await this.disconnect();
    this.events.clear();
  }

  /** @internal New local entries: push them to every link soon. */
  localChanged(): void {
    if (this.closed || this.pushTimer !== undefined) return;
    this.pushTimer = this.o.timers.setTimeout(() => {
      this.pushTimer = undefined;
      this.hub?.pushLocal();
      this.peerLinks?.pushLocal();
    }, PUSH_DELAY_MS);
  }

  /** @internal Entries arrived from a link: relay them to the others soon. */
  remoteChanged(): void {
    if (this.closed || this.relayTimer !== undefined) return;
    if (this.hub === undefined || this.peerLinks === undefined) return;
    this.relayTimer = this.o.timers.setTimeout(() => {
      this.relayTimer = undefined;
      this.hub?.hello();
      this.peerLinks?.hello();
    }, RELAY_DELAY_MS);
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('the database is closed');
  }
}
