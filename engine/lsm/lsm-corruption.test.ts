/**
 * Corruption and bad-argument tests for the whole store. A flipped bit in any file the store
 * relies on (tables, WAL, manifest, CURRENT) must surface as a `CorruptionError` naming the
 * file and an offset inside it, at open or at the read that touches it: never as different
 * data, never as another kind of error. Wrong arguments get clear typed errors.
 */

import { describe, expect, it } from 'vitest';
import { AregulaError, CorruptionError } from '../errors.ts';
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
