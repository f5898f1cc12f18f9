/**
 * CRC-32C: published test vectors (RFC 3720 appendix B.4 and the usual "123456789" check
 * value), agreement with a bit-at-a-time reference on every length and alignment the
 * slice-by-8 loop distinguishes, incremental updates, and the mask used for stored CRCs.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cUpdate, maskCrc, SLICE16_BYTES_MIN, unmaskCrc } from './crc32c.ts';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Bit-at-a-time CRC-32C: slow, but simple enough to trust as a reference. */
function referenceCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c test vectors', () => {
  it('checks "123456789"', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
  });

  it('checks 32 zero bytes', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });

  it('checks 32 0xFF bytes', () => {
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });

  it('checks bytes 0..31 ascending and descending', () => {
    const up = Uint8Array.from({ length: 32 }, (_, i) => i);
    const down = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
    expect(crc32c(up)).toBe(0x46dd794e);
    expect(crc32c(down)).toBe(0x113fdb5c);
  });

  it('is 0 for no bytes', () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(ascii('abc'), 2, 2)).toBe(0);
  });

  it('returns unsigned 32-bit integers', () => {
    // 0xE3069283 has its top bit set: a signed result would come out negative.
    const c = crc32c(ascii('123456789'));
    expect(c).toBeGreaterThan(0x7fffffff);
    expect(Number.isInteger(c)).toBe(true);
  });
});

describe('crc32c against the bitwise reference', () => {
  it('agrees for every length 0..64 at every start offset 0..8', () => {
    const data = Uint8Array.from({ length: 80 }, (_, i) => (i * 151 + 7) & 0xff);
    for (let start = 0; start <= 8; start++) {
      for (let len = 0; len <= 64; len++) {
        const end = start + len;
        expect(crc32c(data, start, end)).toBe(referenceCrc32c(data.subarray(start, end)));
      }
    }
  });

  it('agrees around the slice-by-16 threshold at every start offset, in views of a larger buffer', () => {
    const buffer = Uint8Array.from({ length: 2 * SLICE16_BYTES_MIN + 64 }, (_, i) => (i * 151 + 7) & 0xff);
    for (let offset = 0; offset <= 5; offset++) {
      const data = buffer.subarray(offset);
      for (let start = 0; start <= 17; start++) {
        for (let len = SLICE16_BYTES_MIN - 17; len <= SLICE16_BYTES_MIN + 33; len++) {
          const end = start + len;
          expect(crc32c(data, start, end)).toBe(referenceCrc32c(data.subarray(start, end)));
        }
      }
    }
  });

  test.prop([fc.uint8Array({ minLength: SLICE16_BYTES_MIN, maxLength: 5000 }), fc.nat({ max: 15 })])(
    'random long arrays, at any offset of a view',
    (data, cut) => {
      const view = data.subarray(Math.min(cut, data.length));
      expect(crc32c(view)).toBe(referenceCrc32c(view));
    },
  );

  it('respects subarray views (byteOffset) and the start/end arguments alike', () => {
    const data = Uint8Array.from({ length: 50 }, (_, i) => (i * 37) & 0xff);
    expect(crc32c(data.subarray(3, 41))).toBe(crc32c(data, 3, 41));
  });

  test.prop([fc.uint8Array({ maxLength: 300 })])('random arrays', (data) => {
    expect(crc32c(data)).toBe(referenceCrc32c(data));
  });

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.nat({ max: 7 })])(
    'detects every single-bit change',
    (data, at, bit) => {
      const before = crc32c(data);
      const changed = data.slice();
      const i = at % changed.length;
      changed[i] = changed[i]! ^ (1 << bit);
      expect(crc32c(changed)).not.toBe(before);
    },
  );
});

describe('crc32cUpdate', () => {
  test.prop([fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat()])(
    'over two split parts equals one pass',
    (data, a, b) => {
      const cut1 = data.length === 0 ? 0 : a % (data.length + 1);
      const cut2 = cut1 + (data.length - cut1 === 0 ? 0 : b % (data.length - cut1 + 1));
      const parts = [data.slice(0, cut1), data.slice(cut1, cut2), data.slice(cut2)];
      let c = 0;
      for (const p of parts) c = crc32cUpdate(c, p);
      expect(c).toBe(crc32c(data));
      // The same through start/end on one buffer.
      const viaRanges = crc32cUpdate(
        crc32cUpdate(crc32cUpdate(0, data, 0, cut1), data, cut1, cut2),
        data,
        cut2,
      );
      expect(viaRanges).toBe(crc32c(data));
    },
  );

  it('matches the vector when "123456789" is fed one byte at a time', () => {
    const data = ascii('123456789');
    let c = 0;
    for (let i = 0; i < data.length; i++) c = crc32cUpdate(c, data, i, i + 1);
    expect(c).toBe(0xe3069283);
  });
});

describe('maskCrc / unmaskCrc', () => {
  // An exhaustive search over all 2^32 inputs (run once, too slow for the suite) found exactly
  // these two fixed points of the mask; LevelDB's identical mask has them too. They are
  // harmless: masking exists to stop CRCs of CRCs matching by accident, not to move every value.
  const FIXED_POINTS = [0x8299f00b, 0xd7ee9ab5];

  test.prop([fc.integer({ min: 0, max: 0xffffffff })])('round trip and masked differs', (crc) => {
    const masked = maskCrc(crc);
    expect(unmaskCrc(masked)).toBe(crc);
    if (!FIXED_POINTS.includes(crc)) expect(masked).not.toBe(crc);
    expect(masked >>> 0).toBe(masked);
  });

  it('has exactly the known fixed points among them, and they still round trip', () => {
    for (const x of FIXED_POINTS) {
      expect(maskCrc(x)).toBe(x);
      expect(unmaskCrc(x)).toBe(x);
    }
  });

  it('round trips the extremes', () => {
    for (const crc of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xe3069283]) {
      expect(unmaskCrc(maskCrc(crc))).toBe(crc);
      expect(maskCrc(crc)).not.toBe(crc);
      expect(maskCrc(unmaskCrc(crc))).toBe(crc);
    }
  });

  it('matches LevelDB on a known value', () => {
    // LevelDB: Mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8.
    expect(maskCrc(0)).toBe(0xa282ead8);
    expect(maskCrc(0xe3069283)).toBe((((0xe3069283 >>> 15) | (0xe3069283 << 17)) + 0xa282ead8) >>> 0);
  });

  it('masks the CRC of a buffer so that the masked value is not that CRC again', () => {
    const data = ascii('123456789');
    const masked = maskCrc(crc32c(data));
    expect(masked).not.toBe(crc32c(data));
    expect(unmaskCrc(masked)).toBe(crc32c(data));
  });
});
