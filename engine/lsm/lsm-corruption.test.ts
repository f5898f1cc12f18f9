/**
 * Corruption and bad-argument tests for the whole store. A flipped bit in any file the store
 * relies on (tables, WAL, manifest, CURRENT) must surface as a `CorruptionError` naming the
 * file and an offset inside it, at open or at the read that touches it: never as different
 * data, never as another kind of error. Wrong arguments get clear typed errors.
 */

import { describe, expect, it } from 'vitest';
import { AregulaError, CorruptionError } from '../errors.ts';
import type { FileHandle, FileSystem, OpenOptions } from '../io/fs.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from './limits.ts';
import { Lsm, type LsmOptions, WriteBatch } from './lsm.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const OPTIONS: LsmOptions = { memtableBytes: 2048, blockBytes: 256, compactionMinRuns: 8 };

/** A closed store with several tables and unflushed WAL records, and its expected contents. */
function buildStore(): { fs: MemoryFs; want: [string, string][] } {
  const fs = new MemoryFs();
  const db = Lsm.open(fs, OPTIONS);
  const model = new Map<string, string>();
  const rng = new SeededRandom(7);
  for (let i = 0; i < 400; i++) {
    const k = Uint8Array.of(rng.int(60), rng.int(4));
    if (rng.int(8) === 0) {
      db.delete(k);
      model.delete(hex(k));
    } else {
      const v = Uint8Array.from({ length: rng.int(30) }, () => rng.int(256));
      db.put(k, v);
      model.set(hex(k), hex(v));
    }
  }
  db.close();
  const want = [...model.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { fs, want };
}

/** Opens the store and reads everything: by scan and by get of every expected key. */
function readEverything(fs: MemoryFs, want: [string, string][]): [string, string][] {
  const db = Lsm.open(fs, OPTIONS);
  try {
    const got = [...db.scan()].map(([k, v]) => [hex(k), hex(v)] as [string, string]);
    for (const [k] of want) db.get(new Uint8Array(Buffer.from(k, 'hex')));
    return got;
  } finally {
    db.close();
  }
}

function fileSize(fs: MemoryFs, name: string): number {
  const h = fs.open(name);
  try {
    return h.size();
  } finally {
    h.close();
  }
}

describe('bit flips in stored files', () => {
  const base = buildStore();
  const files = base.fs.list().filter((f) => f !== 'CURRENT');

  it('the store under test has tables, a WAL with records and a manifest', () => {
    expect(files.filter((f) => f.endsWith('.sst')).length).toBeGreaterThanOrEqual(3);
    expect(files.filter((f) => f.endsWith('.log')).length).toBeGreaterThanOrEqual(1);
    expect(fileSize(base.fs, files.find((f) => f.endsWith('.log'))!)).toBeGreaterThan(100);
    expect(files.some((f) => f.startsWith('MANIFEST-'))).toBe(true);
    expect(readEverything(base.fs.clone(), base.want)).toEqual(base.want);
  });

  for (const file of [...files, 'CURRENT']) {
    it(`every byte of ${file}: a flipped bit is a CorruptionError naming it, never wrong data`, () => {
      const size = fileSize(base.fs, file);
      const rng = new SeededRandom(size);
      let detected = 0;
      for (let offset = 0; offset < size; offset++) {
        const fs = base.fs.clone();
        fs.flipBit(file, offset, rng.int(8));
        try {
          const got = readEverything(fs, base.want);
          expect(got, `flip at ${file}:${offset} returned different data`).toEqual(base.want);
        } catch (err) {
          if (!(err instanceof CorruptionError)) throw new Error(`flip at ${file}:${offset}: ${String(err)}`);
          const named = err.file === file || (file === 'CURRENT' && err.file.startsWith('MANIFEST-'));
          expect(named, `flip at ${file}:${offset} reported ${err.file}`).toBe(true);
          expect(err.offset).toBeGreaterThanOrEqual(0);
          expect(err.offset).toBeLessThanOrEqual(size);
          expect(err.code).toBe('ARE_CORRUPTION');
          detected++;
        }
      }
      // Every byte of every file is covered by a check, so every flip is detected.
      expect(detected).toBe(size);
    });
  }
});

describe('wrong arguments', () => {
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      if (err instanceof AregulaError) return err.code;
      return `untyped: ${String(err)}`;
    }
    return 'no error';
  };

  it('rejects bad keys, values, batches, bounds and options with typed errors', () => {
    const fs = new MemoryFs();
    const db = Lsm.open(fs);
    const bad = (x: unknown) => x as Uint8Array;
    expect(codeOf(() => db.put(new Uint8Array(0), Uint8Array.of(1)))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.put(bad('key'), Uint8Array.of(1)))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.put(Uint8Array.of(1), bad(null)))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.get(bad(undefined)))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.put(new Uint8Array(MAX_KEY_BYTES + 1), Uint8Array.of(1)))).toBe(
      'ARE_LIMIT_EXCEEDED',
    );
    expect(codeOf(() => db.put(Uint8Array.of(1), new Uint8Array(MAX_VALUE_BYTES + 1)))).toBe(
      'ARE_LIMIT_EXCEEDED',
    );
    expect(codeOf(() => db.write({} as unknown as WriteBatch))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.scan({ gte: bad('a') }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.scan({ limit: -1 }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.scan({ limit: 1.5 }))).toBe('ARE_INVALID_ARGUMENT');
    // Nothing was written by any of the failed calls, and the store still works.
    expect([...db.scan()]).toEqual([]);
    expect(db.stats().lastSequence).toBe(0);
    db.write(new WriteBatch());
    expect(db.stats().lastSequence).toBe(0);
    db.put(Uint8Array.of(1), Uint8Array.of(2));
    expect(db.get(Uint8Array.of(1))).toEqual(Uint8Array.of(2));
    db.close();
    expect(codeOf(() => Lsm.open(new MemoryFs(), { backgroundWorkPerOp: 0 }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => Lsm.open(new MemoryFs(), { compactionMinRuns: 1 }))).toBe('ARE_INVALID_ARGUMENT');
  });

  it('refuses use after close, a second opener, and a store whose CURRENT is missing', () => {
    const fs = new MemoryFs();
    const db = Lsm.open(fs);
    db.put(Uint8Array.of(1), Uint8Array.of(1));
    expect(codeOf(() => Lsm.open(fs))).toBe('ARE_LOCKED');
    db.flush();
    db.close();
    db.close();
    expect(codeOf(() => db.get(Uint8Array.of(1)))).toBe('ARE_CLOSED');
    expect(codeOf(() => db.put(Uint8Array.of(1), Uint8Array.of(1)))).toBe('ARE_CLOSED');
    expect(codeOf(() => db.scan())).toBe('ARE_CLOSED');
    fs.delete('CURRENT');
    expect(codeOf(() => Lsm.open(fs))).toBe('ARE_CORRUPTION');
    expect(fs.list().some((f) => f.endsWith('.sst'))).toBe(true);
  });

  it('a full disk fails the write with ARE_NO_SPACE and loses nothing stored', () => {
    const fs = new MemoryFs();
    const db = Lsm.open(fs, { memtableBytes: 1 << 20 });
    for (let i = 0; i < 50; i++) db.put(Uint8Array.of(i), new Uint8Array(100).fill(i), { sync: true });
    fs.capacityBytes = fs.totalBytes() + 500;
    let failures = 0;
    for (let i = 50; i < 60; i++) {
      try {
        db.put(Uint8Array.of(i), new Uint8Array(100).fill(i), { sync: true });
      } catch (err) {
        expect((err as AregulaError).code).toBe('ARE_NO_SPACE');
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(0);
    fs.capacityBytes = undefined;
    db.close();
    const again = Lsm.open(fs);
    for (let i = 0; i < 50; i++) expect(again.get(Uint8Array.of(i))).toEqual(new Uint8Array(100).fill(i));
    again.close();
  });
});

