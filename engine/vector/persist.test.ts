import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { CorruptionError, NotFoundError } from '../errors.ts';
import { readWholeFile } from '../io/fs.ts';
import { CrashPolicy, MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { HnswIndex } from './hnsw-index.ts';
import { encodeHeader, HEADER_BYTES } from './persist-header.ts';
import { buildFixture, type Fixture, row } from './test-support.ts';

/** A small index with tombstones, an update and every metric's worth of state. */
function smallIndex(metric: 'cosine' | 'l2' | 'dot' = 'cosine'): Fixture {
  const f = buildFixture(
    { kind: 'clustered', count: 300, dimension: 12, queries: 30 },
    { metric, compactDeletedFraction: 1 },
  );
  for (let i = 0; i < 300; i += 7) f.index.delete(`v${i}`);
  f.index.upsert('v8', row(f.data, 12, 100));
  f.index.upsert('ünïcødé-🙂', row(f.data, 12, 101));
  return f;
}

function saved(index: HnswIndex): Uint8Array {
  const fs = new MemoryFs();
  index.save(fs, 'index.hnsw');
  return readWholeFile(fs, 'index.hnsw');
}

function loadBytes(bytes: Uint8Array): HnswIndex {
  const fs = new MemoryFs();
  const h = fs.open('index.hnsw', { create: true });
  h.write(0, bytes);
  h.close();
  return HnswIndex.load(fs, 'index.hnsw', { random: new SeededRandom(3) });
}

describe('save and load', () => {
  for (const metric of ['cosine', 'l2', 'dot'] as const) {
    it(`reopens to identical search results and identical bytes (${metric})`, () => {
      const f = smallIndex(metric);
      const bytes = saved(f.index);
      const reopened = loadBytes(bytes);
      expect(reopened.stats()).toEqual(f.index.stats());
      expect([...reopened.liveIds()]).toEqual([...f.index.liveIds()]);
      for (let q = 0; q < 30; q++) {
        const query = row(f.queries, 12, q);
        for (const ef of [10, 50]) {
          expect(reopened.search(query, { k: 10, ef })).toEqual(f.index.search(query, { k: 10, ef }));
        }
        const filter = (id: string) => id.length % 2 === 0;
        expect(reopened.search(query, { k: 5, filter })).toEqual(f.index.search(query, { k: 5, filter }));
      }
      expect(saved(reopened)).toEqual(bytes);
      expect(reopened.getVector('ünïcødé-🙂')).toEqual(f.index.getVector('ünïcødé-🙂'));
    });
  }

  it('reopens an empty index', () => {
    const index = HnswIndex.create({ dimension: 3, metric: 'l2', random: new SeededRandom(1) });
    const reopened = loadBytes(saved(index));
    expect(reopened.size).toBe(0);
    expect(reopened.search([1, 2, 3], { k: 3 })).toEqual([]);
    reopened.upsert('a', [1, 2, 3]);
    expect(reopened.search([1, 2, 3], { k: 3 })).toEqual([{ id: 'a', score: 0 }]);
  });

  it('keeps working after a reopen: inserts, deletes and compaction continue from the loaded graph', () => {
    const f = smallIndex();
    const reopened = loadBytes(saved(f.index));
    for (const index of [f.index, reopened]) {
      index.upsert('extra', row(f.data, 12, 5));
      index.compact();
    }
    // Both drew the extra node's level from different sources, so compare answers, not bytes.
    const query = row(f.data, 12, 5);
    expect(reopened.search(query, { k: 3 }).map((h) => h.id)).toContain('extra');
    expect(reopened.stats().deleted).toBe(0);
  });

  it('leaves the old file or the new one after a crash in the middle of a save', () => {
    const first = smallIndex();
    const second = buildFixture({ kind: 'uniform', count: 120, dimension: 12, queries: 0 });
    const oldBytes = saved(first.index);
    const newBytes = saved(second.index);
    for (let ops = 0; ops < 12; ops++) {
      const fs = new MemoryFs();
      first.index.save(fs, 'index.hnsw');
      fs.crashAfter(ops);
      try {
        second.index.save(fs, 'index.hnsw');
      } catch (error) {
        expect((error as { code?: string }).code).toBe('ARE_CRASHED');
      }
      fs.crash(CrashPolicy.loseAll);
      const bytes = readWholeFile(fs, 'index.hnsw');
      expect([oldBytes, newBytes]).toContainEqual(bytes);
      expect(() => HnswIndex.load(fs, 'index.hnsw', { random: new SeededRandom(1) })).not.toThrow();
    }
  });

  it('throws NotFoundError for a missing file', () => {
    expect(() => HnswIndex.load(new MemoryFs(), 'nope', { random: new SeededRandom(1) })).toThrow(
      NotFoundError,
    );
  });

  it('refuses a file name the file system cannot hold', () => {
    const f = smallIndex();
    expect(() => f.index.save(new MemoryFs(), 'a/b')).toThrow(/not a valid file name/);
    expect(() => f.index.save(new MemoryFs(), 'x'.repeat(126))).toThrow(/not a valid file name/);
  });
});

describe('a damaged file gives CorruptionError, never an index', () => {
  const f = smallIndex();
  const bytes = saved(f.index);

  test.prop([fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })])(
    'any single changed byte',
    (at, xor) => {
      const damaged = bytes.slice();
      damaged[at] = damaged[at]! ^ xor;
      expect(() => loadBytes(damaged)).toThrow(CorruptionError);
    },
  );

  test.prop([fc.nat({ max: bytes.length - 1 })])('any truncation', (length) => {
    expect(() => loadBytes(bytes.slice(0, length))).toThrow(CorruptionError);
  });

  it('every truncation of the first 2 KiB and every changed byte of the header', () => {
    for (let length = 0; length < 2048; length++)
      expect(() => loadBytes(bytes.slice(0, length))).toThrow(CorruptionError);
    for (let at = 0; at < HEADER_BYTES; at++) {
      const damaged = bytes.slice();
      damaged[at] = damaged[at]! ^ 0x10;
      expect(() => loadBytes(damaged)).toThrow(CorruptionError);
    }
  });

  it('bytes after the last section', () => {
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => loadBytes(longer)).toThrow(/bytes after the last section/);
  });

  it('a well-formed header that does not match the sections (valid CRC)', () => {
    const header = {
      metricCode: 1,
      dimension: 12,
      m: 16,
      efConstruction: 200,
      efSearch: 64,
      nodeCount: 301,
      deletedCount: 43,
      entryPoint: 0,
      maxLevel: 2,
    };
    const forged = bytes.slice();
    forged.set(encodeHeader(header), 0);
    expect(() => loadBytes(forged)).toThrow(CorruptionError);
    forged.set(encodeHeader({ ...header, nodeCount: 0xffffffff }), 0);
    expect(() => loadBytes(forged)).toThrow(/larger than the file can hold/);
    forged.set(encodeHeader({ ...header, metricCode: 9 }), 0);
    expect(() => loadBytes(forged)).toThrow(/unknown metric/);
  });

  it('a newer format version', () => {
    const v2 = bytes.slice();
    new DataView(v2.buffer).setUint16(8, 2, true);
    expect(() => loadBytes(v2)).toThrow(CorruptionError);
  });

  it('names the file and the offset', () => {
    const damaged = bytes.slice();
    damaged[bytes.length - 10] = damaged[bytes.length - 10]! ^ 1;
    try {
      loadBytes(damaged);
      expect.unreachable('load should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(CorruptionError);
      expect((error as CorruptionError).file).toBe('index.hnsw');
      expect((error as CorruptionError).offset).toBeGreaterThan(HEADER_BYTES);
    }
  });
});

