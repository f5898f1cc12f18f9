import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  decodeUtf8,
  prefixedUtf8BytesMax,
  UTF8_INLINE_CHARS_MAX,
  utf8ByteLength,
  utf8Bytes,
  writePrefixedUtf8,
  writeUtf8,
} from './utf8.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Strings of any UTF-16 code units (lone surrogates included), short and long.
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: UTF8_INLINE_CHARS_MAX + 8 }),
  fc.string({
    unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)),
    maxLength: 12,
  }),
  fc.string({ unit: 'binary', minLength: UTF8_INLINE_CHARS_MAX, maxLength: 3 * UTF8_INLINE_CHARS_MAX }),
  // Mostly ASCII, with other characters after runs of it (where the ASCII loop hands over).
  fc.string({
    unit: fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), weight: 4 },
      { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 1 },
    ),
    maxLength: UTF8_INLINE_CHARS_MAX,
  }),
);

describe('utf8', () => {
  test.prop([anyString], { numRuns: 500 })(
    'encodes exactly as TextEncoder, lone surrogates as U+FFFD',
    (s) => {
      const want = encoder.encode(s);
      expect(utf8ByteLength(s)).toBe(want.length);
      expect(utf8Bytes(s)).toEqual(want);
      const out = new Uint8Array(want.length + 4).fill(0xaa);
      expect(writeUtf8(s, out, 2)).toBe(2 + want.length);
      expect(out.subarray(2, 2 + want.length)).toEqual(want);
      expect([out[0], out[1], out[want.length + 2], out[want.length + 3]]).toEqual([0xaa, 0xaa, 0xaa, 0xaa]);
    },
  );

  test.prop([anyString], { numRuns: 300 })(
    'decodes what it encodes (well-formed text comes back as it was)',
    (s) => {
      const bytes = utf8Bytes(s);
      expect(decodeUtf8(bytes, 0, bytes.length)).toBe(decoder.decode(bytes));
      if (!/\p{Surrogate}/u.test(s)) expect(decodeUtf8(bytes, 0, bytes.length)).toBe(s);
    },
  );

  test.prop([fc.uint8Array({ maxLength: 80 }), fc.nat(), fc.nat()], { numRuns: 500 })(
    'decodes any bytes as a fatal TextDecoder does: the same text, or an error',
    (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % bytes.length;
      const end = start + (bytes.length === start ? 0 : b % (bytes.length - start + 1));
      let want: string | undefined;
      try {
        want = decoder.decode(bytes.subarray(start, end));
      } catch {
        want = undefined;
      }
      if (want === undefined) expect(() => decodeUtf8(bytes, start, end)).toThrow(TypeError);
      else expect(decodeUtf8(bytes, start, end)).toBe(want);
    },
  );

  test.prop(
    [
      fc.oneof(
        anyString,
        // Around the lengths where the reserved varint is longer than the real one.
        fc.integer({ min: 40, max: 46 }).map((n) => 'a'.repeat(n)),
        fc.integer({ min: 5455, max: 5470 }).map((n) => 'é'.repeat(n)),
        fc.integer({ min: 5455, max: 5470 }).map((n) => 'b'.repeat(n)),
      ),
      fc.nat(5),
    ],
    { numRuns: 300 },
  )('writes varint(byte length) then the UTF-8, within the room it asks for', (s, at) => {
    const text = encoder.encode(s);
    const len: number[] = [];
    for (let v = text.length; ; v = Math.floor(v / 128)) {
      len.push(v >= 128 ? (v % 128) | 0x80 : v);
      if (v < 128) break;
    }
    const out = new Uint8Array(at + prefixedUtf8BytesMax(s)).fill(0xee);
    const end = writePrefixedUtf8(s, out, at);
    expect(end).toBe(at + len.length + text.length);
    expect(end).toBeLessThanOrEqual(out.length);
    expect(out.subarray(at, end)).toEqual(Uint8Array.of(...len, ...text));
    expect(out.subarray(0, at).every((b) => b === 0xee)).toBe(true);
  });

  it('keeps a leading U+FEFF instead of dropping it as a byte-order mark', () => {
    const bytes = utf8Bytes('\ufeffid');
    expect(bytes).toEqual(Uint8Array.of(0xef, 0xbb, 0xbf, 0x69, 0x64));
    expect(decodeUtf8(bytes, 0, bytes.length)).toBe('\ufeffid');
    const long = `\ufeff${'x'.repeat(2 * UTF8_INLINE_CHARS_MAX)}`;
    const longBytes = utf8Bytes(long);
    expect(decodeUtf8(longBytes, 0, longBytes.length)).toBe(long);
  });
});
