/**
 * SSTable blocks: a sorted run of internal-key entries with prefix-compressed keys, the unit
 * of reading, checksumming and caching. Data blocks and the index block share this format.
 *
 * Layout (docs/formats/sstable.md has it byte by byte):
 *
 *   entry*        shared (varint) ‖ unshared (varint) ‖ valueLength (varint)
 *                 ‖ key[shared..] (unshared bytes) ‖ value
 *   restart*      u32 LE offset of an entry stored with shared = 0 (a full key)
 *   count         u32 LE number of restarts
 *
 * A restart point every `restartInterval` entries bounds how far a seek scans: it binary
 * searches the restart keys, then walks forward from the last restart whose key is smaller.
 *
 * {@link Block.decode} checks the whole block once (every entry decodes, keys are valid internal
 * keys in strictly increasing order, restarts sit on entry boundaries with full keys), so the
 * cursors that run on a decoded block never meet malformed bytes.
 *
 * The index block maps each data block's separator key to its {@link BlockHandle}; the helpers
 * at the end of this file build those entries.
 */

import { assert } from '../assert.ts';
import { copyBytes } from '../bytes.ts';
import { ByteReader, ByteWriter, DecodeError, getU32, KeyHolder } from './coding.ts';
import {
  compareInternalKeys,
  EntryKind,
  encodeInternalKey,
  MAX_SEQUENCE,
  TRAILER_BYTES,
  userKeyOf,
} from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';

/** Bytes of a restart offset and of the restart count. */
const U32_BYTES = 4;
/** Bytes a cache charges for a block beyond its data (object headers, bookkeeping). */
export const BLOCK_OVERHEAD_BYTES = 96;

/** Length of the common prefix of `a` and `b`. */
function sharedPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Builds one block from entries added in strictly increasing internal-key order. */
export class BlockBuilder {
  private readonly out = new ByteWriter(1024);
  private readonly restarts: number[] = [];
  /** A copy of the last key added (meaningful only while `count > 0`). */
  private readonly last = new KeyHolder();
  private sinceRestart = 0;
  private count = 0;

  constructor(private readonly restartInterval: number) {
    assert(Number.isInteger(restartInterval), 'restart interval is an integer');
    assert(restartInterval >= 1, 'restart interval is at least 1');
  }

  /** Entries added since the last {@link reset}. */
  get entries(): number {
    return this.count;
  }

  /** Adds an entry. `key` must be an internal key greater than the previous one. */
  add(key: Uint8Array, value: Uint8Array): void {
    assert(key.length >= TRAILER_BYTES, 'block key is an internal key');
    if (this.count > 0) assert(compareInternalKeys(key, this.last.view) > 0, 'block keys strictly increase');
    let shared = 0;
    if (this.sinceRestart === this.restartInterval || this.count === 0) {
      this.restarts.push(this.out.length);
      this.sinceRestart = 0;
    } else {
      shared = sharedPrefixLength(this.last.view, key);
    }
    this.out
      .varint(shared)
      .varint(key.length - shared)
      .varint(value.length);
    this.out.bytesFrom(key, shared, key.length).bytes(value);
    this.last.set(key);
    this.sinceRestart++;
    this.count++;
  }

  /** Size of the block {@link finish} would return now. */
  estimatedBytes(): number {
    return this.out.length + this.restarts.length * U32_BYTES + U32_BYTES;
  }

  /** Appends the restart array and count; returns the block bytes (a copy). */
  finish(): Uint8Array {
    return this.finishView().slice();
  }

  /**
   * Like {@link finish}, but returns a view of the builder's buffer, valid only until the
   * next {@link add}: for a caller that copies the block out at once.
   */
  finishView(): Uint8Array {
    for (const r of this.restarts) this.out.u32(r);
    this.out.u32(this.restarts.length);
    const block = this.out.peek();
    this.reset();
    return block;
  }

  /** Forgets every entry, ready for the next block. */
  reset(): void {
    this.out.reset();
    this.restarts.length = 0;
    this.sinceRestart = 0;
    this.count = 0;
  }
}

/** One decoded entry header: where its key suffix and value lie. */
interface EntryHeader {
  shared: number;
  unshared: number;
  keyStart: number;
  valueEnd: number;
}

/** Reused by {@link parseEntry} so the hot seek/next path allocates nothing per entry. */
const scratch: EntryHeader = { shared: 0, unshared: 0, keyStart: 0, valueEnd: 0 };
/** Longest varint accepted inside a block (lengths below 2^53 take at most 8 bytes). */
const MAX_VARINT_BYTES = 8;
let varintEnd = 0;

