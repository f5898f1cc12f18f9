import { describe, expect, it } from 'vitest';
import { CorruptionError, InvalidArgumentError } from '../errors.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { Lsm } from '../lsm/lsm.ts';
import { WriteBatch } from '../lsm/write-batch.ts';
import { decodeEntry, encodeEntry } from './entry.ts';
import { makeFeed, testIdentity } from './feed-fixtures.ts';
import { FEED_PREFIX, seqKey } from './feed-records.ts';
import { FeedStore } from './feed-store.ts';
import { readWireRange } from './feed-wire.ts';
import { nodeSigner } from './node-signer.ts';

const author = testIdentity(7);
const key = author.publicKey;

/** A store holding 100 entries of one author, signed at every multiple of 10. */
function stored(): { lsm: Lsm; store: FeedStore } {
  const lsm = Lsm.open(new MemoryFs());
  const store = new FeedStore(lsm, nodeSigner);
  const feed = makeFeed(author, 100, { signed: (seq) => seq % 10 === 0 });
  // Ingest keeps the signatures it checks: in ranges of at most 256, here the last one only,
  // so ingest in runs of 10 to keep every one.
  for (let i = 0; i < 100; i += 10) store.ingest(feed.slice(i, i + 10));
  return { lsm, store };
}

const all = { limit: 1000, maxBytes: 1 << 30, signedSeqMax: 100 };

describe('readWireRange', () => {
  it('reads what the store reads, in wire form, ending at a signed entry', () => {
    const { lsm, store } = stored();
    expect(readWireRange(lsm, key, 1, all)).toEqual(store.readEntries(key, 1, 100).map(encodeEntry));
    expect(readWireRange(lsm, key, 35, all)).toEqual(store.read(key, 35, 100));
    for (const [from, limit, last] of [
      [1, 10, 10],
      [1, 15, 10],
      [1, 25, 20],
      [3, 5, 10],
      [11, 1, 20],
    ] as const) {
      const range = readWireRange(lsm, key, from, { ...all, limit });
      expect(range).toEqual(store.read(key, from, last));
      expect(decodeEntry(range.at(-1)!).signed).toBe(true);
    }
  });

  it('stops at the first signed entry once maxBytes is reached', () => {
    const { lsm, store } = stored();
    const one = readWireRange(lsm, key, 1, { ...all, maxBytes: 1 });
    expect(one).toEqual(store.read(key, 1, 10));
    const size = one.reduce((s, e) => s + e.length, 0);
    expect(readWireRange(lsm, key, 1, { ...all, maxBytes: size + 1 })).toEqual(store.read(key, 1, 20));
  });

  it('never reads past signedSeqMax and is empty where nothing signed is left', () => {
    const { lsm, store } = stored();
    expect(readWireRange(lsm, key, 1, { ...all, signedSeqMax: 30 })).toEqual(store.read(key, 1, 30));
    expect(readWireRange(lsm, key, 31, { ...all, signedSeqMax: 30 })).toEqual([]);
    expect(readWireRange(lsm, key, 101, all)).toEqual([]);
    expect(readWireRange(lsm, testIdentity(8).publicKey, 1, all)).toEqual([]);
  });

  it('refuses a seq below 1 or not an integer', () => {
    const { lsm } = stored();
    expect(() => readWireRange(lsm, key, 0, all)).toThrow(InvalidArgumentError);
    expect(() => readWireRange(lsm, key, 1.5, all)).toThrow(InvalidArgumentError);
  });

  it('reports a missing or misplaced entry as corruption', () => {
    const { lsm } = stored();
    const batch = new WriteBatch();
    batch.delete(seqKey(FEED_PREFIX, key, 5));
    lsm.write(batch);
    expect(() => readWireRange(lsm, key, 1, all)).toThrow(CorruptionError);
    expect(readWireRange(lsm, key, 6, { ...all, limit: 5 })).toHaveLength(5);

    const { lsm: other } = stored();
    const moved = new WriteBatch();
    const body = other.get(seqKey(FEED_PREFIX, key, 7))!;
    moved.put(seqKey(FEED_PREFIX, key, 8), body);
    other.write(moved);
    expect(() => readWireRange(other, key, 1, all)).toThrow(/missing or stored under another key/);
    // A body too short to hold a header is refused too.
    const cut = new WriteBatch();
    cut.put(seqKey(FEED_PREFIX, key, 12), body.subarray(0, 20));
    other.write(cut);
    expect(() => readWireRange(other, key, 11, all)).toThrow(CorruptionError);
  });
});
