import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import type { FileSystem } from '../io/fs.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { BLOCK_OVERHEAD_BYTES, Block, BlockBuilder } from './block.ts';
import { BlockCache } from './block-cache.ts';
import { EntryKind, encodeInternalKey } from './internal-key.ts';
import { SsTableReader, SsTableWriter } from './sstable.ts';

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

  const fileArb = fc.constantFrom(0, 3, -1);
  const keyArb = fc.nat({ max: 5 });
  const opArb = fc.oneof(
    fc.record({
      op: fc.constant('insert' as const),
      file: fileArb,
      key: keyArb,
      size: fc.nat({ max: 600 }),
    }),
    fc.record({ op: fc.constant('get' as const), file: fileArb, key: keyArb }),
    fc.record({ op: fc.constant('evictFile' as const), file: fileArb }),
    fc.record({ op: fc.constant('clear' as const) }),
  );

  // Capacities of a few blocks, so that inserts evict and the order of eviction shows.
  test.prop([fc.array(opArb, { minLength: 10, maxLength: 200 }), fc.integer({ min: 200, max: 3000 })])(
    'behaves like a model LRU bounded by bytes, over several files',
    (ops, capacity) => {
      const cache = new BlockCache(capacity);
      const model: { file: number; key: number; block: Block }[] = []; // least recent first
      const blocks = new Map<number, Block>();
      let evictions = 0;
      for (const o of ops) {
        if (o.op === 'clear') {
          cache.clear();
          model.length = 0;
        } else if (o.op === 'evictFile') {
          cache.evictFile(o.file);
          for (let i = model.length - 1; i >= 0; i--) if (model[i]!.file === o.file) model.splice(i, 1);
        } else if (o.op === 'get') {
          const idx = model.findIndex((m) => m.file === o.file && m.key === o.key);
          const got = cache.get(o.file, o.key);
          if (idx === -1) {
            expect(got).toBeUndefined();
          } else {
            expect(got).toBe(model[idx]!.block);
            model.push(...model.splice(idx, 1));
          }
        } else {
          const idx = model.findIndex((m) => m.file === o.file && m.key === o.key);
          const block = blocks.get(o.size) ?? blockOf(o.size);
          blocks.set(o.size, block);
          cache.insert(o.file, o.key, block);
          if (idx !== -1) model.splice(idx, 1);
          if (block.chargeBytes <= capacity) model.push({ file: o.file, key: o.key, block });
          let used = model.reduce((s, m) => s + m.block.chargeBytes, 0);
          while (used > capacity) {
            used -= model.shift()!.block.chargeBytes;
            evictions++;
          }
        }
        expect(cache.usedBytes).toBe(model.reduce((s, m) => s + m.block.chargeBytes, 0));
        expect(cache.size).toBe(model.length);
        expect(cache.stats.evictions).toBe(evictions);
      }
      // Every held block is still found, and nothing else is.
      for (const m of [...model]) expect(cache.get(m.file, m.key)).toBe(m.block);
      expect(cache.usedBytes).toBeLessThanOrEqual(capacity);
    },
  );
});

describe('BlockCache under SsTableReader', () => {
  const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

  /** Writes `n` entries k00000.. with values of varying length; returns them. */
  function writeTable(
    fs: FileSystem,
    name: string,
    n: number,
    value = 'v',
  ): { key: Uint8Array; value: Uint8Array }[] {
    const h = fs.open(name, { create: true });
    const w = new SsTableWriter(h, { blockBytes: 256 });
    const entries = Array.from({ length: n }, (_, i) => ({
      key: encodeInternalKey(utf8(`k${String(i).padStart(5, '0')}`), i + 1, EntryKind.Value),
      value: utf8(value.repeat(i % 9)),
    }));
    for (const e of entries) w.add(e.key, e.value);
    w.finish();
    h.close();
    return entries;
  }

  function scan(r: SsTableReader): number {
    const it = r.iterator();
    let n = 0;
    for (it.seekToFirst(); it.valid(); it.next()) n++;
    return n;
  }

  it('serves repeated reads from the cache with the same block objects', () => {
    const fs = new MemoryFs();
    const entries = writeTable(fs, '000001.sst', 400);
    const cache = new BlockCache(1 << 20);
    const r = SsTableReader.open({ fs, name: '000001.sst', cache, fileNumber: 1 });
    expect(r.blockCount).toBeGreaterThan(10);
    expect(r.dataBlock(0)).toBe(r.dataBlock(0));
    expect(scan(r)).toBe(400);
    expect(cache.stats.misses).toBe(r.blockCount);
    expect(cache.size).toBe(r.blockCount);
    expect(scan(r)).toBe(400);
    for (const e of entries) expect(r.find(e.key.subarray(0, 6), 1000)?.value).toEqual(e.value);
    expect(cache.stats.misses).toBe(r.blockCount);
    expect(cache.stats.hits).toBeGreaterThan(400);
  });

  it('keeps tables apart by file number, or by private ids when there is none', () => {
    const fs = new MemoryFs();
    writeTable(fs, 'a', 3, 'A');
    writeTable(fs, 'b', 3, 'B');
    const cache = new BlockCache(1 << 20);
    for (const ids of [
      [1, 2],
      [undefined, undefined],
    ]) {
      const ra = SsTableReader.open({ fs, name: 'a', cache, fileNumber: ids[0] });
      const rb = SsTableReader.open({ fs, name: 'b', cache, fileNumber: ids[1] });
      expect(ra.find(utf8('k00002'), 9)?.value).toEqual(utf8('AA'));
      expect(rb.find(utf8('k00002'), 9)?.value).toEqual(utf8('BB'));
      expect(ra.find(utf8('k00002'), 9)?.value).toEqual(utf8('AA'));
    }
  });

  it('stays within its bytes while a table larger than it is scanned', () => {
    const fs = new MemoryFs();
    writeTable(fs, 't', 3000);
    const cache = new BlockCache(4096);
    const r = SsTableReader.open({ fs, name: 't', cache });
    expect(scan(r)).toBe(3000);
    expect(cache.usedBytes).toBeLessThanOrEqual(4096);
    expect(cache.size).toBeGreaterThan(0);
    expect(cache.stats.evictions).toBeGreaterThan(0);
  });
});
