/**
 * The SDK's connection to a hub: a {@link HubClient} (which already retries with backoff,
 * resumes its event stream and says `hello` again after every failure) whose statuses are
 * turned into the SDK's {@link SyncStatus} events. `online` needs one more fact than the
 * client reports, that the hub answered at all, so the client's `fetch` is wrapped to notice
 * every answer.
 */

import type { Random } from '../io/random.ts';
import type { Identity } from '../log/identity.ts';
import type { Signer } from '../log/signer.ts';
import { HubClient, type HubClientStatus, type HubRequestError } from '../sync/hub-client.ts';
import type { SyncReplica } from '../sync/session.ts';
import type { Timers } from '../sync/transport.ts';
import type { BackoffBounds } from './backoff.ts';
import type { StatusEmitter, SyncStatus } from './status.ts';

/** A `hello` round this often even when all seems well, ms (catches anything missed). */
export const HUB_RESYNC_INTERVAL_MS = 30_000;
/** A hub request that takes longer is aborted and retried, ms. */
export const HUB_REQUEST_TIMEOUT_MS = 30_000;

/** What every link (to a hub, or to peers through a hub's signaling) needs. */
export interface LinkOptions {
  /** The hub's base URL. */
  url: string;
  replica: SyncReplica;
  identity: Identity;
  certificate: Uint8Array;
  signer: Signer;
  random: Random;
  timers: Timers;
  backoff: BackoffBounds;
  resyncIntervalMs: number;
  fetch: typeof fetch | undefined;
  events: StatusEmitter;
}

/** What a hub link needs. */
export interface HubLinkOptions extends LinkOptions {
  requestTimeoutMs: number;
}

/** One hub connection and its status. */
export class HubLink {
  private client: HubClient;
  private status_: SyncStatus = 'offline';
  private reachable = false;
  private closed = false;

  constructor(private readonly o: HubLinkOptions) {
    this.client = this.makeClient();
    this.client.start();
  }

  /** The link's last status. */
  get status(): SyncStatus {
    return this.status_;
  }

  /** Counters of the underlying client. */
  get stats(): HubClient['stats'] {
    return this.client.stats;
  }

  /** Resolves the next time the link is synced (at once if it is). */
  synced(): Promise<void> {
    return this.client.synced();
  }

  /** Sends new entries to the hub. */
  pushLocal(): void {
    this.client.pushLocal();
  }

  /** Starts a `hello` round (relays what other links brought in). */
  hello(): void {
    this.client.resync();
  }

  /**
   * Drops the current client (and its backoff) and starts a fresh one at once: for when the
   * platform says the network is back after a long offline stretch.
   */
  async reconnect(): Promise<void> {
    if (this.closed) return;
    const old = this.client;
    this.client = this.makeClient();
    await old.close();
    if (!this.closed) this.client.start();
  }

  /** Stops the link; in-flight requests are aborted. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
    this.set('offline', { code: 'closed', message: 'disconnected' });
  }

  private makeClient(): HubClient {
    const o = this.o;
    const client: HubClient = new HubClient({
      url: o.url,
      replica: o.replica,
      identity: o.identity,
      certificate: o.certificate,
      signer: o.signer,
      random: o.random,
      timers: o.timers,
      fetch: this.watchedFetch(),
      backoffMsMin: o.backoff.delayMsMin,
      backoffMsMax: o.backoff.delayMsMax,
      requestTimeoutMs: o.requestTimeoutMs,
      resyncIntervalMs: o.resyncIntervalMs,
      onStatus: (status, error) => {
        if (client === this.client) this.onClientStatus(status, error);
      },
    });
    return client;
  }

  /** `fetch` that marks the hub reachable on every answer below 500, and unreachable on a network failure. */
  private watchedFetch(): typeof fetch {
    const base = this.o.fetch;
    return (async (input: RequestInfo | URL, init?: RequestInit) => {
      let res: Response;
      try {
        res = await (base ?? globalThis.fetch)(input, init);
      } catch (err) {
        // The client notices a failed sync request itself, but a failed event stream only
        // retries quietly: a refused connection is news that the hub is gone.
        if (init?.signal?.aborted !== true && this.reachable && !this.closed) {
          this.reachable = false;
          this.set('offline', { code: 'network', message: (err as Error).message });
        }
        throw err;
      }
      if (res.status < 500 && !this.reachable && !this.closed) {
        this.reachable = true;
        this.set('online');
        if (this.client.status === 'syncing') this.set('syncing');
        else if (this.client.status === 'synced') this.set('synced');
      }
      return res;
    }) as typeof fetch;
  }

  private onClientStatus(status: HubClientStatus, error: HubRequestError | undefined): void {
    const detail = error === undefined ? undefined : { code: error.code, message: error.message };
    switch (status) {
      case 'connecting':
      case 'closed':
        return;
      case 'syncing':
        if (this.reachable) this.set('syncing');
        return;
      case 'synced':
        if (!this.reachable) {
          this.reachable = true;
          this.set('online');
        }
        this.set('synced');
        return;
      case 'offline':
        this.reachable = false;
        this.set('offline', detail);
        return;
      case 'error':
        this.set('error', detail);
        return;
      case 'revoked':
        this.reachable = false;
        this.set('error', detail ?? { code: 'revoked', message: 'the owner revoked this device' });
        return;
    }
  }

  private set(status: SyncStatus, detail?: { code: string; message: string }): void {
    if (status === this.status_ && status !== 'error') return;
    this.status_ = status;
    this.o.events.emit({ status, link: 'hub', target: this.o.url, ...(detail ? { detail } : {}) });
  }
}
