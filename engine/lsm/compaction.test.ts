/**
 * Size-tiered compaction picking on hand-built size lists (all small, similar big ones, mixed,
 * long lists), the softMaxRuns fallback against a brute-force cheapest window, and a property:
 * whatever the sizes and policy, a pick is a contiguous window inside the list, at most maxRuns
 * long, that is either a bucket of similar sizes or the cheapest fallback window.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  BUCKET_HIGH,
  BUCKET_LOW,
  type CompactionPick,
  pickTieredCompaction,
  type TieredPolicy,
} from './compaction.ts';

const MIB = 1024 * 1024;
const POLICY: TieredPolicy = { minRuns: 4, maxRuns: 32, smallTableBytes: 8 * MIB, softMaxRuns: 32 };

const pick = (sizes: number[], over: Partial<TieredPolicy> = {}): CompactionPick | undefined =>
  pickTieredCompaction(sizes, { ...POLICY, ...over });

/** True when sizes[start, end) would all join one bucket, by the documented rule. */
function isBucket(sizes: readonly number[], start: number, end: number, policy: TieredPolicy): boolean {
  let sum = sizes[start]!;
  for (let j = start + 1; j < end; j++) {
    const s = sizes[j]!;
    const avg = sum / (j - start);
    const small = s < policy.smallTableBytes && avg < policy.smallTableBytes;
    if (!small && (s < avg * BUCKET_LOW || s > avg * BUCKET_HIGH)) return false;
    sum += s;
  }
  return true;
}

/** The smallest total of `width` adjacent sizes, and the first window that has it. */
function cheapest(sizes: readonly number[], width: number): { start: number; sum: number } {
  let best = { start: 0, sum: Number.POSITIVE_INFINITY };
  for (let i = 0; i + width <= sizes.length; i++) {
    const sum = sizes.slice(i, i + width).reduce((a, b) => a + b, 0);
    if (sum < best.sum) best = { start: i, sum };
  }
  return best;
}

describe('pickTieredCompaction on hand-built lists', () => {
  it('picks nothing from an empty list or too few runs', () => {
    expect(pick([])).toBeUndefined();
    expect(pick([MIB])).toBeUndefined();
    expect(pick([MIB, MIB, MIB])).toBeUndefined();
  });

  it('merges small tables whatever their ratios', () => {
    expect(pick([1, 7 * MIB, 100, 3 * MIB])).toEqual({ start: 0, end: 4 });
    expect(pick([1, 7 * MIB, 100, 3 * MIB, 5])).toEqual({ start: 0, end: 5 });
  });

  it('merges at most maxRuns tables', () => {
    expect(pick(new Array(40).fill(MIB))).toEqual({ start: 0, end: 32 });
    expect(pick(new Array(10).fill(MIB), { maxRuns: 6 })).toEqual({ start: 0, end: 6 });
    expect(pick(new Array(10).fill(MIB), { maxRuns: 4 })).toEqual({ start: 0, end: 4 });
  });

  it('merges big tables of similar size', () => {
    const big = [100 * MIB, 120 * MIB, 90 * MIB, 110 * MIB];
    expect(pick(big)).toEqual({ start: 0, end: 4 });
  });

  it('keeps tables outside [BUCKET_LOW, BUCKET_HIGH] times the average out of a bucket', () => {
    // 100, 100, 100, then 151 > 1.5 * 100: the bucket stops at 3 runs, too few.
    expect(pick([100 * MIB, 100 * MIB, 100 * MIB, 151 * MIB])).toBeUndefined();
    expect(pick([100 * MIB, 100 * MIB, 100 * MIB, 150 * MIB])).toEqual({ start: 0, end: 4 });
    expect(pick([100 * MIB, 100 * MIB, 100 * MIB, 49 * MIB])).toBeUndefined();
    expect(pick([100 * MIB, 100 * MIB, 100 * MIB, 50 * MIB])).toEqual({ start: 0, end: 4 });
  });

  it('does not let one big table join small ones', () => {
    // Four small runs, then one big: the small ones merge, the big one stays out.
    expect(pick([MIB, MIB, 2 * MIB, MIB, 64 * MIB])).toEqual({ start: 0, end: 4 });
    // A big run in the middle splits the small ones into two short windows.
    expect(pick([MIB, MIB, 64 * MIB, MIB, MIB])).toBeUndefined();
  });

  it('picks the newest bucket first in a mixed list', () => {
    const sizes = [
      MIB,
      2 * MIB,
      40 * MIB,
      41 * MIB,
      39 * MIB,
      40 * MIB,
      300 * MIB,
      310 * MIB,
      290 * MIB,
      300 * MIB,
    ];
    expect(pick(sizes)).toEqual({ start: 2, end: 6 });
    expect(pick(sizes.slice(6))).toEqual({ start: 0, end: 4 });
    expect(pick(sizes, { minRuns: 5 })).toBeUndefined();
  });

  it('falls back to the cheapest window past softMaxRuns', () => {
    // Runs growing by x3 never share a bucket.
    const sizes = Array.from({ length: 12 }, (_, i) => 10 * MIB * 3 ** (i % 6));
    expect(pick(sizes, { softMaxRuns: 12 })).toBeUndefined();
    const got = pick(sizes, { softMaxRuns: 11 });
    expect(got).toEqual({ start: 0, end: 4 });
    expect(got!.start).toBe(cheapest(sizes, 4).start);
    const reversed = [...sizes].reverse();
    expect(pick(reversed, { softMaxRuns: 11 })).toEqual({
      start: cheapest(reversed, 4).start,
      end: cheapest(reversed, 4).start + 4,
    });
  });

  it('merges everything it can when softMaxRuns is 0 (over the table limit)', () => {
    const sizes = [10 * MIB, 100 * MIB, 1000 * MIB, 30 * MIB, 300 * MIB];
    const got = pick(sizes, { softMaxRuns: 0, minRuns: 2 });
    expect(got).toEqual({ start: 0, end: 2 });
  });

  it('never picks a window past the end of the list, whatever the policy', () => {
    const sizes = [10 * MIB, 100 * MIB, 1000 * MIB];
    expect(pick(sizes, { softMaxRuns: 0, minRuns: 4 })).toEqual({ start: 0, end: 3 });
    expect(pick([10 * MIB], { softMaxRuns: 0, minRuns: 4 })).toEqual({ start: 0, end: 1 });
    expect(
      pick(
        new Array(10).fill(100 * MIB).map((s, i) => s * 3 ** i),
        { softMaxRuns: 2, minRuns: 8, maxRuns: 3 },
      ),
    ).toEqual({
      start: 0,
      end: 3,
    });
  });
});

