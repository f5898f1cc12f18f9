import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import {
  BLOOM_MAX_PROBES,
  BLOOM_MIN_BITS,
  BLOOM_SUFFIX_BYTES,
  BloomFilter,
  BloomFilterBuilder,
  bloomFalsePositiveRate,
  bloomProbes,
  murmur3x86_32,
} from './bloom.ts';
import { DecodeError } from './coding.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('murmur3x86_32', () => {
  it('matches the published reference values', () => {
    expect(murmur3x86_32(new Uint8Array(0), 0)).toBe(0);
    expect(murmur3x86_32(new Uint8Array(0), 1)).toBe(0x514e28b7);
    expect(murmur3x86_32(new Uint8Array(0), 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3x86_32(utf8('hello'), 0)).toBe(0x248bfa47);
    expect(murmur3x86_32(utf8('The quick brown fox jumps over the lazy dog'), 0x9747b28c)).toBe(0x2fa826cd);
  });

  it('returns unsigned 32-bit values and depends on the seed', () => {
    const k = utf8('abc');
    const a = murmur3x86_32(k, 1);
    const b = murmur3x86_32(k, 2);
    expect(a).not.toBe(b);
    for (const h of [a, b]) {
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
    }
  });
});

describe('bloomProbes', () => {
  it('is round(bitsPerKey * ln 2) clamped to 1..30', () => {
    expect(bloomProbes(1)).toBe(1);
    expect(bloomProbes(0)).toBe(1);
    expect(bloomProbes(5)).toBe(3);
    expect(bloomProbes(10)).toBe(7);
    expect(bloomProbes(15)).toBe(10);
    expect(bloomProbes(44)).toBe(30);
    expect(bloomProbes(64)).toBe(BLOOM_MAX_PROBES);
  });
});

describe('bloomFalsePositiveRate', () => {
  it('is (1 - e^(-kn/m))^k', () => {
    expect(bloomFalsePositiveRate({ keys: 0, bits: 64, probes: 3 })).toBe(0);
    expect(bloomFalsePositiveRate({ keys: 1000, bits: 10000, probes: 7 })).toBeCloseTo(0.00819, 5);
  });
});

describe('BloomFilterBuilder', () => {
  it('encodes bits, then the bit count (u32 LE), then the probe count', () => {
    const b = new BloomFilterBuilder(10);
    for (let i = 0; i < 100; i++) b.add(utf8(`k${i}`));
    const bytes = b.finish();
    expect(bytes.length).toBe(1000 / 8 + BLOOM_SUFFIX_BYTES);
    expect(b.estimatedBytes()).toBe(bytes.length);
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(125, true)).toBe(1000);
    expect(bytes[129]).toBe(7);
  });

  it('never makes a filter smaller than the minimum, even with no keys', () => {
    const bytes = new BloomFilterBuilder(10).finish();
    expect(bytes.length).toBe(BLOOM_MIN_BITS / 8 + BLOOM_SUFFIX_BYTES);
    const f = BloomFilter.decode(bytes);
    expect(f.mayContain(utf8('anything'))).toBe(false);
  });

  it('rejects a non-positive or fractional bits per key', () => {
    expect(() => new BloomFilterBuilder(0)).toThrow(AssertionError);
    expect(() => new BloomFilterBuilder(2.5)).toThrow(AssertionError);
  });

  test.prop([
    fc.uniqueArray(fc.uint8Array({ maxLength: 20 }), { maxLength: 300 }),
    fc.integer({ min: 1, max: 20 }),
  ])('has no false negatives', (keys, bitsPerKey) => {
    const b = new BloomFilterBuilder(bitsPerKey);
    for (const k of keys) b.add(k);
    const f = BloomFilter.decode(b.finish());
    expect(f.probes).toBe(bloomProbes(bitsPerKey));
    for (const k of keys) expect(f.mayContain(k)).toBe(true);
  });
});

describe('BloomFilter.decode', () => {
  const valid = (): Uint8Array => {
    const b = new BloomFilterBuilder(10);
    b.add(utf8('x'));
    return b.finish();
  };

  it('rejects filters that are too short', () => {
    expect(() => BloomFilter.decode(new Uint8Array(0))).toThrow(DecodeError);
    expect(() => BloomFilter.decode(valid().subarray(0, 12))).toThrow(DecodeError);
  });

  it('rejects a bit count that disagrees with the length', () => {
    const bytes = valid();
    new DataView(bytes.buffer).setUint32(8, 72, true);
    expect(() => BloomFilter.decode(bytes)).toThrow(/disagrees/);
  });

  it('rejects probe counts outside 1..30', () => {
    for (const probes of [0, 31, 255]) {
      const bytes = valid();
      bytes[12] = probes;
      expect(() => BloomFilter.decode(bytes)).toThrow(DecodeError);
    }
  });

  test.prop([fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 8 })])(
    'on arbitrary bytes either decodes to a usable filter or throws DecodeError',
    (bytes, probe) => {
      let f: BloomFilter;
      try {
        f = BloomFilter.decode(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        return;
      }
      expect(typeof f.mayContain(probe)).toBe('boolean');
    },
  );
});

