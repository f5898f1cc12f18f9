/**
 * The memtable against a sorted-array model: point lookups at every snapshot, full iteration,
 * seeks, inserting while a cursor walks, and the duplicate-(key, seq) invariant.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { compareBytes } from './coding.ts';
import {
  compareInternalKeys,
  EntryKind,
  encodeInternalKey,
  kindOf,
  MAX_SEQUENCE,
  seekKey,
  seqOf,
  userKeyOf,
} from './internal-key.ts';
import { Memtable } from './memtable.ts';

interface Entry {
  key: Uint8Array;
  seq: number;
  kind: EntryKind;
  value: Uint8Array;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ikeyOf = (e: Entry): Uint8Array => encodeInternalKey(e.key, e.seq, e.kind);

// Keys over a tiny alphabet, so that many versions share a key and keys share prefixes.
const keyArb = fc.uint8Array({ minLength: 1, maxLength: 3, min: 0, max: 2 });
const kindArb = fc.constantFrom(EntryKind.Delete, EntryKind.Value);

/** Entries with unique sequence numbers (1..n in a random order), as the store assigns them. */
const entriesArb: fc.Arbitrary<Entry[]> = fc
  .array(fc.record({ key: keyArb, kind: kindArb, value: fc.uint8Array({ maxLength: 4 }) }), { maxLength: 60 })
  .chain((raw) =>
    fc
      .shuffledSubarray(
        raw.map((_, i) => i + 1),
        { minLength: raw.length, maxLength: raw.length },
      )
      .map((seqs) => raw.map((r, i) => ({ ...r, seq: seqs[i]! }))),
  );

function fill(entries: readonly Entry[]): Memtable {
  const m = new Memtable();
  for (const e of entries)
    m.add(e.seq, e.kind, e.key, e.kind === EntryKind.Value ? e.value : new Uint8Array(0));
  return m;
}

/** The model's answer: the newest version of `key` with sequence <= `seq`. */
function modelFind(entries: readonly Entry[], key: Uint8Array, seq: number): Entry | undefined {
  let best: Entry | undefined;
  for (const e of entries) {
    if (compareBytes(e.key, key) !== 0 || e.seq > seq) continue;
    if (best === undefined || e.seq > best.seq) best = e;
  }
  return best;
}

/** Fills a memtable with `entries` and checks it iterates and finds exactly what the model says. */
function expectHoldsExactly(entries: readonly Entry[]): Memtable {
  const m = fill(entries);
  expect(drain(m)).toEqual(sortedModel(entries));
  expect(m.levelsInOrder()).toBe(true);
  const it = m.iterator();
  for (const e of entries) {
    it.seek(ikeyOf(e));
    expect(it.valid() && hex(it.key())).toBe(hex(ikeyOf(e)));
  }
  for (const e of entries) {
    const want = modelFind(entries, e.key, e.seq);
    const got = m.find(e.key, e.seq);
    expect(got?.kind).toBe(want?.kind);
    expect(hex(got!.value)).toBe(want!.kind === EntryKind.Value ? hex(want!.value) : '');
  }
  return m;
}

function drain(m: Memtable): { key: string; value: string }[] {
  const it = m.iterator();
  const out: { key: string; value: string }[] = [];
  for (it.seekToFirst(); it.valid(); it.next()) out.push({ key: hex(it.key()), value: hex(it.value()) });
  return out;
}

function sortedModel(entries: readonly Entry[]): { key: string; value: string }[] {
  return [...entries]
    .sort((a, b) => compareInternalKeys(ikeyOf(a), ikeyOf(b)))
    .map((e) => ({ key: hex(ikeyOf(e)), value: e.kind === EntryKind.Value ? hex(e.value) : '' }));
}

const allKeys = (): Uint8Array[] => {
  const out: Uint8Array[] = [];
  const rec = (prefix: number[]) => {
    if (prefix.length > 0) out.push(Uint8Array.from(prefix));
    if (prefix.length < 3) for (let b = 0; b <= 2; b++) rec([...prefix, b]);
  };
  rec([]);
  return out;
};

