/**
 * The signaling seam of the WebRTC transport, and its implementation through a hub
 * (docs/protocol.md, "Signaling"): `POST /v1/signals` to send, a long poll on
 * `GET /v1/signals` to receive. Uses only `fetch`, so it runs in Node and in browsers.
 *
 * Signaling is best effort: a message that fails to go out is dropped (the transport offers
 * again after its retry delay), and a failed poll waits a backoff with jitter and polls again.
 */

import type { Random } from '../io/random.ts';
import type { Identity } from '../log/identity.ts';
import type { Signer } from '../log/signer.ts';
import { fromBase64Url, toBase64Url } from './base64.ts';
import { signChallenge } from './pairing.ts';
import { systemTimers, type Timers } from './transport.ts';

/** One signaling message between two devices. */
export interface Signal {
  kind: 'offer' | 'answer' | 'candidate' | 'bye';
  /** Names one connection attempt of the sender. */
  session: string;
  /** SDP, or a candidate as JSON; empty for `bye`. */
  data: string;
}

/** How the transport reaches other devices before it has a data channel to them. */
export interface SignalingChannel {
  /** Sends `signal` to device `to` (hex key); best effort, never throws. */
  send(to: string, signal: Signal): void;
  /** Sets the receiver of signals from other devices. */
  listen(handler: (from: string, signal: Signal) => void): void;
}

/** Options of {@link HubSignaling}. */
export interface HubSignalingOptions {
  /** The hub's base URL. */
  url: string;
  identity: Identity;
  /** The owner's certificate for this device. */
  certificate: Uint8Array;
  signer: Signer;
  random: Random;
  timers?: Timers;
  fetch?: typeof fetch;
  /** Long poll length asked of the hub, ms. Default 20,000. */
  pollWaitMs?: number;
  /** First retry delay after a failed poll, ms. Default 200. */
  backoffMsMin?: number;
  /** Longest retry delay, ms. Default 10,000. */
  backoffMsMax?: number;
}

/** Most signals waiting to be posted (beyond it, new ones are dropped). */
export const SIGNAL_OUTBOX_MAX = 256;
/** Most signals one poll answer may hold (the hub queues fewer per device). */
const POLL_MESSAGES_MAX = 1024;

/** Signaling through a hub (see the module comment). */
export class HubSignaling implements SignalingChannel {
  private readonly base: string;
  private readonly timers: Timers;
  private handler: ((from: string, signal: Signal) => void) | undefined;
  private token: string | undefined;
  private auth: Promise<string> | undefined;
  private outbox: { to: string; signal: Signal }[] = [];
  private sending = false;
  private stopped = false;
  private poll: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private wakeSleep: (() => void) | undefined;
  /** Failed requests so far (posts and polls). */
  failures = 0;

  constructor(private readonly o: HubSignalingOptions) {
    this.base = o.url.replace(/\/+$/, '');
    this.timers = o.timers ?? systemTimers;
  }

  listen(handler: (from: string, signal: Signal) => void): void {
    this.handler = handler;
  }

  /** Starts polling for signals. */
  start(): void {
    this.loop ??= this.pollLoop();
  }

  send(to: string, signal: Signal): void {
    if (this.stopped || this.outbox.length >= SIGNAL_OUTBOX_MAX) return;
    this.outbox.push({ to, signal });
    if (!this.sending) {
      this.sending = true;
      void this.drain().finally(() => {
        this.sending = false;
      });
    }
  }

  /** Stops polling and sending. */
  async close(): Promise<void> {
    this.stopped = true;
    this.outbox = [];
    this.poll?.abort();
    this.wakeSleep?.();
    await this.loop;
  }

  private async drain(): Promise<void> {
    while (this.outbox.length > 0 && !this.stopped) {
      const { to, signal } = this.outbox.shift()!;
      try {
        const res = await this.authed('/v1/signals', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ to, ...signal }),
        });
        await res.body?.cancel();
      } catch {
        this.failures++;
      }
    }
  }

  private async pollLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        this.poll = new AbortController();
        const res = await this.authed(`/v1/signals?waitMs=${this.o.pollWaitMs ?? 20_000}`, {
          signal: this.poll.signal,
        });
        const body = (await res.json()) as { messages?: unknown };
        const messages = Array.isArray(body.messages) ? body.messages.slice(0, POLL_MESSAGES_MAX) : [];
        failures = 0;
        for (const m of messages) this.deliver(m);
      } catch {
        if (this.stopped) return;
        this.failures++;
        failures++;
        const min = this.o.backoffMsMin ?? 200;
        const ceiling = Math.min(this.o.backoffMsMax ?? 10_000, min * 2 ** Math.min(20, failures - 1));
        await this.sleep(Math.round(ceiling / 2 + (this.o.random.next() * ceiling) / 2));
      }
    }
  }

  private deliver(m: unknown): void {
    if (typeof m !== 'object' || m === null) return;
    const { from, kind, session, data } = m as Record<string, unknown>;
    if (typeof from !== 'string' || typeof session !== 'string' || typeof data !== 'string') return;
    if (kind !== 'offer' && kind !== 'answer' && kind !== 'candidate' && kind !== 'bye') return;
    this.handler?.(from, { kind, session, data });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.timers.setTimeout(() => {
        this.wakeSleep = undefined;
        resolve();
      }, ms);
      this.wakeSleep = () => {
        this.timers.clearTimeout(handle);
        resolve();
      };
    });
  }

  /** A request with the session token; logs in again once on a 401. */
  private async authed(path: string, init: RequestInit): Promise<Response> {
    const doFetch = this.o.fetch ?? globalThis.fetch;
    for (let attempt = 0; ; attempt++) {
      const token = await this.ensureToken();
      const res = await doFetch(`${this.base}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
      });
      if (res.status === 401 && attempt === 0) {
        this.token = undefined;
        await res.body?.cancel();
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`${path}: ${res.status}`);
      }
      return res;
    }
  }

  private ensureToken(): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    this.auth ??= this.login().finally(() => {
      this.auth = undefined;
    });
    return this.auth;
  }

  private async login(): Promise<string> {
    const doFetch = this.o.fetch ?? globalThis.fetch;
    const json = { 'content-type': 'application/json' };
    const c = (await (
      await doFetch(`${this.base}/v1/auth/challenge`, { method: 'POST', headers: json, body: '{}' })
    ).json()) as { challenge?: unknown };
    const challenge = fromBase64Url(String(c.challenge), 'challenge');
    const body = JSON.stringify({
      certificate: toBase64Url(this.o.certificate),
      challenge: toBase64Url(challenge),
      signature: toBase64Url(signChallenge(challenge, this.o.identity, this.o.signer)),
    });
    const res = await doFetch(`${this.base}/v1/auth/session`, { method: 'POST', headers: json, body });
    const grant = (await res.json()) as { token?: unknown };
    if (!res.ok || typeof grant.token !== 'string') throw new Error(`login refused: ${res.status}`);
    this.token = grant.token;
    return grant.token;
  }
}
