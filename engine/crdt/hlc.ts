/**
 * Hybrid logical clocks (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014).
 *
 * A timestamp is `{ wallMs, logical }`: `wallMs` is milliseconds since the Unix epoch
 * (0..2^48-1) and `logical` a counter (0..2^32-1) that orders events within one millisecond
 * and carries causality when wall clocks disagree. Timestamps compare by `wallMs`, then by
 * `logical`. The node id is not part of a timestamp: the LWW layer breaks ties with the
 * author's public key (see `lww.ts`).
 *
 * Rules of {@link HlcClock} (docs/crdt.md explains them with examples). `last` is the
 * greatest timestamp the clock has issued or merged, `wall` the reading of the `Clock`:
 *
 * - `now()`: if `wall > last.wallMs` the result is `{ wall, 0 }`; otherwise it is the
 *   successor of `last`, `{ last.wallMs, last.logical + 1 }`, which carries into
 *   `{ last.wallMs + 1, 0 }` when the counter is at 2^32-1. So `now()` is strictly greater
 *   than everything the clock issued or merged, even when the wall clock jumps backwards.
 * - `observe(remote)`: with `capMs = min(wall + maxForwardDriftMs, 2^48-1)`, the remote is
 *   first bounded: `bounded = remote` if `remote.wallMs <= capMs`, else `{ capMs, 0 }`; then
 *   `last = max(last, bounded)`. A remote within the bound is merged exactly (the next
 *   `now()` is greater than it). A remote beyond the bound is still accepted (observe never
 *   rejects it; the caller applies the entry it came with), but it pulls the local clock only
 *   to the bound; from there on only the logical counter steps until the wall clock catches up.
 *
 * Hence the drift guarantee: a remote never moves `last.wallMs` past `W + maxForwardDriftMs`,
 * where `W` is the greatest wall reading so far; only a logical-counter carry (2^32 events in
 * one millisecond, or a remote whose counter is at its maximum) adds 1 ms at a time beyond it.
 *
 * Every number that enters (from the `Clock`, from a remote, from decoded bytes, from an
 * option) is validated: a NaN, negative, fractional or out-of-range value is an
 * {@link InvalidArgumentError}, never a silently wrong timestamp.
 */

import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import type { Clock } from '../io/clock.ts';
import { DecodeError } from '../lsm/coding.ts';

/** Largest `wallMs` a timestamp can hold (6 bytes). About the year 10889. */
export const MAX_HLC_WALL_MS = 2 ** 48 - 1;

/** Largest `logical` counter a timestamp can hold (4 bytes). */
export const MAX_HLC_LOGICAL = 2 ** 32 - 1;

/** Size of an encoded timestamp: 6 bytes of `wallMs` and 4 of `logical`, big-endian. */
export const HLC_BYTES = 10;

/**
 * Default bound on how far a remote timestamp may pull the local clock ahead of the local
 * wall clock: five minutes. Devices without time sync are commonly off by seconds to a few
 * minutes, and within that range causality is kept exactly; a peer whose clock is hours or
 * years off (wrong time zone, dead RTC battery, a malicious peer) cannot drag every other
 * peer's timestamps into its future.
 */
export const DEFAULT_MAX_FORWARD_DRIFT_MS = 5 * 60 * 1000;

/** A hybrid logical timestamp. Both fields are non-negative integers within their maxima. */
export interface Hlc {
  /** Milliseconds since the Unix epoch, 0..{@link MAX_HLC_WALL_MS}. */
  readonly wallMs: number;
  /** Counter within the millisecond, 0..{@link MAX_HLC_LOGICAL}. */
  readonly logical: number;
}

/** The smallest timestamp, `{ wallMs: 0, logical: 0 }`. */
export const ZERO_HLC: Hlc = Object.freeze({ wallMs: 0, logical: 0 });