describe('determinism', () => {
  it('the same inserts from the same seed give the same bytes; another seed gives other bytes', () => {
    const a = smallIndex();
    const b = smallIndex();
    expect(saved(a.index)).toEqual(saved(b.index));
    const c = buildFixture(
      { kind: 'clustered', count: 300, dimension: 12, queries: 0 },
      { random: new SeededRandom(8), compactDeletedFraction: 1 },
    );
    const d = buildFixture(
      { kind: 'clustered', count: 300, dimension: 12, queries: 0 },
      { compactDeletedFraction: 1 },
    );
    expect(saved(c.index)).not.toEqual(saved(d.index));
  });

  it('the scalar kernel builds the same bytes as the SIMD kernel, compaction included', () => {
    const build = (kernel: 'auto' | 'scalar') => {
      const f = buildFixture(
        { kind: 'uniform', count: 400, dimension: 20, queries: 0 },
        { kernel, metric: 'l2' },
      );
      for (let i = 0; i < 400; i += 3) f.index.delete(`v${i}`);
      f.index.compact();
      return saved(f.index);
    };
    expect(build('scalar')).toEqual(build('auto'));
  });
});

describe('the bytes follow docs/formats/hnsw.md', () => {
  it('an empty index is exactly the documented 96 bytes', () => {
    const index = HnswIndex.create({ dimension: 3, metric: 'cosine', random: new SeededRandom(1) });
    const hex = Buffer.from(saved(index)).toString('hex');
    const emptySection = '00000000d8ea82a2';
    const header =
      '41 52 45 48 4e 53 57 00 01 00 01 00 03 00 00 00 10 00 00 00 c8 00 00 00 40 00 00 00 00 00 00 00 00 00 00 00 ff ff ff ff 00 00 00 00';
    expect(hex).toBe(`${header.replaceAll(' ', '')}${'00'.repeat(16)}4590608f${emptySection.repeat(4)}`);
  });

  it('a reader written from the document alone decodes a saved index', () => {
    const index = HnswIndex.create({
      dimension: 2,
      metric: 'l2',
      m: 2,
      efConstruction: 4,
      random: new SeededRandom(5),
    });
    const ids = ['a', 'bé', 'c', 'd', 'e'];
    for (const [i, id] of ids.entries()) index.upsert(id, [i, i * i]);
    index.delete('c');
    const b = saved(index);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    expect(Buffer.from(b.subarray(0, 8)).toString('latin1')).toBe('AREHNSW\0');
    expect([v.getUint16(8, true), v.getUint8(10), v.getUint32(12, true), v.getUint32(16, true)]).toEqual([
      1, 2, 2, 2,
    ]);
    expect([v.getUint32(20, true), v.getUint32(28, true), v.getUint32(32, true)]).toEqual([4, 5, 1]);
    let at = 64;
    const section = () => {
      const length = v.getUint32(at, true);
      const payload = b.subarray(at + 4, at + 4 + length);
      at += 8 + length;
      return payload;
    };
    const nodes = section();
    expect(nodes.length).toBe(5);
    expect(nodes[2]! & 0x80).toBe(0x80);
    expect(nodes[0]! & 0x80).toBe(0);
    const vectors = section();
    const floats = new Float32Array(vectors.slice().buffer);
    expect([...floats]).toEqual([0, 0, 1, 1, 2, 4, 3, 9, 4, 16]);
    const links = section();
    let linkAt = 0;
    for (let node = 0; node < 5; node++) {
      for (let level = 0; level <= (nodes[node]! & 0x7f); level++) {
        const count = links[linkAt]! | (links[linkAt + 1]! << 8);
        expect(count).toBeLessThanOrEqual(level === 0 ? 4 : 2);
        linkAt += 2 + 4 * count;
      }
    }
    expect(linkAt).toBe(links.length);
    const idBytes = section();
    const decoded: string[] = [];
    for (let i = 0; i < idBytes.length; ) {
      const length = idBytes[i]! | (idBytes[i + 1]! << 8);
      decoded.push(new TextDecoder().decode(idBytes.subarray(i + 2, i + 2 + length)));
      i += 2 + length;
    }
    expect(decoded).toEqual(ids);
    expect(at).toBe(b.length);
  });
});