describe('lost or damaged WALs', () => {
  /** A closed store whose unflushed writes span two WALs (a flush was still running). */
  function twoWals(): { fs: MemoryFs; logs: string[] } {
    for (let seed = 0; seed < 50; seed++) {
      const fs = new MemoryFs();
      const db = Lsm.open(fs, { memtableBytes: 1024, backgroundWorkPerOp: 1 });
      const rng = new SeededRandom(seed);
      const n = 40 + rng.int(40);
      for (let i = 0; i < n; i++) db.put(Uint8Array.of(i), new Uint8Array(40).fill(i));
      db.close();
      const logs = fs.list().filter((f) => f.endsWith('.log'));
      const sizes = logs.map((l) => fileSize(fs, l));
      if (logs.length === 2 && sizes.every((s) => s > 0)) return { fs, logs };
    }
    throw new Error('no seed gave two non-empty WALs');
  }

  it('a missing older WAL is a sequence gap, reported as corruption', () => {
    const { fs, logs } = twoWals();
    fs.delete(logs[0]!);
    expect(() => Lsm.open(fs)).toThrow(CorruptionError);
  });

  it('a torn tail in a WAL followed by a non-empty one is corruption, not a torn write', () => {
    const { fs, logs } = twoWals();
    const h = fs.open(logs[0]!);
    h.truncate(h.size() - 3);
    h.close();
    let err: unknown;
    try {
      Lsm.open(fs);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as CorruptionError).file).toBe(logs[0]);
  });
});

