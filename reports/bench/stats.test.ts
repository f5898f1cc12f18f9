import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { median, roundOrder, summarizeSamples } from './stats.ts';

describe('median', () => {
  it('is the middle value of an odd count, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([7])).toBe(7);
  });

  it('is the mean of the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('ignores one extreme outlier that would move the mean', () => {
    expect(median([10, 11, 12, 10_000])).toBe(11.5);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('rejects no values and non-finite values', () => {
    expect(() => median([])).toThrow(/no values/);
    expect(() => median([1, Number.NaN])).toThrow(/non-finite/);
    expect(() => median([Number.POSITIVE_INFINITY])).toThrow(/non-finite/);
  });

  test.prop([fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 50 })])(
    'has as many values at or below it as at or above it',
    (values) => {
      const m = median(values);
      const below = values.filter((v) => v <= m).length;
      const above = values.filter((v) => v >= m).length;
      expect(below).toBeGreaterThanOrEqual(values.length / 2);
      expect(above).toBeGreaterThanOrEqual(values.length / 2);
    },
  );
});

describe('roundOrder', () => {
  it('rotates the systems by one place per round', () => {
    const systems = ['aregula', 'classic-level', 'map'];
    expect(roundOrder(systems, 0)).toEqual(['aregula', 'classic-level', 'map']);
    expect(roundOrder(systems, 1)).toEqual(['classic-level', 'map', 'aregula']);
    expect(roundOrder(systems, 2)).toEqual(['map', 'aregula', 'classic-level']);
    expect(roundOrder(systems, 3)).toEqual(['aregula', 'classic-level', 'map']);
  });

  it('alternates two systems', () => {
    expect([0, 1, 2, 3].map((r) => roundOrder(['a', 'b'], r).join(''))).toEqual(['ab', 'ba', 'ab', 'ba']);
  });

  it('handles no systems and one system', () => {
    expect(roundOrder([], 5)).toEqual([]);
    expect(roundOrder(['x'], 4)).toEqual(['x']);
  });

  it('rejects negative and fractional rounds', () => {
    expect(() => roundOrder(['a'], -1)).toThrow(/non-negative/);
    expect(() => roundOrder(['a'], 1.5)).toThrow(/integer/);
  });

  test.prop([fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 1000 })])(
    'puts every system in every position exactly once over any k consecutive rounds',
    (k, start) => {
      const systems = Array.from({ length: k }, (_, i) => `s${i}`);
      for (let position = 0; position < k; position++) {
        const seen = new Set<string>();
        for (let r = start; r < start + k; r++) seen.add(roundOrder(systems, r)[position]!);
        expect(seen.size).toBe(k);
      }
      expect([...roundOrder(systems, start)].sort()).toEqual([...systems].sort());
    },
  );
});

describe('summarizeSamples', () => {
  it('reports the median time per operation and the rate it implies', () => {
    // Three samples of 1000 ops taking 10, 20 and 1000 ms: the slow one is an outlier.
    const s = summarizeSamples([20, 1000, 10], 1000);
    expect(s.medianMsPerOp).toBeCloseTo(0.02, 12);
    expect(s.opsPerSec).toBeCloseTo(50_000, 6);
    expect(s.samples).toBe(3);
  });

  it('keeps a zero-time sample finite instead of claiming infinite speed', () => {
    const s = summarizeSamples([0], 10);
    expect(Number.isFinite(s.opsPerSec)).toBe(true);
    expect(s.opsPerSec).toBeGreaterThan(0);
  });

  it('rejects no samples, negative times and bad operation counts', () => {
    expect(() => summarizeSamples([], 1)).toThrow(/no samples/);
    expect(() => summarizeSamples([-1], 1)).toThrow(/negative/);
    expect(() => summarizeSamples([1], 0)).toThrow(/positive/);
    expect(() => summarizeSamples([1], 2.5)).toThrow(/integer/);
  });
});
