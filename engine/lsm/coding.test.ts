/**
 * Byte coding: varint and fixed-width round trips over edge values and random ones, every way a
 * decoder can be handed bad bytes (each must be a DecodeError with an offset, never a
 * RangeError or a wrong number), ByteWriter growth, and compareBytes against Buffer.compare.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import {
  ByteReader,
  ByteWriter,
  bytesEqual,
  compareBytes,
  DecodeError,
  getU32,
  KeyHolder,
  MAX_VARINT,
  SCRATCH_BYTES_MAX,
  ScratchBuffer,
  varintLength,
} from './coding.ts';

const EDGE_VALUES = [
  0,
  1,
  127,
  128,
  255,
  256,
  16383,
  16384,
  2 ** 21 - 1,
  2 ** 21,
  2 ** 28 - 1,
  2 ** 28,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 35 - 1,
  2 ** 35,
  2 ** 42,
  2 ** 49 - 1,
  2 ** 49,
  2 ** 52,
  MAX_VARINT - 1,
  MAX_VARINT,
];

/** Runs `f` and returns what it threw, failing the test if it returned normally. */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function expectDecodeError(f: () => unknown, offset: number): void {
  const err = thrown(f);
  expect(err).toBeInstanceOf(DecodeError);
  expect((err as DecodeError).offset).toBe(offset);
}

describe('varint', () => {
  it('round trips edge values with the length varintLength predicts', () => {
    for (const v of EDGE_VALUES) {
      const bytes = new ByteWriter().varint(v).finish();
      expect(bytes.length).toBe(varintLength(v));
      const r = new ByteReader(bytes);
      expect(r.varint()).toBe(v);
      expect(r.remaining()).toBe(0);
    }
  });

  it('has the expected lengths at the 7-bit boundaries', () => {
    expect(varintLength(0)).toBe(1);
    expect(varintLength(127)).toBe(1);
    expect(varintLength(128)).toBe(2);
    expect(varintLength(2 ** 32)).toBe(5);
    expect(varintLength(2 ** 49 - 1)).toBe(7);
    expect(varintLength(2 ** 49)).toBe(8);
    expect(varintLength(MAX_VARINT)).toBe(8);
  });

  it('encodes in LEB128 (low groups first, continuation bit set)', () => {
    expect([...new ByteWriter().varint(300).finish()]).toEqual([0xac, 0x02]);
    expect([...new ByteWriter().varint(MAX_VARINT).finish()]).toEqual([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f,
    ]);
  });

  test.prop([
    fc.array(fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constantFrom(...EDGE_VALUES)), { maxLength: 40 }),
  ])('round trips random sequences back to back', (values) => {
    const w = new ByteWriter(1);
    for (const v of values) w.varint(v);
    const bytes = w.finish();
    expect(bytes.length).toBe(values.reduce((n, v) => n + varintLength(v), 0));
    const r = new ByteReader(bytes);
    for (const v of values) expect(r.varint()).toBe(v);
    expect(r.remaining()).toBe(0);
  });

  it('rejects a truncated varint at the offset where it starts', () => {
    expectDecodeError(() => new ByteReader(Uint8Array.of(0x80)).varint(), 0);
    expectDecodeError(() => new ByteReader(new Uint8Array(0)).varint(), 0);
    const r = new ByteReader(Uint8Array.of(0x05, 0xff, 0xff));
    expect(r.varint()).toBe(5);
    expectDecodeError(() => r.varint(), 1);
  });

  it('rejects every proper prefix of a long varint', () => {
    const bytes = new ByteWriter().varint(MAX_VARINT).finish();
    for (let n = 0; n < bytes.length; n++)
      expectDecodeError(() => new ByteReader(bytes.subarray(0, n)).varint(), 0);
  });

  it('stops at the end given to the reader, not the end of the buffer', () => {
    const bytes = Uint8Array.of(0x80, 0x01);
    expectDecodeError(() => new ByteReader(bytes, 0, 1).varint(), 0);
    expect(new ByteReader(bytes, 0, 2).varint()).toBe(128);
  });

  it('rejects a varint longer than 8 bytes', () => {
    const nine = Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    expectDecodeError(() => new ByteReader(nine).varint(), 0);
    const prefixed = Uint8Array.of(0x07, ...nine);
    const r = new ByteReader(prefixed);
    r.u8();
    expectDecodeError(() => r.varint(), 1);
  });

  it('rejects values above 2^53 - 1', () => {
    // 2^53 = 2^(7*7 + 4): seven zero groups with continuation, then 0x10.
    const twoTo53 = Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10);
    expectDecodeError(() => new ByteReader(twoTo53).varint(), 0);
    const max56 = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f);
    expectDecodeError(() => new ByteReader(max56).varint(), 0);
    const justBelow = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f);
    expect(new ByteReader(justBelow).varint()).toBe(MAX_VARINT);
  });

  it('refuses to encode values no reader would accept', () => {
    for (const bad of [-1, 0.5, MAX_VARINT + 1, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new ByteWriter().varint(bad)).toThrow(AssertionError);
      expect(() => new ByteWriter().u64(bad)).toThrow(AssertionError);
    }
  });
});

