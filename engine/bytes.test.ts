/** Tests of the slab allocator: no two arrays share a byte, copies are exact and independent. */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from './assert.ts';
import { allocBytes, copyPrefix, copyRange, SLAB_BYTES, SLAB_ITEM_BYTES_MAX } from './bytes.ts';

describe('allocBytes, copyPrefix and copyRange', () => {
  test.prop([fc.array(fc.integer({ min: 0, max: 3 * SLAB_ITEM_BYTES_MAX }), { maxLength: 400 })])(
    'hand out zeroed arrays of the asked length that never share a byte, slab pieces 8-aligned',
    (sizes) => {
      const arrays = sizes.map((n) => allocBytes(n));
      arrays.forEach((a, i) => {
        expect(a.length).toBe(sizes[i]);
        expect(a.every((b) => b === 0)).toBe(true);
        if (a.length > 64 && a.length <= SLAB_ITEM_BYTES_MAX) {
          expect(a.byteOffset % 8).toBe(0);
          expect(a.buffer.byteLength).toBe(SLAB_BYTES);
        }
        a.fill((i % 255) + 1);
      });
      // Filling each with its own byte and reading every one back finds no overlap.
      for (let i = 0; i < arrays.length; i++) expect(arrays[i]!.every((b) => b === (i % 255) + 1)).toBe(true);
    },
  );

  test.prop([fc.uint8Array({ maxLength: 2 * SLAB_ITEM_BYTES_MAX }), fc.nat()])(
    'copyPrefix copies exactly the prefix, into memory of its own',
    (src, k) => {
      const length = k % (src.length + 1);
      const expected = Array.from(src.subarray(0, length));
      const copy = copyPrefix(src, length);
      expect(Array.from(copy)).toEqual(expected);
      // Changing the source afterwards leaves the copy as it was.
      for (let i = 0; i < src.length; i++) src[i] = src[i]! ^ 0xff;
      expect(Array.from(copy)).toEqual(expected);
    },
  );

  test.prop([fc.uint8Array({ maxLength: 2 * SLAB_ITEM_BYTES_MAX }), fc.nat(), fc.nat()])(
    'copyRange copies exactly the range',
    (src, a, b) => {
      const start = a % (src.length + 1);
      const end = start + (b % (src.length - start + 1));
      expect(Array.from(copyRange(src, start, end))).toEqual(Array.from(src.subarray(start, end)));
    },
  );

  it('refuses a range outside the source', () => {
    expect(() => copyPrefix(new Uint8Array(3), 4)).toThrow(AssertionError);
    expect(() => copyRange(new Uint8Array(3), -1, 2)).toThrow(AssertionError);
    expect(() => copyRange(new Uint8Array(3), 2, 1)).toThrow(AssertionError);
    expect(() => copyRange(new Uint8Array(3), 0, 4)).toThrow(AssertionError);
  });
});
