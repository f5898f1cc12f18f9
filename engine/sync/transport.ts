/**
 * The network seam of sync. The protocol core (session.ts) turns received bytes into bytes to
 * send; a {@link Transport} carries them between devices. Real transports: the hub's HTTP +
 * Server-Sent Events API (hub-client.ts) and, later, WebRTC data channels; the simulator's
 * network is the deterministic twin. A transport may lose, duplicate, delay and reorder
 * messages: the protocol is built for that (docs/protocol.md, "The exchange").
 *
 * Timers are part of the seam too: reconnect backoff, request timeouts and periodic resyncs
 * wait through {@link Timers}, so the simulator can run them on virtual time and nothing in
 * `engine/` calls `setTimeout` directly except {@link systemTimers}.
 */

import { type AregulaError, ProtocolError } from '../errors.ts';
import { type SyncReplica, SyncSession, type SyncSessionOptions } from './session.ts';

/** A one-way message link to one peer. */
export interface SyncLink {
  /**
   * Hands one protocol message to the network. Never throws for a network failure and never
   * delivers synchronously: the message may arrive later, more than once, or never.
   */
  send(message: Uint8Array): void;
  /** Stops using the link; later sends are dropped. */
  close(): void;
}

/** What a transport tells the owner of a link. */
export interface LinkHandlers {
  /** A message from the peer (any order, possibly duplicated). */
  message(message: Uint8Array): void;
  /**
   * The link (re)connected, so earlier messages may have been lost: the owner says `hello`
   * again. Transports without connections (the simulator's datagrams) never call it.
   */
  connected?(): void;
  /**
   * The link lost its connection (the transport reconnects on its own and then calls
   * `connected`). Transports without connections never call it.
   */
  disconnected?(): void;
}

/**
 * A way to reach peers by name. The simulator's twin implements it over its `Network`:
 * `open(peer, handlers)` registers `handlers.message` for messages from `peer` and returns a
 * link whose `send` is `network.send(self, peer, bytes)`.
 */
export interface Transport {
  /** Opens a link to `peer`. */
  open(peer: string, handlers: LinkHandlers): SyncLink;
}

/** An opaque timer handle. */
export type TimerHandle = unknown;

/** The timer seam. */
export interface Timers {
  /** Calls `fn` once after `delayMs` (>= 0). */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  /** Cancels a pending call; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real timers (the one place in `engine/` that calls `setTimeout`). */
export const systemTimers: Timers = {
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Called when the peer sent something the protocol refuses (the session was reset). */
export type ProtocolErrorHandler = (error: AregulaError) => void;

/**
 * One sync conversation over a {@link SyncLink}: a {@link SyncSession} whose output goes to
 * the link, restarted with a fresh session (and a `hello`) whenever the link reconnects or the
 * peer sends a message the protocol refuses. A refused message applies nothing.
 */
export class SyncConnection {
  private current: SyncSession;

  constructor(
    private readonly replica: SyncReplica,
    private readonly link: SyncLink,
    private readonly options: { session?: SyncSessionOptions; onProtocolError?: ProtocolErrorHandler } = {},
  ) {
    this.current = this.fresh();
  }

  private fresh(): SyncSession {
    return new SyncSession(this.replica, (m) => this.link.send(m), this.options.session);
  }

  /** The session in use (replaced by {@link restart}). */
  get session(): SyncSession {
    return this.current;
  }

  /** Says `hello` on the current session (a sync tick). */
  hello(): void {
    this.current.start();
  }

  /** Drops what the session assumed about the peer and says `hello` on a fresh one. */
  restart(): void {
    this.current = this.fresh();
    this.current.start();
  }

  /**
   * Hands a message from the peer to the session. Returns false when the protocol refused it
   * (nothing applied): the handler hears why and the conversation restarts.
   */
  receive(message: Uint8Array): boolean {
    try {
      this.current.receive(message);
      return true;
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.options.onProtocolError?.(err);
      this.restart();
      return false;
    }
  }

  /** Offers new local entries to the peer. */
  pushLocal(): void {
    this.current.pushLocal();
  }

  /** True when this side holds everything the peer last said it had. */
  get caughtUp(): boolean {
    return this.current.caughtUp;
  }
}