describe('fixed-width integers', () => {
  test.prop([fc.integer({ min: 0, max: 0xffffffff }), fc.maxSafeNat(), fc.nat({ max: 255 })])(
    'u8, u32 and u64 round trip little-endian',
    (a, b, c) => {
      const bytes = new ByteWriter(2).u32(a).u64(b).u8(c).finish();
      expect(bytes.length).toBe(13);
      expect(getU32(bytes, 0)).toBe(a);
      expect(bytes[0]).toBe(a & 0xff);
      const r = new ByteReader(bytes);
      expect(r.u32()).toBe(a);
      expect(r.u64()).toBe(b);
      expect(r.u8()).toBe(c);
      expect(r.remaining()).toBe(0);
    },
  );

  it('writes u64 halves little-endian', () => {
    const bytes = new ByteWriter().u64(2 ** 32 + 2).finish();
    expect([...bytes]).toEqual([2, 0, 0, 0, 1, 0, 0, 0]);
    expect(new ByteReader(new ByteWriter().u64(MAX_VARINT).finish()).u64()).toBe(MAX_VARINT);
  });

  it('rejects a u64 above 2^53 - 1 at its offset', () => {
    const bytes = new Uint8Array(10);
    bytes[1 + 6] = 0x20; // byte 6 of the u64 holds bits 48..55; 0x20 << 48 = 2^53.
    const r = new ByteReader(bytes);
    r.u8();
    expectDecodeError(() => r.u64(), 1);
    const all = new Uint8Array(8).fill(0xff);
    expectDecodeError(() => new ByteReader(all).u64(), 0);
  });

  it('reports each short read at the position it started from', () => {
    const bytes = Uint8Array.of(1, 2, 3);
    expectDecodeError(() => new ByteReader(bytes).u32(), 0);
    expectDecodeError(() => new ByteReader(bytes).u64(), 0);
    const r = new ByteReader(bytes);
    r.u8();
    r.u8();
    r.u8();
    expectDecodeError(() => r.u8(), 3);
    expectDecodeError(() => new ByteReader(bytes, 1).bytes(3), 1);
  });

  it('reads through a subarray view with a non-zero byteOffset', () => {
    const backing = new Uint8Array(20);
    const view = backing.subarray(3, 15);
    new DataView(backing.buffer).setUint32(3, 0xdeadbeef, true);
    expect(new ByteReader(view).u32()).toBe(0xdeadbeef);
    expect(getU32(view, 0)).toBe(0xdeadbeef);
  });
});

