import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { ClosedError, CorruptionError, InvalidArgumentError, NoSpaceError } from '../errors.ts';
import { crc32c, maskCrc } from '../io/crc32c.ts';
import type { FileHandle, FileSystem } from '../io/fs.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { Block, BlockBuilder, type BlockHandle, decodeBlockHandle, encodeBlockHandle } from './block.ts';
import { BlockCache } from './block-cache.ts';
import { BloomFilterBuilder } from './bloom.ts';
import { ByteWriter, bytesEqual, getU32 } from './coding.ts';
import {
  compareInternalKeys,
  EntryKind,
  encodeInternalKey,
  kindOf,
  MAX_SEQUENCE,
  seqOf,
  userKeyOf,
} from './internal-key.ts';
import {
  BLOCK_TRAILER_BYTES,
  FOOTER_BYTES,
  SSTABLE_FORMAT_VERSION,
  SSTABLE_MAGIC,
  type SsTableMeta,
  type SsTableOptions,
  SsTableReader,
  SsTableWriter,
} from './sstable.ts';

interface Entry {
  key: Uint8Array;
  value: Uint8Array;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const ik = (user: string | Uint8Array, seq: number, kind: EntryKind = EntryKind.Value): Uint8Array =>
  encodeInternalKey(typeof user === 'string' ? utf8(user) : user, seq, kind);

function writeTable(fs: FileSystem, name: string, entries: Entry[], options?: SsTableOptions): SsTableMeta {
  const h = fs.open(name, { create: true, exclusive: true });
  const w = new SsTableWriter(h, options);
  for (const e of entries) w.add(e.key, e.value);
  const meta = w.finish();
  h.sync();
  h.close();
  return meta;
}

function readAll(r: SsTableReader): Entry[] {
  const out: Entry[] = [];
  const it = r.iterator();
  for (it.seekToFirst(); it.valid(); it.next())
    out.push({ key: it.key().slice(), value: it.value().slice() });
  return out;
}

/** What find() should return: the first (newest) entry of `user` with sequence <= seq. */
function modelFind(entries: Entry[], user: Uint8Array, seq: number) {
  const e = entries.find((x) => bytesEqual(userKeyOf(x.key), user) && seqOf(x.key) <= seq);
  return e && { kind: kindOf(e.key), value: e.value, seq: seqOf(e.key) };
}

function sortedUnique(keys: Uint8Array[]): Uint8Array[] {
  const sorted = [...keys].sort(compareInternalKeys);
  return sorted.filter((k, i) => i === 0 || compareInternalKeys(sorted[i - 1]!, k) !== 0);
}

const userKeyArb = fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.constantFrom(0x00, 0x61, 0x62, 0xff), { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(0x61, 0x62), { minLength: 300, maxLength: 700 }) },
);
const valueArb = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 600, maxLength: 2000 }) },
);
const entryArb = fc.record({
  user: userKeyArb,
  seq: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.nat({ max: MAX_SEQUENCE })),
  kind: fc.constantFrom(EntryKind.Delete, EntryKind.Value),
  value: valueArb,
});
const entriesArb = fc.array(entryArb, { maxLength: 150 }).map((rs) => {
  const keys = sortedUnique(rs.map((r) => ik(Uint8Array.from(r.user), r.seq, r.kind)));
  return keys.map((key, i) => ({
    key,
    value: kindOf(key) === EntryKind.Delete ? new Uint8Array(0) : rs[i % rs.length]!.value,
  }));
});
const optionsArb = fc.record({
  blockBytes: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.constant(4096)),
  restartInterval: fc.integer({ min: 1, max: 16 }),
  bloomBitsPerKey: fc.constantFrom(0, 1, 10),
});

