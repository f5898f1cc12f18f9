import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { BLOCK_OVERHEAD_BYTES, Block, BlockBuilder } from './block.ts';
import { BlockCache } from './block-cache.ts';
import { EntryKind, encodeInternalKey } from './internal-key.ts';

/** A real block with one entry whose value has `valueBytes` bytes. */
function blockOf(valueBytes: number, tag = 0): Block {
  const b = new BlockBuilder(16);
  b.add(encodeInternalKey(Uint8Array.of(tag), 1, EntryKind.Value), new Uint8Array(valueBytes));
  return Block.decode(b.finish());
}

describe('BlockCache', () => {
  it('charges a block its bytes plus overhead', () => {
    const block = blockOf(100);
    expect(block.chargeBytes).toBe(block.data.byteLength + 2 * 9 + BLOCK_OVERHEAD_BYTES);
  });

  it('returns the very same block object on a hit', () => {
    const cache = new BlockCache(1 << 20);
    const block = blockOf(10);
    expect(cache.get(1, 0)).toBeUndefined();
    cache.insert(1, 0, block);
    expect(cache.get(1, 0)).toBe(block);
    expect(cache.get(1, 0)).toBe(block);
    expect(cache.get(2, 0)).toBeUndefined();
    expect(cache.get(1, 1)).toBeUndefined();
    expect(cache.stats).toEqual({ hits: 2, misses: 3, inserts: 1, evictions: 0 });
  });

  it('evicts the least recently used blocks once the bytes exceed the capacity', () => {
    const a = blockOf(200, 1);
    const b = blockOf(200, 2);
    const c = blockOf(200, 3);
    const d = blockOf(200, 4);
    const cache = new BlockCache(a.chargeBytes * 3);
    cache.insert(7, 0, a);
    cache.insert(7, 100, b);
    cache.insert(7, 200, c);
    expect(cache.usedBytes).toBe(3 * a.chargeBytes);
    expect(cache.get(7, 0)).toBe(a); // a is now the most recent; b the least
    cache.insert(7, 300, d);
    expect(cache.size).toBe(3);
    expect(cache.get(7, 100)).toBeUndefined();
    expect(cache.get(7, 0)).toBe(a);
    expect(cache.get(7, 200)).toBe(c);
    expect(cache.get(7, 300)).toBe(d);
    expect(cache.stats.evictions).toBe(1);
  });

  it('evicts as many small blocks as one big block needs', () => {
    const small = blockOf(10);
    const big = blockOf(1000);
    const cache = new BlockCache(big.chargeBytes + small.chargeBytes);
    for (let i = 0; i < 8; i++) cache.insert(1, i, small);
    expect(cache.size).toBeGreaterThan(1);
    cache.insert(1, 99, big);
    expect(cache.usedBytes).toBeLessThanOrEqual(cache.capacityBytes);
    expect(cache.get(1, 99)).toBe(big);
    expect(cache.size).toBe(2);
    expect(cache.get(1, 7)).toBe(small);
  });

  it('does not cache a block larger than the whole capacity', () => {
    const cache = new BlockCache(100);
    cache.insert(1, 0, blockOf(500));
    expect(cache.size).toBe(0);
    expect(cache.usedBytes).toBe(0);
    expect(cache.get(1, 0)).toBeUndefined();
  });

  it('replaces a block inserted twice under the same key without double charging', () => {
    const cache = new BlockCache(10_000);
    const first = blockOf(10);
    const second = blockOf(50);
    cache.insert(1, 0, first);
    cache.insert(1, 0, second);
    expect(cache.size).toBe(1);
    expect(cache.usedBytes).toBe(second.chargeBytes);
    expect(cache.get(1, 0)).toBe(second);
  });

  it('evicts one file at a time, and everything on clear', () => {
    const cache = new BlockCache(100_000);
    const x = blockOf(10);
    for (let i = 0; i < 3; i++) {
      cache.insert(1, i, x);
      cache.insert(2, i, x);
    }
    cache.evictFile(1);
    expect(cache.size).toBe(3);
    expect(cache.usedBytes).toBe(3 * x.chargeBytes);
    expect(cache.get(1, 0)).toBeUndefined();
    expect(cache.get(2, 0)).toBe(x);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.usedBytes).toBe(0);
  });

  it('hands out distinct negative private ids', () => {
    const cache = new BlockCache(10);
    const ids = [cache.newFileId(), cache.newFileId(), cache.newFileId()];
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toBeLessThan(0);
  });

  it('rejects a negative or fractional capacity', () => {
    expect(() => new BlockCache(-1)).toThrow(AssertionError);
    expect(() => new BlockCache(1.5)).toThrow(AssertionError);
  });

  const opArb = fc.oneof(
    fc.record({ op: fc.constant('insert' as const), key: fc.nat({ max: 12 }), size: fc.nat({ max: 600 }) }),
    fc.record({ op: fc.constant('get' as const), key: fc.nat({ max: 12 }) }),
  );

  test.prop([fc.array(opArb, { maxLength: 200 }), fc.nat({ max: 3000 })])(
    'behaves like a model LRU bounded by bytes',
    (ops, capacity) => {
      const cache = new BlockCache(capacity);
      const model: { key: number; block: Block }[] = []; // least recent first
      const blocks = new Map<number, Block>();
      for (const o of ops) {
        const idx = model.findIndex((m) => m.key === o.key);
        if (o.op === 'get') {
          const got = cache.get(0, o.key);
          if (idx === -1) {
            expect(got).toBeUndefined();
          } else {
            expect(got).toBe(model[idx]!.block);
            model.push(...model.splice(idx, 1));
          }
          continue;
        }
        const block = blocks.get(o.size) ?? blockOf(o.size);
        blocks.set(o.size, block);
        cache.insert(0, o.key, block);
        if (idx !== -1) model.splice(idx, 1);
        if (block.chargeBytes <= capacity) model.push({ key: o.key, block });
        let used = model.reduce((s, m) => s + m.block.chargeBytes, 0);
        while (used > capacity) used -= model.shift()!.block.chargeBytes;
        expect(cache.usedBytes).toBe(used);
        expect(cache.size).toBe(model.length);
      }
      expect(cache.usedBytes).toBeLessThanOrEqual(capacity);
    },
  );
});
