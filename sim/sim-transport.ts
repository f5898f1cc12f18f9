/**
 * The simulator's twin of the engine's {@link Transport} seam (engine/sync/transport.ts): one
 * device's links to its peers over the simulated {@link Network}, on virtual time. The real
 * transports are the hub client (HTTP + Server-Sent Events) and the WebRTC data channels; the
 * engine's `SyncConnection` runs unmodified over either, and over this. All of them pass one
 * conformance suite (engine/sync/transport-conformance.ts).
 *
 * Faults it injects (the network's, docs/sim.md "Network"), and why the engine must survive them:
 * - Loss: `send` hands a message to the network, which may silently lose it, so the protocol
 *   must re-derive what is missing from state vectors rather than trust that a send arrived.
 * - Duplication: a message may arrive twice, so applying entries must be idempotent.
 * - Latency with jitter, hence reordering: messages of one link arrive in any order (real
 *   transports are ordered within one connection, but not across reconnects or relays), so
 *   the session must buffer entries that arrive before their predecessors.
 * - Limited bandwidth: a large batch delays everything behind it on that direction, so nothing
 *   may time out a merely slow link.
 * - Partitions, one-way links and crashed peers: a message in flight when its link is cut or an
 *   end crashes is lost, even if the link is back before it would have landed, and a restarted
 *   device never receives messages addressed to its previous life. The connection then drops
 *   (`disconnected`) and, once both directions carry messages again, comes back (`connected`),
 *   after which the owner must say `hello` again: what was in flight is gone.
 *
 * Connection events are scheduler events (`net connected a<-b`, `net disconnected a<-b`), never
 * run inside the call that changed the topology; a change undone within the same instant (a
 * flap) produces none. `connected` also follows `open` when the link is usable then, as a real
 * channel reports opening.
 */

import { assert } from '../engine/assert.ts';
import type { LinkHandlers, SyncLink, Transport } from '../engine/sync/transport.ts';
import type { Network } from './network.ts';
import type { Scheduler } from './scheduler.ts';

/** Link handlers with the optional `disconnected` notice some transports give. */
type Handlers = LinkHandlers & { disconnected?(): void };

/** Counters of a {@link SimTransport}. */
export interface SimTransportStats {
  /** Messages handed to the network. */
  sent: number;
  /** Messages handed to a link's owner. */
  received: number;
  /** Sends on closed links, and arrivals for links not open here. */
  discarded: number;
}

class SimLink implements SyncLink {
  closed = false;
  /** The connection state last reported to the owner. */
  reported = false;
  /** A connection event is scheduled and has not run. */
  pending = false;

  constructor(
    private readonly transport: SimTransport,
    readonly peer: string,
    readonly handlers: Handlers,
  ) {}

  send(message: Uint8Array): void {
    this.transport.sendOn(this, message);
  }

  close(): void {
    this.closed = true;
    this.transport.forget(this);
  }
}

/** One simulated device's {@link Transport}: its node on the network and its links. */
export class SimTransport implements Transport {
  readonly stats: SimTransportStats = { sent: 0, received: 0, discarded: 0 };
  private readonly links = new Map<string, SimLink>();

  /** Adds node `self` to `network`; messages from peers without an open link are discarded. */
  constructor(
    private readonly network: Network,
    private readonly scheduler: Scheduler,
    readonly self: string,
  ) {
    network.addNode(self, (from, bytes) => this.arrive(from, bytes));
    network.watch(() => this.refresh());
  }

  open(peer: string, handlers: LinkHandlers): SyncLink {
    assert(peer !== this.self, 'a device cannot open a link to itself');
    this.links.get(peer)?.close();
    const link = new SimLink(this, peer, handlers);
    this.links.set(peer, link);
    this.check(link);
    return link;
  }

  /** Closes every open link (the device stops, or crashes). */
  closeAll(): void {
    for (const link of [...this.links.values()]) link.close();
  }

  /** Whether messages currently flow both ways between this device and `peer`. */
  connectedTo(peer: string): boolean {
    return this.network.linkUp(this.self, peer) && this.network.linkUp(peer, this.self);
  }

  /** @internal */
  sendOn(link: SimLink, message: Uint8Array): void {
    if (link.closed) {
      this.stats.discarded++;
      return;
    }
    this.stats.sent++;
    this.network.send(this.self, link.peer, message);
  }

  /** @internal */
  forget(link: SimLink): void {
    if (this.links.get(link.peer) === link) this.links.delete(link.peer);
  }

  private arrive(from: string, bytes: Uint8Array): void {
    const link = this.links.get(from);
    if (link === undefined) {
      this.stats.discarded++;
      return;
    }
    this.stats.received++;
    link.handlers.message(bytes);
  }

  private refresh(): void {
    for (const link of this.links.values()) this.check(link);
  }

  /** Schedules a connection event when the link's state differs from what its owner heard. */
  private check(link: SimLink): void {
    if (link.pending || this.connectedTo(link.peer) === link.reported) return;
    link.pending = true;
    const up = !link.reported;
    this.scheduler.after(0, `net ${up ? 'connected' : 'disconnected'} ${this.self}<-${link.peer}`, () => {
      link.pending = false;
      if (link.closed) return;
      const now = this.connectedTo(link.peer);
      if (now === link.reported) return;
      link.reported = now;
      if (now) link.handlers.connected?.();
      else link.handlers.disconnected?.();
    });
  }
}
