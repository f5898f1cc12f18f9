/**
 * Order-preserving encoding of JSON values for index keys: the bytewise order of two encodings
 * equals `compareValues` on the values (compare.ts), so an LSM range scan over encoded keys
 * visits values in the query layer's total order. Layout (docs/formats/index-rows.md, version 1):
 *
 * | value            | bytes                                                        |
 * | ---------------- | ------------------------------------------------------------ |
 * | missing          | `01`                                                         |
 * | null             | `02`                                                         |
 * | false / true     | `03` / `04`                                                  |
 * | number           | `05` ‖ 8 bytes: IEEE-754 big-endian, sign bit flipped (x ≥ 0) or all bits flipped (x < 0); -0 as 0 |
 * | string           | `06` ‖ escaped UTF-8 ‖ `00 01`                                |
 * | array            | `07` ‖ escaped UTF-8 of the canonical JSON text ‖ `00 01`    |
 * | object           | `08` ‖ escaped UTF-8 of the canonical JSON text ‖ `00 01`    |
 *
 * Escaping writes a `00` byte as `00 FF`, so the terminator `00 01` sorts below every
 * continuation and no encoding is a prefix of another: a tuple of encodings concatenated orders
 * like the tuple. Equal values (in the total order) have equal encodings.
 */

import { CorruptionError } from '../errors.ts';
import { containerText, Rank, valueRank } from './compare.ts';
import type { JsonValue } from './types.ts';

/** Version of the layout above; docs/formats/index-rows.md describes it byte by byte. */
export const INDEX_KEY_FORMAT_VERSION = 1;

/** The type tags, one per rank (booleans take two), in the order of the total order. */
export const KeyTag = Object.freeze({
  missing: 0x01,
  null: 0x02,
  false: 0x03,
  true: 0x04,
  number: 0x05,
  string: 0x06,
  array: 0x07,
  object: 0x08,
});

