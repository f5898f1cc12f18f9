import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { readWholeFile } from '../io/fs.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { HnswIndex, type HnswOptions } from './hnsw-index.ts';
import { MAX_DIMENSION, MAX_EF, MAX_ID_LENGTH, MAX_K, MAX_M } from './limits.ts';

function index(metric: 'cosine' | 'l2' | 'dot' = 'cosine'): HnswIndex {
  const idx = HnswIndex.create({ dimension: 3, metric, random: new SeededRandom(1) });
  idx.upsert('a', [1, 0, 0]);
  idx.upsert('b', [0, 1, 0]);
  return idx;
}

function bytesOf(idx: HnswIndex): Uint8Array {
  const fs = new MemoryFs();
  idx.save(fs, 'i');
  return readWholeFile(fs, 'i');
}

/** Expects `act` to throw `type` with a message matching `message`, and `idx` to be unchanged. */
function rejects(
  idx: HnswIndex,
  act: () => unknown,
  type: typeof InvalidArgumentError | typeof LimitExceededError,
  message: RegExp,
) {
  const before = bytesOf(idx);
  expect(act).toThrow(type);
  expect(act).toThrow(message);
  expect(bytesOf(idx)).toEqual(before);
}

describe('bad vectors are refused and nothing is stored', () => {
  const cases: [string, unknown, RegExp][] = [
    ['too short', [1, 2], /has 2 components, the index has dimension 3/],
    ['too long', new Float32Array(4), /has 4 components/],
    ['NaN', [1, Number.NaN, 0], /component 1 is NaN/],
    ['infinite', [Number.POSITIVE_INFINITY, 0, 0], /component 0 is Infinity/],
    ['negative infinity', new Float32Array([0, 0, Number.NEGATIVE_INFINITY]), /component 2 is -Infinity/],
    ['overflowing float32', [1e39, 0, 0], /overflows a 32-bit float/],
    ['not numbers', ['1', 0, 0], /component 0 is 1, not a finite number/],
    ['not an array', 42, /expected an array/],
    ['null', null, /expected an array/],
  ];
  for (const [name, vector, message] of cases) {
    it(`${name}, on insert, update and query`, () => {
      const idx = index('l2');
      rejects(idx, () => idx.upsert('c', vector as number[]), InvalidArgumentError, message);
      rejects(idx, () => idx.upsert('a', vector as number[]), InvalidArgumentError, message);
      rejects(idx, () => idx.search(vector as number[], { k: 1 }), InvalidArgumentError, message);
      expect(idx.has('c')).toBe(false);
      expect([...idx.getVector('a')!]).toEqual([1, 0, 0]);
    });
  }

  it('a zero vector under cosine, but not under l2 or dot', () => {
    const idx = index('cosine');
    rejects(idx, () => idx.upsert('z', [0, 0, 0]), InvalidArgumentError, /zero vector has no direction/);
    rejects(idx, () => idx.search([0, -0, 0], { k: 1 }), InvalidArgumentError, /zero vector/);
    expect(idx.size).toBe(2);
    for (const metric of ['l2', 'dot'] as const) {
      const other = index(metric);
      expect(other.upsert('z', [0, 0, 0])).toBe(true);
      expect(other.search([0, 0, 0], { k: 3 })).toHaveLength(3);
    }
  });

  it('accepts the smallest non-zero vector under cosine and stores it normalised', () => {
    const idx = index('cosine');
    expect(idx.upsert('tiny', [1e-45, 0, 0])).toBe(true);
    expect([...idx.getVector('tiny')!]).toEqual([1, 0, 0]);
  });
});

describe('bad ids', () => {
  it('are refused before anything is stored', () => {
    const idx = index();
    rejects(idx, () => idx.upsert('', [1, 1, 1]), InvalidArgumentError, /must not be empty/);
    rejects(
      idx,
      () => idx.upsert(7 as unknown as string, [1, 1, 1]),
      InvalidArgumentError,
      /must be a string/,
    );
    rejects(idx, () => idx.upsert('x\uD800y', [1, 1, 1]), InvalidArgumentError, /lone surrogate/);
    rejects(idx, () => idx.upsert('\uDC00', [1, 1, 1]), InvalidArgumentError, /lone surrogate/);
    rejects(
      idx,
      () => idx.upsert('x'.repeat(MAX_ID_LENGTH + 1), [1, 1, 1]),
      LimitExceededError,
      /MAX_ID_LENGTH/,
    );
    rejects(idx, () => idx.delete(''), InvalidArgumentError, /must not be empty/);
    expect(idx.upsert('x'.repeat(MAX_ID_LENGTH), [1, 1, 1])).toBe(true);
    expect(idx.upsert('🙂', [1, 1, 1])).toBe(true);
  });

  it('mustGetVector throws NotFoundError for a missing id', () => {
    expect(() => index().mustGetVector('nope')).toThrow(/no vector stored under id "nope"/);
  });
});

