/**
 * Range and prefix scans: turns a merged cursor over internal entries into the user's view at
 * one sequence number, i.e. for each user key the newest version at or below the snapshot,
 * skipping tombstones, within the requested bounds.
 */

import { copyRange } from '../bytes.ts';
import { InvalidArgumentError } from '../errors.ts';
import { compareBytes, compareBytesPrefix } from './coding.ts';
import {
  compareUserKeyTo,
  EntryKind,
  encodeInternalKey,
  kindOf,
  MAX_SEQUENCE,
  seqOf,
  TRAILER_BYTES,
} from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';
import { MergingIterator } from './merging-iterator.ts';

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

/**
 * A scan's bounds in an object of one shape: the options objects callers pass come in many
 * shapes (a spread, a literal with or without `limit`...), and reading their properties on
 * every entry goes through V8's megamorphic lookups.
 */
class Bounds {
  readonly lo: Uint8Array | undefined;
  readonly gt: Uint8Array | undefined;
  readonly lt: Uint8Array | undefined;
  readonly lte: Uint8Array | undefined;
  readonly prefix: Uint8Array | undefined;

  constructor(o: ScanOptions) {
    this.lo = lowerBound(o);
    this.gt = o.gt;
    this.lt = o.lt;
    this.lte = o.lte;
    this.prefix = o.prefix;
  }
}

/** Whether the user key `ikey[0, n)` lies past the upper bounds of `o` (read in place). */
function aboveUpper(ikey: Uint8Array, n: number, o: Bounds): boolean {
  if (o.lt && compareBytesPrefix(ikey, n, o.lt) >= 0) return true;
  if (o.lte && compareBytesPrefix(ikey, n, o.lte) > 0) return true;
  const p = o.prefix;
  if (p && !prefixStartsWith(ikey, n, p) && compareBytesPrefix(ikey, n, p) > 0) return true;
  return false;
}

