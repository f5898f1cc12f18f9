/** Tests of the slab allocator: no two arrays share a byte, copies are exact and independent. */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from './assert.ts';
import {
  allocBytes,
  commitBytes,
  copyBytes,
  copyPrefix,
  copyRange,
  reserveBytes,
  reservedStart,
  SLAB_BYTES,
  SLAB_ITEM_BYTES_MAX,
} from './bytes.ts';

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

/** One step of the reservation model: an allocation, or an encoder's reservation. */
type Step =
  | { kind: 'alloc'; n: number }
  | { kind: 'reserve'; room: number; dirty: number; end: number; commit: boolean };

describe('reserveBytes and commitBytes', () => {
  const arbStep: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      kind: fc.constant('alloc' as const),
      n: fc.integer({ min: 0, max: SLAB_ITEM_BYTES_MAX + 8 }),
    }),
    fc
      .record({
        room: fc.integer({ min: 0, max: 2 * SLAB_ITEM_BYTES_MAX }),
        dirty: fc.nat(),
        end: fc.nat(),
        commit: fc.boolean(),
      })
      .map(({ room, dirty, end, commit }) => ({
        kind: 'reserve' as const,
        room,
        // The encoder writes anywhere in its room, and keeps a prefix of it.
        dirty: dirty % (room + 1),
        end: end % (room + 1),
        commit,
      })),
  );

  // Allocations stay zeroed even right after an encoder wrote past what it kept (or gave up),
  // committed bytes are exactly what was written, and no two arrays handed out share a byte.
  test.prop([fc.array(arbStep, { maxLength: 120 })], { numRuns: 300 })(
    'hand out exactly the written bytes, never overlapping, and leave allocations zeroed',
    (steps) => {
      const kept: { bytes: Uint8Array; fill: number; want: number[] }[] = [];
      steps.forEach((step, i) => {
        const fill = (i % 250) + 1;
        if (step.kind === 'alloc') {
          const a = allocBytes(step.n);
          expect(a.length).toBe(step.n);
          expect(a.every((b) => b === 0)).toBe(true);
          a.fill(fill);
          kept.push({ bytes: a, fill, want: new Array(step.n).fill(fill) });
          return;
        }
        const out = reserveBytes(step.room);
        const start = reservedStart();
        expect(out.length - start).toBeGreaterThanOrEqual(step.room);
        // Dirty the room beyond what is kept, then write the kept part.
        out.fill(0xee, start, start + Math.max(step.dirty, step.end));
        out.fill(fill, start, start + step.end);
        if (!step.commit) return;
        const c = commitBytes(out, start + step.end);
        expect(Array.from(c)).toEqual(new Array(step.end).fill(fill));
        kept.push({ bytes: c, fill, want: new Array(step.end).fill(fill) });
      });
      // Every array still holds its own bytes: nothing later wrote over it.
      for (const k of kept) expect(Array.from(k.bytes)).toEqual(k.want);
    },
  );

  it('refuses a commit after an allocation from under the reservation, or without one', () => {
    const out = reserveBytes(100);
    const start = reservedStart();
    allocBytes(80);
    expect(() => commitBytes(out, start + 10)).toThrow(AssertionError);
    expect(() => commitBytes(out, 0)).toThrow(AssertionError);
    const again = reserveBytes(16);
    expect(() => commitBytes(again, reservedStart() + 17 + again.length)).toThrow(AssertionError);
  });
});

describe('copyBytes', () => {
  // Each way it copies (a loop, set of the whole source, set of a view) around its thresholds.
  test.prop([fc.uint8Array({ maxLength: 80 }), fc.nat(), fc.nat(), fc.nat({ max: 16 })], { numRuns: 500 })(
    'copies exactly src[from, end) to dst at at, and nothing else',
    (src, a, b, at) => {
      const from = a % (src.length + 1);
      const end = b % 2 === 0 ? src.length : from + (b % (src.length - from + 1));
      const dst = new Uint8Array(at + src.length + 4).fill(0xee);
      copyBytes(src, from, end, dst, at);
      const want = new Uint8Array(dst.length).fill(0xee);
      want.set(src.subarray(from, end), at);
      expect(Array.from(dst)).toEqual(Array.from(want));
    },
  );
});
