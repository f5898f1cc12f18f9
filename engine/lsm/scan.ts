/**
 * Range and prefix scans: turns a merged cursor over internal entries into the user's view at
 * one sequence number, i.e. for each user key the newest version at or below the snapshot,
 * skipping tombstones, within the requested bounds.
 */

import { InvalidArgumentError } from '../errors.ts';
import { compareBytes, startsWithBytes } from './coding.ts';
import { EntryKind, encodeInternalKey, kindOf, MAX_SEQUENCE, seqOf, TRAILER_BYTES } from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';

/** Bounds of a scan. Bounds combine (all must hold); `prefix` is a bound too. */
export interface ScanOptions {
  /** Keys >= this. */
  gte?: Uint8Array;
  /** Keys > this. */
  gt?: Uint8Array;
  /** Keys < this. */
  lt?: Uint8Array;
  /** Keys <= this. */
  lte?: Uint8Array;
  /** Keys that start with these bytes. */
  prefix?: Uint8Array;
  /** At most this many entries. */
  limit?: number;
  /** Read this snapshot instead of the latest state. */
  snapshot?: { readonly seq: number };
}

function checkBound(name: string, v: unknown): void {
  if (v !== undefined && !(v instanceof Uint8Array))
    throw new InvalidArgumentError(`scan: ${name} must be a Uint8Array`);
}

/** Validates scan options eagerly, so bad arguments fail at the call, not at first `next()`. */
export function checkScanOptions(o: ScanOptions): void {
  checkBound('gte', o.gte);
  checkBound('gt', o.gt);
  checkBound('lt', o.lt);
  checkBound('lte', o.lte);
  checkBound('prefix', o.prefix);
  if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit < 0)) {
    throw new InvalidArgumentError('scan: limit must be a non-negative integer');
  }
}

/** The lowest user key the bounds admit (undefined: from the first key). */
function lowerBound(o: ScanOptions): Uint8Array | undefined {
  let lo = o.gte;
  if (o.gt && (!lo || compareBytes(o.gt, lo) >= 0)) lo = o.gt;
  if (o.prefix && (!lo || compareBytes(o.prefix, lo) > 0)) lo = o.prefix;
  return lo;
}

function aboveUpper(key: Uint8Array, o: ScanOptions): boolean {
  if (o.lt && compareBytes(key, o.lt) >= 0) return true;
  if (o.lte && compareBytes(key, o.lte) > 0) return true;
  if (o.prefix && !startsWithBytes(key, o.prefix) && compareBytes(key, o.prefix) > 0) return true;
  return false;
}

/**
 * Yields copies of `[key, value]` for the live keys visible at `seq` within the bounds, then
 * calls `release` exactly once (also when the consumer stops early through `return()`).
 */
export function scanEntries(
  iter: InternalIterator,
  seq: number,
  options: ScanOptions,
  release: () => void,
): IterableIterator<[Uint8Array, Uint8Array]> {
  try {
    checkScanOptions(options);
  } catch (err) {
    release();
    throw err;
  }
  const gen = generate(iter, seq, options, release);
  let started = false;
  const wrapper: IterableIterator<[Uint8Array, Uint8Array]> = {
    [Symbol.iterator]() {
      return wrapper;
    },
    next() {
      started = true;
      return gen.next();
    },
    return(value?: unknown) {
      // A generator that never started skips its finally block, so release here instead.
      if (!started) {
        started = true;
        release();
      }
      return gen.return(value as undefined);
    },
  };
  return wrapper;
}

function* generate(
  iter: InternalIterator,
  seq: number,
  o: ScanOptions,
  release: () => void,
): Generator<[Uint8Array, Uint8Array]> {
  try {
    const limit = o.limit ?? Number.POSITIVE_INFINITY;
    if (limit === 0) return;
    const lo = lowerBound(o);
    if (lo) iter.seek(encodeInternalKey(lo, MAX_SEQUENCE, EntryKind.Value));
    else iter.seekToFirst();
    let emitted = 0;
    let lastUser: Uint8Array | undefined;
    for (; iter.valid(); iter.next()) {
      const ikey = iter.key();
      if (seqOf(ikey) > seq) continue;
      const userLength = ikey.length - TRAILER_BYTES;
      // An older version of the key just seen: compared in place, without a view of the user key.
      if (lastUser !== undefined && sameUserKey(ikey, userLength, lastUser)) continue;
      const user = ikey.slice(0, userLength);
      lastUser = user;
      if (aboveUpper(user, o)) return;
      if (o.gt && compareBytes(user, o.gt) <= 0) continue;
      // No prefix check here: the seek started at or past the prefix, and aboveUpper ends the
      // scan at the first key past it, so every key reaching this point starts with it.
      if (kindOf(ikey) === EntryKind.Delete) continue;
      yield [user, iter.value().slice()];
      if (++emitted >= limit) return;
    }
  } finally {
    release();
  }
}

/** Whether the first `length` bytes of `ikey` are exactly `user`. */
function sameUserKey(ikey: Uint8Array, length: number, user: Uint8Array): boolean {
  if (length !== user.length) return false;
  for (let i = length - 1; i >= 0; i--) if (ikey[i] !== user[i]) return false;
  return true;
}