describe('Memtable against a sorted-array model', () => {
  // A memtable rebuilt from exported parts (the flushing thread's) has no index: every find
  // searches the list, so both paths are checked against the model.
  test.prop([entriesArb, fc.boolean()])(
    'find(key, seq) is the newest version at or below seq',
    (entries, rebuilt) => {
      const filled = fill(entries);
      const m = rebuilt ? Memtable.fromParts(filled.exportParts()) : filled;
      const maxSeq = entries.length + 1;
      for (const key of allKeys()) {
        for (let seq = 0; seq <= maxSeq; seq++) {
          const want = modelFind(entries, key, seq);
          const got = m.find(key, seq);
          if (want === undefined) {
            expect(got).toBeUndefined();
          } else {
            expect(got).toBeDefined();
            expect(got!.kind).toBe(want.kind);
            expect(hex(got!.value)).toBe(want.kind === EntryKind.Value ? hex(want.value) : '');
          }
        }
      }
    },
  );

  test.prop([entriesArb])('iterates every entry in internal-key order', (entries) => {
    const m = fill(entries);
    expect(drain(m)).toEqual(sortedModel(entries));
    expect(m.entries).toBe(entries.length);
    expect(m.minSeq).toBe(entries.length === 0 ? Number.POSITIVE_INFINITY : 1);
    expect(m.maxSeq).toBe(entries.length === 0 ? -1 : entries.length);
  });

  test.prop([entriesArb, keyArb, fc.nat({ max: 70 }), kindArb])(
    'seek lands on the first entry >= the target',
    (entries, key, seq, kind) => {
      const m = fill(entries);
      const target = encodeInternalKey(key, seq, kind);
      const want = sortedModel(entries).find(
        (e) => compareInternalKeys(Buffer.from(e.key, 'hex'), target) >= 0,
      );
      const it = m.iterator();
      it.seek(target);
      if (want === undefined) {
        expect(it.valid()).toBe(false);
      } else {
        expect(it.valid()).toBe(true);
        expect(hex(it.key())).toBe(want.key);
        expect(hex(it.value())).toBe(want.value);
      }
    },
  );

  test.prop([entriesArb])('approximateBytes grows with every insert', (entries) => {
    const m = new Memtable();
    let last = m.approximateBytes;
    expect(last).toBe(0);
    for (const e of entries) {
      m.add(e.seq, e.kind, e.key, e.value);
      expect(m.approximateBytes).toBeGreaterThan(last + e.key.length + e.value.length);
      last = m.approximateBytes;
    }
  });
});

