import { describe, expect, it } from 'vitest';
import { UsageError } from './command.ts';
import { parseIntegerIn, parseNames, parseSizes, SIZE_MAX } from './options.ts';

describe('parseSizes', () => {
  it('reads plain numbers and K/M suffixes, keeping order and dropping repeats', () => {
    expect(parseSizes('--sizes', '1000,10000')).toEqual([1000, 10_000]);
    expect(parseSizes('--sizes', '10K, 1m,1k,1000')).toEqual([10_000, 1_000_000, 1000]);
    expect(parseSizes('--sizes', '1')).toEqual([1]);
  });

  it.each(['', 'abc', '1.5K', '-5', '10G', '1e3', '1000,', '0x10', '10 K'])('rejects "%s"', (text) => {
    expect(() => parseSizes('--sizes', text)).toThrow(UsageError);
  });

  it('rejects zero and sizes above the limit, naming the option', () => {
    expect(() => parseSizes('--sizes', '0')).toThrow(/--sizes: sizes must be at least 1/);
    expect(() => parseSizes('--sizes', String(SIZE_MAX + 1))).toThrow(/above the limit/);
    expect(parseSizes('--sizes', String(SIZE_MAX))).toEqual([SIZE_MAX]);
  });
});

describe('parseIntegerIn', () => {
  it('accepts whole numbers within the range', () => {
    expect(parseIntegerIn('--samples', '1', { min: 1, max: 5 })).toBe(1);
    expect(parseIntegerIn('--samples', ' 5 ', { min: 1, max: 5 })).toBe(5);
  });

  it('rejects non-numbers and numbers outside the range', () => {
    expect(() => parseIntegerIn('--samples', 'x', { min: 1, max: 5 })).toThrow(/not a whole number/);
    expect(() => parseIntegerIn('--samples', '2.5', { min: 1, max: 5 })).toThrow(/not a whole number/);
    expect(() => parseIntegerIn('--samples', '-1', { min: 1, max: 5 })).toThrow(UsageError);
    expect(() => parseIntegerIn('--samples', '0', { min: 1, max: 5 })).toThrow(/outside 1..5/);
    expect(() => parseIntegerIn('--samples', '6', { min: 1, max: 5 })).toThrow(/outside 1..5/);
  });
});

describe('parseNames', () => {
  const known = ['aregula', 'classic-level', 'map'];
  it('accepts known names, trimming and dropping repeats', () => {
    expect(parseNames('--systems', 'map, aregula,map', known)).toEqual(['map', 'aregula']);
  });

  it('rejects unknown names, listing the known ones, and an empty list', () => {
    expect(() => parseNames('--systems', 'map,sqlite', known)).toThrow(
      /--systems: unknown "sqlite" \(known: aregula, classic-level, map\)/,
    );
    expect(() => parseNames('--systems', ' , ', known)).toThrow(/no names/);
  });
});
