import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../io/random.ts';
import { codeOf } from './db-test-support.ts';
import { HnswIndex } from './hnsw-index.ts';

const make = () =>
  HnswIndex.create({ dimension: 3, metric: 'l2', m: 4, efConstruction: 8, random: new SeededRandom(1) });

describe('HnswIndex.score and sampleIds', () => {
  it('score equals the score a search reports, undefined for a missing id, and checks the query', () => {
    const index = make();
    const rng = new SeededRandom(2);
    for (let i = 0; i < 50; i++) index.upsert(`v${i}`, [rng.next(), rng.next(), rng.next()]);
    const q = [0.5, 0.25, 0.125];
    for (const hit of index.searchExact(q, { k: 50 })) expect(index.score(q, hit.id)).toBe(hit.score);
    expect(index.score(q, 'missing')).toBeUndefined();
    expect(codeOf(() => index.score([1, 2], 'v1'))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => index.score([1, 2, Number.NaN], 'v1'))).toBe('ARE_INVALID_ARGUMENT');
  });

  it('sampleIds spreads over live ids only, without repeats, deterministically', () => {
    const index = make();
    expect(index.sampleIds(8)).toEqual([]);
    for (let i = 0; i < 100; i++) index.upsert(`v${i}`, [i, 1, 2]);
    for (let i = 0; i < 40; i++) index.delete(`v${i}`);
    const sample = index.sampleIds(10);
    expect(sample.length).toBeGreaterThan(5);
    expect(sample.length).toBeLessThanOrEqual(10);
    expect(new Set(sample).size).toBe(sample.length);
    for (const id of sample) expect(index.has(id)).toBe(true);
    expect(index.sampleIds(10)).toEqual(sample);
    expect(index.sampleIds(0)).toEqual([]);
    expect(index.sampleIds(1000).length).toBe(60);
  });
});
