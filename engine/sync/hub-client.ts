/**
 * A device's connection to a hub over HTTP and Server-Sent Events (docs/protocol.md, "The
 * hub's HTTP API"), using only `fetch` and web streams, so it runs in Node 20 and in browsers.
 *
 * - Authentication: the device answers a hub challenge with its key and presents its owner's
 *   certificate (pairing.ts); the session token it gets back goes in `Authorization` headers.
 *   A 401 drops the token and authenticates again at once, without reporting an error: a hub
 *   forgets its sessions when it restarts or when they expire, and logging in again is the
 *   routine answer. Only a 401 that a fresh login does not cure is a failure. A 403 `revoked`
 *   stops the client.
 * - Sync: a {@link SyncConnection} whose link turns each protocol message into a
 *   `POST /v1/sync` and feeds the hub's answer back, each of its messages as soon as it has
 *   arrived (the hub streams a pull answer while it reads it, so the two overlap). Requests go
 *   one at a time, in order.
 * - Live updates: `GET /v1/events`, parsed by {@link SseParser}; the client remembers the last
 *   event it applied and resumes from it (`Last-Event-ID`) after any break.
 * - Failures (network errors, timeouts, 5xx, 429, a refused or malformed answer, a dropped or
 *   truncated stream) never lose anything: the client waits (exponential backoff with jitter)
 *   and starts the conversation again with `hello`, which re-derives what each side lacks.
 *
 * Time and randomness come through the `Timers` and `Random` seams.
 */

import type { Random } from '../io/random.ts';
import type { Identity } from '../log/identity.ts';
import type { Signer } from '../log/signer.ts';
import { fromBase64, fromBase64Url, toBase64Url } from './base64.ts';
import {
  asRequestError,
  HubRequestError,
  readFrames,
  readJson,
  responseError,
  withTimer,
} from './hub-http.ts';
import { signChallenge } from './pairing.ts';
import type { SyncReplica } from './session.ts';
import { SseParser } from './sse.ts';
import { SyncConnection, systemTimers, type TimerHandle, type Timers } from './transport.ts';

/** Largest answer body the client reads, bytes (a hub answers within a few MiB). */
export const ANSWER_BYTES_MAX = 64 * 1024 * 1024;
/** Type byte of a `done` message (never sent to a hub: it answers hellos itself). */
const DONE_TYPE = 4;

/** Where the client stands. */
export type HubClientStatus =
  | 'connecting'
  | 'syncing'
  | 'synced'
  | 'offline'
  | 'error'
  | 'revoked'
  | 'closed';

export { HubRequestError } from './hub-http.ts';

/** Options of {@link HubClient}. */
export interface HubClientOptions {
  /** The hub's base URL, e.g. `http://127.0.0.1:7070`. */
  url: string;
  /** The local replica (a database's `replica`). */
  replica: SyncReplica;
  /** This device's identity (its key is the certified one). */
  identity: Identity;
  /** The owner's certificate for this device (pairing.ts). */
  certificate: Uint8Array;
  signer: Signer;
  /** Jitter for backoff. */
  random: Random;
  timers?: Timers;
  /** Default: the global `fetch`, looked up at each call. */
  fetch?: typeof fetch;
  /** First retry delay, ms. Default 200. */
  backoffMsMin?: number;
  /** Longest retry delay, ms. Default 30,000. */
  backoffMsMax?: number;
  /** A request that takes longer is aborted, ms. Default 30,000. */
  requestTimeoutMs?: number;
  /** An event stream silent for longer (not even a keep-alive) is reconnected, ms. Default 45,000. */
  streamIdleMsMax?: number;
  /** A `hello` round this often even when all seems well, ms. Default 30,000. */
  resyncIntervalMs?: number;
  /** Status changes. */
  onStatus?: (status: HubClientStatus, error?: HubRequestError) => void;
}

/** Counters, for tests and status displays. */
export interface HubClientStats {
  requests: number;
  failures: number;
  authentications: number;
  streamsOpened: number;
  eventsApplied: number;
  eventsRefused: number;
}

/** A device's connection to one hub (see the module comment). */
export class HubClient {
  private readonly timers: Timers;
  private readonly base: string;
  private readonly connection: SyncConnection;
  private outbox: Uint8Array[] = [];
  private draining = false;
  private generation = 0;
  private token: string | undefined;
  private auth: Promise<string> | undefined;
  private syncFailures = 0;
  private streamFailures = 0;
  private restartPending = false;
  /** A `hello` asked for while messages were queued, sent when the queue drains (see {@link resync}). */
  private helloAfterDrain = false;
  private readonly pendingTimers = new Set<TimerHandle>();
  private readonly sleepers = new Set<() => void>();
  private streamAbort: AbortController | undefined;
  private streamReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private lastEventId: string | undefined;
  private status_: HubClientStatus = 'connecting';
  private stopped = false;
  private streamLoop: Promise<void> | undefined;
  private waiters: (() => void)[] = [];
  /** Counters. */
  readonly stats: HubClientStats = {
    requests: 0,
    failures: 0,
    authentications: 0,
    streamsOpened: 0,
    eventsApplied: 0,
    eventsRefused: 0,
  };

