/**
 * Range and prefix scans: turns a merged cursor over internal entries into the user's view at
 * one sequence number, i.e. for each user key the newest version at or below the snapshot,
 * skipping tombstones, within the requested bounds.
 */

import { copyRange } from '../bytes.ts';
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

function badBound(name: string): never {
  throw new InvalidArgumentError(`scan: ${name} must be a Uint8Array`);
}

/** Validates scan options eagerly, so bad arguments fail at the call, not at first `next()`. */
export function checkScanOptions(o: ScanOptions): void {
  // Written out per bound: every scan passes here, and a helper taking each bound as `unknown`
  // does not stay inlined.
  if (o.gte !== undefined && !(o.gte instanceof Uint8Array)) badBound('gte');
  if (o.gt !== undefined && !(o.gt instanceof Uint8Array)) badBound('gt');
  if (o.lt !== undefined && !(o.lt instanceof Uint8Array)) badBound('lt');
  if (o.lte !== undefined && !(o.lte instanceof Uint8Array)) badBound('lte');
  if (o.prefix !== undefined && !(o.prefix instanceof Uint8Array)) badBound('prefix');
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
 * Whether a table whose user keys lie in `[smallest, largest]` (internal keys, as a table's
 * metadata records them) may hold a key within the bounds of `o`. A scan skips the tables for
 * which this is false without opening a cursor on them: their keys all fall outside the
 * bounds, so the scan would discard every one of them.
 */
export function boundsMayTouch(o: ScanOptions, smallest: Uint8Array, largest: Uint8Array): boolean {
  const lo = lowerBound(o);
  if (lo !== undefined && compareToUserKey(largest, lo) < 0) return false;
  if (o.lt !== undefined && compareToUserKey(smallest, o.lt) >= 0) return false;
  if (o.lte !== undefined && compareToUserKey(smallest, o.lte) > 0) return false;
  if (o.prefix !== undefined && compareToUserKey(smallest, o.prefix) > 0) {
    // The smallest key is past the prefix unless it starts with it.
    const n = smallest.length - TRAILER_BYTES;
    if (n < o.prefix.length) return false;
    for (let i = 0; i < o.prefix.length; i++) if (smallest[i] !== o.prefix[i]) return false;
  }
  return true;
}

/** `compareBytes(userKeyOf(ikey), user)` without a view of the user key. */
function compareToUserKey(ikey: Uint8Array, user: Uint8Array): number {
  const kl = ikey.length - TRAILER_BYTES;
  const n = Math.min(kl, user.length);
  for (let i = 0; i < n; i++) {
    const d = ikey[i]! - user[i]!;
    if (d !== 0) return d;
  }
  return kl - user.length;
}

/**
 * Yields copies of `[key, value]` for the live keys visible at `seq` within the bounds, then
 * calls `release` exactly once: at the end, on the first error, or when the consumer stops
 * early through `return()` (also before the first `next()`). Bad options throw here, after
 * `release`.
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
  return new ScanIterator(iter, seq, options, { release });
}

/** What a scan calls exactly once when it ends (see {@link scanEntries}). */
export interface ScanEnd {
  release(): void;
}

/** A store that takes back what a scan held: its version's reference and its own snapshot. */
export interface ScanOwner<V> {
  endScan(version: V, seq: number | undefined): void;
}

/**
 * What a scan gives back when it ends (its version's reference and its own snapshot, if it took
 * one), as an object with a method rather than a closure made per scan.
 */
export class ScanRelease<V> implements ScanEnd {
  constructor(
    private readonly owner: ScanOwner<V>,
    private readonly version: V,
    private readonly seq: number | undefined,
  ) {}

  release(): void {
    this.owner.endScan(this.version, this.seq);
  }
}

/**
 * {@link scanEntries} for options the caller has already checked with
 * {@link checkScanOptions}, ending through an object's method rather than a closure.
 */
export function scanCheckedEntries(
  iter: InternalIterator,
  seq: number,
  options: ScanOptions,
  end: ScanEnd,
): IterableIterator<[Uint8Array, Uint8Array]> {
  return new ScanIterator(iter, seq, options, end);
}

/** The value of every empty entry a scan yields (frozen: a copy of nothing, shared safely). */
const EMPTY_VALUE: Uint8Array = Object.freeze(new Uint8Array(0)) as Uint8Array;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The scan as a plain iterator object rather than a generator: a query that reads a few rows
 * pays for the setup of every scan, and a generator (with a wrapper to release it when it
 * never started) costs more to create and to resume than this loop.
 */
class ScanIterator implements IterableIterator<[Uint8Array, Uint8Array]> {
  private readonly limit: number;
  private emitted = 0;
  private started = false;
  private finished = false;
  /** The user key of the last entry looked at (a copy), to skip its older versions. */
  private lastUser: Uint8Array | undefined;

  constructor(
    private readonly iter: InternalIterator,
    private readonly seq: number,
    private readonly o: ScanOptions,
    private readonly end: ScanEnd,
  ) {
    this.limit = o.limit ?? Number.POSITIVE_INFINITY;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<[Uint8Array, Uint8Array], undefined> {
    if (this.finished) return DONE;
    try {
      const entry = this.advance();
      if (entry !== undefined) return { done: false, value: entry };
    } catch (err) {
      this.finish();
      throw err;
    }
    this.finish();
    return DONE;
  }

  return(): IteratorResult<[Uint8Array, Uint8Array], undefined> {
    this.finish();
    return DONE;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.end.release();
  }

  /** The next live entry within the bounds, or undefined at the end. */
  private advance(): [Uint8Array, Uint8Array] | undefined {
    const { iter, o } = this;
    if (this.emitted >= this.limit) return undefined;
    if (!this.started) {
      this.started = true;
      const lo = lowerBound(o);
      if (lo) iter.seek(encodeInternalKey(lo, MAX_SEQUENCE, EntryKind.Value));
      else iter.seekToFirst();
    } else {
      iter.next();
    }
    for (; iter.valid(); iter.next()) {
      const ikey = iter.key();
      if (seqOf(ikey) > this.seq) continue;
      const userLength = ikey.length - TRAILER_BYTES;
      // An older version of the key just seen: compared in place, without a view of the user key.
      const last = this.lastUser;
      if (last !== undefined && sameUserKey(ikey, userLength, last)) continue;
      const user = ikey.slice(0, userLength);
      this.lastUser = user;
      if (aboveUpper(user, o)) return undefined;
      if (o.gt && compareBytes(user, o.gt) <= 0) continue;
      // No prefix check here: the seek started at or past the prefix, and aboveUpper ends the
      // scan at the first key past it, so every key reaching this point starts with it.
      if (kindOf(ikey) === EntryKind.Delete) continue;
      this.emitted++;
      const value = iter.value();
      // Empty values (index rows) share one frozen empty array: there is nothing to copy.
      return [user, value.length === 0 ? EMPTY_VALUE : copyRange(value, 0, value.length)];
    }
    return undefined;
  }
}

/** Whether the first `length` bytes of `ikey` are exactly `user`. */
function sameUserKey(ikey: Uint8Array, length: number, user: Uint8Array): boolean {
  if (length !== user.length) return false;
  for (let i = length - 1; i >= 0; i--) if (ikey[i] !== user[i]) return false;
  return true;
}