/** A key from a counter: text keys, or 4-byte big-endian integers (no murmur tail bytes). */
type KeyOf = (i: number) => Uint8Array;
const textKey: KeyOf = (i) => utf8(`user/${i}/profile`);
const binaryKey: KeyOf = (i) => {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, i);
  return k;
};

/** Measures the false-positive rate of a filter over keys 0..n-1 against `absent` keys n.. */
function measure(options: { bitsPerKey: number; n: number; absent: number; keyOf: KeyOf }) {
  const { bitsPerKey, n, absent, keyOf } = options;
  const b = new BloomFilterBuilder(bitsPerKey);
  for (let i = 0; i < n; i++) b.add(keyOf(i));
  const f = BloomFilter.decode(b.finish());
  for (let i = 0; i < n; i++) expect(f.mayContain(keyOf(i))).toBe(true);
  let falsePositives = 0;
  for (let i = n; i < n + absent; i++) if (f.mayContain(keyOf(i))) falsePositives++;
  const measured = falsePositives / absent;
  const theory = bloomFalsePositiveRate({ keys: n, bits: f.bits, probes: f.probes });
  return { measured, theory };
}

describe('false-positive rate', () => {
  // Absent probes are chosen so each expected count is >= ~700, making 25% about 7 sigma.
  const cases = [
    { bitsPerKey: 5, absent: 100_000, keyOf: textKey, kind: 'text' },
    { bitsPerKey: 10, absent: 200_000, keyOf: textKey, kind: 'text' },
    { bitsPerKey: 15, absent: 1_000_000, keyOf: textKey, kind: 'text' },
    { bitsPerKey: 10, absent: 200_000, keyOf: binaryKey, kind: 'u32' },
  ];
  for (const { bitsPerKey, absent, keyOf, kind } of cases) {
    it(`matches theory within 25% at ${bitsPerKey} bits/key (n = 10,000 ${kind} keys, ${absent} absent)`, () => {
      const { measured, theory } = measure({ bitsPerKey, n: 10_000, absent, keyOf });
      const pct = (x: number): string => `${(x * 100).toFixed(4)}%`;
      const ratio = (measured / theory).toFixed(3);
      console.log(
        `bloom ${bitsPerKey} bits/key, ${kind} keys: FPR ${pct(measured)}, theory ${pct(theory)}, ratio ${ratio}`,
      );
      expect(Math.abs(measured - theory) / theory).toBeLessThanOrEqual(0.25);
    });
  }
});

describe('probe sequence', () => {
  /** The textbook encoder: bit (h1 + p·h2) mod m, computed with a float division per probe. */
  function referenceFilter(keys: Uint8Array[], bitsPerKey: number): Uint8Array {
    const bits = Math.max(BLOOM_MIN_BITS, Math.ceil((keys.length * bitsPerKey) / 8) * 8);
    const probes = bloomProbes(bitsPerKey);
    const out = new Uint8Array(bits / 8 + BLOOM_SUFFIX_BYTES);
    for (const k of keys) {
      const h1 = murmur3x86_32(k, 0x6a09e667);
      const h2 = murmur3x86_32(k, 0xbb67ae85);
      for (let p = 0; p < probes; p++) {
        const bit = (h1 + p * h2) % bits;
        out[bit >>> 3]! |= 1 << (bit & 7);
      }
    }
    new DataView(out.buffer).setUint32(bits / 8, bits, true);
    out[bits / 8 + 4] = probes;
    return out;
  }

  test.prop(
    [
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 300 }),
      fc.integer({ min: 1, max: 64 }),
    ],
    {
      numRuns: 200,
    },
  )('stepping the probes gives the same bytes as the formula, and finds every key', (keys, bitsPerKey) => {
    const b = new BloomFilterBuilder(bitsPerKey);
    for (const k of keys) b.add(k);
    const bytes = b.finish();
    expect(bytes).toEqual(referenceFilter(keys, bitsPerKey));
    const f = BloomFilter.decode(bytes);
    for (const k of keys) expect(f.mayContain(k)).toBe(true);
  });

  it('addUserKeyOf hashes the user key of an internal key, like add of the user key', () => {
    const user = utf8('user-key-1');
    const ikey = new Uint8Array(user.length + 8);
    ikey.set(user);
    ikey.fill(0xab, user.length);
    const a = new BloomFilterBuilder(10);
    a.add(user);
    const b = new BloomFilterBuilder(10);
    b.addUserKeyOf(ikey);
    expect(b.finish()).toEqual(a.finish());
    expect(murmur3x86_32(ikey, 7, 0, user.length)).toBe(murmur3x86_32(user, 7));
  });
});