/** Whether `ikey[0, n)` starts with `prefix`. */
function prefixStartsWith(ikey: Uint8Array, n: number, prefix: Uint8Array): boolean {
  if (n < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (ikey[i] !== prefix[i]) return false;
  return true;
}

/**
 * Whether a table whose user keys lie in `[smallest, largest]` (internal keys, as a table's
 * metadata records them) may hold a key within the bounds of `o`. A scan skips the tables for
 * which this is false without opening a cursor on them: their keys all fall outside the
 * bounds, so the scan would discard every one of them.
 */
export function boundsMayTouch(o: ScanOptions, smallest: Uint8Array, largest: Uint8Array): boolean {
  const lo = lowerBound(o);
  if (lo !== undefined && compareUserKeyTo(largest, lo) < 0) return false;
  if (o.lt !== undefined && compareUserKeyTo(smallest, o.lt) >= 0) return false;
  if (o.lte !== undefined && compareUserKeyTo(smallest, o.lte) > 0) return false;
  if (o.prefix !== undefined && compareUserKeyTo(smallest, o.prefix) > 0) {
    // The smallest key is past the prefix unless it starts with it.
    const n = smallest.length - TRAILER_BYTES;
    if (n < o.prefix.length) return false;
    for (let i = 0; i < o.prefix.length; i++) if (smallest[i] !== o.prefix[i]) return false;
  }
  return true;
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

/** Initial size of the buffer in which a scan keeps the last user key it looked at. */
const LAST_KEY_BYTES_INITIAL = 64;
/** Most spare last-key buffers kept for later scans (scans may be open at once). */
const SPARE_KEY_BUFFERS_MAX = 8;
/** Largest last-key buffer kept for a later scan; a larger one is left to the collector. */
const SPARE_KEY_BUFFER_BYTES_MAX = 1024;

/**
 * The buffer in which a scan keeps the last user key it looked at, and a view of exactly that
 * key for {@link visitScanKeys}. Reused by later scans: a typed array costs more to make than
 * a short scan spends on its rows.
 */
class KeyBuffer {
  bytes = new Uint8Array(LAST_KEY_BYTES_INITIAL);
  /** A view of the first bytes of {@link bytes}, remade when the wanted length changes. */
  view: Uint8Array = this.bytes.subarray(0, 0);

  /** Copies `ikey[0, n)` into the buffer (growing it when needed). */
  hold(ikey: Uint8Array, n: number): void {
    if (n > this.bytes.length) {
      this.bytes = new Uint8Array(Math.max(n, 2 * this.bytes.length));
      this.view = this.bytes.subarray(0, 0);
    }
    const b = this.bytes;
    for (let i = 0; i < n; i++) b[i] = ikey[i]!;
  }

  /** A view of the first `n` bytes (those of the key last held when `n` is its length). */
  viewOf(n: number): Uint8Array {
    if (this.view.length !== n) this.view = this.bytes.subarray(0, n);
    return this.view;
  }
}

const spareKeyBuffers: KeyBuffer[] = [];

/**
 * The scan as a plain iterator object rather than a generator: a query that reads a few rows
 * pays for the setup of every scan, and a generator (with a wrapper to release it when it
 * never started) costs more to create and to resume than this loop.
 */
class ScanIterator implements IterableIterator<[Uint8Array, Uint8Array]> {
  private readonly limit: number;
  private readonly o: Bounds;
  private emitted = 0;
  private started = false;
  private finished = false;
  /**
   * The user key of the last entry looked at, to skip its older versions: its bytes in a
   * buffer taken from the spares at the first entry and given back at the end (copied in
   * place, so a step allocates nothing for it), and its length (-1: none yet).
   */
  private last: KeyBuffer | undefined;
  private lastLength = -1;

  constructor(
    private readonly iter: InternalIterator,
    private readonly seq: number,
    options: ScanOptions,
    private readonly end: ScanEnd,
  ) {
    this.limit = options.limit ?? Number.POSITIVE_INFINITY;
    this.o = new Bounds(options);
    // The scan ends at the first key >= lt (aboveUpper): sources past it need not be merged.
    if (iter instanceof MergingIterator) iter.setUpperBound(this.o.lt);
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<[Uint8Array, Uint8Array], undefined> {
    if (this.finished) return DONE;
    try {
      const n = this.advance();
      if (n >= 0) {
        const iter = this.iter;
        const value = iter.value();
        // Empty values (index rows) share one frozen empty array: there is nothing to copy.
        const entry: [Uint8Array, Uint8Array] = [
          iter.key().slice(0, n),
          value.length === 0 ? EMPTY_VALUE : copyRange(value, 0, value.length),
        ];
        return { done: false, value: entry };
      }
    } catch (err) {
      this.finish();
      throw err;
    }
    this.finish();
    return DONE;
  }

  /**
   * Calls `visit` with each remaining key, then ends the scan (see {@link visitScanKeys}). The
   * key is a view of a buffer the scan reuses: valid only during the call.
   */
  visitKeys(visit: (key: Uint8Array) => void): void {
    if (this.finished) return;
    try {
      for (let n = this.advance(); n >= 0; n = this.advance()) visit(this.last!.viewOf(n));
    } finally {
      this.finish();
    }
  }

  return(): IteratorResult<[Uint8Array, Uint8Array], undefined> {
    this.finish();
    return DONE;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const last = this.last;
    this.last = undefined;
    if (
      last !== undefined &&
      last.bytes.length <= SPARE_KEY_BUFFER_BYTES_MAX &&
      spareKeyBuffers.length < SPARE_KEY_BUFFERS_MAX
    )
      spareKeyBuffers.push(last);
    this.end.release();
  }

  /**
   * Positions the cursor at the next live entry within the bounds and returns its user key's
   * length (that key's bytes are then the first of {@link last}'s), or -1 at the end.
   */
  private advance(): number {
    const { iter, o } = this;
    if (this.emitted >= this.limit) return -1;
    if (!this.started) {
      this.started = true;
      const lo = o.lo;
      if (lo) iter.seek(encodeInternalKey(lo, MAX_SEQUENCE, EntryKind.Value));
      else iter.seekToFirst();
    } else {
      iter.next();
    }
    for (; iter.valid(); iter.next()) {
      const ikey = iter.key();
      if (seqOf(ikey) > this.seq) continue;
      const n = ikey.length - TRAILER_BYTES;
      // An older version of the key just seen: compared in place, without a view of the user key.
      if (n === this.lastLength && sameUserKey(ikey, n, this.last!.bytes)) continue;
      let last = this.last;
      if (last === undefined) {
        last = spareKeyBuffers.pop() ?? new KeyBuffer();
        this.last = last;
      }
      last.hold(ikey, n);
      this.lastLength = n;
      if (aboveUpper(ikey, n, o)) return -1;
      if (o.gt && compareBytesPrefix(ikey, n, o.gt) <= 0) continue;
      // No prefix check here: the seek started at or past the prefix, and aboveUpper ends the
      // scan at the first key past it, so every key reaching this point starts with it.
      if (kindOf(ikey) === EntryKind.Delete) continue;
      this.emitted++;
      return n;
    }
    return -1;
  }
}

/**
 * Calls `visit` with the key of every entry `rows` (a scan, as `LsmStore.scan` returns it)
 * still has, in order, and ends the scan (also when `visit` throws). A scan of this module
 * hands each key as a view of a buffer it reuses, valid only during the call (copy what you
 * keep), so a reader of keys alone (index rows) allocates nothing per row; any other iterable
 * is read entry by entry.
 */
export function visitScanKeys(
  rows: IterableIterator<[Uint8Array, Uint8Array]>,
  visit: (key: Uint8Array) => void,
): void {
  if (rows instanceof ScanIterator) {
    rows.visitKeys(visit);
    return;
  }
  for (const [key] of rows) visit(key);
}

/** Whether the first `length` bytes of `ikey` are exactly `user`'s first `length` bytes. */
function sameUserKey(ikey: Uint8Array, length: number, user: Uint8Array): boolean {
  for (let i = length - 1; i >= 0; i--) if (ikey[i] !== user[i]) return false;
  return true;
}