describe('SsTableWriter → SsTableReader round trip', () => {
  test.prop([entriesArb, optionsArb, fc.array(fc.tuple(userKeyArb, fc.nat({ max: 40 })), { maxLength: 40 })])(
    'iterates exactly the entries, seeks and finds like the model',
    (entries, options, probes) => {
      const fs = new MemoryFs();
      const meta = writeTable(fs, 't.sst', entries, options);
      const r = SsTableReader.open({ fs, name: 't.sst', cache: new BlockCache(1 << 16) });
      expect(r.meta).toEqual(meta);
      expect(meta.entries).toBe(entries.length);
      expect(meta.fileBytes).toBe(fs.open('t.sst').size());
      expect(meta.smallest).toEqual(entries[0]?.key ?? new Uint8Array(0));
      expect(meta.largest).toEqual(entries.at(-1)?.key ?? new Uint8Array(0));
      expect(readAll(r)).toEqual(entries);
      const it = r.iterator();
      const targets = [...probes.map(([u, s]) => ik(Uint8Array.from(u), s)), ...entries.map((e) => e.key)];
      for (const t of targets) {
        it.seek(t);
        const want = entries.find((e) => compareInternalKeys(e.key, t) >= 0);
        expect(it.valid()).toBe(want !== undefined);
        if (want) expect({ key: it.key(), value: it.value() }).toEqual(want);
      }
      const finds = [...probes, ...entries.map((e) => [userKeyOf(e.key), seqOf(e.key)] as const)];
      for (const [u, s] of finds) {
        const user = Uint8Array.from(u);
        expect(r.find(user, s)).toEqual(modelFind(entries, user, s));
        expect(r.find(user, MAX_SEQUENCE)).toEqual(modelFind(entries, user, MAX_SEQUENCE));
      }
      for (const e of entries) expect(r.mayContain(userKeyOf(e.key))).toBe(true);
      r.close();
    },
  );

  it('holds a single entry', () => {
    const fs = new MemoryFs();
    const entries = [{ key: ik('only', 7), value: utf8('v') }];
    writeTable(fs, 'one', entries);
    const r = SsTableReader.open({ fs, name: 'one' });
    expect(r.blockCount).toBe(1);
    expect(readAll(r)).toEqual(entries);
    expect(r.find(utf8('only'), 7)).toEqual({ kind: EntryKind.Value, value: utf8('v'), seq: 7 });
    expect(r.find(utf8('only'), 6)).toBeUndefined();
    expect(r.find(utf8('onl'), 7)).toBeUndefined();
  });

  it('holds no entries', () => {
    const fs = new MemoryFs();
    const meta = writeTable(fs, 'empty', []);
    const r = SsTableReader.open({ fs, name: 'empty' });
    expect(meta).toEqual({
      fileBytes: r.meta.fileBytes,
      entries: 0,
      smallest: new Uint8Array(0),
      largest: new Uint8Array(0),
    });
    expect(r.blockCount).toBe(0);
    expect(readAll(r)).toEqual([]);
    expect(r.find(utf8('x'), MAX_SEQUENCE)).toBeUndefined();
  });

  it('puts an entry larger than a block in a block of its own', () => {
    const fs = new MemoryFs();
    const entries = [0, 1, 2, 3].map((i) => ({ key: ik(`k${i}`, 1), value: new Uint8Array(5000).fill(i) }));
    writeTable(fs, 'big', entries, { blockBytes: 1024 });
    const r = SsTableReader.open({ fs, name: 'big' });
    expect(r.blockCount).toBe(4);
    expect(readAll(r)).toEqual(entries);
    expect(r.find(utf8('k2'), 1)?.value).toEqual(entries[2]!.value);
  });

  it('finds the right version among hundreds of one user key spanning blocks', () => {
    const fs = new MemoryFs();
    const entries: Entry[] = [{ key: ik('a', 5), value: utf8('before') }];
    for (let s = 600; s >= 1; s--) {
      const kind = s % 7 === 0 ? EntryKind.Delete : EntryKind.Value;
      entries.push({
        key: ik('key', s * 2, kind),
        value: kind === EntryKind.Value ? utf8(`v${s * 2}`) : new Uint8Array(0),
      });
    }
    entries.push({ key: ik('z', 1), value: utf8('after') });
    writeTable(fs, 'versions', entries, { blockBytes: 128, restartInterval: 4 });
    const r = SsTableReader.open({ fs, name: 'versions' });
    expect(r.blockCount).toBeGreaterThan(20);
    expect(r.find(utf8('key'), 0)).toBeUndefined();
    expect(r.find(utf8('key'), 1)).toBeUndefined();
    for (let q = 2; q <= 1250; q++) {
      const newest = Math.min(1200, q - (q % 2));
      const kind = (newest / 2) % 7 === 0 ? EntryKind.Delete : EntryKind.Value;
      const value = kind === EntryKind.Value ? utf8(`v${newest}`) : new Uint8Array(0);
      expect(r.find(utf8('key'), q)).toEqual({ kind, value, seq: newest });
    }
    expect(readAll(r)).toEqual(entries);
  });

  it('handles long keys that share long prefixes', () => {
    const fs = new MemoryFs();
    const prefix = 'p'.repeat(5000);
    const entries = ['a', 'b', 'c', 'ca', 'cb'].map((s, i) => ({
      key: ik(prefix + s, i + 1),
      value: utf8(s),
    }));
    // One block: one full key, four short suffixes, a one-byte index key, and the two
    // full keys of the properties block.
    const meta = writeTable(fs, 'long', entries, { blockBytes: 1 << 20, restartInterval: 8 });
    expect(meta.fileBytes).toBeLessThan(3 * 5010 + 300);
    writeTable(fs, 'long-small-blocks', entries, { blockBytes: 64, restartInterval: 2 });
    for (const name of ['long', 'long-small-blocks']) {
      const r = SsTableReader.open({ fs, name });
      expect(readAll(r)).toEqual(entries);
      expect(r.find(utf8(prefix + 'ca'), 10)?.value).toEqual(utf8('ca'));
      expect(r.find(utf8(prefix + 'c'), 2)).toBeUndefined();
      expect(r.find(utf8(prefix), 10)).toBeUndefined();
    }
  });

  it('fills default 4 KiB blocks and shortens index keys', () => {
    const fs = new MemoryFs();
    const entries = Array.from({ length: 5000 }, (_, i) => ({
      key: ik(`user:${String(i).padStart(6, '0')}:name`, i + 1),
      value: utf8(`value number ${i}`),
    }));
    const meta = writeTable(fs, 'default', entries);
    const r = SsTableReader.open({ fs, name: 'default' });
    const dataBytes = meta.fileBytes - FOOTER_BYTES;
    expect(r.blockCount).toBeGreaterThan(dataBytes / 4200 - 2);
    expect(r.blockCount).toBeLessThan(dataBytes / 3000);
    const { index } = layout(readFile(fs, 'default'));
    // Separators like "user:000123;" (12 bytes, not 16) + trailer, handle, headers, restart.
    expect(index.size / r.blockCount).toBeLessThan(34);
  });

  it('estimates its size while writing', () => {
    const fs = new MemoryFs();
    const h = fs.open('est', { create: true });
    const w = new SsTableWriter(h, { blockBytes: 512 });
    for (let i = 0; i < 2000; i++) {
      w.add(ik(`k${String(i).padStart(5, '0')}`, 1), new Uint8Array(i % 50));
      expect(w.estimatedBytes()).toBeGreaterThanOrEqual(h.size());
      expect(w.entries).toBe(i + 1);
    }
    const before = w.estimatedBytes();
    const meta = w.finish();
    expect(Math.abs(before - meta.fileBytes)).toBeLessThan(64);
  });

  it('consults the bloom filter before reading any data block', () => {
    const fs = new MemoryFs();
    const entries = Array.from({ length: 200 }, (_, i) => ({ key: ik(`k${1000 + i}`, 1), value: utf8('v') }));
    writeTable(fs, 'bloom', entries);
    const reads = { n: 0 };
    const r = SsTableReader.open({ fs: countingFs(fs, reads), name: 'bloom' });
    const after = reads.n;
    let rejected = 0;
    for (let i = 0; i < 1000; i++) {
      const k = utf8(`absent${i}`);
      const before = reads.n;
      expect(r.find(k, MAX_SEQUENCE)).toBeUndefined();
      if (!r.mayContain(k)) {
        rejected++;
        expect(reads.n).toBe(before);
      }
    }
    expect(rejected).toBeGreaterThan(950);
    expect(reads.n - after).toBeLessThan(50);
    writeTable(fs, 'nobloom', entries, { bloomBitsPerKey: 0 });
    const r2 = SsTableReader.open({ fs, name: 'nobloom' });
    expect(r2.mayContain(utf8('absent'))).toBe(true);
    expect(r2.find(utf8('absent'), MAX_SEQUENCE)).toBeUndefined();
  });
});

