/**
 * The SDK's direct links to other devices: one WebRTC transport per database (or a bridge to
 * one on the page, rtc-bridge.ts),
 * signaling through a hub ({@link HubSignaling}), and per peer a {@link SyncConnection} whose
 * status becomes the SDK's {@link SyncStatus} events. The transport re-offers a lost
 * connection after an exponential backoff with jitter (backoff.ts); every reconnect starts the
 * conversation again with `hello`, which is all catch-up needs. A `hello` also goes out every
 * {@link PEER_RESYNC_INTERVAL_MS}.
 */

import { InvalidArgumentError } from '../errors.ts';
import { authorToHex } from '../sync/messages.ts';
import { SyncConnection, type SyncLink, type TimerHandle } from '../sync/transport.ts';
import { HubSignaling } from '../sync/webrtc-signaling.ts';
import { backoffDelayMs } from './backoff.ts';
import type { LinkOptions } from './hub-link.ts';
import type { PeerConnectionLease, PeerTransport } from './platform.ts';
import type { SyncStatus } from './status.ts';

/** A `hello` to each peer this often, ms. */
export const PEER_RESYNC_INTERVAL_MS = 30_000;
/** Most peers one database links to directly. */
export const PEERS_MAX = 64;
/**
 * An offer whose data channel has not opened by then is made again, ms. Short enough that an
 * offer the hub dropped (the peer had not logged in yet: 404 `unknown_device`) costs little,
 * long enough for ICE over real networks.
 */
export const PEER_CONNECT_TIMEOUT_MS = 5_000;
/** Long poll length asked of the hub's signaling endpoint, ms. */
export const SIGNAL_POLL_WAIT_MS = 20_000;

const HEX_KEY = /^[0-9a-f]{64}$/;

/** What the peer links need. */
export interface PeerLinksOptions extends LinkOptions {
  /** WebRTC peer connections, released after {@link PeerLinks.close}. */
  lease: PeerConnectionLease;
  iceServers: RTCIceServer[] | undefined;
}

interface Peer {
  id: string;
  link: SyncLink;
  connection: SyncConnection;
  status: SyncStatus;
  resync: TimerHandle | undefined;
}

/** Throws {@link InvalidArgumentError} unless `peer` is another device's id (64 lowercase hex digits). */
export function checkPeerId(peer: string, self: string): void {
  if (typeof peer !== 'string' || !HEX_KEY.test(peer))
    throw new InvalidArgumentError('a peer is a device id: 64 lowercase hex digits');
  if (peer === self) throw new InvalidArgumentError('a device cannot link to itself');
}

/** Every direct link of one database, over one transport and one signaling channel. */
export class PeerLinks {
  private readonly signaling: HubSignaling;
  private readonly transport: PeerTransport;
  private readonly peers = new Map<string, Peer>();
  private readonly self: string;
  private closed = false;

  constructor(private readonly o: PeerLinksOptions) {
    this.self = authorToHex(o.identity.publicKey);
    this.signaling = new HubSignaling({
      url: o.url,
      identity: o.identity,
      certificate: o.certificate,
      signer: o.signer,
      random: o.random,
      timers: o.timers,
      fetch: o.fetch,
      pollWaitMs: SIGNAL_POLL_WAIT_MS,
      backoffMsMin: o.backoff.delayMsMin,
      backoffMsMax: o.backoff.delayMsMax,
    });
    this.transport = o.lease.makeTransport({
      self: this.self,
      signaling: this.signaling,
      random: o.random,
      timers: o.timers,
      iceServers: o.iceServers,
      retryDelayMs: (failures) => backoffDelayMs(failures, o.random, o.backoff),
      connectTimeoutMs: PEER_CONNECT_TIMEOUT_MS,
    });
    this.signaling.start();
  }

  /** The signaling hub's URL. */
  get url(): string {
    return this.o.url;
  }

  /** Opens (or re-opens) the direct link to device `peer` (hex public key). */
  open(peer: string): void {
    checkPeerId(peer, this.self);
    if (!this.peers.has(peer) && this.peers.size >= PEERS_MAX)
      throw new InvalidArgumentError(`at most ${PEERS_MAX} direct peers`);
    this.close1(peer);
    const p = { id: peer, status: 'offline', resync: undefined } as Peer;
    p.link = this.transport.open(peer, {
      message: (m) => this.onMessage(p, m),
      connected: () => {
        this.set(p, 'online');
        this.set(p, 'syncing');
        p.connection.restart();
      },
      disconnected: () => this.set(p, 'offline', { code: 'network', message: 'the data channel closed' }),
    });
    p.connection = new SyncConnection(this.o.replica, p.link, {
      onProtocolError: (err) => this.set(p, 'error', { code: err.code, message: err.message }),
    });
    this.peers.set(peer, p);
    this.scheduleResync(p);
  }

  /** Each peer's status. */
  statuses(): Map<string, SyncStatus> {
    return new Map([...this.peers].map(([id, p]) => [id, p.status]));
  }

  /** Whether the data channel to `peer` is open. */
  isOpen(peer: string): boolean {
    return this.transport.isOpen(peer);
  }

  /** Sends new entries to every peer. */
  pushLocal(): void {
    for (const p of this.peers.values()) p.connection.pushLocal();
  }

  /** Says `hello` to every peer (relays what other links brought in). */
  hello(): void {
    for (const p of this.peers.values()) p.connection.hello();
  }

  /** Closes the link to one peer; true when there was one. */
  disconnect(peer: string): boolean {
    return this.close1(peer);
  }

  /** Closes every link and the signaling channel. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.peers.keys()]) this.close1(id);
    try {
      // A WebRTC transport's close settles once its channels have drained (each link waits for
      // its peer to acknowledge what it sent, boundedly): only then may the lease release the
      // connections, and the signaling channel carry the links' last `bye`. PeerTransport
      // declares `void` (platform.ts), so a transport that closes at once gives nothing to wait for.
      await this.transport.close();
      await this.signaling.close();
    } finally {
      this.o.lease.release();
    }
  }

  private close1(peer: string): boolean {
    const p = this.peers.get(peer);
    if (p === undefined) return false;
    this.peers.delete(peer);
    this.o.timers.clearTimeout(p.resync);
    p.link.close();
    this.set(p, 'offline', { code: 'closed', message: 'disconnected' });
    return true;
  }

  private onMessage(p: Peer, m: Uint8Array): void {
    if (!p.connection.receive(m)) return;
    this.set(p, p.connection.caughtUp ? 'synced' : 'syncing');
  }

  private scheduleResync(p: Peer): void {
    p.resync = this.o.timers.setTimeout(() => {
      if (this.peers.get(p.id) !== p) return;
      p.connection.hello();
      this.scheduleResync(p);
    }, this.o.resyncIntervalMs);
  }

  private set(p: Peer, status: SyncStatus, detail?: { code: string; message: string }): void {
    if (status === p.status && status !== 'error') return;
    p.status = status;
    this.o.events.emit({ status, link: 'peer', target: p.id, ...(detail ? { detail } : {}) });
  }
}