describe('inserting while iterating', () => {
  const stepArb = fc.oneof(
    fc.constant({ op: 'next' as const }),
    fc.record({ op: fc.constant('add' as const), key: keyArb, kind: kindArb }),
  );

  test.prop([entriesArb, fc.array(stepArb, { maxLength: 80 })])(
    'never yields an entry twice or out of order, and yields every entry added ahead of it',
    (initial, steps) => {
      const m = fill(initial);
      const present = new Set(initial.map((e) => hex(ikeyOf(e))));
      /** Entries that must be seen: present at the start, or added after the cursor's position. */
      const mustSee = new Set(present);
      const mustNotSee = new Set<string>();
      let nextSeq = initial.length + 1;
      const it = m.iterator();
      it.seekToFirst();
      const seen: Uint8Array[] = [];
      const take = () => {
        seen.push(it.key().slice());
        it.next();
      };
      for (const s of steps) {
        if (s.op === 'next') {
          if (it.valid()) take();
          continue;
        }
        const seq = nextSeq++;
        m.add(seq, s.kind, s.key, Uint8Array.of(seq & 0xff));
        const ikey = encodeInternalKey(s.key, seq, s.kind);
        // Ahead of the cursor's current entry it must show up; behind it, it must not.
        if (it.valid() && compareInternalKeys(ikey, it.key()) > 0) mustSee.add(hex(ikey));
        else mustNotSee.add(hex(ikey));
      }
      while (it.valid()) take();
      for (let i = 1; i < seen.length; i++)
        expect(compareInternalKeys(seen[i - 1]!, seen[i]!)).toBeLessThan(0);
      const seenHex = new Set(seen.map(hex));
      expect(seenHex.size).toBe(seen.length);
      for (const k of mustSee) expect(seenHex.has(k)).toBe(true);
      for (const k of mustNotSee) expect(seenHex.has(k)).toBe(false);
    },
  );

  it('sees an insert just after the cursor and skips one just before it', () => {
    const m = new Memtable();
    m.add(1, EntryKind.Value, Uint8Array.of(2), Uint8Array.of(1));
    m.add(2, EntryKind.Value, Uint8Array.of(4), Uint8Array.of(2));
    const it = m.iterator();
    it.seekToFirst();
    expect(userKeyOf(it.key())).toEqual(Uint8Array.of(2));
    m.add(3, EntryKind.Value, Uint8Array.of(1), Uint8Array.of(3)); // behind the cursor
    m.add(4, EntryKind.Value, Uint8Array.of(3), Uint8Array.of(4)); // ahead of it
    const keys: number[] = [];
    for (; it.valid(); it.next()) keys.push(userKeyOf(it.key())[0]!);
    expect(keys).toEqual([2, 3, 4]);
  });

  it('keeps a cursor at the end invalid when entries are added later', () => {
    const m = new Memtable();
    m.add(1, EntryKind.Value, Uint8Array.of(1), Uint8Array.of(1));
    const it = m.iterator();
    it.seekToFirst();
    it.next();
    expect(it.valid()).toBe(false);
    m.add(2, EntryKind.Value, Uint8Array.of(9), Uint8Array.of(1));
    expect(it.valid()).toBe(false);
    it.seekToFirst();
    expect(drain(m).length).toBe(2);
  });
});