/** Reads a LEB128 varint at `at` before `limit`; leaves its end in `varintEnd`. */
function readVarint(data: Uint8Array, at: number, limit: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (at + i >= limit) throw new DecodeError('varint runs past the entries area', at);
    const b = data[at + i]!;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      varintEnd = at + i + 1;
      return result;
    }
    mul *= 128;
  }
  throw new DecodeError('varint longer than 8 bytes', at);
}

/**
 * Parses the entry header at `at`, checking it against `limit`. Returns the shared scratch
 * object (read it before the next call). Throws {@link DecodeError}.
 */
function parseEntry(data: Uint8Array, at: number, limit: number): EntryHeader {
  const shared = readVarint(data, at, limit);
  const unshared = readVarint(data, varintEnd, limit);
  const valueLength = readVarint(data, varintEnd, limit);
  const keyStart = varintEnd;
  if (unshared + valueLength > limit - keyStart) {
    throw new DecodeError('entry runs past the entries area', at);
  }
  scratch.shared = shared;
  scratch.unshared = unshared;
  scratch.keyStart = keyStart;
  scratch.valueEnd = keyStart + unshared + valueLength;
  return scratch;
}

/** The key of a cursor that has decoded no entry yet. */
const NO_KEY = new Uint8Array(0);

/**
 * `compareInternalKeys(data[start, start + length), b[0, bLength))` without views: user keys
 * bytewise, then sequence descending, then kind descending. When the keys' first `same` bytes
 * are known to be equal (a block key and the previous one share a prefix), the user keys are
 * compared from there.
 */
export function compareInternalKeyAt(
  data: Uint8Array,
  start: number,
  length: number,
  b: Uint8Array,
  bLength = b.length,
  same = 0,
): number {
  const al = length - TRAILER_BYTES;
  const bl = bLength - TRAILER_BYTES;
  const n = Math.min(al, bl);
  for (let i = Math.min(same, n); i < n; i++) {
    const d = data[start + i]! - b[i]!;
    if (d !== 0) return d;
  }
  if (al !== bl) return al - bl;
  // Equal user keys: the higher sequence sorts first, then the higher kind (trailer byte 0).
  for (let i = TRAILER_BYTES - 1; i >= 1; i--) {
    const d = b[bl + i]! - data[start + al + i]!;
    if (d !== 0) return d;
  }
  return b[bl]! - data[start + al]!;
}

/** A checked, immutable block. Create cursors with {@link Block.cursor}. */
export class Block {
  private constructor(
    /** The block bytes (without the on-disk trailer). */
    readonly data: Uint8Array,
    /** Offset of the restart array (= end of the entries). */
    readonly restartsOffset: number,
    /** Number of restart points. */
    readonly restartCount: number,
    /** Number of entries. */
    readonly entries: number,
    /** First key (empty when the block is empty). */
    readonly firstKey: Uint8Array,
    /** Last key (empty when the block is empty). */
    readonly lastKey: Uint8Array,
  ) {}

  /** Bytes a cache should charge for keeping this block. */
  get chargeBytes(): number {
    return this.data.byteLength + this.firstKey.length + this.lastKey.length + BLOCK_OVERHEAD_BYTES;
  }

  /**
   * Checks and wraps block bytes. Throws {@link DecodeError} (offset within `data`) when the
   * bytes are not a well-formed block; never returns a block a cursor could misread.
   */
  static decode(data: Uint8Array): Block {
    if (data.length < U32_BYTES) throw new DecodeError('block shorter than its restart count', 0);
    const countAt = data.length - U32_BYTES;
    const restartCount = getU32(data, countAt);
    if (restartCount > countAt / U32_BYTES) {
      throw new DecodeError(`restart count ${restartCount} does not fit the block`, countAt);
    }
    const restartsOffset = countAt - restartCount * U32_BYTES;
    if ((restartsOffset === 0) !== (restartCount === 0)) {
      throw new DecodeError('a block has restarts exactly when it has entries', countAt);
    }
    // A seek starts scanning at restart 0, so it must be the first entry.
    if (restartCount > 0 && getU32(data, restartsOffset) !== 0) {
      throw new DecodeError('first restart point is not the first entry', restartsOffset);
    }
    const walk = walkEntries(data, restartsOffset, restartCount);
    return new Block(data, restartsOffset, restartCount, walk.entries, walk.firstKey, walk.lastKey);
  }

  /** A new cursor over this block, not yet positioned. */
  cursor(): BlockCursor {
    return new BlockCursor(this);
  }

  /** Offset of the entry at restart point `i`. */
  restartPoint(i: number): number {
    return getU32(this.data, this.restartsOffset + i * U32_BYTES);
  }
}

/** Highest value of a trailer's top sequence byte: sequences stay below 2^53. */
const MAX_SEQ_TOP_BYTE = 0x1f;