const utf8 = new TextEncoder();
/** Scratch space of {@link KeyWriter}'s number encoding (used and copied within one call). */
const NUMBER_BYTES = new Uint8Array(8);
const NUMBER_VIEW = new DataView(NUMBER_BYTES.buffer);
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** A growable byte buffer that index keys are assembled in. */
export class KeyWriter {
  private buf = new Uint8Array(64);
  private len = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Appends one byte. */
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** Appends `bytes` as they are. */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** Appends `bytes` with every `00` written as `00 FF`, then the terminator `00 01`. */
  escaped(bytes: Uint8Array): void {
    this.reserve(bytes.length * 2 + 2);
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      this.buf[this.len++] = b;
      if (b === 0) this.buf[this.len++] = 0xff;
    }
    this.buf[this.len++] = 0;
    this.buf[this.len++] = 1;
  }

  /** Appends the order-preserving encoding of `v` (`undefined` is a missing field). */
  value(v: JsonValue | undefined): void {
    const rank = valueRank(v);
    if (rank === Rank.missing) this.byte(KeyTag.missing);
    else if (rank === Rank.null) this.byte(KeyTag.null);
    else if (rank === Rank.boolean) this.byte(v === true ? KeyTag.true : KeyTag.false);
    else if (rank === Rank.number) this.number(v as number);
    else if (rank === Rank.string) {
      this.byte(KeyTag.string);
      this.escapedText(v as string);
    } else {
      this.byte(rank === Rank.array ? KeyTag.array : KeyTag.object);
      this.escaped(utf8.encode(containerText(v as readonly JsonValue[])));
    }
  }

  /** {@link escaped} of the UTF-8 bytes of `text`, written directly while it is ASCII. */
  private escapedText(text: string): void {
    this.reserve(text.length * 2 + 2);
    const start = this.len;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        this.len = start; // Not ASCII: encode the whole text instead.
        this.escaped(utf8.encode(text));
        return;
      }
      this.buf[this.len++] = c;
      if (c === 0) this.buf[this.len++] = 0xff;
    }
    this.buf[this.len++] = 0;
    this.buf[this.len++] = 1;
  }

  private number(x: number): void {
    const f = NUMBER_VIEW;
    f.setFloat64(0, x === 0 ? 0 : x); // -0 sorts (and encodes) as 0.
    const hi = f.getUint32(0);
    const lo = f.getUint32(4);
    const negative = hi >>> 31 === 1;
    f.setUint32(0, negative ? ~hi >>> 0 : (hi | 0x8000_0000) >>> 0);
    f.setUint32(4, negative ? ~lo >>> 0 : lo);
    this.byte(KeyTag.number);
    this.raw(NUMBER_BYTES);
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** The encoding of one value (see the module comment). */
export function encodeValue(v: JsonValue | undefined): Uint8Array {
  const w = new KeyWriter();
  w.value(v);
  return w.finish();
}

/** The escaped form of `text` with its terminator (a string's encoding without its tag). */
export function encodeText(text: string): Uint8Array {
  const w = new KeyWriter();
  w.escaped(utf8.encode(text));
  return w.finish();
}

/**
 * The offset just past the encoded value that starts at `at` in `key`. Throws a
 * CorruptionError when the bytes are not an encoding.
 */
export function skipValue(key: Uint8Array, at: number): number {
  const tag = key[at];
  if (tag === undefined) throw corrupt('index key ends before a value', at);
  if (tag >= KeyTag.missing && tag <= KeyTag.true) return at + 1;
  if (tag === KeyTag.number) {
    if (at + 9 > key.length) throw corrupt('index key: truncated number', at);
    return at + 9;
  }
  if (tag < KeyTag.string || tag > KeyTag.object)
    throw corrupt(`index key: unknown tag 0x${tag.toString(16)}`, at);
  return skipEscaped(key, at + 1);
}

/** A CorruptionError about an index key (index rows live in the LSM, hence the file name). */
function corrupt(detail: string, offset: number): CorruptionError {
  return new CorruptionError({ file: 'index row', offset, detail });
}

/** The offset just past an escaped run and its terminator starting at `at`. */
export function skipEscaped(key: Uint8Array, at: number): number {
  let i = at;
  while (i + 1 < key.length) {
    if (key[i] !== 0) {
      i++;
      continue;
    }
    const next = key[i + 1];
    if (next === 1) return i + 2;
    if (next !== 0xff) throw corrupt('index key: bad escape', i);
    i += 2;
  }
  throw corrupt('index key: unterminated text', at);
}

/** Decodes the UTF-8 bytes `key[from..to)` (an id stored raw at the end of a key). */
export function decodeUtf8Range(key: Uint8Array, from: number, to: number): string {
  // Most ids are short ASCII: build those directly, without a decoder call.
  if (to - from > ASCII_FAST_BYTES_MAX) return decodeUtf8Slow(key, from, to);
  let high = 0;
  for (let i = from; i < to; i++) high |= key[i]!;
  if (high >= 0x80) return decodeUtf8Slow(key, from, to);
  // Four characters per call: a string built one character at a time makes a string per step.
  let s = '';
  let i = from;
  for (; i + 4 <= to; i += 4) s += String.fromCharCode(key[i]!, key[i + 1]!, key[i + 2]!, key[i + 3]!);
  if (i + 2 <= to) {
    s += String.fromCharCode(key[i]!, key[i + 1]!);
    i += 2;
  }
  if (i < to) s += String.fromCharCode(key[i]!);
  return s;
}

/** Longest id decoded by the ASCII loop of {@link decodeUtf8Range}. */
const ASCII_FAST_BYTES_MAX = 64;

function decodeUtf8Slow(key: Uint8Array, from: number, to: number): string {
  try {
    return utf8Decoder.decode(key.subarray(from, to));
  } catch {
    throw corrupt('index key: id is not UTF-8', from);
  }
}

/**
 * The smallest key greater than every key that starts with `prefix` (increment the last byte
 * that is not `FF`, dropping the bytes after it), or undefined when there is none.
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]!++;
      return end;
    }
  }
  return undefined;
}

/** `a` followed by `b`. */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The value whose encoding starts at `at` in `key`, and the offset just past it. */
export function decodeValue(key: Uint8Array, at: number): { value: JsonValue | undefined; end: number } {
  const tag = key[at];
  const end = skipValue(key, at);
  switch (tag) {
    case KeyTag.missing:
      return { value: undefined, end };
    case KeyTag.null:
      return { value: null, end };
    case KeyTag.false:
      return { value: false, end };
    case KeyTag.true:
      return { value: true, end };
    case KeyTag.number: {
      const f = new DataView(new ArrayBuffer(8));
      const hi = (key[at + 1]! << 24) | (key[at + 2]! << 16) | (key[at + 3]! << 8) | key[at + 4]!;
      const lo = (key[at + 5]! << 24) | (key[at + 6]! << 16) | (key[at + 7]! << 8) | key[at + 8]!;
      const negative = hi >>> 31 === 0;
      f.setUint32(0, negative ? ~hi >>> 0 : (hi & 0x7fff_ffff) >>> 0);
      f.setUint32(4, negative ? ~lo >>> 0 : lo >>> 0);
      return { value: f.getFloat64(0), end };
    }
    default: {
      const text = unescapeText(key, at + 1, end - 2);
      return { value: tag === KeyTag.string ? text : (JSON.parse(text) as JsonValue), end };
    }
  }
}

/** The text of the escaped bytes `key[from..to)` (terminator excluded). */
function unescapeText(key: Uint8Array, from: number, to: number): string {
  const bytes = new Uint8Array(to - from);
  let n = 0;
  for (let i = from; i < to; i++) {
    bytes[n++] = key[i]!;
    if (key[i] === 0) i++; // `00 FF` stands for `00`
  }
  return decodeUtf8Range(bytes, 0, n);
}
