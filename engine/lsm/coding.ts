/**
 * Byte encodings shared by the WAL, SSTables and the manifest: little-endian fixed-width
 * integers and LEB128 varints (unsigned, up to 2^53 - 1 so they stay exact in a JS number).
 *
 * Decoders never trust their input: a varint that runs past the end or past 53 bits throws
 * {@link DecodeError}, which callers turn into a `CorruptionError` naming file and offset.
 */

import { assert } from '../assert.ts';
import { copyBytes } from '../bytes.ts';

/** A structural decoding failure at `offset` within the buffer being decoded. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    /** Offset within the decoded buffer. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Largest integer a varint may carry. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;

/** Number of bytes the varint encoding of `v` takes. */
export function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/**
 * Asserts that `v` is a value the decoders accept. Without this a negative, fractional or
 * too-large value would be written as bytes that decode to a different number (or, for a
 * varint past 2^53, past the 8 bytes reserved for it, silently lost off the buffer's end).
 */
function checkEncodable(v: number): void {
  assert(Number.isSafeInteger(v), 'encoded integer must be a safe integer');
  assert(v >= 0, 'encoded integer must not be negative');
}

/** A growable byte buffer for building encodings. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  /** Bytes written so far. */
  length = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    // At least 1 before doubling: a writer created with capacity 0 would otherwise loop forever.
    let cap = Math.max(this.buf.length, 1) * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Appends one byte. */
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v;
    return this;
  }

  /** Appends a little-endian u32. */
  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
    return this;
  }

  /** Appends a little-endian u64 (from a safe integer). */
  u64(v: number): this {
    checkEncodable(v);
    this.ensure(8);
    this.view.setUint32(this.length, v % 4294967296, true);
    this.view.setUint32(this.length + 4, Math.floor(v / 4294967296), true);
    this.length += 8;
    return this;
  }

  /** Appends an unsigned LEB128 varint. */
  varint(v: number): this {
    checkEncodable(v);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
    return this;
  }

  /** Appends raw bytes. */
  bytes(b: Uint8Array): this {
    return this.bytesFrom(b, 0, b.length);
  }

  /** Appends `b[start, end)` (copied the cheapest way for its length: `copyBytes`). */
  bytesFrom(b: Uint8Array, start: number, end: number): this {
    const n = end - start;
    this.ensure(n);
    copyBytes(b, start, end, this.buf, this.length);
    this.length += n;
    return this;
  }

  /** Appends a varint length and then the bytes. */
  lengthPrefixed(b: Uint8Array): this {
    return this.varint(b.length).bytes(b);
  }

  /** Overwrites a u32 at an earlier position. */
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0, true);
  }

  /** A view of the bytes written so far (shares memory until the next write). */
  peek(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** Forgets the contents, keeping the capacity. */
  reset(): void {
    this.length = 0;
  }
}

/**
 * A reusable copy of the last key a builder saw. Builders keep the previous key for ordering
 * checks and prefix sharing; copying it into one buffer, with a view re-created only when the
 * length changes, costs no allocation per entry where `slice()` cost one.
 */
export class KeyHolder {
  private buf = new Uint8Array(64);
  /** The held key: a view of the buffer, valid until the next {@link set}. */
  view: Uint8Array = this.buf.subarray(0, 0);

  /** Holds a copy of `key` (replacing the previous one); returns the new {@link view}. */
  set(key: Uint8Array): Uint8Array {
    const n = key.length;
    if (n > this.buf.length) {
      this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
      this.view = this.buf.subarray(0, n);
    } else if (n !== this.view.length) {
      this.view = this.buf.subarray(0, n);
    }
    copyBytes(key, 0, n, this.buf, 0);
    return this.view;
  }
}

/** Default largest buffer a {@link ScratchBuffer} keeps between uses; a larger request gets its own. */
export const SCRATCH_BYTES_MAX = 64 * 1024;

/**
 * A reusable buffer for encoders that size their output generously (three UTF-8 bytes per
 * UTF-16 unit, say) and copy out only what they wrote: one allocation per encoding, the exact
 * copy, instead of two. Buffers larger than 64 bytes live outside the JavaScript heap, so each
 * allocation costs a malloc and a free; a document write encodes several such buffers. Not
 * re-entrant: an encoder takes it, writes, copies out, and calls nothing in between that could
 * take it again.
 */
export class ScratchBuffer {
  private buf: Uint8Array;

  constructor(
    initialBytes = 1024,
    /** Largest buffer kept between uses (doubling up to it); a larger request gets its own. */
    private readonly keptBytesMax = SCRATCH_BYTES_MAX,
  ) {
    assert(
      initialBytes >= 1 && initialBytes <= keptBytesMax,
      'scratch buffer: initial size within the kept maximum',
    );
    this.buf = new Uint8Array(initialBytes);
  }

  /** A buffer of at least `room` bytes, valid until the next call. Its contents are garbage. */
  take(room: number): Uint8Array {
    if (room <= this.buf.length) return this.buf;
    if (room > this.keptBytesMax) return new Uint8Array(room);
    let cap = this.buf.length * 2;
    while (cap < room) cap *= 2;
    this.buf = new Uint8Array(Math.min(cap, this.keptBytesMax));
    return this.buf;
  }
}

/** A cursor over bytes that checks every read against the end. */
export class ByteReader {
  /** Current position. */
  pos: number;

  // No DataView: readers are made per payload and per record, and the few words they read
  // cost less byte by byte than a view's creation.
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** Bytes left before `end`. */
  remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new DecodeError(`${what} runs past the end`, this.pos);
  }

  /** Reads one byte. */
  u8(): number {
    this.need(1, 'u8');
    return this.buf[this.pos++]!;
  }

  /** Reads a little-endian u32. */
  u32(): number {
    this.need(4, 'u32');
    const v = getU32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  /** Reads a little-endian u64 that must fit a safe integer. */
  u64(): number {
    this.need(8, 'u64');
    const lo = getU32(this.buf, this.pos);
    const hi = getU32(this.buf, this.pos + 4);
    if (hi > 0x1fffff) throw new DecodeError('u64 exceeds 2^53 - 1', this.pos);
    this.pos += 8;
    return hi * 4294967296 + lo;
  }

  /** Reads an unsigned LEB128 varint of at most 2^53 - 1. */
  varint(): number {
    let result = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw new DecodeError('varint runs past the end', start);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (result > MAX_VARINT) throw new DecodeError('varint exceeds 2^53 - 1', start);
        return result;
      }
      mul *= 128;
    }
    throw new DecodeError('varint longer than 8 bytes', start);
  }

  /** Reads `n` bytes as a view into the buffer. */
  bytes(n: number): Uint8Array {
    this.need(n, `${n} bytes`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a varint length and that many bytes. */
  lengthPrefixed(): Uint8Array {
    return this.bytes(this.varint());
  }
}

/** Bytewise comparison of two byte strings (memcmp, then length). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** `compareBytes(a[0, n), b)`, without a view of `a`'s first `n` bytes (`n <= a.length`). */
export function compareBytesPrefix(a: Uint8Array, n: number, b: Uint8Array): number {
  const m = Math.min(n, b.length);
  for (let i = 0; i < m; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return n - b.length;
}

/** True when the two byte strings are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `bytes` begins with `prefix`. */
export function startsWithBytes(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Reads a little-endian u32 at `at` without bounds checks beyond the typed array's own. */
export function getU32(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}
