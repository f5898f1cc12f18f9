/**
 * Every bound the hub enforces, as named defaults. A hub is exposed to the network, so nothing
 * a client sends may grow memory, disk or work without limit: bodies, batches, entries,
 * headers, open streams and request rates are all capped, and a request past a cap gets a 4xx
 * answer that names the limit (docs/protocol.md, "The hub's HTTP API").
 */

import { MAX_ENTRIES_PER_MESSAGE, MAX_MESSAGE_BYTES } from '../engine/sync/messages.ts';

/** The hub's limits; every field has a default in {@link DEFAULT_LIMITS}. */
export interface HubLimits {
  /** Largest request body (`POST /v1/sync`), bytes. */
  bodyBytesMax: number;
  /** Largest JSON body (auth and revocation requests), bytes. */
  jsonBodyBytesMax: number;
  /** Most entries in one pushed `entries` message. */
  batchEntriesMax: number;
  /** Largest single entry in wire form, bytes. */
  entryBytesMax: number;
  /** Largest request header section, bytes (Node's `maxHeaderSize`: past it, 431). */
  headerBytesMax: number;
  /**
   * Most entry bytes in one answer to `hello`/`need` (the client asks again with `need`). The
   * answer is streamed, so this bounds the answer's length, not the hub's memory: large, so
   * that an initial sync takes few round trips, and well under the client's `ANSWER_BYTES_MAX`
   * (engine/sync/hub-client.ts), since one read may pass it by a group commit.
   */
  pullBytesMax: number;
  /**
   * Entry bytes the hub reads for the first part of a pull answer, sent before it reads more:
   * small, so that the device starts applying soon (hub/pull-answer.ts).
   */
  pullFirstStepBytes: number;
  /** Entry bytes the hub reads for each later part of a pull answer, between which it yields. */
  pullStepBytes: number;
  /** Most open event streams per device. */
  streamsPerDeviceMax: number;
  /** Most open event streams in all. */
  streamsMax: number;
  /** Requests per second per device (or per address before authentication), sustained. */
  requestsPerSecond: number;
  /** Burst of requests allowed above the sustained rate. */
  requestBurst: number;
  /** Most outstanding (issued, unused, unexpired) challenges. */
  challengesMax: number;
  /** How long a challenge may be answered, ms. */
  challengeTtlMs: number;
  /** Most live session tokens. */
  sessionsMax: number;
  /** How long a session token is valid, ms. */
  sessionTtlMs: number;
  /** Most devices admitted (certificates stored). */
  devicesMax: number;
  /** Keep-alive comment interval on event streams, ms. */
  pingIntervalMs: number;
  /** Most entries in one event (a signed range may extend it to {@link MAX_ENTRIES_PER_MESSAGE}). */
  eventEntriesMax: number;
  /** Most entry bytes in one event. */
  eventBytesMax: number;
  /** Longest wait for in-flight requests on shutdown, ms. */
  shutdownGraceMs: number;
  /** Most distinct rate-limit keys tracked (oldest forgotten first). */
  rateKeysMax: number;
}

/** The defaults. */
export const DEFAULT_LIMITS: Readonly<HubLimits> = Object.freeze({
  bodyBytesMax: MAX_MESSAGE_BYTES,
  jsonBodyBytesMax: 4096,
  batchEntriesMax: Math.min(1024, MAX_ENTRIES_PER_MESSAGE),
  entryBytesMax: 1024 * 1024 + 1024,
  headerBytesMax: 16 * 1024,
  pullBytesMax: 32 * 1024 * 1024,
  pullFirstStepBytes: 64 * 1024,
  pullStepBytes: 128 * 1024,
  streamsPerDeviceMax: 4,
  streamsMax: 1024,
  requestsPerSecond: 200,
  requestBurst: 400,
  challengesMax: 1024,
  challengeTtlMs: 60_000,
  sessionsMax: 10_000,
  sessionTtlMs: 60 * 60_000,
  devicesMax: 10_000,
  pingIntervalMs: 15_000,
  eventEntriesMax: 256,
  eventBytesMax: 512 * 1024,
  shutdownGraceMs: 5_000,
  rateKeysMax: 10_000,
});

/** Fills the missing fields of `partial` from {@link DEFAULT_LIMITS}. */
export function resolveLimits(partial: Partial<HubLimits> = {}): HubLimits {
  return { ...DEFAULT_LIMITS, ...partial };
}