function isIntIn(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/** True when `h` is a well-formed {@link Hlc}. */
export function isValidHlc(h: unknown): h is Hlc {
  if (typeof h !== 'object' || h === null) return false;
  const { wallMs, logical } = h as { wallMs?: unknown; logical?: unknown };
  return isIntIn(wallMs, MAX_HLC_WALL_MS) && isIntIn(logical, MAX_HLC_LOGICAL);
}

/** Throws {@link InvalidArgumentError} naming `what` unless `h` is a well-formed {@link Hlc}. */
export function checkHlc(h: unknown, what = 'timestamp'): asserts h is Hlc {
  if (typeof h !== 'object' || h === null) throw new InvalidArgumentError(`${what} must be an object`);
  const { wallMs, logical } = h as { wallMs?: unknown; logical?: unknown };
  if (!isIntIn(wallMs, MAX_HLC_WALL_MS)) {
    throw new InvalidArgumentError(`${what}.wallMs must be an integer in 0..2^48-1, got ${String(wallMs)}`);
  }
  if (!isIntIn(logical, MAX_HLC_LOGICAL)) {
    throw new InvalidArgumentError(`${what}.logical must be an integer in 0..2^32-1, got ${String(logical)}`);
  }
}

/** A frozen copy, so that no caller can change a timestamp the clock keeps. */
function hlc(wallMs: number, logical: number): Hlc {
  return Object.freeze({ wallMs, logical });
}

/** Orders two valid timestamps: negative, zero or positive as `a` is before, equal to or after `b`. */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return 0;
}

/**
 * Writes the 10-byte big-endian encoding of `h` into `out` at `offset`. Bytewise order of
 * encodings equals {@link compareHlc} order, so encoded timestamps can sit inside sort keys.
 */
export function encodeHlcInto(h: Hlc, out: Uint8Array, offset: number): void {
  checkHlc(h);
  if (!(out instanceof Uint8Array)) throw new InvalidArgumentError('out must be a Uint8Array');
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + HLC_BYTES > out.length) {
    throw new InvalidArgumentError(`no room for a timestamp at offset ${offset} of ${out.length} bytes`);
  }
  const high = Math.floor(h.wallMs / 2 ** 32);
  const low = h.wallMs >>> 0;
  out[offset] = high >>> 8;
  out[offset + 1] = high & 0xff;
  writeU32BigEndian(out, offset + 2, low);
  writeU32BigEndian(out, offset + 6, h.logical);
}