describe('edge cases', () => {
  it('is empty when new', () => {
    const m = new Memtable();
    expect(m.entries).toBe(0);
    expect(m.minSeq).toBe(Number.POSITIVE_INFINITY);
    expect(m.maxSeq).toBe(-1);
    expect(m.find(Uint8Array.of(1), MAX_SEQUENCE)).toBeUndefined();
    const it = m.iterator();
    it.seekToFirst();
    expect(it.valid()).toBe(false);
    it.seek(seekKey(Uint8Array.of(0), 0));
    expect(it.valid()).toBe(false);
  });

  it('asserts when a cursor past the end is used', () => {
    const it = new Memtable().iterator();
    it.seekToFirst();
    expect(() => it.next()).toThrow(AssertionError);
    expect(() => it.key()).toThrow(AssertionError);
    expect(() => it.value()).toThrow(AssertionError);
  });

  it('asserts on a duplicate (key, seq), whatever the kinds, and keeps the first entry', () => {
    for (const [first, second] of [
      [EntryKind.Value, EntryKind.Value],
      [EntryKind.Delete, EntryKind.Delete],
      [EntryKind.Value, EntryKind.Delete],
      [EntryKind.Delete, EntryKind.Value],
    ] as const) {
      const m = new Memtable();
      const key = Uint8Array.of(7, 7);
      m.add(5, first, key, Uint8Array.of(1));
      m.add(4, EntryKind.Value, key, Uint8Array.of(2));
      m.add(6, EntryKind.Value, key, Uint8Array.of(3));
      expect(() => m.add(5, second, key, Uint8Array.of(9))).toThrow(AssertionError);
      expect(m.entries).toBe(3);
      const got = m.find(key, 5);
      expect(got?.kind).toBe(first);
      expect(drain(m).map((e) => seqOf(Buffer.from(e.key, 'hex')))).toEqual([6, 5, 4]);
    }
  });

  it('finds the empty user key, beside keys that start with zero bytes', () => {
    const m = new Memtable();
    m.add(1, EntryKind.Value, new Uint8Array(0), Uint8Array.of(1));
    m.add(2, EntryKind.Value, Uint8Array.of(0), Uint8Array.of(2));
    m.add(3, EntryKind.Value, new Uint8Array(0), Uint8Array.of(3));
    expect(Array.from(m.find(new Uint8Array(0), MAX_SEQUENCE)!.value)).toEqual([3]);
    expect(Array.from(m.find(new Uint8Array(0), 2)!.value)).toEqual([1]);
    expect(Array.from(m.find(Uint8Array.of(0), MAX_SEQUENCE)!.value)).toEqual([2]);
    expect(m.find(Uint8Array.of(0, 0), MAX_SEQUENCE)).toBeUndefined();
  });

  it('keeps keys that share a prefix apart', () => {
    const m = new Memtable();
    const keys = [Uint8Array.of(1), Uint8Array.of(1, 0), Uint8Array.of(1, 0, 0), Uint8Array.of(0, 255)];
    keys.forEach((k, i) => {
      m.add(i + 1, EntryKind.Value, k, Uint8Array.of(i));
    });
    keys.forEach((k, i) => {
      expect(m.find(k, MAX_SEQUENCE)?.value).toEqual(Uint8Array.of(i));
    });
    expect(m.find(Uint8Array.of(1, 0, 0, 0), MAX_SEQUENCE)).toBeUndefined();
    expect(m.find(Uint8Array.of(0), MAX_SEQUENCE)).toBeUndefined();
    expect(drain(m).map((e) => hex(userKeyOf(Buffer.from(e.key, 'hex'))))).toEqual([
      '00ff',
      '01',
      '0100',
      '010000',
    ]);
  });

  it('finds nothing below the oldest version, and a tombstone as a tombstone', () => {
    const m = new Memtable();
    const key = Uint8Array.of(3);
    m.add(10, EntryKind.Value, key, Uint8Array.of(1));
    m.add(20, EntryKind.Delete, key, new Uint8Array(0));
    expect(m.find(key, 9)).toBeUndefined();
    expect(m.find(key, 10)?.kind).toBe(EntryKind.Value);
    expect(m.find(key, 19)?.kind).toBe(EntryKind.Value);
    expect(m.find(key, 20)?.kind).toBe(EntryKind.Delete);
    expect(m.find(key, MAX_SEQUENCE)?.kind).toBe(EntryKind.Delete);
    expect(m.minSeq).toBe(10);
    expect(m.maxSeq).toBe(20);
  });

  it('handles sequences up to MAX_SEQUENCE and many entries (tall towers)', () => {
    const m = new Memtable();
    const n = 5000;
    for (let i = 0; i < n; i++) {
      const key = Uint8Array.of((i * 7919) % 251, i & 0xff);
      m.add(MAX_SEQUENCE - i, EntryKind.Value, key, Uint8Array.of(i & 0xff));
    }
    expect(m.entries).toBe(n);
    expect(m.maxSeq).toBe(MAX_SEQUENCE);
    const it = m.iterator();
    let count = 0;
    let prev: Uint8Array | undefined;
    for (it.seekToFirst(); it.valid(); it.next()) {
      const k = it.key();
      if (prev !== undefined) expect(compareInternalKeys(prev, k)).toBeLessThan(0);
      prev = k.slice();
      count++;
    }
    expect(count).toBe(n);
    expect(kindOf(prev!)).toBe(EntryKind.Value);
  });
});

