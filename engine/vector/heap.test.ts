import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { MinHeap } from './heap.ts';

describe('MinHeap', () => {
  test.prop([
    fc.array(fc.tuple(fc.double({ noNaN: true }), fc.integer()), { maxLength: 300 }),
    fc.integer({ min: 1, max: 8 }),
  ])(
    'pops keys in ascending order, each with its node, growing past its initial capacity',
    (entries, capacity) => {
      const heap = new MinHeap(capacity);
      for (const [key, node] of entries) heap.push(key, node);
      expect(heap.size).toBe(entries.length);
      const popped: [number, number][] = [];
      while (heap.size > 0) {
        const key = heap.peekKey();
        expect(heap.peekNode()).toBeTypeOf('number');
        popped.push([key, heap.pop()]);
      }
      // -0 and 0 are equal keys, so the heap may pop either first; toEqual tells them apart
      // (Object.is), so keys are compared with -0 read as 0 (found by seed 1166387751).
      const same = (k: number) => (k === 0 ? 0 : k);
      const keys = popped.map(([k]) => same(k));
      expect(keys).toEqual(entries.map(([k]) => same(k)).sort((a, b) => a - b));
      // Every (key, node) pair that went in comes out.
      const sortPairs = (p: [number, number][]) =>
        p.map(([k, n]): [number, number] => [same(k), n]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      expect(sortPairs(popped)).toEqual(sortPairs(entries));
    },
  );

  it('is empty after clear and usable again', () => {
    const heap = new MinHeap(2);
    heap.push(3, 30);
    heap.push(1, 10);
    heap.clear();
    expect(heap.size).toBe(0);
    heap.push(2, 20);
    expect(heap.peekKey()).toBe(2);
    expect(heap.pop()).toBe(20);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new MinHeap(0)).toThrow(/positive/);
    expect(() => new MinHeap(1.5)).toThrow(/integer/);
  });
});