/** Wraps `fs`, counting reads (`n`) and handles opened and not yet closed (`open`). */
function countingFs(fs: FileSystem, reads: { n: number; open?: number }): FileSystem {
  return {
    exists: (n) => fs.exists(n),
    list: () => fs.list(),
    rename: (a, b) => fs.rename(a, b),
    delete: (n) => fs.delete(n),
    syncDir: () => fs.syncDir(),
    open(name, options): FileHandle {
      const h = fs.open(name, options);
      reads.open = (reads.open ?? 0) + 1;
      let closed = false;
      return {
        name: h.name,
        size: () => h.size(),
        read: (offset, length) => {
          reads.n++;
          return h.read(offset, length);
        },
        write: (o, d) => h.write(o, d),
        append: (d) => h.append(d),
        truncate: (s) => h.truncate(s),
        sync: () => h.sync(),
        close: () => {
          if (!closed) reads.open = (reads.open ?? 0) - 1;
          closed = true;
          h.close();
        },
      };
    },
  };
}

function readFile(fs: FileSystem, name: string): Uint8Array {
  const h = fs.open(name);
  const bytes = h.read(0, h.size());
  h.close();
  return bytes;
}

function putFile(fs: FileSystem, name: string, bytes: Uint8Array): void {
  const h = fs.open(name, { create: true });
  h.truncate(0);
  h.write(0, bytes);
  h.close();
}