  constructor(private readonly o: HubClientOptions) {
    this.timers = o.timers ?? systemTimers;
    this.base = o.url.replace(/\/+$/, '');
    this.connection = new SyncConnection(
      o.replica,
      { send: (m) => this.enqueue(m), close: () => {} },
      { session: { entriesPerMessageMax: 256 } },
    );
  }

  /** The current status. */
  get status(): HubClientStatus {
    return this.status_;
  }

  /** Starts syncing and listening; reconnects on its own until {@link close}. */
  start(): void {
    this.setStatus('connecting');
    this.connection.restart();
    this.streamLoop = this.runStream();
    this.scheduleResync();
  }

  /** Sends new local entries to the hub (call after local writes). */
  pushLocal(): void {
    if (this.stopped || this.restartPending) return;
    this.connection.pushLocal();
  }

  /** Starts a `hello` round now (e.g. after a long sleep). */
  resync(): void {
    if (this.stopped || this.restartPending) return;
    // A message still waiting or in flight: a hello now would carry today's state vector and
    // have the hub send again what that message is already fetching (a whole initial sync,
    // twice). Say hello once the queue drains, with what was applied by then.
    if (this.outbox.length > 0) {
      this.helloAfterDrain = true;
      return;
    }
    this.connection.hello();
  }

  /** Resolves the next time the client is `synced` (at once if it is). */
  synced(): Promise<void> {
    if (this.status_ === 'synced') return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops everything; in-flight requests are aborted. */
  async close(): Promise<void> {
    this.stopped = true;
    this.outbox = [];
    for (const t of this.pendingTimers) this.timers.clearTimeout(t);
    this.pendingTimers.clear();
    for (const wake of [...this.sleepers]) wake();
    this.streamAbort?.abort();
    // An aborted fetch ends its body, but a body that is not tied to the signal (an
    // in-process server, some polyfills) only ends when its reader cancels. Not awaited: some
    // bodies (msw's) settle the pending read but never the cancel itself.
    void this.streamReader?.cancel().catch(() => undefined);
    this.setStatus('closed');
    await this.streamLoop;
  }

  private setStatus(status: HubClientStatus, error?: HubRequestError): void {
    if (this.status_ === 'closed' || (this.status_ === 'revoked' && status !== 'closed')) return;
    const changed = this.status_ !== status;
    this.status_ = status;
    if (changed) this.o.onStatus?.(status, error);
    if (status === 'synced') {
      const w = this.waiters;
      this.waiters = [];
      for (const resolve of w) resolve();
    }
  }

  private later(fn: () => void, ms: number): void {
    const handle = this.timers.setTimeout(() => {
      this.pendingTimers.delete(handle);
      if (!this.stopped) fn();
    }, ms);
    this.pendingTimers.add(handle);
  }

  /** Waits `ms`, or less if the client closes meanwhile. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.sleepers.delete(wake);
        this.timers.clearTimeout(handle);
        resolve();
      };
      const handle = this.timers.setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private backoffMs(failures: number): number {
    const min = this.o.backoffMsMin ?? 200;
    const max = this.o.backoffMsMax ?? 30_000;
    const ceiling = Math.min(max, min * 2 ** Math.min(30, Math.max(0, failures - 1)));
    // "Equal jitter": half fixed, half random, so peers that failed together spread out.
    return Math.round(ceiling / 2 + (this.o.random.next() * ceiling) / 2);
  }

  private scheduleResync(): void {
    this.later(() => {
      if (!this.restartPending && this.outbox.length === 0) this.connection.hello();
      this.scheduleResync();
    }, this.o.resyncIntervalMs ?? 30_000);
  }

  // ---- sync over POST /v1/sync -------------------------------------------------------------

  private enqueue(message: Uint8Array): void {
    if (this.stopped || message[1] === DONE_TYPE) return;
    this.outbox.push(message);
    this.kick();
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drain().finally(() => {
      this.draining = false;
      // A message may have arrived after the loop's last check and before this callback.
      if (this.outbox.length > 0 && !this.stopped) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.outbox.length > 0 && !this.stopped) {
      const generation = this.generation;
      this.setStatus('syncing');
      try {
        // The message stays at the head of the outbox until its answer is applied: a `hello`
        // asked for meanwhile waits for it (see resync).
        await this.post(this.outbox[0]!, () => generation === this.generation && !this.stopped);
      } catch (err) {
        if (generation === this.generation) this.failSync(asRequestError(err));
        continue;
      }
      if (generation !== this.generation) continue;
      this.outbox.shift();
    }
    if (!this.stopped && !this.restartPending && this.outbox.length === 0) {
      if (this.helloAfterDrain) {
        this.helloAfterDrain = false;
        this.connection.hello();
        return;
      }
      this.syncFailures = 0;
      if (this.connection.caughtUp) this.setStatus('synced');
    }
  }

  private failSync(err: HubRequestError): void {
    this.stats.failures++;
    this.outbox = [];
    this.generation++;
    if (this.handleAuthError(err)) return;
    this.syncFailures++;
    this.setStatus(
      err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 409 ? 'error' : 'offline',
      err,
    );
    this.restartPending = true;
    this.later(() => {
      this.restartPending = false;
      this.connection.restart();
    }, this.backoffMs(this.syncFailures));
  }

  /** Drops a rejected token (401) or stops for good (403 revoked); true when stopped. */
  private handleAuthError(err: HubRequestError): boolean {
    if (err.status === 401) this.token = undefined;
    if (err.status === 403 && err.code === 'revoked') {
      this.setStatus('revoked', err);
      this.stopped = true;
      this.streamAbort?.abort();
      for (const t of this.pendingTimers) this.timers.clearTimeout(t);
      this.pendingTimers.clear();
      return true;
    }
    return false;
  }

  /**
   * Sends one message and applies the answer's messages as they arrive, while the rest of the
   * answer is still on its way (the hub streams it). Stops reading when `current()` turns
   * false (the conversation was restarted or the client closed). A message the protocol
   * refuses, a malformed or oversized answer, or one that breaks off throws; what was applied
   * before stays applied (applying is idempotent, and the next `hello` asks for the rest).
   */
  private async post(message: Uint8Array, current: () => boolean): Promise<void> {
    const res = await this.withSession((token) =>
      this.request('/v1/sync', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-aregula-sync' },
        body: message as Uint8Array<ArrayBuffer>,
      }),
    );
    await readFrames(res, ANSWER_BYTES_MAX, (frame) => {
      if (!current()) return false;
      if (this.connection.receive(frame)) return true;
      throw new HubRequestError(200, 'protocol', 'the hub answered with a message the protocol refuses');
    });
  }