describe('pickTieredCompaction property', () => {
  const sizeArb = fc.oneof(
    fc.integer({ min: 0, max: 16 * MIB }),
    fc.integer({ min: 16 * MIB, max: 4096 * MIB }),
    fc.constantFrom(MIB, 64 * MIB, 100 * MIB),
  );
  const policyArb: fc.Arbitrary<TieredPolicy> = fc.record({
    minRuns: fc.integer({ min: 2, max: 8 }),
    maxRuns: fc.integer({ min: 2, max: 40 }),
    smallTableBytes: fc.constantFrom(0, MIB, 8 * MIB),
    softMaxRuns: fc.integer({ min: 0, max: 40 }),
  });

  test.prop([fc.array(sizeArb, { maxLength: 70 }), policyArb])(
    'any pick is a valid window',
    (sizes, policy) => {
      const got = pickTieredCompaction(sizes, policy);
      if (got === undefined) {
        expect(sizes.length).toBeLessThanOrEqual(policy.softMaxRuns);
        return;
      }
      expect(Number.isInteger(got.start)).toBe(true);
      expect(got.start).toBeGreaterThanOrEqual(0);
      expect(got.end).toBeGreaterThan(got.start);
      expect(got.end).toBeLessThanOrEqual(sizes.length);
      expect(got.end - got.start).toBeLessThanOrEqual(policy.maxRuns);
      const width = got.end - got.start;
      const bucket = width >= policy.minRuns && isBucket(sizes, got.start, got.end, policy);
      if (!bucket) {
        // The fallback: only past softMaxRuns, and the cheapest window of its width.
        expect(sizes.length).toBeGreaterThan(policy.softMaxRuns);
        const sum = sizes.slice(got.start, got.end).reduce((a, b) => a + b, 0);
        expect(sum).toBe(cheapest(sizes, width).sum);
        expect(got.start).toBe(cheapest(sizes, width).start);
      }
    },
  );

  test.prop([
    fc.array(fc.integer({ min: 0, max: MIB - 1 }), { maxLength: 70 }),
    fc.integer({ min: 2, max: 8 }),
  ])('small runs are always merged once there are minRuns of them', (sizes, minRuns) => {
    const got = pickTieredCompaction(sizes, { minRuns, maxRuns: 32, smallTableBytes: MIB, softMaxRuns: 100 });
    if (sizes.length < minRuns) expect(got).toBeUndefined();
    else expect(got).toEqual({ start: 0, end: Math.min(sizes.length, 32) });
  });
});