/** Parses a table's regions (independently of the reader) for the corruption tests. */
function layout(bytes: Uint8Array) {
  const at = bytes.length - FOOTER_BYTES;
  const f = new DataView(bytes.buffer, bytes.byteOffset + at, FOOTER_BYTES);
  const handle = (i: number): BlockHandle => ({
    offset: Number(f.getBigUint64(i * 16, true)),
    size: Number(f.getBigUint64(i * 16 + 8, true)),
  });
  const index = handle(2);
  const c = Block.decode(bytes.subarray(index.offset, index.offset + index.size)).cursor();
  const data: BlockHandle[] = [];
  for (c.seekToFirst(); c.valid(); c.next()) data.push(decodeBlockHandle(c.value()));
  return { footerAt: at, filter: handle(0), props: handle(1), index, data };
}

/** Every region of a table: [start, end) and the offset a corruption inside it must report. */
function regions(bytes: Uint8Array): { name: string; start: number; end: number }[] {
  const l = layout(bytes);
  const block = (name: string, h: BlockHandle) => ({
    name,
    start: h.offset,
    end: h.offset + h.size + BLOCK_TRAILER_BYTES,
  });
  return [
    ...l.data.map((h, i) => block(`data block ${i}`, h)),
    block('filter', l.filter),
    block('properties', l.props),
    block('index', l.index),
    { name: 'footer', start: l.footerAt, end: bytes.length },
  ];
}

/** Everything a reader can be asked, as one comparable string; throws what the reader throws. */
function observe(fs: FileSystem, name: string, probes: [Uint8Array, number][]): string {
  const r = SsTableReader.open({ fs, name });
  try {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    const parts = [
      JSON.stringify({ ...r.meta, smallest: hex(r.meta.smallest), largest: hex(r.meta.largest) }),
    ];
    for (const e of readAll(r)) parts.push(`${hex(e.key)}=${hex(e.value)}`);
    const it = r.iterator();
    for (const [u, s] of probes) {
      const f = r.find(u, s);
      parts.push(f ? `${f.kind}/${f.seq}/${hex(f.value)}` : '-', String(r.mayContain(u)));
      it.seek(ik(u, s));
      parts.push(it.valid() ? hex(it.key()) : 'end');
    }
    return parts.join('\n');
  } finally {
    r.close();
  }
}

/** Flips each chosen bit, checks the outcome, flips it back. Returns how many reads succeeded. */
function flipAndCheck(fs: MemoryFs, name: string, bits: number[], probes: [Uint8Array, number][]): number {
  const pristine = observe(fs, name, probes);
  const size = readFile(fs, name).length;
  const rs = regions(readFile(fs, name));
  let silent = 0;
  for (const bit of bits) {
    const byte = bit >>> 3;
    const region = rs.find((x) => byte >= x.start && byte < x.end);
    expect(region, `byte ${byte} lies in a region`).toBeDefined();
    fs.flipBit(name, byte, bit & 7);
    try {
      const got = observe(fs, name, probes);
      expect(got, `flipping bit ${bit} changed what the reader returns`).toBe(pristine);
      silent++;
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw new Error(`bit ${bit} (${region!.name}): ${String(e)}`);
      expect(e.file).toBe(name);
      expect(e.offset, `bit ${bit} in ${region!.name}`).toBe(region!.start);
      expect(e.offset).toBeLessThan(size);
    } finally {
      fs.flipBit(name, byte, bit & 7);
    }
  }
  return silent;
}

function sampleEntries(n: number, seed: number): Entry[] {
  const rnd = new SeededRandom(seed);
  const keys: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const user = `k${String(rnd.int(n)).padStart(4, '0')}`;
    keys.push(ik(user, rnd.int(100), rnd.int(4) === 0 ? EntryKind.Delete : EntryKind.Value));
  }
  return sortedUnique(keys).map((key) => ({
    key,
    value: kindOf(key) === EntryKind.Delete ? new Uint8Array(0) : utf8('v'.repeat(rnd.int(12))),
  }));
}

