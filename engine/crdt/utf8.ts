/**
 * UTF-8 without the per-call cost of `TextEncoder`/`TextDecoder` on the short strings the
 * write and read paths handle (names, ids, field values): a crossing into the runtime's encoder
 * costs more than encoding a few dozen characters in JavaScript. Results are exactly those of
 * the WHATWG encoder and decoder: a lone surrogate encodes as U+FFFD (EF BF BD), like
 * `TextEncoder`, and decoding is strict (any malformed sequence is an error), like a
 * `TextDecoder` with `fatal: true`; long or non-ASCII input is handed to them.
 */

/** Strings at most this long are encoded in JavaScript; longer ones by the runtime. */
export const UTF8_INLINE_CHARS_MAX = 64;

/**
 * Byte ranges at most this long are decoded in JavaScript; longer ones by the runtime. Far
 * lower than the encoding bound: a string built a character at a time is a chain of pieces that
 * its first reader (a map lookup, `JSON.parse`) must flatten, so with that reader counted
 * `TextDecoder` was already as fast at 8 characters and 3x to 7x faster at 16 to 64 (measured:
 * decode and map insert, 16 characters 0.84 against 0.28 µs; decode and `JSON.parse` of a
 * 45-character object 0.73 against 0.29 µs).
 */
export const UTF8_DECODE_INLINE_CHARS_MAX = 8;

const encoder = new TextEncoder();
// `ignoreBOM: true` keeps a leading U+FEFF as text instead of dropping it.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes `s` takes in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD). */
export function utf8ByteLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      // A pair: 2 UTF-16 units, 4 bytes.
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * Writes `s` as UTF-8 into `out` at `at` and returns the offset just past it. `out` must have
 * room for {@link utf8ByteLength}(s) bytes.
 */
export function writeUtf8(s: string, out: Uint8Array, at: number): number {
  const n = s.length;
  if (n > UTF8_INLINE_CHARS_MAX) return at + encoder.encodeInto(s, out.subarray(at)).written;
  const i = writeAsciiPrefix(s, out, at);
  return i === n ? at + n : writeUtf8From(s, i, out, at + i);
}

/**
 * Writes the characters of `s` up to its first non-ASCII one, a byte each, at `at` in `out`
 * (room for `s.length` bytes), and returns how many it wrote: `s.length` when `s` is all ASCII.
 * Names, ids and most values are, and this loop, with one test per character, is about a third
 * faster on them than the general one.
 */
export function writeAsciiPrefix(s: string, out: Uint8Array, at: number): number {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    out[at + i] = c;
  }
  return i;
}

/** {@link writeUtf8} of `s` from its UTF-16 unit `from` on (the general loop). */
function writeUtf8From(s: string, from: number, out: Uint8Array, at: number): number {
  for (let i = from; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[at++] = c;
      continue;
    }
    if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && isLowSurrogate(next)) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        out[at++] = 0xf0 | (cp >> 18);
        out[at++] = 0x80 | ((cp >> 12) & 0x3f);
        out[at++] = 0x80 | ((cp >> 6) & 0x3f);
        out[at++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    out[at++] = 0xe0 | (c >> 12);
    out[at++] = 0x80 | ((c >> 6) & 0x3f);
    out[at++] = 0x80 | (c & 0x3f);
  }
  return at;
}

function varintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Room {@link writePrefixedUtf8} may need for `s`: a varint and three bytes per UTF-16 unit. */
export function prefixedUtf8BytesMax(s: string): number {
  return prefixedBytesMaxOfUnits(s.length);
}

/** {@link prefixedUtf8BytesMax} of a string of `units` UTF-16 units. */
export function prefixedBytesMaxOfUnits(units: number): number {
  return varintBytes(3 * units) + 3 * units;
}

/**
 * Writes `s` as a LEB128 varint byte length followed by its UTF-8, at `at` in `out` (which
 * has room for {@link prefixedUtf8BytesMax}(s) bytes), and returns the offset just past it.
 * The text is encoded once, after room for the longest possible length
 * ({@link prefixedTextStart}); if the real length needs fewer varint bytes the text moves down
 * (a memmove), which costs less than measuring the string first.
 */
export function writePrefixedUtf8(s: string, out: Uint8Array, at: number): number {
  const start = prefixedTextStart(at, s.length);
  return finishPrefixedText(out, at, start, writeUtf8(s, out, start));
}

/**
 * Where the UTF-8 of a text of `units` UTF-16 units starts when it is written with its length
 * prefix at `at`: after room for the longest varint that length may need.
 */
export function prefixedTextStart(at: number, units: number): number {
  return at + varintBytes(3 * units);
}

/**
 * Completes a length-prefixed text whose UTF-8 was written at `out[start, end)`, with `start`
 * from {@link prefixedTextStart}(at, units): writes the varint byte length at `at`, moving the
 * text down if the varint is shorter than the room left for it. Returns the end of the text.
 */
export function finishPrefixedText(out: Uint8Array, at: number, start: number, end: number): number {
  let n = end - start;
  const needed = varintBytes(n);
  if (needed < start - at) out.copyWithin(at + needed, start, end);
  const textEnd = at + needed + n;
  while (n >= 0x80) {
    out[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at] = n;
  return textEnd;
}

/** `s` in UTF-8, as `TextEncoder.encode` gives it. */
export function utf8Bytes(s: string): Uint8Array {
  if (s.length > UTF8_INLINE_CHARS_MAX) return encoder.encode(s);
  const out = new Uint8Array(utf8ByteLength(s));
  writeUtf8(s, out, 0);
  return out;
}

/**
 * Decodes `bytes[start, end)` as UTF-8, strictly: throws `TypeError` (as a fatal
 * `TextDecoder` does) on a malformed sequence. A leading U+FEFF is text like any other (kept, not
 * stripped as a byte-order mark), so decoding inverts {@link writeUtf8}.
 */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= UTF8_DECODE_INLINE_CHARS_MAX) {
    let s = '';
    let i = start;
    for (; i < end; i++) {
      const b = bytes[i]!;
      if (b >= 0x80) break;
      s += String.fromCharCode(b);
    }
    if (i === end) return s;
  }
  return decoder.decode(bytes.subarray(start, end));
}
