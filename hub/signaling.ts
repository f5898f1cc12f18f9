/**
 * WebRTC signaling through the hub (docs/protocol.md, "Signaling"): a paired device posts an
 * offer, answer or ICE candidate addressed to another device of the same replica set, and
 * collects the messages addressed to itself with a long poll. The hub only relays: it never
 * reads the SDP, keeps messages in memory only (a restart drops them, and peers simply offer
 * again), and bounds everything: message size, messages queued per device, bytes queued in
 * all, posts per second per device, waiting polls per device, and how long a message waits.
 *
 * A long poll rather than a new event type on the entries stream: event ids there are
 * durable cursors that resume exactly, and signaling messages are neither durable nor ordered
 * with entries.
 */

import type { Context, Hono } from 'hono';
import { HubError } from './hub-error.ts';
import { RateLimiter } from './rate-limit.ts';

/** The kinds of signaling message the hub relays. */
export const SIGNAL_KINDS = ['offer', 'answer', 'candidate', 'bye'] as const;
/** One of {@link SIGNAL_KINDS}. */
export type SignalKind = (typeof SIGNAL_KINDS)[number];

/** A relayed message as its receiver gets it. */
export interface RelayedSignal {
  /** The sending device's key (hex). */
  from: string;
  kind: SignalKind;
  /** The sender's name for one connection attempt (lets receivers drop stale candidates). */
  session: string;
  /** Opaque to the hub (SDP or a candidate as JSON). */
  data: string;
}

/** Bounds of the signaling relay. */
export interface SignalingLimits {
  /** Largest JSON body of `POST /v1/signals`, bytes. */
  bodyBytesMax: number;
  /** Longest `data` field, characters. */
  dataCharsMax: number;
  /** Most messages waiting for one device (past it, 429 `queue_full`). */
  queuePerDeviceMax: number;
  /** Most bytes waiting for all devices together (past it, 503 `signaling_full`). */
  queuedBytesMax: number;
  /** Posts per second per sending device, sustained. */
  postsPerSecond: number;
  /** Burst of posts above the sustained rate. */
  postBurst: number;
  /** A message not collected within this time is dropped, ms. */
  messageTtlMs: number;
  /** Longest long poll, ms. */
  waitMsMax: number;
  /** Most long polls one device may hold open. */
  waitersPerDeviceMax: number;
  /** How often a waiting poll checks that the hub is not shutting down, ms. */
  drainCheckMs: number;
}

/** The defaults. */
export const DEFAULT_SIGNALING_LIMITS: Readonly<SignalingLimits> = Object.freeze({
  bodyBytesMax: 20 * 1024,
  dataCharsMax: 16 * 1024,
  queuePerDeviceMax: 128,
  queuedBytesMax: 16 * 1024 * 1024,
  postsPerSecond: 50,
  postBurst: 200,
  messageTtlMs: 60_000,
  waitMsMax: 25_000,
  waitersPerDeviceMax: 2,
  drainCheckMs: 250,
});

const SESSION_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const DEVICE_PATTERN = /^[0-9a-f]{64}$/;

interface Queued extends RelayedSignal {
  expiresAtMs: number;
  bytes: number;
}

/** What the relay needs from the hub. */
export interface SignalingOptions {
  /** Whether `device` (hex) is admitted, unknown or revoked. */
  deviceStatus: (device: string) => 'admitted' | 'unknown' | 'revoked';
  nowMs: () => number;
  limits?: Partial<SignalingLimits>;
}

/** The in-memory relay (see the module comment). */
export class Signaling {
  readonly limits: SignalingLimits;
  private readonly queues = new Map<string, Queued[]>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly rates: RateLimiter;
  private queuedBytes = 0;

  constructor(private readonly o: SignalingOptions) {
    this.limits = { ...DEFAULT_SIGNALING_LIMITS, ...o.limits };
    this.rates = new RateLimiter({
      perSecond: this.limits.postsPerSecond,
      burst: this.limits.postBurst,
      keysMax: 10_000,
      nowMs: o.nowMs,
    });
  }

  /** Bytes waiting in all queues. */
  get bytesQueued(): number {
    return this.queuedBytes;
  }

  /** Checks and queues one message from `from`; returns how many now wait for its receiver. */
  post(from: string, body: unknown): { queued: number } {
    const m = this.parse(from, body);
    const waitMs = this.rates.take(from);
    if (waitMs > 0)
      throw new HubError(429, 'rate_limited', `too many signaling messages; retry in ${waitMs} ms`, {
        'retry-after': String(Math.ceil(waitMs / 1000)),
      });
    const queue = this.queueOf(m.to);
    if (queue.length >= this.limits.queuePerDeviceMax)
      throw new HubError(
        429,
        'queue_full',
        `${this.limits.queuePerDeviceMax} messages already wait for ${m.to}`,
      );
    const bytes = m.data.length + m.session.length + 128;
    if (this.queuedBytes + bytes > this.limits.queuedBytesMax)
      throw new HubError(503, 'signaling_full', 'the hub holds too many signaling messages; retry later', {
        'retry-after': '5',
      });
    queue.push({
      from,
      kind: m.kind,
      session: m.session,
      data: m.data,
      bytes,
      expiresAtMs: this.o.nowMs() + this.limits.messageTtlMs,
    });
    this.queuedBytes += bytes;
    for (const wake of this.waiters.get(m.to) ?? []) wake();
    return { queued: queue.length };
  }