describe('bad options', () => {
  const base: HnswOptions = { dimension: 4, metric: 'l2', random: new SeededRandom(1) };
  const cases: [
    string,
    Partial<HnswOptions> & Record<string, unknown>,
    typeof InvalidArgumentError | typeof LimitExceededError,
    RegExp,
  ][] = [
    ['dimension 0', { dimension: 0 }, InvalidArgumentError, /dimension must be at least 1/],
    ['fractional dimension', { dimension: 2.5 }, InvalidArgumentError, /dimension must be an integer/],
    ['dimension over the limit', { dimension: MAX_DIMENSION + 1 }, LimitExceededError, /MAX_DIMENSION/],
    [
      'unknown metric',
      { metric: 'manhattan' as never },
      InvalidArgumentError,
      /metric must be cosine, l2 or dot/,
    ],
    ['m 1', { m: 1 }, InvalidArgumentError, /m must be at least 2/],
    ['m over the limit', { m: MAX_M + 1 }, LimitExceededError, /MAX_M/],
    [
      'efConstruction below m',
      { m: 16, efConstruction: 8 },
      InvalidArgumentError,
      /efConstruction must be at least 16/,
    ],
    ['efConstruction over the limit', { efConstruction: MAX_EF + 1 }, LimitExceededError, /MAX_EF/],
    ['efSearch 0', { efSearch: 0 }, InvalidArgumentError, /efSearch must be at least 1/],
    ['no random', { random: undefined as never }, InvalidArgumentError, /random must be a Random/],
    ['fraction 0', { compactDeletedFraction: 0 }, InvalidArgumentError, /compactDeletedFraction/],
    ['fraction NaN', { compactDeletedFraction: Number.NaN }, InvalidArgumentError, /compactDeletedFraction/],
    ['unknown kernel', { kernel: 'gpu' as never }, InvalidArgumentError, /kernel must be auto or scalar/],
  ];
  for (const [name, patch, type, message] of cases) {
    it(name, () => {
      expect(() => HnswIndex.create({ ...base, ...patch })).toThrow(type);
      expect(() => HnswIndex.create({ ...base, ...patch })).toThrow(message);
    });
  }

  it('bad search options', () => {
    const idx = index();
    expect(() => idx.search([1, 0, 0], { k: 0 })).toThrow(/k must be at least 1/);
    expect(() => idx.search([1, 0, 0], { k: MAX_K + 1 })).toThrow(LimitExceededError);
    expect(() => idx.search([1, 0, 0], { k: 1, ef: MAX_EF + 1 })).toThrow(/MAX_EF/);
    expect(() => idx.search([1, 0, 0], { k: 1, ef: 0 })).toThrow(/ef must be at least 1/);
    expect(() => idx.search([1, 0, 0], { k: 1, filter: 'x' as never })).toThrow(/filter must be a function/);
    expect(() => idx.search([1, 0, 0], undefined as never)).toThrow(InvalidArgumentError);
  });

  it('bad load options', () => {
    const fs = new MemoryFs();
    index().save(fs, 'i');
    expect(() => HnswIndex.load(fs, 'i', {} as never)).toThrow(/random must be a Random/);
    expect(() => HnswIndex.load(fs, 'i', { random: new SeededRandom(1), compactDeletedFraction: 2 })).toThrow(
      /compactDeletedFraction/,
    );
  });

  it('reports the capacity its limits allow', () => {
    const small = HnswIndex.create({ ...base, dimension: MAX_DIMENSION, m: MAX_M });
    expect(small.stats().maxNodes).toBe(65_536);
    // m = 16: layer 0 takes 33 ints a node, and MAX_LINK_INTS bounds them.
    expect(HnswIndex.create(base).stats().maxNodes).toBe(Math.floor((1 << 28) / 33));
    expect(HnswIndex.create({ ...base, m: 2 }).stats().maxNodes).toBe(1 << 24);
  });
});
