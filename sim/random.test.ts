/**
 * SimRandom: seed normalisation, agreement with SeededRandom underneath, FNV-1a test vectors,
 * each helper's range and distribution, fixed draw counts, invalid arguments, and the
 * independence of named sub-streams from each other and from the parent's position.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../engine/io/random.ts';
import { deriveSeed, fnv1a32, mix32, SimRandom } from './random.ts';

function draws(r: SimRandom, n: number): number[] {
  return Array.from({ length: n }, () => r.u32());
}

describe('seeds', () => {
  it('replays the same sequence from the same seed', () => {
    expect(draws(new SimRandom(7), 20)).toEqual(draws(new SimRandom(7), 20));
  });

  it('gives different sequences for neighbouring seeds', () => {
    expect(draws(new SimRandom(7), 4)).not.toEqual(draws(new SimRandom(8), 4));
  });

  it('normalises any integer to u32', () => {
    expect(new SimRandom(-1).seed).toBe(0xffffffff);
    expect(new SimRandom(2 ** 32 + 5).seed).toBe(5);
    expect(draws(new SimRandom(2 ** 32 + 5), 5)).toEqual(draws(new SimRandom(5), 5));
    expect(draws(new SimRandom(-1), 5)).toEqual(draws(new SimRandom(0xffffffff), 5));
  });

  it('rejects seeds that are not integers', () => {
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new SimRandom(bad)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
    }
  });

  it('is sfc32 seeded through splitmix32, as SeededRandom', () => {
    const a = new SimRandom(123);
    const b = new SeededRandom(123);
    expect(draws(a, 10)).toEqual(Array.from({ length: 10 }, () => b.u32()));
    expect(a.next()).toBe(b.next());
  });
});

describe('sub-seed derivation', () => {
  it('computes FNV-1a 32 test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('derives a stream seed from the seed and the name only', () => {
    expect(new SimRandom(42).stream('net').seed).toBe(mix32(mix32(42) ^ fnv1a32('net')));
    expect(deriveSeed(42, 'net')).not.toBe(deriveSeed(43, 'net'));
    expect(deriveSeed(42, 'net')).not.toBe(deriveSeed(42, 'nes'));
  });

  test.prop([fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })])(
    'mix32 is injective on the sampled pairs',
    (x, y) => {
      fc.pre(x !== y);
      expect(mix32(x)).not.toBe(mix32(y));
    },
  );
});

describe('streams', () => {
  it('returns one object per name, continuing where it was', () => {
    const r = new SimRandom(1);
    const s = r.stream('net');
    expect(r.stream('net')).toBe(s);
    const first = s.u32();
    const fresh = new SimRandom(1).stream('net');
    expect(fresh.u32()).toBe(first);
    expect(r.stream('net').u32()).toBe(fresh.u32());
  });

  it('does not depend on how far the parent has drawn', () => {
    const drawn = new SimRandom(9);
    draws(drawn, 1000);
    expect(draws(drawn.stream('disk'), 10)).toEqual(draws(new SimRandom(9).stream('disk'), 10));
  });

  it('differs from the parent and from other names', () => {
    const r = new SimRandom(9);
    const a = draws(r.stream('a'), 4);
    expect(a).not.toEqual(draws(r.stream('b'), 4));
    expect(a).not.toEqual(draws(new SimRandom(9), 4));
    expect(draws(r.stream('a').stream('b'), 4)).not.toEqual(draws(r.stream('b'), 4));
  });

  test.prop([fc.integer(), fc.string(), fc.string(), fc.nat({ max: 500 })])(
    'drawing more from stream A never changes stream B',
    (seed, nameA, nameB, extra) => {
      fc.pre(nameA !== nameB);
      const quiet = new SimRandom(seed);
      const busy = new SimRandom(seed);
      draws(busy.stream(nameA), extra);
      busy.stream(nameA).chance(0.5);
      expect(draws(busy.stream(nameB), 8)).toEqual(draws(quiet.stream(nameB), 8));
    },
  );
});

describe('int', () => {
  test.prop([fc.integer(), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })])(
    'stays in [0, n)',
    (seed, n) => {
      const r = new SimRandom(seed);
      for (let i = 0; i < 20; i++) {
        const x = r.int(n);
        expect(Number.isInteger(x)).toBe(true);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThan(n);
      }
    },
  );

  it('returns 0 for n = 1 and reaches every value of a small n about equally', () => {
    const r = new SimRandom(3);
    expect(r.int(1)).toBe(0);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 50_000; i++) counts[r.int(10)]! += 1;
    // Expected 5000 each, standard deviation about 67: 5% is more than 3.5 deviations.
    for (const c of counts) expect(Math.abs(c - 5000)).toBeLessThan(250);
  });

  it('uses the high bits above 2^32 (both halves of the range are hit)', () => {
    const r = new SimRandom(4);
    const n = 2 ** 40;
    let high = 0;
    for (let i = 0; i < 1000; i++) if (r.int(n) >= n / 2) high++;
    expect(high).toBeGreaterThan(400);
    expect(high).toBeLessThan(600);
  });

  it('rejects n that is not a positive safe integer', () => {
    const r = new SimRandom(1);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => r.int(bad)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
    }
  });
});

describe('chance', () => {
  it('is never true at 0 and always true at 1', () => {
    const r = new SimRandom(5);
    for (let i = 0; i < 1000; i++) {
      expect(r.chance(0)).toBe(false);
      expect(r.chance(1)).toBe(true);
    }
  });

  it('consumes exactly one draw whatever p is', () => {
    for (const p of [0, 0.3, 1]) {
      const a = new SimRandom(6);
      const b = new SimRandom(6);
      a.chance(p);
      b.next();
      expect(a.u32()).toBe(b.u32());
    }
  });

  it('is true at about the rate asked', () => {
    const r = new SimRandom(7);
    let hits = 0;
    for (let i = 0; i < 20_000; i++) if (r.chance(0.25)) hits++;
    // Standard deviation about 61: 300 is about 5 deviations.
    expect(Math.abs(hits - 5000)).toBeLessThan(300);
  });

  it('rejects p outside [0, 1]', () => {
    const r = new SimRandom(1);
    for (const bad of [-0.01, 1.01, Number.NaN]) {
      expect(() => r.chance(bad)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
    }
  });
});

describe('range', () => {
  it('includes both ends and nothing outside', () => {
    const r = new SimRandom(8);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(r.range(-3, 3));
    expect([...seen].sort((x, y) => x - y)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(r.range(5, 5)).toBe(5);
  });

  it('rejects min > max and non-integers', () => {
    const r = new SimRandom(1);
    expect(() => r.range(2, 1)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
    expect(() => r.range(0.5, 1)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
    expect(() => r.range(0, Number.NaN)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
  });
});

describe('pick', () => {
  it('returns every element eventually and only elements', () => {
    const r = new SimRandom(9);
    const items = ['a', 'b', 'c'] as const;
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(r.pick(items));
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
  });

  it('throws on an empty list', () => {
    expect(() => new SimRandom(1).pick([])).toThrow(
      expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }),
    );
  });
});

describe('exponential', () => {
  it('is non-negative with about the mean asked', () => {
    const r = new SimRandom(10);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = r.exponential(40);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(x)).toBe(true);
      sum += x;
    }
    // Standard error of the mean: 40 / sqrt(20000) = 0.28; 1.5 is over 5 of them.
    expect(Math.abs(sum / 20_000 - 40)).toBeLessThan(1.5);
  });

  it('is 0 for mean 0 and rejects negative or infinite means', () => {
    const r = new SimRandom(1);
    expect(r.exponential(0)).toBe(0);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => r.exponential(bad)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
    }
  });
});