  private parse(
    from: string,
    body: unknown,
  ): { to: string; kind: SignalKind; session: string; data: string } {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new HubError(400, 'bad_request', 'body must be a JSON object');
    const b = body as Record<string, unknown>;
    const { to, kind, session, data } = b;
    if (typeof to !== 'string' || !DEVICE_PATTERN.test(to))
      throw new HubError(400, 'bad_request', '"to" must be a device key: 64 lowercase hex digits');
    if (typeof kind !== 'string' || !(SIGNAL_KINDS as readonly string[]).includes(kind))
      throw new HubError(400, 'bad_request', `"kind" must be one of ${SIGNAL_KINDS.join(', ')}`);
    if (typeof session !== 'string' || !SESSION_PATTERN.test(session))
      throw new HubError(400, 'bad_request', '"session" must be 1 to 64 characters of [A-Za-z0-9_-]');
    if (typeof data !== 'string') throw new HubError(400, 'bad_request', '"data" must be a string');
    if (data.length > this.limits.dataCharsMax)
      throw new HubError(
        413,
        'signal_too_large',
        `"data" longer than ${this.limits.dataCharsMax} characters`,
      );
    if (to === from) throw new HubError(400, 'bad_request', 'a device cannot signal itself');
    const status = this.o.deviceStatus(to);
    if (status === 'unknown')
      throw new HubError(404, 'unknown_device', `device ${to} is not paired with this replica set`);
    if (status === 'revoked') throw new HubError(403, 'revoked_device', `device ${to} was revoked`);
    return { to, kind: kind as SignalKind, session, data };
  }

  /** The device's queue, its expired messages dropped. */
  private queueOf(device: string): Queued[] {
    let queue = this.queues.get(device);
    if (queue === undefined) {
      queue = [];
      this.queues.set(device, queue);
    }
    const now = this.o.nowMs();
    let expired = 0;
    while (expired < queue.length && queue[expired]!.expiresAtMs <= now) {
      this.queuedBytes -= queue[expired]!.bytes;
      expired++;
    }
    if (expired > 0) queue.splice(0, expired);
    return queue;
  }

  /** Takes every message waiting for `device`. */
  take(device: string): RelayedSignal[] {
    const queue = this.queueOf(device);
    this.queues.delete(device);
    return queue.map((q) => {
      this.queuedBytes -= q.bytes;
      return { from: q.from, kind: q.kind, session: q.session, data: q.data };
    });
  }

  /**
   * Takes the messages waiting for `device`, waiting up to `waitMs` for the first one. Ends
   * early (with what there is) when `abort` fires or `stopping()` turns true.
   */
  async wait(
    device: string,
    options: { waitMs: number; abort?: AbortSignal; stopping: () => boolean },
  ): Promise<RelayedSignal[]> {
    const now = this.take(device);
    if (now.length > 0 || options.waitMs <= 0) return now;
    let set = this.waiters.get(device);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(device, set);
    }
    if (set.size >= this.limits.waitersPerDeviceMax)
      throw new HubError(
        429,
        'too_many_waiters',
        `at most ${this.limits.waitersPerDeviceMax} polls per device`,
      );
    const deadline = this.o.nowMs() + options.waitMs;
    const waiters = set;
    await new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiters.get(device) === waiters) this.waiters.delete(device);
        options.abort?.removeEventListener('abort', wake);
        resolve();
      };
      // Checks the deadline and shutdown in short steps: a draining hub must not wait out a
      // long poll before it can close.
      const tick = () => {
        const left = deadline - this.o.nowMs();
        if (left <= 0 || options.stopping()) wake();
        else timer = setTimeout(tick, Math.min(left, this.limits.drainCheckMs));
      };
      waiters.add(wake);
      options.abort?.addEventListener('abort', wake);
      tick();
    });
    return this.take(device);
  }
}

/** What {@link registerSignaling} needs from the app. */
export interface SignalingRoutes {
  signaling: Signaling;
  /** The authenticated device (hex) of a request, applying the app's auth and rate limits. */
  authenticated: (c: Context) => string;
  /** Reads a JSON body of at most `max` bytes (415, 413 and 400 as the app answers them). */
  readJson: (c: Context, max: number) => Promise<unknown>;
  /** True once the hub is shutting down. */
  stopping: () => boolean;
}

/** Mounts `POST /v1/signals` and `GET /v1/signals` on `app`. */
export function registerSignaling(app: Hono, r: SignalingRoutes): void {
  app.post('/v1/signals', async (c) => {
    const device = r.authenticated(c);
    const body = await r.readJson(c, r.signaling.limits.bodyBytesMax);
    return c.json(r.signaling.post(device, body), 202);
  });

  app.get('/v1/signals', async (c) => {
    const device = r.authenticated(c);
    const raw = c.req.query('waitMs');
    let waitMs = 0;
    if (raw !== undefined) {
      if (!/^[0-9]{1,6}$/.test(raw)) throw new HubError(400, 'bad_request', '"waitMs" must be an integer');
      waitMs = Math.min(Number(raw), r.signaling.limits.waitMsMax);
    }
    const messages = await r.signaling.wait(device, {
      waitMs,
      abort: c.req.raw.signal,
      stopping: r.stopping,
    });
    // A poll cut short by shutdown also closes its connection: an idle keep-alive socket
    // would otherwise hold the server open until the shutdown grace period runs out.
    return c.json({ messages }, 200, r.stopping() ? { connection: 'close' } : {});
  });
}