describe('length-prefixed bytes', () => {
  test.prop([fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 })])('round trip', (parts) => {
    const w = new ByteWriter(0);
    for (const p of parts) w.lengthPrefixed(p);
    const r = new ByteReader(w.finish());
    for (const p of parts) expect(r.lengthPrefixed()).toEqual(p);
    expect(r.remaining()).toBe(0);
  });

  it('rejects a length that runs past the end, at the payload offset', () => {
    const bytes = new ByteWriter()
      .varint(10)
      .bytes(Uint8Array.of(1, 2, 3))
      .finish();
    expectDecodeError(() => new ByteReader(bytes).lengthPrefixed(), 1);
    const huge = new ByteWriter().varint(MAX_VARINT).finish();
    expectDecodeError(() => new ByteReader(huge).lengthPrefixed(), 8);
  });
});

describe('decoding random bytes', () => {
  const op = fc.constantFrom('u8', 'u32', 'u64', 'varint', 'lengthPrefixed', 'bytes') as fc.Arbitrary<
    'u8' | 'u32' | 'u64' | 'varint' | 'lengthPrefixed' | 'bytes'
  >;

  test.prop([fc.uint8Array({ maxLength: 40 }), fc.array(op, { maxLength: 20 }), fc.nat({ max: 50 })])(
    'only ever throws DecodeError with an offset inside the buffer',
    (bytes, ops, n) => {
      const r = new ByteReader(bytes);
      for (const o of ops) {
        const before = r.pos;
        try {
          if (o === 'bytes') r.bytes(n);
          else r[o]();
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
          const at = (err as DecodeError).offset;
          expect(Number.isInteger(at)).toBe(true);
          expect(at).toBeGreaterThanOrEqual(before);
          expect(at).toBeLessThanOrEqual(bytes.length);
          return;
        }
        expect(r.pos).toBeGreaterThanOrEqual(before);
        expect(r.pos).toBeLessThanOrEqual(bytes.length);
      }
    },
  );
});

describe('ByteWriter', () => {
  it('grows from every small initial capacity, including zero', () => {
    for (const initial of [0, 1, 2, 3, 7, 8]) {
      const w = new ByteWriter(initial);
      for (let i = 0; i < 1000; i++) w.u8(i & 0xff);
      w.u32(0x01020304)
        .u64(2 ** 40)
        .varint(MAX_VARINT)
        .bytes(new Uint8Array(5000).fill(9));
      expect(w.length).toBe(1000 + 4 + 8 + 8 + 5000);
      const out = w.finish();
      for (let i = 0; i < 1000; i++) expect(out[i]).toBe(i & 0xff);
      const r = new ByteReader(out, 1000);
      expect(r.u32()).toBe(0x01020304);
      expect(r.u64()).toBe(2 ** 40);
      expect(r.varint()).toBe(MAX_VARINT);
      expect(r.bytes(5000).every((b) => b === 9)).toBe(true);
    }
  });

  it('grows correctly when a single write needs more than double the capacity', () => {
    const big = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251);
    const w = new ByteWriter(4).u8(7).bytes(big).u8(8);
    const out = w.finish();
    expect(out.length).toBe(100_002);
    expect(out[0]).toBe(7);
    expect(bytesEqual(out.subarray(1, 100_001), big)).toBe(true);
    expect(out[100_001]).toBe(8);
  });

  it('peek shares memory, finish copies, reset keeps nothing', () => {
    const w = new ByteWriter(16).u32(1);
    const peeked = w.peek();
    const finished = w.finish();
    w.patchU32(0, 0xaabbccdd);
    expect(getU32(peeked, 0)).toBe(0xaabbccdd);
    expect(getU32(finished, 0)).toBe(1);
    expect(finished.buffer).not.toBe(peeked.buffer);
    w.reset();
    expect(w.length).toBe(0);
    expect(w.finish().length).toBe(0);
    w.u8(5);
    expect([...w.finish()]).toEqual([5]);
  });

  it('patchU32 overwrites in place after growth', () => {
    const w = new ByteWriter(4).u32(0);
    w.bytes(new Uint8Array(100));
    w.patchU32(0, 0xffffffff);
    expect(getU32(w.finish(), 0)).toBe(0xffffffff);
    expect(w.length).toBe(104);
  });
});