/** Checks that `buf[0, len)` is a well-formed internal key: long enough, a known kind, a safe sequence. */
function checkInternalKey(buf: Uint8Array, len: number, at: number): void {
  if (len < TRAILER_BYTES) throw new DecodeError('key shorter than an internal-key trailer', at);
  const kind = buf[len - TRAILER_BYTES]!;
  if (kind !== EntryKind.Delete && kind !== EntryKind.Value)
    throw new DecodeError(`unknown entry kind ${kind}`, at);
  if (buf[len - 1]! > MAX_SEQ_TOP_BYTE) throw new DecodeError('sequence number above 2^53 - 1', at);
}

/** Grows `buf` to hold at least `n` bytes, keeping its first `keep` bytes. */
function ensureCapacity(buf: Uint8Array, n: number, keep: number): Uint8Array {
  if (buf.length >= n) return buf;
  const next = new Uint8Array(Math.max(n, buf.length * 2));
  next.set(buf.subarray(0, keep));
  return next;
}

/** The restart offset `i` of a block, or -1 past the last one. */
function restartAtOrNone(data: Uint8Array, restartsOffset: number, restartCount: number, i: number): number {
  return i < restartCount ? getU32(data, restartsOffset + i * U32_BYTES) : -1;
}

/**
 * Decodes every entry once, checking keys, order and restart placement, so that cursors can
 * trust the block afterwards. Keys are rebuilt in two alternating buffers (the current and
 * the previous one), and checked and compared in place: this runs on every cache miss (a point
 * lookup's, a cold read's), and a view per entry made it about twice as slow. A key shares
 * its first `shared` bytes with the previous one, so their comparison starts there.
 */
function walkEntries(
  data: Uint8Array,
  restartsOffset: number,
  restartCount: number,
): { entries: number; firstKey: Uint8Array; lastKey: Uint8Array } {
  let nextRestart = 0;
  let restartAt = restartAtOrNone(data, restartsOffset, restartCount, 0);
  let entries = 0;
  let firstKey: Uint8Array = new Uint8Array(0);
  let prevBuf: Uint8Array = new Uint8Array(64);
  let curBuf: Uint8Array = new Uint8Array(64);
  let prevLen = 0;
  let at = 0;
  while (at < restartsOffset) {
    if (restartAt !== -1 && restartAt < at) throw new DecodeError('restart point inside an entry', at);
    const isRestart = restartAt === at;
    if (isRestart) restartAt = restartAtOrNone(data, restartsOffset, restartCount, ++nextRestart);
    const e = parseEntry(data, at, restartsOffset);
    if (isRestart && e.shared !== 0) throw new DecodeError('restart entry shares a prefix', at);
    if (e.shared > prevLen) throw new DecodeError('entry shares more than the previous key', at);
    const len = e.shared + e.unshared;
    curBuf = ensureCapacity(curBuf, len, 0);
    copyBytes(prevBuf, 0, e.shared, curBuf, 0);
    copyBytes(data, e.keyStart, e.keyStart + e.unshared, curBuf, e.shared);
    checkInternalKey(curBuf, len, at);
    if (entries === 0) firstKey = curBuf.slice(0, len);
    else if (compareInternalKeyAt(prevBuf, 0, prevLen, curBuf, len, e.shared) >= 0)
      throw new DecodeError('keys out of order', at);
    const swap = prevBuf;
    prevBuf = curBuf;
    curBuf = swap;
    prevLen = len;
    entries++;
    at = e.valueEnd;
  }
  if (nextRestart !== restartCount)
    throw new DecodeError('restart point past the last entry', restartsOffset);
  return { entries, firstKey, lastKey: prevBuf.slice(0, prevLen) };
}

/**
 * A cursor over one {@link Block}. `key()` returns a view of a buffer the cursor reuses, valid
 * until the cursor moves (the {@link InternalIterator} contract); `value()` is a view of the
 * immutable block bytes.
 */
export class BlockCursor implements InternalIterator {
  /**
   * The current key, rebuilt in place while keys keep their length, and a fresh array of the
   * new length when it changes: allocating a small typed array costs far less than a
   * `subarray` view of a reused buffer, and a cursor made for a short seek makes few keys.
   */
  private keyBuf: Uint8Array = NO_KEY;
  private valueStart = 0;
  private valueEnd = 0;
  /** Offset of the entry after the current one; > restartsOffset when not positioned. */
  private nextAt: number;
  private positioned = false;

  constructor(private readonly block: Block) {
    this.nextAt = block.restartsOffset;
  }

  valid(): boolean {
    return this.positioned;
  }

  seekToFirst(): void {
    this.nextAt = 0;
    this.advance();
  }