describe('Memtable arena and prefix codes', () => {
  // Keys of 1..6 bytes over the byte values where a prefix code could go wrong (0, 1, 254,
  // 255), so keys share 3-byte prefixes, differ only after them, or are prefixes of others.
  const edgeKeyArb = fc
    .uint8Array({ minLength: 1, maxLength: 6 })
    .map((k) => k.map((b) => [0, 1, 254, 255][b % 4]!));
  const edgeEntriesArb = fc
    .array(fc.record({ key: edgeKeyArb, kind: kindArb, value: fc.uint8Array({ maxLength: 80 }) }), {
      maxLength: 120,
    })
    .map((raw) => raw.map((r, i) => ({ ...r, seq: ((i * 7919) % raw.length) + 1 })));

  test.prop([edgeEntriesArb])('orders and finds keys that share or extend 3-byte prefixes', (entries) => {
    expectHoldsExactly(entries);
  });

  // Keys that share a long prefix (as a collection name or an author's key makes them) and
  // differ in or after the words the comparison reads four bytes at a time, with byte values
  // that are negative as signed bytes or int32 words (0x80, 0xff).
  const longKeyArb = fc
    .tuple(fc.nat({ max: 9 }), fc.uint8Array({ minLength: 0, maxLength: 7 }))
    .map(([shared, tail]) => {
      const k = new Uint8Array(shared + tail.length);
      k.fill(0x7f, 0, shared);
      k.set(
        tail.map((b) => [0, 0x7f, 0x80, 0xff][b % 4]!),
        shared,
      );
      return k.length === 0 ? Uint8Array.of(0x80) : k;
    });
  const longEntriesArb = fc
    .array(fc.record({ key: longKeyArb, kind: kindArb, value: fc.uint8Array({ maxLength: 8 }) }), {
      maxLength: 120,
    })
    .map((raw) => raw.map((r, i) => ({ ...r, seq: ((i * 7919) % raw.length) + 1 })));

  test.prop([longEntriesArb])(
    'orders and finds keys with long shared prefixes (word-wise compare)',
    (entries) => {
      expectHoldsExactly(entries);
    },
  );

  // Feed-like keys: a few 33-byte prefixes (a kind byte and an author's key, the authors
  // differing late) and an 8-byte big-endian tail, many per prefix, so searches run between
  // bounds that share long prefixes with the key and with each other (the skipped bytes).
  const feedKeyArb = fc
    .tuple(fc.nat({ max: 3 }), fc.nat({ max: 600 }), fc.constantFrom(0x66, 0x64))
    .map(([author, n, kind]) => {
      const k = new Uint8Array(41);
      k[0] = kind;
      k.fill(0xab, 1, 33);
      k[31] = author;
      k[39] = n >>> 8;
      k[40] = n & 0xff;
      return k;
    });
  const feedEntriesArb = fc
    .array(fc.record({ key: feedKeyArb, kind: kindArb, value: fc.uint8Array({ maxLength: 4 }) }), {
      minLength: 1,
      maxLength: 400,
    })
    .map((raw) => raw.map((r, i) => ({ ...r, seq: ((i * 7919) % raw.length) + 1 })));

  test.prop([feedEntriesArb, fc.array(feedKeyArb, { maxLength: 20 })], { numRuns: 60 })(
    'orders and finds keys that share 33-byte prefixes, and misses absent ones',
    (entries, probes) => {
      const m = expectHoldsExactly(entries);
      for (const key of probes) {
        const want = modelFind(entries, key, MAX_SEQUENCE);
        expect(m.find(key, MAX_SEQUENCE)?.kind).toBe(want?.kind);
      }
    },
  );

  // Runs of ascending keys (an author's feed entries in a batch) between random ones: inserts
  // in order take the finger after the last insert, the others search from the top.
  const runsArb = fc
    .array(
      fc.oneof(
        fc.record({
          start: fc.nat({ max: 60_000 }),
          length: fc.integer({ min: 1, max: 40 }),
          stride: fc.integer({ min: 1, max: 3 }),
        }),
        fc.record({ start: fc.nat({ max: 60_000 }), length: fc.constant(1), stride: fc.constant(1) }),
      ),
      { minLength: 1, maxLength: 30 },
    )
    .map((runs) => {
      const seen = new Set<number>();
      const entries: Entry[] = [];
      for (const { start, length, stride } of runs) {
        for (let i = 0; i < length; i++) {
          const k = start + i * stride;
          if (seen.has(k)) continue;
          seen.add(k);
          const key = Uint8Array.of(0x66, k >>> 16, (k >>> 8) & 255, k & 255);
          entries.push({
            key,
            seq: entries.length + 1,
            kind: EntryKind.Value,
            value: Uint8Array.of(k & 255),
          });
        }
      }
      return entries;
    });

  test.prop([runsArb])('holds runs of keys inserted in order between random keys', (entries) => {
    expectHoldsExactly(entries);
  });

  // What local writes insert: a feed entry in order after the previous one, then a document's
  // row anywhere, and now and then a key of a third region (a head record's newer version,
  // which sorts before its older one). Two fingers serve the first two; the older finger has
  // had nodes inserted into its splice meanwhile and must be checked on every level.
  const interleavedArb = fc
    .tuple(
      fc.array(fc.tuple(fc.nat({ max: 5_000 }), fc.nat({ max: 9 })), { minLength: 1, maxLength: 300 }),
      fc.nat({ max: 1_000 }),
    )
    .map(([writes, firstSeq]) => {
      const entries: Entry[] = [];
      const docs = new Set<number>();
      let feed = firstSeq;
      for (const [doc, third] of writes) {
        const value = Uint8Array.of(entries.length & 255);
        feed++;
        entries.push({
          key: Uint8Array.of(0x66, 0xab, 0xab, 0xab, 0xab, feed >>> 8, feed & 255),
          seq: entries.length + 1,
          kind: EntryKind.Value,
          value,
        });
        if (!docs.has(doc)) {
          docs.add(doc);
          entries.push({
            key: Uint8Array.of(0x64, doc >>> 8, doc & 255),
            seq: entries.length + 1,
            kind: EntryKind.Value,
            value,
          });
        }
        if (third === 0)
          entries.push({
            key: Uint8Array.of(0x68, 1),
            seq: entries.length + 1,
            kind: EntryKind.Value,
            value,
          });
      }
      return entries;
    });

  test.prop([interleavedArb], { numRuns: 150 })(
    'holds feed entries in order interleaved with random rows and a third region (two fingers)',
    (entries) => {
      expectHoldsExactly(entries);
    },
  );

  it('checks an older finger on every level: a node inserted into its splice above level 0 is seen', () => {
    // Keys inserted in order (one finger) alternate with keys a little behind the in-order
    // front (the other finger, or a search): such a key lands inside the in-order finger's
    // splice on upper levels while level 0 still fits (checking level 0 alone broke the
    // upper levels by the 22nd write).
    const entries: Entry[] = [];
    const value = Uint8Array.of(0);
    const add = (key: Uint8Array) =>
      entries.push({ key, seq: entries.length + 1, kind: EntryKind.Value, value });
    for (let i = 0; i < 3_000; i++) {
      add(Uint8Array.of(0x10, i >>> 8, i & 255));
      const r = Math.max(0, i - 1 - ((i * 7919) % 16));
      add(Uint8Array.of(0x10, r >>> 8, r & 255, 1));
    }
    expectHoldsExactly(entries);
  });

  it('searches again after a refused duplicate, so later inserts in order stay sorted', () => {
    const m = new Memtable();
    const key = (k: number) => Uint8Array.of(1, k);
    m.add(1, EntryKind.Value, key(5), Uint8Array.of(0));
    m.add(2, EntryKind.Value, key(10), Uint8Array.of(0));
    m.add(3, EntryKind.Value, key(20), Uint8Array.of(0));
    // The refused insert searched for key(10); the next insert, right after key(20), must not
    // take that search's splice for its own.
    expect(() => m.add(2, EntryKind.Value, key(10), Uint8Array.of(0))).toThrow(AssertionError);
    for (let k = 21; k < 200; k++) m.add(k, EntryKind.Value, key(k), Uint8Array.of(0));
    m.add(500, EntryKind.Value, key(15), Uint8Array.of(0));
    const keys = drain(m).map((e) => Buffer.from(e.key, 'hex')[1]);
    expect(keys).toEqual([...keys].sort((a, b) => a! - b!));
    expect(keys.length).toBe(m.entries);
  });

  // The value may follow the key with a gap (a batch record has the value's length there: one
  // copy then takes both), or lie further on or before it (copied apart).
  test.prop([edgeEntriesArb, fc.array(fc.integer({ min: -4, max: 12 }), { minLength: 1 })])(
    'addFrom stores the same entries as add, wherever the value lies',
    (entries, gaps) => {
      const viaAdd = fill(entries);
      const viaFrom = new Memtable();
      entries.forEach((e, i) => {
        const value = e.kind === EntryKind.Value ? e.value : new Uint8Array(0);
        const gap = gaps[i % gaps.length]!;
        // The key and value sit at offsets inside a larger, reused source buffer, the bytes
        // between and around them garbage.
        const src = new Uint8Array(16 + e.key.length + value.length + 16).fill(0xee);
        const keyAt = gap < 0 ? 8 + value.length : 3;
        const valueAt = gap < 0 ? 8 + value.length + gap - value.length : keyAt + e.key.length + gap;
        src.set(e.key, keyAt);
        src.set(value, Math.max(0, valueAt));
        viaFrom.addFrom(e.seq, e.kind, src, {
          keyAt,
          keyLen: e.key.length,
          valueAt: Math.max(0, valueAt),
          valueLen: value.length,
        });
        src.fill(0);
      });
      expect(drain(viaFrom)).toEqual(drain(viaAdd));
      expect(viaFrom.approximateBytes).toBe(viaAdd.approximateBytes);
    },
  );

  it('keeps entries across many arena chunks, huge values in chunks of their own, and grown node arrays', () => {
    const m = new Memtable();
    const n = 20_000;
    const huge = new Uint8Array(700 * 1024).map((_, i) => i % 253);
    const keyOf = (i: number) => Uint8Array.of(i >>> 16, (i >>> 8) & 255, i & 255, 7);
    for (let i = 0; i < n; i++) {
      const value = i % 5000 === 17 ? huge : Uint8Array.of(i & 255, (i >>> 8) & 255);
      m.add(i + 1, EntryKind.Value, keyOf((i * 7919) % n), value);
    }
    expect(m.entries).toBe(n);
    let count = 0;
    let last: Uint8Array | undefined;
    const it = m.iterator();
    for (it.seekToFirst(); it.valid(); it.next()) {
      if (last !== undefined) expect(compareInternalKeys(last, it.key())).toBeLessThan(0);
      last = it.key();
      count++;
    }
    expect(count).toBe(n);
    for (let i = 0; i < n; i += 997) {
      const got = m.find(keyOf((i * 7919) % n), MAX_SEQUENCE);
      const want = i % 5000 === 17 ? huge : Uint8Array.of(i & 255, (i >>> 8) & 255);
      expect(got?.value).toEqual(want);
    }
  });

  it('takes entries of every size up to its own chunk threshold and beyond, from the first insert', () => {
    // Each size is the first entry of a fresh memtable, whose first chunk is the smallest.
    for (const size of [0, 1, 16 * 1024, 16 * 1024 + 1, 100_000, 256 * 1024, 256 * 1024 + 1, 2_000_000]) {
      const m = new Memtable();
      const value = new Uint8Array(size).fill(3);
      m.add(1, EntryKind.Value, Uint8Array.of(1), value);
      m.add(2, EntryKind.Value, Uint8Array.of(2), value);
      // Compared natively: a deep equality over two megabytes, element by element, takes seconds.
      const first = m.find(Uint8Array.of(1), 5)?.value;
      const second = m.find(Uint8Array.of(2), 5)?.value;
      expect(first !== undefined && Buffer.from(value).equals(first)).toBe(true);
      expect(second !== undefined && Buffer.from(value).equals(second)).toBe(true);
    }
  });

  it('a cursor sees entries inserted ahead of it while the node arrays grow', () => {
    const m = new Memtable();
    m.add(1, EntryKind.Value, Uint8Array.of(0), Uint8Array.of(0));
    const it = m.iterator();
    it.seekToFirst();
    // Everything inserted after the cursor's position, enough to reallocate the arrays.
    for (let i = 1; i <= 5000; i++)
      m.add(i + 1, EntryKind.Value, Uint8Array.of(i >>> 8, i & 255, 1), Uint8Array.of(1));
    let seen = 0;
    for (; it.valid(); it.next()) seen++;
    expect(seen).toBe(5001);
  });
});