function probesFor(entries: Entry[]): [Uint8Array, number][] {
  const probes: [Uint8Array, number][] = entries.map((e) => [userKeyOf(e.key), seqOf(e.key)]);
  probes.push([utf8('absent'), MAX_SEQUENCE], [utf8('k'), 3], [utf8('zzz'), 0]);
  return probes;
}

describe('corruption', () => {
  it('every single-bit flip of a small table is reported as corruption of its region', () => {
    const fs = new MemoryFs();
    const entries = sampleEntries(30, 1);
    writeTable(fs, 'small.sst', entries, { blockBytes: 96, restartInterval: 3 });
    const size = readFile(fs, 'small.sst').length;
    expect(layout(readFile(fs, 'small.sst')).data.length).toBeGreaterThan(3);
    const bits = Array.from({ length: size * 8 }, (_, i) => i);
    console.log(
      `bit-flip test: ${size}-byte table, ${bits.length} flips, ${regions(readFile(fs, 'small.sst')).length} regions`,
    );
    expect(flipAndCheck(fs, 'small.sst', bits, probesFor(entries))).toBe(0);
  });

  it('a dense sample of bit flips in every region of a larger table is reported', () => {
    const fs = new MemoryFs();
    const entries = sampleEntries(1500, 2);
    writeTable(fs, 'large.sst', entries, { blockBytes: 1024 });
    const rnd = new SeededRandom(3);
    const bits: number[] = [];
    const rs = regions(readFile(fs, 'large.sst'));
    expect(rs.length).toBeGreaterThan(10);
    for (const r of rs) {
      for (let b = 0; b < 8; b++) bits.push(r.start * 8 + b, (r.end - 1) * 8 + b);
      for (let i = 0; i < 24; i++) bits.push(r.start * 8 + rnd.int((r.end - r.start) * 8));
    }
    const size = readFile(fs, 'large.sst').length;
    console.log(`bit-flip sample: ${size}-byte table, ${bits.length} flips over ${rs.length} regions`);
    expect(flipAndCheck(fs, 'large.sst', bits, probesFor(entries).slice(0, 40))).toBe(0);
  });

  it('every truncation, and any extension, is reported as corruption', () => {
    const fs = new MemoryFs();
    const entries = sampleEntries(20, 4);
    writeTable(fs, 'cut.sst', entries, { blockBytes: 100 });
    const bytes = readFile(fs, 'cut.sst');
    const tails = [Uint8Array.of(0), new Uint8Array(100), bytes.subarray(bytes.length - FOOTER_BYTES)];
    const variants = [...Array.from({ length: bytes.length }, (_, n) => bytes.subarray(0, n))];
    for (const t of tails) variants.push(Uint8Array.of(...bytes, ...t));
    for (const v of variants) {
      putFile(fs, 'cut.sst', v);
      const e = catchError(() => observe(fs, 'cut.sst', probesFor(entries)));
      expect(e, `length ${v.length}`).toBeInstanceOf(CorruptionError);
      expect((e as CorruptionError).file).toBe('cut.sst');
      expect((e as CorruptionError).offset).toBeGreaterThanOrEqual(0);
      expect((e as CorruptionError).offset).toBeLessThan(Math.max(1, v.length));
    }
  });
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

/** Appends a block and a valid trailer (any type byte); returns its handle. */
function putBlock(w: ByteWriter, contents: Uint8Array, type = 0): BlockHandle {
  const offset = w.length;
  w.bytes(contents).u8(type);
  w.u32(maskCrc(crc32c(w.peek(), offset, w.length)));
  return { offset, size: contents.length };
}

/** A table assembled by hand with valid checksums everywhere, so only structure is wrong. */
function assemble(parts: {
  blocks: Uint8Array[];
  separators?: Uint8Array[];
  handles?: (real: BlockHandle[]) => BlockHandle[];
  props?: Uint8Array;
  entries?: number;
  version?: number;
  dataType?: number;
  filter?: Uint8Array;
}): Uint8Array {
  const w = new ByteWriter();
  const real = parts.blocks.map((b) => putBlock(w, b, parts.dataType));
  const handles = parts.handles ? parts.handles(real) : real;
  const decoded = parts.blocks.map((b) => {
    try {
      return Block.decode(b);
    } catch {
      return undefined; // a deliberately malformed block: the caller supplies what we would derive
    }
  });
  const filter = putBlock(w, parts.filter ?? new Uint8Array(0));
  const smallest = decoded[0]?.firstKey ?? new Uint8Array(0);
  const largest = decoded.at(-1)?.lastKey ?? new Uint8Array(0);
  const props = putBlock(
    w,
    parts.props ?? new ByteWriter().lengthPrefixed(smallest).lengthPrefixed(largest).finish(),
  );
  const index = new BlockBuilder(1);
  handles.forEach((h, i) => {
    index.add(parts.separators?.[i] ?? decoded[i]!.lastKey, encodeBlockHandle(h));
  });
  const indexHandle = putBlock(w, index.finish());
  const footerAt = w.length;
  for (const h of [filter, props, indexHandle]) w.u64(h.offset).u64(h.size);
  const count = decoded.reduce((n, b) => n + (b?.entries ?? 0), 0);
  w.u64(parts.entries ?? count).u32(parts.version ?? SSTABLE_FORMAT_VERSION);
  w.u32(maskCrc(crc32c(w.peek(), footerAt, w.length)));
  w.bytes(SSTABLE_MAGIC);
  return w.finish();
}

function blockOf(keys: Uint8Array[]): Uint8Array {
  const b = new BlockBuilder(2);
  for (const k of keys) b.add(k, utf8('val'));
  return b.finish();
}

/** Block bytes whose keys are stored in the given (possibly wrong) order, all as restarts. */
function rawBlockOf(keys: Uint8Array[]): Uint8Array {
  const w = new ByteWriter();
  const restarts: number[] = [];
  for (const k of keys) {
    restarts.push(w.length);
    w.varint(0).varint(k.length).varint(0).bytes(k);
  }
  for (const r of restarts) w.u32(r);
  return w.u32(restarts.length).finish();
}

describe('structural corruption under valid checksums', () => {
  const b0 = blockOf([ik('a', 1), ik('b', 1)]);
  const b1 = blockOf([ik('c', 1), ik('d', 1)]);

  function expectCorrupt(bytes: Uint8Array, offset: number, detail: RegExp): void {
    const fs = new MemoryFs();
    putFile(fs, 'x.sst', bytes);
    const e = catchError(() => observe(fs, 'x.sst', [[utf8('a'), 5]]));
    expect(e).toBeInstanceOf(CorruptionError);
    expect((e as CorruptionError).message).toMatch(detail);
    expect((e as CorruptionError).offset).toBe(offset);
    expect((e as CorruptionError).file).toBe('x.sst');
  }

  it('the assembler builds a table the reader accepts', () => {
    const fs = new MemoryFs();
    putFile(fs, 'ok.sst', assemble({ blocks: [b0, b1] }));
    const r = SsTableReader.open({ fs, name: 'ok.sst' });
    expect(readAll(r).map((e) => userKeyOf(e.key))).toEqual(['a', 'b', 'c', 'd'].map(utf8));
  });

  it('rejects an unknown format version and an unknown block type', () => {
    const v2 = assemble({ blocks: [b0], version: 2 });
    expectCorrupt(v2, v2.length - FOOTER_BYTES, /unsupported format version 2/);
    expectCorrupt(assemble({ blocks: [b0], dataType: 1 }), 0, /unknown type/);
  });

  it('rejects keys out of order inside a block', () => {
    const bad = rawBlockOf([ik('d', 1), ik('c', 1)]);
    const props = new ByteWriter().lengthPrefixed(ik('a', 1)).lengthPrefixed(ik('c', 1)).finish();
    const t = assemble({ blocks: [b0, bad], separators: [ik('b', 1), ik('d', 1)], props, entries: 4 });
    expectCorrupt(t, b0.length + 5, /out of order/);
  });

  it('rejects blocks out of order across the index', () => {
    const props = new ByteWriter().lengthPrefixed(ik('c', 1)).lengthPrefixed(ik('b', 1)).finish();
    const swapped = assemble({ blocks: [b1, b0], separators: [ik('d', 1), ik('e', 1)], props });
    expectCorrupt(swapped, layout(swapped).props.offset, /disagree with the index/);
    const props2 = new ByteWriter().lengthPrefixed(ik('c', 1)).lengthPrefixed(ik('d', 1)).finish();
    const swapped2 = assemble({ blocks: [b1, b0], separators: [ik('d', 1), ik('e', 1)], props: props2 });
    expectCorrupt(swapped2, b1.length + 5, /before its index range/);
    expectCorrupt(
      assemble({ blocks: [b0, b1], separators: [ik('a', 1), ik('d', 1)] }),
      0,
      /after its index separator/,
    );
  });

  it('rejects handles that leave gaps, overlap or point outside the file', () => {
    const shift = (d: number) => (hs: BlockHandle[]) =>
      hs.map((h, i) => (i === 1 ? { ...h, offset: h.offset + d } : h));
    const indexAt = (bytes: Uint8Array) => layout(bytes).index.offset;
    for (const d of [-1, 1, 1e9]) {
      const t = assemble({ blocks: [b0, b1], handles: shift(d) });
      expectCorrupt(t, indexAt(t), /data block at|do not end/);
    }
    const big = assemble({ blocks: [b0], handles: (hs) => [{ offset: 0, size: hs[0]!.size + 1 }] });
    expectCorrupt(big, indexAt(big), /do not end/);
  });

  it('rejects an entry count that disagrees with the blocks, on a full scan', () => {
    const t = assemble({ blocks: [b0, b1], entries: 5 });
    expectCorrupt(t, t.length - FOOTER_BYTES, /footer counts 5 entries, the blocks hold 4/);
    const few = assemble({ blocks: [b0, b1], entries: 1 });
    expectCorrupt(few, few.length - FOOTER_BYTES, /fewer entries than data blocks/);
  });

  it('rejects properties that disagree with the index or the blocks', () => {
    const props = (a: Uint8Array, b: Uint8Array) =>
      new ByteWriter().lengthPrefixed(a).lengthPrefixed(b).finish();
    const propsAt = (t: Uint8Array) => layout(t).props.offset;
    const wrongFirst = assemble({ blocks: [b0, b1], props: props(ik('a', 2), ik('d', 1)) });
    expectCorrupt(wrongFirst, 0, /smallest key/);
    const wrongLast = assemble({ blocks: [b0, b1], props: props(ik('a', 1), ik('c', 1)) });
    expectCorrupt(wrongLast, b0.length + 5, /largest key/);
    const beyond = assemble({ blocks: [b0, b1], props: props(ik('a', 1), ik('z', 1)) });
    expectCorrupt(beyond, propsAt(beyond), /disagree with the index/);
    const trailing = assemble({ blocks: [b0], props: Uint8Array.of(...props(ik('a', 1), ik('b', 1)), 0) });
    expectCorrupt(trailing, propsAt(trailing), /bytes after the properties/);
    const claims = assemble({ blocks: [], props: props(ik('a', 1), ik('b', 1)) });
    expectCorrupt(claims, propsAt(claims), /claims entries/);
  });

  it('rejects a malformed filter', () => {
    const f = new BloomFilterBuilder(10).finish();
    f[f.length - 1] = 0;
    const t = assemble({ blocks: [b0], filter: f });
    expectCorrupt(t, layout(t).filter.offset, /probe count/);
  });

  it('rejects a footer whose handles do not tile the tail of the file', () => {
    const t = assemble({ blocks: [b0] });
    const at = t.length - FOOTER_BYTES;
    const view = new DataView(t.buffer);
    view.setUint32(at + 8, view.getUint32(at + 8, true) + 1, true); // filter size + 1
    view.setUint32(at + 60, maskCrc(crc32c(t, at, at + 60)), true);
    expectCorrupt(t, at, /do not tile/);
    view.setUint32(at + 4, 0x00300000, true); // filter offset beyond 2^53
    view.setUint32(at + 60, maskCrc(crc32c(t, at, at + 60)), true);
    expectCorrupt(t, at, /footer/);
    expect(getU32(t, at + 64)).toBe(getU32(SSTABLE_MAGIC, 0));
  });
});

describe('misuse and lifecycle', () => {
  it('asserts on keys that do not strictly increase, and on use after finish', () => {
    const fs = new MemoryFs();
    const w = new SsTableWriter(fs.open('w', { create: true }));
    w.add(ik('b', 5), utf8('x'));
    expect(() => w.add(ik('b', 5), utf8('x'))).toThrow(AssertionError);
    expect(() => w.add(ik('b', 6), utf8('x'))).toThrow(AssertionError);
    expect(() => w.add(ik('a', 1), utf8('x'))).toThrow(AssertionError);
    expect(() => w.add(utf8('short'), utf8('x'))).toThrow(AssertionError);
    w.finish();
    expect(() => w.add(ik('c', 1), utf8('x'))).toThrow(AssertionError);
    expect(() => w.finish()).toThrow(AssertionError);
  });

  it('refuses further use after a failed write, so no table silently loses a block', () => {
    const fs = new MemoryFs({ capacityBytes: 300 });
    const w = new SsTableWriter(fs.open('w', { create: true }), { blockBytes: 64 });
    // Blocks are buffered and appended in large writes, so the values are big enough to
    // overflow the writer's buffer (and so reach the full disk) within the loop.
    const value = new Uint8Array(2000).fill(7);
    const e = catchError(() => {
      for (let i = 0; i < 400; i++) w.add(ik(`key${String(i).padStart(3, '0')}`, 1), value);
    });
    expect(e).toBeInstanceOf(NoSpaceError);
    expect(() => w.add(ik('zzz', 1), utf8('x'))).toThrow(AssertionError);
    expect(() => w.finish()).toThrow(AssertionError);
  });

  it('asserts the file starts empty', () => {
    const fs = new MemoryFs();
    const h = fs.open('w', { create: true });
    h.append(Uint8Array.of(1));
    expect(() => new SsTableWriter(h)).toThrow(AssertionError);
  });

  it('rejects invalid options', () => {
    const fs = new MemoryFs();
    const h = fs.open('w', { create: true });
    for (const o of [
      { blockBytes: 0 },
      { blockBytes: 1.5 },
      { restartInterval: 0 },
      { bloomBitsPerKey: -1 },
      { bloomBitsPerKey: 65 },
    ]) {
      expect(() => new SsTableWriter(h, o)).toThrow(InvalidArgumentError);
    }
  });

  it('throws ClosedError after close and lets close be called twice', () => {
    const fs = new MemoryFs();
    writeTable(fs, 't', [{ key: ik('a', 1), value: utf8('v') }]);
    const r = SsTableReader.open({ fs, name: 't' });
    const it = r.iterator();
    r.close();
    r.close();
    expect(() => r.find(utf8('a'), 1)).toThrow(ClosedError);
    expect(() => r.mayContain(utf8('a'))).toThrow(ClosedError);
    expect(() => r.iterator()).toThrow(ClosedError);
    expect(() => it.seekToFirst()).toThrow(ClosedError);
  });

  it('closes its file when opening fails, and on close', () => {
    const fs = new MemoryFs();
    putFile(fs, 'bad', new Uint8Array(100));
    writeTable(fs, 'good', [{ key: ik('a', 1), value: utf8('v') }]);
    const stats = { n: 0, open: 0 };
    const counted = countingFs(fs, stats);
    expect(() => SsTableReader.open({ fs: counted, name: 'bad' })).toThrow(CorruptionError);
    expect(stats.open).toBe(0);
    const r = SsTableReader.open({ fs: counted, name: 'good' });
    expect(stats.open).toBe(1);
    r.close();
    expect(stats.open).toBe(0);
  });
});

describe('buffered writes', () => {
  it('a full disk at finish() is reported, and the writer refuses further use', () => {
    // Small tables are buffered whole until finish(), so that is where the disk fills.
    const fs = new MemoryFs({ capacityBytes: 300 });
    const w = new SsTableWriter(fs.open('w', { create: true }), { blockBytes: 64 });
    for (let i = 0; i < 100; i++) w.add(ik(`key${String(i).padStart(3, '0')}`, 1), utf8('value'));
    expect(catchError(() => w.finish())).toBeInstanceOf(NoSpaceError);
    expect(() => w.add(ik('zzz', 1), utf8('x'))).toThrow(AssertionError);
  });

  it('tables larger than the write buffer and blocks larger than it read back whole', () => {
    const fs = new MemoryFs();
    const w = new SsTableWriter(fs.open('big', { create: true }), { blockBytes: 4096 });
    const huge = new Uint8Array(600 * 1024).map((_, i) => i % 251);
    const n = 300;
    for (let i = 0; i < n; i++) {
      w.add(ik(`k${String(i).padStart(4, '0')}`, 1), i === 150 ? huge : utf8(`v${i}`.repeat(500)));
    }
    const meta = w.finish();
    expect(fs.open('big').size()).toBe(meta.fileBytes);
    const r = SsTableReader.open({ fs, name: 'big' });
    for (let i = 0; i < n; i++) {
      const got = r.find(utf8(`k${String(i).padStart(4, '0')}`), 1);
      expect(got?.value).toEqual(i === 150 ? huge : utf8(`v${i}`.repeat(500)));
    }
  });
});