  /**
   * One request with a timeout; a non-2xx answer becomes a {@link HubRequestError}. The
   * timeout bounds each wait for the hub: for the answer's head, then (for a streamed pull
   * answer) for each next part. The device's own applying of a part does not count: a slow
   * device must not give up on a hub that keeps answering.
   */
  private async request(path: string, init: RequestInit): Promise<Response> {
    const abort = new AbortController();
    const timeoutMs = this.o.requestTimeoutMs ?? 30_000;
    let timer = this.timers.setTimeout(() => abort.abort(), timeoutMs);
    this.stats.requests++;
    try {
      const res = await (this.o.fetch ?? globalThis.fetch)(`${this.base}${path}`, {
        ...init,
        signal: abort.signal,
      });
      if (res.ok) {
        // The body is read later under the same timeout: keep the timer until then.
        return withTimer(res, {
          progress: () => {
            this.timers.clearTimeout(timer);
            timer = this.timers.setTimeout(() => abort.abort(), timeoutMs);
          },
          done: () => this.timers.clearTimeout(timer),
        });
      }
      this.timers.clearTimeout(timer);
      throw await responseError(res);
    } catch (err) {
      this.timers.clearTimeout(timer);
      if (err instanceof HubRequestError) throw err;
      if (abort.signal.aborted)
        throw new HubRequestError(0, 'timeout', `${path} took longer than ${timeoutMs} ms`);
      throw new HubRequestError(0, 'network', `${path}: ${(err as Error).message}`);
    }
  }

  /**
   * Runs `send` with the session token. A 401 on a token the client already held (the hub
   * restarted, or the session expired) drops it and runs `send` once more with a fresh login;
   * the hub refuses a request without acting on it, so sending it again is safe. A 401 on a
   * token just obtained is thrown: logging in again would not cure it.
   */
  private async withSession(send: (token: string) => Promise<Response>): Promise<Response> {
    const held = this.token !== undefined;
    const token = await this.ensureToken();
    try {
      return await send(token);
    } catch (err) {
      if (!held || !(err instanceof HubRequestError) || err.status !== 401) throw err;
      this.dropToken(token);
      return send(await this.ensureToken());
    }
  }

  /** Forgets `token` unless another request already replaced it with a fresh one. */
  private dropToken(token: string | undefined): void {
    if (this.token === token) this.token = undefined;
  }

