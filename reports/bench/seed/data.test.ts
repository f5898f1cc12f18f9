import { describe, expect, it } from 'vitest';
import { canonicalDocText, generateSeedData, READS_PER_SAMPLE_MAX, seedDataOf } from './data.ts';

describe('generateSeedData', () => {
  it('makes n distinct ids and documents of about 100 bytes of JSON', () => {
    const data = generateSeedData(2000);
    expect(data.ids).toHaveLength(2000);
    expect(new Set(data.ids).size).toBe(2000);
    expect(data.docs).toHaveLength(2000);
    expect(data.texts).toEqual(data.docs.map((d) => JSON.stringify(d)));
    expect(Object.keys(data.docs[0]!)).toEqual(['title', 'body', 'n']);
    expect(data.docBytesMean).toBeGreaterThan(80);
    expect(data.docBytesMean).toBeLessThan(120);
  });

  it('plans min(n, READS_PER_SAMPLE_MAX) reads of present ids, by index', () => {
    const small = generateSeedData(300);
    expect(small.readIds).toHaveLength(300);
    expect(small.readIds).toEqual(small.readIndexes.map((i) => small.ids[i]));
    const big = generateSeedData(READS_PER_SAMPLE_MAX + 5);
    expect(big.readIds).toHaveLength(READS_PER_SAMPLE_MAX);
    // Drawn with repetition from the whole set: not simply the first ids in order.
    expect(big.readIds).not.toEqual(big.ids.slice(0, READS_PER_SAMPLE_MAX));
  });

  it('gives the same documents for the same n, and different ones for another n', () => {
    const a = generateSeedData(300);
    const b = generateSeedData(300);
    expect(b.ids).toEqual(a.ids);
    expect(b.texts).toEqual(a.texts);
    expect(b.readIds).toEqual(a.readIds);
    expect(generateSeedData(301).ids.slice(0, 10)).not.toEqual(a.ids.slice(0, 10));
  });

  it('rejects sizes that are not positive integers', () => {
    expect(() => generateSeedData(0)).toThrow(/positive/);
    expect(() => generateSeedData(-3)).toThrow(/positive/);
    expect(() => generateSeedData(1.5)).toThrow(/integer/);
  });
});

describe('seedDataOf', () => {
  const doc = { title: 't', body: 'b', n: 1 };

  it('builds texts, reads and the mean size from the given documents', () => {
    const data = seedDataOf(['a', 'b'], [doc, { ...doc, title: 'é' }], [1, 1, 0]);
    expect(data.readIds).toEqual(['b', 'b', 'a']);
    expect(data.texts[1]).toBe('{"title":"é","body":"b","n":1}');
    expect(data.docBytesMean).toBe((30 + 31) / 2);
  });

  it('rejects empty, mismatched, duplicate and out-of-range input', () => {
    expect(() => seedDataOf([], [], [])).toThrow(/at least one/);
    expect(() => seedDataOf(['a'], [doc, doc], [])).toThrow(/1 ids for 2/);
    expect(() => seedDataOf(['a', 'a'], [doc, doc], [])).toThrow(/distinct/);
    expect(() => seedDataOf([''], [doc], [])).toThrow(/non-empty/);
    expect(() => seedDataOf(['a'], [doc], [1])).toThrow(/names no document/);
    expect(() => seedDataOf(['a'], [doc], [-1])).toThrow(/names no document/);
  });
});

describe('canonicalDocText', () => {
  it('ignores key order at every level and keeps values and array order', () => {
    expect(canonicalDocText({ b: 1, a: { d: [2, 1], c: null } })).toBe(
      canonicalDocText({ a: { c: null, d: [2, 1] }, b: 1 }),
    );
    expect(canonicalDocText({ a: [1, 2] })).not.toBe(canonicalDocText({ a: [2, 1] }));
    expect(canonicalDocText({ a: 1 })).not.toBe(canonicalDocText({ a: '1' }));
    expect(canonicalDocText({ a: 1 })).not.toBe(canonicalDocText({ a: 1, b: 2 }));
  });
});