function writeU32BigEndian(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

function readU32BigEndian(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** The 10-byte big-endian encoding of `h` (see {@link encodeHlcInto}). */
export function encodeHlc(h: Hlc): Uint8Array {
  const out = new Uint8Array(HLC_BYTES);
  encodeHlcInto(h, out, 0);
  return out;
}

/**
 * Decodes the timestamp at `offset`. Every 10-byte string is a valid timestamp (both fields
 * use their whole width), so the only malformed input is a short one: fewer than 10 bytes
 * left is a {@link DecodeError} at `offset`. A bad `offset` is an {@link InvalidArgumentError}.
 * Detecting flipped bits is the job of the checksum or signature around the bytes.
 */
export function decodeHlc(bytes: Uint8Array, offset = 0): Hlc {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes must be a Uint8Array');
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidArgumentError(`offset must be a non-negative integer, got ${String(offset)}`);
  }
  if (bytes.length - offset < HLC_BYTES) {
    throw new DecodeError(
      `timestamp needs ${HLC_BYTES} bytes, ${Math.max(0, bytes.length - offset)} left`,
      offset,
    );
  }
  const high = (bytes[offset]! << 8) | bytes[offset + 1]!;
  const wallMs = high * 2 ** 32 + readU32BigEndian(bytes, offset + 2);
  return hlc(wallMs, readU32BigEndian(bytes, offset + 6));
}

/** Options of {@link HlcClock}. */
export interface HlcClockOptions {
  /** The wall clock (the simulator passes a per-peer virtual one). */
  clock: Clock;
  /**
   * How far ahead of the local wall clock a remote timestamp may pull this clock, in ms.
   * Default {@link DEFAULT_MAX_FORWARD_DRIFT_MS}. 0 means remotes never pull it ahead.
   */
  maxForwardDriftMs?: number;
  /**
   * The greatest timestamp a previous incarnation of this clock issued or observed, which the
   * caller persisted. Starting from it keeps `now()` increasing across restarts even when the
   * wall clock went backwards while the process was down. Default {@link ZERO_HLC}.
   */
  start?: Hlc;
}

/** A hybrid logical clock for one peer. Not shared between peers; not thread-safe. */
export class HlcClock {
  /** The bound on forward pull by remotes, in ms. */
  readonly maxForwardDriftMs: number;
  private readonly clock: Clock;
  private last: Hlc;

  constructor(options: HlcClockOptions) {
    if (typeof options?.clock?.nowMs !== 'function') {
      throw new InvalidArgumentError('options.clock must be a Clock');
    }
    const drift = options.maxForwardDriftMs ?? DEFAULT_MAX_FORWARD_DRIFT_MS;
    if (!isIntIn(drift, MAX_HLC_WALL_MS)) {
      throw new InvalidArgumentError(
        `options.maxForwardDriftMs must be an integer in 0..2^48-1, got ${String(drift)}`,
      );
    }
    const start = options.start ?? ZERO_HLC;
    checkHlc(start, 'options.start');
    this.clock = options.clock;
    this.maxForwardDriftMs = drift;
    this.last = hlc(start.wallMs, start.logical);
  }

  /**
   * A timestamp for a local event, strictly greater than every timestamp this clock has
   * returned or merged. Throws {@link InvalidArgumentError} for a bad wall-clock reading and
   * {@link LimitExceededError} if the timestamp space is exhausted (`last` is the maximum);
   * the clock is unchanged when it throws.
   */
  now(): Hlc {
    const wallMs = this.readWallMs();
    const next = wallMs > this.last.wallMs ? hlc(wallMs, 0) : successor(this.last);
    this.last = next;
    return next;
  }

  /**
   * Merges a timestamp received from another peer. Never rejects a valid timestamp, however
   * far in the future: beyond `wall + maxForwardDriftMs` it merges `{ wall + bound, 0 }`
   * instead (see the file header). Throws {@link InvalidArgumentError} for a malformed
   * timestamp or wall-clock reading, leaving the clock unchanged.
   */
  observe(remote: Hlc): void {
    checkHlc(remote, 'remote timestamp');
    const wallMs = this.readWallMs();
    const capMs = Math.min(wallMs + this.maxForwardDriftMs, MAX_HLC_WALL_MS);
    const bounded = remote.wallMs <= capMs ? remote : hlc(capMs, 0);
    if (compareHlc(bounded, this.last) > 0) this.last = hlc(bounded.wallMs, bounded.logical);
  }

  /** The greatest timestamp returned or merged so far, without ticking. Persist it for `start`. */
  peek(): Hlc {
    return this.last;
  }

  private readWallMs(): number {
    const wallMs = this.clock.nowMs();
    if (!isIntIn(wallMs, MAX_HLC_WALL_MS)) {
      throw new InvalidArgumentError(`wall clock read ${String(wallMs)}, not an integer in 0..2^48-1`);
    }
    return wallMs;
  }
}

/** The next timestamp after `h`: the counter steps, carrying into the millisecond at its maximum. */
function successor(h: Hlc): Hlc {
  if (h.logical < MAX_HLC_LOGICAL) return hlc(h.wallMs, h.logical + 1);
  if (h.wallMs < MAX_HLC_WALL_MS) return hlc(h.wallMs + 1, 0);
  throw new LimitExceededError({
    limit: 'MAX_HLC_WALL_MS',
    max: MAX_HLC_WALL_MS,
    actual: h.wallMs + 1,
    what: 'hybrid logical clock',
  });
}