/** A file system whose file syncs fail while `failing` is set (a device error, say). */
class FailingSyncFs implements FileSystem {
  failing = false;
  constructor(private readonly inner: MemoryFs) {}
  open(name: string, options?: OpenOptions): FileHandle {
    const h = this.inner.open(name, options);
    return {
      name: h.name,
      size: () => h.size(),
      read: (o, l) => h.read(o, l),
      write: (o, d) => h.write(o, d),
      append: (d) => h.append(d),
      truncate: (s) => h.truncate(s),
      sync: () => {
        if (this.failing) throw new Error('EIO: sync failed');
        h.sync();
      },
      close: () => h.close(),
    };
  }
  exists = (name: string) => this.inner.exists(name);
  list = () => this.inner.list();
  rename = (from: string, to: string) => this.inner.rename(from, to);
  delete = (name: string) => this.inner.delete(name);
  syncDir = () => this.inner.syncDir();
}

describe('a failed WAL sync', () => {
  it('fails the store for writes; reopening recovers every earlier write', () => {
    const mem = new MemoryFs();
    const fs = new FailingSyncFs(mem);
    const db = Lsm.open(fs);
    db.put(Uint8Array.of(1), Uint8Array.of(1), { sync: true });
    fs.failing = true;
    expect(() => db.put(Uint8Array.of(2), Uint8Array.of(2), { sync: true })).toThrow('EIO');
    fs.failing = false;
    // Every later write reports the same failure instead of reusing a sequence number.
    expect(() => db.put(Uint8Array.of(3), Uint8Array.of(3))).toThrow('EIO');
    expect(db.get(Uint8Array.of(1))).toEqual(Uint8Array.of(1));
    db.close();
    const again = Lsm.open(fs);
    expect(again.get(Uint8Array.of(1))).toEqual(Uint8Array.of(1));
    expect(again.get(Uint8Array.of(3))).toBeUndefined();
    again.put(Uint8Array.of(4), Uint8Array.of(4), { sync: true });
    again.close();
    expect(Lsm.open(fs).get(Uint8Array.of(4))).toEqual(Uint8Array.of(4));
  });
});

describe('options', () => {
  it('are validated at open with ARE_INVALID_ARGUMENT', () => {
    const bad = [
      { memtableBytes: 10 },
      { memtableBytes: 1.5e6 + 0.5 },
      { blockBytes: 0 },
      { bloomBitsPerKey: -1 },
      { bloomBitsPerKey: 1000 },
      { blockCacheBytes: -5 },
      { backgroundWorkPerOp: 0 },
      { compactionMinRuns: 1 },
      { compactionMinRuns: 100 },
    ];
    for (const o of bad) {
      let code = 'none';
      try {
        Lsm.open(new MemoryFs(), o as LsmOptions);
      } catch (err) {
        code = (err as AregulaError).code;
      }
      expect(code, JSON.stringify(o)).toBe('ARE_INVALID_ARGUMENT');
    }
    const db = Lsm.open(new MemoryFs());
    expect(() => db.maintain(-1)).toThrow(AregulaError);
    db.close();
  });
});
