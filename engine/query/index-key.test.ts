import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes } from '../lsm/coding.ts';
import { compareValues } from './compare.ts';
import {
  concatBytes,
  decodeUtf8Range,
  decodeValue,
  encodeText,
  encodeValue,
  KeyWriter,
  prefixEnd,
  skipEscaped,
  skipValue,
} from './index-key.ts';
import type { JsonValue } from './types.ts';

const sign = (x: number) => (x < 0 ? -1 : x > 0 ? 1 : 0);

/** Values that stress the encoding: edge numbers, NUL bytes, astral characters, containers. */
const edgeNumber = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  2 ** 53,
  -(2 ** 53),
  1e-300,
  -1e-300,
);
const text = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', '\0', '\u00ff', '\uffff', '😀', 'é') }),
  fc.string({ unit: 'grapheme' }),
);
const scalar: fc.Arbitrary<JsonValue | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  edgeNumber,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  text,
);
const value: fc.Arbitrary<JsonValue | undefined> = fc.oneof(
  scalar,
  fc.array(fc.oneof(fc.constant(null), fc.integer(), text), { maxLength: 3 }),
  fc.dictionary(text, fc.oneof(fc.integer(), text, fc.constant(null)), { maxKeys: 3 }),
);

describe('index key encoding', () => {
  it('orders bytewise exactly as compareValues', () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(sign(compareBytes(encodeValue(a), encodeValue(b)))).toBe(sign(compareValues(a, b)));
      }),
      { numRuns: 3000 },
    );
  });

  it('orders tuples of values lexicographically, then by the id appended raw', () => {
    fc.assert(
      fc.property(value, value, text, value, value, text, (a1, a2, ida, b1, b2, idb) => {
        const key = (x: JsonValue | undefined, y: JsonValue | undefined, id: string) => {
          const w = new KeyWriter();
          w.value(x);
          w.value(y);
          w.raw(new TextEncoder().encode(id));
          return w.finish();
        };
        const want =
          sign(compareValues(a1, b1)) || sign(compareValues(a2, b2)) || sign(compareValues(ida, idb));
        expect(sign(compareBytes(key(a1, a2, ida), key(b1, b2, idb)))).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodeValue reads back every value (equal in the total order)', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeValue(v);
        const { value: back, end } = decodeValue(bytes, 0);
        expect(end).toBe(bytes.length);
        expect(compareValues(back, v)).toBe(0);
        expect(encodeValue(back)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodeUtf8Range decodes ASCII ids of every length, within a larger key', () => {
    for (let n = 0; n <= 70; n++) {
      const id = Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7 + n) % 95))).join('');
      const key = new Uint8Array(n + 5).fill(0xab);
      key.set(new TextEncoder().encode(id), 3);
      expect(decodeUtf8Range(key, 3, 3 + n)).toBe(id);
    }
    expect(decodeUtf8Range(new TextEncoder().encode('abcd\u00e9f'), 0, 7)).toBe('abcd\u00e9f');
  });

  it('skipValue finds where each value ends, and the raw id decodes back', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 4 }), text, (values, id) => {
        const w = new KeyWriter();
        for (const v of values) w.value(v);
        const idBytes = new TextEncoder().encode(id);
        w.raw(idBytes);
        const key = w.finish();
        let at = 0;
        for (const v of values) {
          const end = skipValue(key, at);
          expect(key.subarray(at, end)).toEqual(encodeValue(v));
          at = end;
        }
        expect(decodeUtf8Range(key, at, key.length)).toBe(id);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes -0 as 0 and lays out numbers and strings as documented', () => {
    expect(encodeValue(-0)).toEqual(encodeValue(0));
    expect([...encodeValue(0)]).toEqual([0x05, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    expect([...encodeValue(1)]).toEqual([0x05, 0xbf, 0xf0, 0, 0, 0, 0, 0, 0]);
    expect([...encodeValue(-1)]).toEqual([0x05, 0x40, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect([...encodeValue('a\0')]).toEqual([0x06, 0x61, 0x00, 0xff, 0x00, 0x01]);
    expect([...encodeValue(undefined)]).toEqual([0x01]);
    expect([...encodeValue(null)]).toEqual([0x02]);
    expect([...encodeValue(false)]).toEqual([0x03]);
    expect([...encodeValue(true)]).toEqual([0x04]);
    expect([...encodeValue([1])]).toEqual([0x07, 0x5b, 0x31, 0x5d, 0x00, 0x01]);
    expect([...encodeValue({ b: 1, a: 2 })].slice(0, 3)).toEqual([0x08, 0x7b, 0x22]);
    expect([...encodeText('x')]).toEqual([0x78, 0x00, 0x01]);
  });

  it('prefixEnd is the least key above every extension of a prefix', () => {
    expect(prefixEnd(Uint8Array.of(1, 2))).toEqual(Uint8Array.of(1, 3));
    expect(prefixEnd(Uint8Array.of(1, 0xff))).toEqual(Uint8Array.of(2));
    expect(prefixEnd(Uint8Array.of(0xff, 0xff))).toBeUndefined();
    expect(concatBytes(Uint8Array.of(1), Uint8Array.of(2))).toEqual(Uint8Array.of(1, 2));
  });

  it('rejects bytes that are not an encoding with CorruptionError', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
        return 'none';
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    expect(code(() => skipValue(new Uint8Array(0), 0))).toBe('ARE_CORRUPTION');
    expect(code(() => skipValue(Uint8Array.of(0x09), 0))).toBe('ARE_CORRUPTION');
    expect(code(() => skipValue(Uint8Array.of(0x00), 0))).toBe('ARE_CORRUPTION');
    expect(code(() => skipValue(Uint8Array.of(0x05, 1, 2), 0))).toBe('ARE_CORRUPTION');
    expect(code(() => skipValue(Uint8Array.of(0x06, 0x61), 0))).toBe('ARE_CORRUPTION');
    expect(code(() => skipEscaped(Uint8Array.of(0x61, 0x00, 0x07, 0x00, 0x01), 0))).toBe('ARE_CORRUPTION');
    expect(code(() => decodeUtf8Range(Uint8Array.of(0xc3), 0, 1))).toBe('ARE_CORRUPTION');
  });
});
