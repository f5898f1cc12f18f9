import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../crdt/lww.ts';
import { InvalidArgumentError } from '../errors.ts';
import {
  DOC_CACHE_COLLECTIONS_MAX,
  DOC_CACHE_ENTRIES_DEFAULT,
  DOC_CACHE_ENTRIES_LIMIT,
  DocCache,
} from './doc-cache.ts';

const doc = (v: number): JsonObject => Object.freeze({ v });

describe('DocCache', () => {
  it('answers what was set, misses what was not, and forgets on invalidate and clear', () => {
    const c = new DocCache();
    expect(c.entriesMax).toBe(DOC_CACHE_ENTRIES_DEFAULT);
    expect(c.get('a', '1')).toBeUndefined();
    c.set('a', '1', doc(1), 10);
    c.set('a', '2', undefined, 10);
    c.set('b', '1', doc(3), 10);
    expect(c.get('a', '1')!.doc).toEqual({ v: 1 });
    expect(c.get('a', '2')).toBeDefined();
    expect(c.get('a', '2')!.doc).toBeUndefined();
    expect(c.get('b', '1')!.doc).toEqual({ v: 3 });
    expect([c.size, c.byteSize]).toEqual([3, 30]);
    c.set('a', '1', doc(4), 15);
    expect(c.get('a', '1')!.doc).toEqual({ v: 4 });
    expect([c.size, c.byteSize]).toEqual([3, 35]);
    c.invalidate('a', '1');
    c.invalidate('a', 'never');
    c.invalidate('zz', '1');
    expect(c.get('a', '1')).toBeUndefined();
    expect([c.size, c.byteSize]).toEqual([2, 20]);
    c.clear();
    expect(c.get('b', '1')).toBeUndefined();
    expect([c.size, c.byteSize]).toEqual([0, 0]);
  });

  it('gives a referenced entry a second chance (CLOCK) and keeps to both bounds', () => {
    const c = new DocCache({ entriesMax: 3, bytesMax: 100 });
    for (const id of ['1', '2', '3']) c.set('a', id, doc(Number(id)), 10);
    c.get('a', '1');
    c.set('a', '4', doc(4), 10);
    // 1 was referenced, so the hand passed it and evicted 2.
    expect(c.get('a', '1')).toBeDefined();
    expect(c.get('a', '2')).toBeUndefined();
    expect(c.size).toBe(3);
    c.set('a', '5', doc(5), 90);
    expect(c.byteSize).toBeLessThanOrEqual(100);
    expect(c.get('a', '5')!.doc).toEqual({ v: 5 });
    // Larger than the whole budget: not cached at all.
    c.set('a', '6', doc(6), 101);
    expect(c.get('a', '6')).toBeUndefined();
    expect(c.get('a', '5')).toBeDefined();
  });

  it('hands out collection maps that stay exact: emptied on clear, entries gone when evicted', () => {
    const c = new DocCache({ entriesMax: 2 });
    expect(c.slotsOf('a')).toBeUndefined();
    c.set('a', '1', doc(1), 1);
    const a = c.slotsOf('a')!;
    expect(a.get('1')!.doc).toEqual({ v: 1 });
    c.set('a', '2', doc(2), 1);
    c.set('b', '1', doc(3), 1);
    expect(a.size).toBe(1);
    c.invalidate('a', '2');
    c.set('a', '3', doc(4), 1);
    expect([...a.keys()].every((id) => c.get('a', id) !== undefined)).toBe(true);
    c.clear();
    expect(a.size).toBe(0);
    c.set('a', '1', doc(5), 1);
    expect(c.slotsOf('a')).toBe(a);
    expect(a.get('1')!.doc).toEqual({ v: 5 });
    // Past DOC_CACHE_COLLECTIONS_MAX collections the maps are emptied and dropped.
    const many = new DocCache();
    many.set('first', 'x', doc(0), 1);
    const first = many.slotsOf('first')!;
    for (let i = 0; i < DOC_CACHE_COLLECTIONS_MAX; i++) many.set(`c${i}`, 'x', doc(i), 1);
    expect(first.size).toBe(0);
    expect(many.slotsOf('first')).toBeUndefined();
    expect(many.size).toBeLessThanOrEqual(DOC_CACHE_COLLECTIONS_MAX);
  });

  it('caches nothing with entriesMax 0, and refuses bad bounds', () => {
    const off = new DocCache({ entriesMax: 0 });
    off.set('a', '1', doc(1), 1);
    expect(off.get('a', '1')).toBeUndefined();
    expect(() => new DocCache({ entriesMax: -1 })).toThrow(InvalidArgumentError);
    expect(() => new DocCache({ entriesMax: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new DocCache({ entriesMax: DOC_CACHE_ENTRIES_LIMIT + 1 })).toThrow(InvalidArgumentError);
    expect(() => new DocCache({ bytesMax: Number.NaN })).toThrow(InvalidArgumentError);
  });

  type Step =
    | { op: 'set' | 'get' | 'invalidate'; c: number; id: number; v: number; bytes: number }
    | { op: 'clear' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 20,
      arbitrary: fc.record({
        op: fc.constantFrom('set' as const, 'get' as const, 'invalidate' as const),
        c: fc.nat(2),
        id: fc.nat(9),
        v: fc.nat(),
        bytes: fc.nat(40),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  );

  test.prop(
    [fc.array(step, { maxLength: 300 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 120 })],
    {
      numRuns: 300,
    },
  )(
    'never answers with anything but the last value set, and stays within its bounds',
    (steps, entriesMax, bytesMax) => {
      const c = new DocCache({ entriesMax, bytesMax });
      const model = new Map<string, number>();
      for (const s of steps) {
        if (s.op === 'clear') {
          c.clear();
          model.clear();
          continue;
        }
        const key = `${s.c}/${s.id}`;
        if (s.op === 'set') {
          c.set(String(s.c), String(s.id), doc(s.v), s.bytes);
          model.set(key, s.v);
        } else if (s.op === 'invalidate') {
          c.invalidate(String(s.c), String(s.id));
          model.delete(key);
        } else {
          const hit = c.get(String(s.c), String(s.id));
          if (hit !== undefined) expect(hit.doc).toEqual({ v: model.get(key) });
        }
        expect(c.size).toBeLessThanOrEqual(entriesMax);
        expect(c.byteSize).toBeLessThanOrEqual(bytesMax);
      }
      // The most recent set of an entry that fits is always held.
      c.set('x', 'y', doc(1), Math.min(bytesMax, 5));
      expect(c.get('x', 'y')).toBeDefined();
    },
  );
});