describe('ScratchBuffer', () => {
  it('hands back one buffer of at least the room asked, growing it up to the limit', () => {
    const scratch = new ScratchBuffer();
    const small = scratch.take(10);
    expect(small.length).toBeGreaterThanOrEqual(10);
    expect(scratch.take(100)).toBe(small);
    const grown = scratch.take(small.length + 1);
    expect(grown.length).toBeGreaterThan(small.length);
    expect(scratch.take(1)).toBe(grown);
    expect(scratch.take(SCRATCH_BYTES_MAX).length).toBe(SCRATCH_BYTES_MAX);
  });

  it('keeps buffers up to the maximum it was made with', () => {
    const scratch = new ScratchBuffer(16, 100);
    expect(scratch.take(1).length).toBe(16);
    expect(scratch.take(17).length).toBe(32);
    expect(scratch.take(99).length).toBe(100);
    const own = scratch.take(101);
    expect(own.length).toBe(101);
    expect(scratch.take(1).length).toBe(100);
    expect(() => new ScratchBuffer(200, 100)).toThrow(AssertionError);
  });

  it('gives a request past the limit a buffer of its own and keeps the shared one', () => {
    const scratch = new ScratchBuffer();
    const shared = scratch.take(1);
    const big = scratch.take(SCRATCH_BYTES_MAX + 1);
    expect(big.length).toBe(SCRATCH_BYTES_MAX + 1);
    expect(big).not.toBe(shared);
    expect(scratch.take(1)).toBe(shared);
  });
});

describe('compareBytes and bytesEqual', () => {
  // `+ 0` turns -0 into 0, which toBe (Object.is) would otherwise tell apart.
  const sign = (n: number) => Math.sign(n) + 0;
  // Short arrays over a small alphabet, so that equal prefixes and equal arrays are common.
  const short = fc.uint8Array({ maxLength: 6, min: 0, max: 3 });

  test.prop([short, short])('agree with Buffer.compare', (a, b) => {
    expect(sign(compareBytes(a, b))).toBe(Buffer.compare(a, b));
    expect(sign(compareBytes(b, a))).toBe(sign(-compareBytes(a, b)));
    expect(bytesEqual(a, b)).toBe(Buffer.compare(a, b) === 0);
  });

  test.prop([fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 })])(
    'agree with Buffer.compare on full-range bytes',
    (a, b) => {
      expect(sign(compareBytes(a, b))).toBe(Buffer.compare(a, b));
    },
  );

  it('orders bytes unsigned and a prefix first', () => {
    expect(compareBytes(Uint8Array.of(0xff), Uint8Array.of(0x00))).toBeGreaterThan(0);
    expect(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBeLessThan(0);
    expect(compareBytes(new Uint8Array(0), new Uint8Array(0))).toBe(0);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false);
  });

  test.prop([fc.array(short, { maxLength: 30 })])('sorts like Buffer.compare', (arrays) => {
    const ours = [...arrays].sort(compareBytes).map((a) => Buffer.from(a).toString('hex'));
    const ref = [...arrays].sort(Buffer.compare).map((a) => Buffer.from(a).toString('hex'));
    expect(ours).toEqual(ref);
  });
});

describe('KeyHolder', () => {
  test.prop([fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 30 })])(
    'holds a copy of the last key set, whatever the lengths',
    (keys) => {
      const h = new KeyHolder();
      for (const k of keys) {
        const source = k.slice();
        const view = h.set(source);
        source.fill(0x5a); // the holder keeps its own copy
        expect(view).toEqual(k);
        expect(h.view).toBe(view);
      }
    },
  );

  it('starts empty', () => {
    expect(new KeyHolder().view).toHaveLength(0);
  });
});