  seek(target: Uint8Array): void {
    const b = this.block;
    if (b.restartCount === 0) {
      this.positioned = false;
      return;
    }
    // Find the last restart whose key is < target; the answer lies at or after it.
    let lo = 0;
    let hi = b.restartCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.compareRestartKey(mid, target) < 0) lo = mid;
      else hi = mid - 1;
    }
    this.nextAt = b.restartPoint(lo);
    this.advance();
    while (this.positioned && compareInternalKeys(this.key(), target) < 0) this.advance();
  }

  next(): void {
    assert(this.positioned, 'next() needs a valid cursor');
    this.advance();
  }

  key(): Uint8Array {
    assert(this.positioned, 'key() needs a valid cursor');
    return this.keyBuf;
  }

  value(): Uint8Array {
    assert(this.positioned, 'value() needs a valid cursor');
    return this.block.data.subarray(this.valueStart, this.valueEnd);
  }

  /**
   * `compareInternalKeys(key at restart point i, target)`, read in place (restart entries
   * share nothing, so the whole key is stored there): a seek's binary search makes no views.
   */
  private compareRestartKey(i: number, target: Uint8Array): number {
    const data = this.block.data;
    const e = parseEntry(data, this.block.restartPoint(i), this.block.restartsOffset);
    return compareInternalKeyAt(data, e.keyStart, e.unshared, target);
  }

  /** Decodes the entry at `nextAt` on top of the current key, or ends the cursor. */
  private advance(): void {
    const b = this.block;
    if (this.nextAt >= b.restartsOffset) {
      this.positioned = false;
      return;
    }
    const e = parseEntry(b.data, this.nextAt, b.restartsOffset);
    const length = e.shared + e.unshared;
    if (length !== this.keyBuf.length) {
      // Decoding checked that an entry shares no more than the previous key holds.
      const fresh = new Uint8Array(length);
      copyBytes(this.keyBuf, 0, e.shared, fresh, 0);
      this.keyBuf = fresh;
    }
    copyBytes(b.data, e.keyStart, e.keyStart + e.unshared, this.keyBuf, e.shared);
    this.valueStart = e.keyStart + e.unshared;
    this.valueEnd = e.valueEnd;
    this.nextAt = e.valueEnd;
    this.positioned = true;
  }
}

// Index entries: one per data block, key = separator, value = block handle.

/** Where a block lies: its offset and its size without the trailer. */
export interface BlockHandle {
  offset: number;
  size: number;
}

/** Encodes a block handle as two varints (offset, size), as stored in index values. */
export function encodeBlockHandle(h: BlockHandle): Uint8Array {
  return new ByteWriter(16).varint(h.offset).varint(h.size).finish();
}

/** Decodes an index value; throws {@link DecodeError} unless it is exactly two varints. */
export function decodeBlockHandle(bytes: Uint8Array): BlockHandle {
  const r = new ByteReader(bytes);
  const h = { offset: r.varint(), size: r.varint() };
  if (r.remaining() !== 0) throw new DecodeError('bytes after a block handle', r.pos);
  return h;
}

function shortenedKey(userKeyPrefix: Uint8Array, lastByte: number): Uint8Array {
  const s = new Uint8Array(userKeyPrefix.length + 1);
  s.set(userKeyPrefix);
  s[userKeyPrefix.length] = lastByte;
  // The smallest internal key of user key s: it sorts before every real version of s.
  return encodeInternalKey(s, MAX_SEQUENCE, EntryKind.Value);
}

/**
 * An index key k with `last` <= k < `next`, shorter than `last` when possible: where the user
 * keys first differ, bump `last`'s byte if that stays below `next`'s; otherwise keep it and
 * bump the first later byte of `last` that is not 0xff, dropping the rest. Both results sort
 * strictly between the two user keys. When neither applies, `last` itself.
 */
export function indexSeparator(last: Uint8Array, next: Uint8Array): Uint8Array {
  const ua = userKeyOf(last);
  const ub = userKeyOf(next);
  const n = Math.min(ua.length, ub.length);
  let p = 0;
  while (p < n && ua[p] === ub[p]) p++;
  if (p === n) return last.slice(); // one user key is a prefix of the other (or they are equal)
  if (ua[p]! + 1 < ub[p]! && p + 1 < ua.length) return shortenedKey(ua.subarray(0, p), ua[p]! + 1);
  for (let q = p + 1; q + 1 < ua.length; q++) {
    if (ua[q] !== 0xff) return shortenedKey(ua.subarray(0, q), ua[q]! + 1);
  }
  return last.slice();
}

/** An index key k >= `last` for the final block: a shorter successor user key when one exists. */
export function indexSuccessor(last: Uint8Array): Uint8Array {
  const ua = userKeyOf(last);
  for (let i = 0; i + 1 < ua.length; i++) {
    if (ua[i] !== 0xff) return shortenedKey(ua.subarray(0, i), ua[i]! + 1);
  }
  return last.slice();
}