  private ensureToken(): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    this.auth ??= this.authenticate().finally(() => {
      this.auth = undefined;
    });
    return this.auth;
  }

  private async authenticate(): Promise<string> {
    this.stats.authentications++;
    const json = { 'content-type': 'application/json' };
    const c = await readJson(
      await this.request('/v1/auth/challenge', { method: 'POST', headers: json, body: '{}' }),
    );
    const challenge = fromBase64Url(String(c.challenge), 'challenge');
    const signature = signChallenge(challenge, this.o.identity, this.o.signer);
    const body = JSON.stringify({
      certificate: toBase64Url(this.o.certificate),
      challenge: toBase64Url(challenge),
      signature: toBase64Url(signature),
    });
    const grant = await readJson(
      await this.request('/v1/auth/session', { method: 'POST', headers: json, body }),
    );
    if (typeof grant.token !== 'string') throw new HubRequestError(200, 'protocol', 'no token in the answer');
    this.token = grant.token;
    return grant.token;
  }

  // ---- live updates over GET /v1/events -----------------------------------------------------

  private async runStream(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.streamOnce();
      } catch (err) {
        const e = asRequestError(err);
        if (this.stopped || this.handleAuthError(e)) return;
      }
      if (this.stopped) return;
      this.streamFailures++;
      await this.sleep(this.backoffMs(this.streamFailures));
    }
  }

  private async streamOnce(): Promise<void> {
    const abort = new AbortController();
    this.streamAbort = abort;
    const idleMs = this.o.streamIdleMsMax ?? 45_000;
    let idle: TimerHandle | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      // The idle limit starts with the stream's request: logging in has its own timeouts.
      const res = await this.withSession((token) => {
        if (idle !== undefined) this.timers.clearTimeout(idle);
        idle = this.timers.setTimeout(() => abort.abort(), idleMs);
        return this.openStream(token, abort.signal);
      });
      if (res.body === null) throw new HubRequestError(res.status, 'protocol', 'event stream without a body');
      this.stats.streamsOpened++;
      reader = res.body.getReader();
      this.streamReader = reader;
      const parser = new SseParser();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          throw new HubRequestError(0, abort.signal.aborted ? 'timeout' : 'network', (err as Error).message);
        }
        if (chunk.done || this.stopped) return;
        this.timers.clearTimeout(idle);
        idle = this.timers.setTimeout(() => abort.abort(), idleMs);
        for (const ev of parser.push(chunk.value)) {
          if (!this.onEvent(ev.event, ev.data, ev.id)) return;
        }
      }
    } finally {
      if (idle !== undefined) this.timers.clearTimeout(idle);
      abort.abort();
      // Cancelling tells the server (or an in-process stream) that nobody reads any more.
      this.streamReader = undefined;
      void reader?.cancel().catch(() => undefined);
    }
  }

  /** Opens `GET /v1/events` from the last applied event; a non-2xx answer throws. */
  private async openStream(token: string, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
    if (this.lastEventId !== undefined) headers['last-event-id'] = this.lastEventId;
    let res: Response;
    try {
      res = await (this.o.fetch ?? globalThis.fetch)(`${this.base}/v1/events`, { headers, signal });
    } catch (err) {
      throw new HubRequestError(0, signal.aborted ? 'timeout' : 'network', (err as Error).message);
    }
    if (!res.ok) throw await responseError(res);
    return res;
  }

  /** Handles one event; false to drop the stream and reconnect (from the last applied id). */
  private onEvent(type: string, data: string, id: string): boolean {
    if (type === 'hello') {
      // A stream opened without Last-Event-ID starts at the hub's current end: entries stored
      // between the first pull and this moment reach us only through another pull, now.
      const fresh = this.lastEventId === undefined;
      this.lastEventId = id;
      this.streamFailures = 0;
      if (fresh) this.resync();
      return true;
    }
    if (type === 'reset') {
      this.lastEventId = id;
      this.resync();
      return true;
    }
    if (type === 'revoked') {
      this.handleAuthError(new HubRequestError(403, 'revoked', 'the owner revoked this device'));
      return false;
    }
    if (type !== 'entries') return type !== 'shutdown';
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(data, 'event data');
    } catch {
      this.stats.eventsRefused++;
      return false;
    }
    if (!this.connection.receive(bytes)) {
      this.stats.eventsRefused++;
      return false;
    }
    this.stats.eventsApplied++;
    if (laterId(id, this.lastEventId)) this.lastEventId = id;
    this.streamFailures = 0;
    return true;
  }
}

/** True when event id `a` is past `b` (same epoch, higher cursor; another epoch always counts). */
function laterId(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  const [ea, ca] = a.split('-');
  const [eb, cb] = b.split('-');
  if (ea !== eb) return true;
  return Number(ca) > Number(cb);
}
