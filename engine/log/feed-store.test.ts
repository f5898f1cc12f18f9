import { describe, expect, it } from 'vitest';
import { CorruptionError, InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { Lsm } from '../lsm/lsm.ts';
import { WriteBatch } from '../lsm/write-batch.ts';
import {
  decodeEntry,
  type Entry,
  encodeEntry,
  entryHash,
  MAX_PAYLOAD_BYTES,
  withSignature,
} from './entry.ts';
import { BadSignatureError, ForkError, SequenceGapError } from './errors.ts';
import { makeFeed, testHlc, testIdentity } from './feed-fixtures.ts';
import { FeedStore } from './feed-store.ts';
import { nodeSigner } from './node-signer.ts';
import { nobleSigner } from './signer.ts';
import { verifyBatch } from './verify.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const text = (s: string) => new TextEncoder().encode(s);
const alice = testIdentity(1);
const bob = testIdentity(2);

function open(fs = new MemoryFs()) {
  const lsm = Lsm.open(fs);
  return { fs, lsm, store: new FeedStore(lsm, nodeSigner) };
}

function dump(lsm: Lsm): string[] {
  return [...lsm.scan()].map(([k, v]) => `${hex(k)}=${hex(v)}`);
}

const wires = (entries: readonly Entry[]) => entries.map((e) => hex(encodeEntry(e)));

describe('local feed', () => {
  it('appends unsigned entries, signs the group commit, and offers only signed entries', () => {
    const { store } = open();
    expect(store.sign(alice)).toBeUndefined();
    const e1 = store.appendLocal(alice, { hlc: testHlc(1), payload: text('a') }, { sign: false });
    const e2 = store.appendLocal(alice, { hlc: testHlc(2), payload: text('b') }, { sign: false });
    expect(e1.seq).toBe(1);
    expect(e2.seq).toBe(2);
    expect(hex(e2.prev)).toBe(hex(entryHash(e1.body)));
    expect(store.head(alice.publicKey)).toMatchObject({ seq: 2, signedSeq: 0 });
    expect(store.stateVector()).toEqual(new Map([[hex(alice.publicKey), 0]]));

    const signed = store.sign(alice)!;
    expect(signed.seq).toBe(2);
    expect(hex(signed.body)).toBe(hex(e2.body));
    expect(store.sign(alice)).toBeUndefined();
    expect(store.head(alice.publicKey)).toMatchObject({ seq: 2, signedSeq: 2 });
    expect(store.stateVector()).toEqual(new Map([[hex(alice.publicKey), 2]]));

    const e3 = store.appendLocal(alice, { hlc: testHlc(3), payload: text('c') }, { sign: true });
    expect(e3.signed).toBe(true);
    const all = store.readEntries(alice.publicKey, 1, 10);
    expect(all.map((e) => [e.seq, e.signed])).toEqual([
      [1, false],
      [2, true],
      [3, true],
    ]);
    expect(verifyBatch(undefined, all, nobleSigner).seq).toBe(3);
    expect(store.read(alice.publicKey, 1, 3).map((w) => decodeEntry(w).seq)).toEqual([1, 2, 3]);
    expect(hex(store.head(alice.publicKey)!.hash)).toBe(hex(entryHash(e3.body)));
    expect(store.authors().map(hex)).toEqual([hex(alice.publicKey)]);
  });

  it('refuses bad input without writing anything', () => {
    const { store, lsm } = open();
    store.appendLocal(alice, { hlc: testHlc(1), payload: text('a') }, { sign: true });
    const before = dump(lsm);
    expect(() =>
      store.appendLocal(alice, { hlc: new Uint8Array(9), payload: text('a') }, { sign: true }),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      store.appendLocal(
        alice,
        { hlc: testHlc(2), payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) },
        { sign: true },
      ),
    ).toThrow(LimitExceededError);
    expect(() =>
      store.appendLocal(
        { publicKey: bob.publicKey, secretKey: alice.secretKey },
        { hlc: testHlc(2), payload: text('x') },
        { sign: true },
      ),
    ).toThrow(InvalidArgumentError);
    expect(dump(lsm)).toEqual(before);
    expect(store.head(alice.publicKey)!.seq).toBe(1);
  });

  it('survives a reopen: heads, entries and signatures come back from the LSM', () => {
    const { fs, lsm, store } = open();
    for (let i = 1; i <= 5; i++)
      store.appendLocal(alice, { hlc: testHlc(i), payload: text(`${i}`) }, { sign: i === 3 });
    const before = wires(store.readEntries(alice.publicKey, 1, 5));
    lsm.close();
    const again = open(fs);
    expect(again.store.head(alice.publicKey)).toMatchObject({ seq: 5, signedSeq: 3 });
    expect(wires(again.store.readEntries(alice.publicKey, 1, 5))).toEqual(before);
    const e6 = again.store.appendLocal(alice, { hlc: testHlc(6), payload: text('6') }, { sign: true });
    expect(verifyBatch(undefined, again.store.readEntries(alice.publicKey, 1, 6), nodeSigner).seq).toBe(6);
    expect(e6.seq).toBe(6);
  });

  it('writes its operations into a caller batch, atomically with the caller’s', () => {
    const { store, lsm } = open();
    const batch = new WriteBatch().put(text('view/1'), text('row'));
    store.appendLocal(alice, { hlc: testHlc(1), payload: text('a') }, { sign: false, batch });
    expect(hex(lsm.get(text('view/1'))!)).toBe(hex(text('row')));
    const signBatch = new WriteBatch().put(text('view/2'), text('row'));
    expect(store.sign(alice, { batch: signBatch })!.seq).toBe(1);
    expect(lsm.get(text('view/2'))).toBeDefined();
  });
});

describe('read', () => {
  const { store } = open();
  for (let i = 1; i <= 10; i++)
    store.appendLocal(alice, { hlc: testHlc(i), payload: text(`${i}`) }, { sign: i % 4 === 0 });

  it('returns the requested range, limited, with signatures', () => {
    expect(store.readEntries(alice.publicKey, 3, 6).map((e) => e.seq)).toEqual([3, 4, 5, 6]);
    expect(store.readEntries(alice.publicKey, 3, 100, 2).map((e) => e.seq)).toEqual([3, 4]);
    expect(store.readEntries(alice.publicKey, 7, 6)).toEqual([]);
    expect(store.readEntries(alice.publicKey, 1, 10, 0)).toEqual([]);
    expect(store.readEntries(bob.publicKey, 1, 10)).toEqual([]);
    expect(
      store
        .readEntries(alice.publicKey, 1, 10)
        .filter((e) => e.signed)
        .map((e) => e.seq),
    ).toEqual([4, 8]);
    expect(store.read(alice.publicKey, 8, 8).map((w) => decodeEntry(w).signed)).toEqual([true]);
  });

  it('finds the next signed seq, so a sender can end a range where the receiver can verify it', () => {
    expect(store.signedSeqAtOrAfter(alice.publicKey, 1)).toBe(4);
    expect(store.signedSeqAtOrAfter(alice.publicKey, 4)).toBe(4);
    expect(store.signedSeqAtOrAfter(alice.publicKey, 5)).toBe(8);
    expect(store.signedSeqAtOrAfter(alice.publicKey, 9)).toBeUndefined();
    expect(store.signedSeqAtOrAfter(bob.publicKey, 1)).toBeUndefined();
  });

  it('refuses bad arguments', () => {
    expect(() => store.readEntries(alice.publicKey.subarray(1), 1, 2)).toThrow(InvalidArgumentError);
    expect(() => store.readEntries(alice.publicKey, -1, 2)).toThrow(InvalidArgumentError);
    expect(() => store.readEntries(alice.publicKey, 1, 2.5)).toThrow(InvalidArgumentError);
    expect(() => store.readEntries(alice.publicKey, 1, 2, -1)).toThrow(InvalidArgumentError);
    expect(() => store.readEntries(alice.publicKey, 1, 2, Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => store.head(new Uint8Array(3))).toThrow(InvalidArgumentError);
  });
});

describe('ingest', () => {
  const feed = makeFeed(alice, 10, { signed: (s) => s === 3 || s === 6 || s === 10 });

  it('replicates a feed byte for byte, and reports what was new', () => {
    const { store, lsm } = open();
    const r = store.ingest(feed);
    expect(r.added.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.rejected).toEqual([]);
    expect(r.forks).toEqual([]);
    expect(wires(store.readEntries(alice.publicKey, 1, 10))).toEqual(wires(feed));
    expect(store.head(alice.publicKey)).toEqual({ seq: 10, hash: entryHash(feed[9]!.body), signedSeq: 10 });
    expect(store.stateVector()).toEqual(new Map([[hex(alice.publicKey), 10]]));
    // Another peer replicating from this one gets the same bytes, signatures included.
    const second = open();
    second.store.ingest(store.readEntries(alice.publicKey, 1, 10));
    expect(dump(second.lsm)).toEqual(dump(lsm));
  });

  it('is idempotent: the same batch twice, overlapping batches, duplicates inside a batch', () => {
    const once = open();
    once.store.ingest(feed);
    const { store, lsm } = open();
    expect(store.ingest(feed.slice(0, 6)).added).toHaveLength(6);
    expect(store.ingest(feed.slice(0, 6)).added).toEqual([]);
    expect(store.ingest(feed.slice(3, 10)).added.map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    const doubled = [...feed, ...feed].reverse();
    const r = store.ingest(doubled);
    expect(r.added).toEqual([]);
    expect(r.rejected).toEqual([]);
    expect(dump(lsm)).toEqual(dump(once.lsm));
    const fresh = open();
    expect(fresh.store.ingest(doubled).added).toHaveLength(10);
    expect(dump(fresh.lsm)).toEqual(dump(once.lsm));
  });

  it('keeps a signed copy over an unsigned duplicate in the same batch', () => {
    const { store } = open();
    const r = store.ingest([withSignature(feed[2]!, undefined), ...feed.slice(0, 3)]);
    expect(r.added.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(store.head(alice.publicKey)!.signedSeq).toBe(3);
  });

  it('refuses a batch that starts past head + 1 with a gap error naming the seq, applying nothing', () => {
    const { store, lsm } = open();
    store.ingest(feed.slice(0, 3));
    const before = dump(lsm);
    const r = store.ingest(feed.slice(6));
    expect(r.added).toEqual([]);
    expect(r.rejected).toHaveLength(1);
    const err = r.rejected[0]!.error as SequenceGapError;
    expect(err).toBeInstanceOf(SequenceGapError);
    expect(err.expectedSeq).toBe(4);
    expect(err.actualSeq).toBe(7);
    expect(hex(r.rejected[0]!.author)).toBe(hex(alice.publicKey));
    expect(dump(lsm)).toEqual(before);
    expect(store.ingest(feed.slice(3)).added).toHaveLength(7);
  });

  it('refuses a batch carrying a stored entry with a bad signature, though the entry is known', () => {
    const { store, lsm } = open();
    store.ingest(feed.slice(0, 6));
    const before = dump(lsm);
    const tampered = withSignature(feed[2]!, feed[5]!.signature);
    const r = store.ingest([tampered, ...feed.slice(3, 10)]);
    expect(r.rejected[0]!.error).toBeInstanceOf(BadSignatureError);
    expect((r.rejected[0]!.error as BadSignatureError).seq).toBe(3);
    expect(dump(lsm)).toEqual(before);
  });

  it('refuses a batch whose last entry is unsigned', () => {
    const { store, lsm } = open();
    const r = store.ingest(feed.slice(0, 5));
    expect(r.rejected[0]!.error).toBeInstanceOf(BadSignatureError);
    expect(dump(lsm)).toEqual([]);
  });

  it('handles several authors independently in one write', () => {
    const bobFeed = makeFeed(bob, 4);
    const { store } = open();
    const r = store.ingest([...bobFeed.slice(2), ...feed.slice(0, 3)]);
    expect(r.added.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(r.rejected.map((x) => hex(x.author))).toEqual([hex(bob.publicKey)]);
    const r2 = store.ingest([...bobFeed, ...feed.slice(3, 6)]);
    const tag = (e: Entry) => `${hex(e.author).slice(0, 4)}:${e.seq}`;
    expect(r2.added.map(tag).sort()).toEqual([...bobFeed, ...feed.slice(3, 6)].map(tag).sort());
    expect(store.authors().map(hex).sort()).toEqual([hex(alice.publicKey), hex(bob.publicKey)].sort());
  });

  it('puts the caller’s operations and beforeWrite’s in the same write', () => {
    const { store, lsm } = open();
    const batch = new WriteBatch().put(text('meta'), text('1'));
    const seen: number[][] = [];
    store.ingest(feed.slice(0, 3), {
      batch,
      beforeWrite: (added, b) => {
        seen.push(added.map((e) => e.seq));
        for (const e of added) b.put(text(`view/${e.seq}`), e.payload);
      },
    });
    expect(seen).toEqual([[1, 2, 3]]);
    expect(lsm.get(text('meta'))).toBeDefined();
    expect(hex(lsm.get(text('view/2'))!)).toBe(hex(feed[1]!.payload));
    store.ingest(feed.slice(0, 3), { beforeWrite: (added) => seen.push(added.map((e) => e.seq)) });
    expect(seen[1]).toEqual([]);
  });

  it('refuses non-entries', () => {
    const { store } = open();
    expect(() => store.ingest([encodeEntry(feed[0]!)] as unknown as Entry[])).toThrow(InvalidArgumentError);
    expect(() => store.ingest('x' as unknown as Entry[])).toThrow(InvalidArgumentError);
  });
});

describe('forks', () => {
  const feed = makeFeed(alice, 5, { signed: (s) => s === 3 || s === 5 });
  const h3 = entryHash(feed[2]!.body);
  // The same key on another device: the same first three entries, then different ones.
  const other = makeFeed(alice, 3, { from: { seq: 4, prev: h3 }, payload: (s) => text(`other ${s}`) });

  it('detects an author signing two entries with one seq, keeps both, and quarantines the author', () => {
    const { fs, lsm, store } = open();
    store.ingest(feed);
    const r = store.ingest(other);
    expect(r.added).toEqual([]);
    expect(r.rejected[0]!.error).toBeInstanceOf(ForkError);
    expect((r.rejected[0]!.error as ForkError).code).toBe('ARE_FORK');
    expect(r.forks).toHaveLength(1);
    const fork = r.forks[0]!;
    expect(fork.seq).toBe(4);
    expect(fork.ours.map((e) => e.seq)).toEqual([4, 5]); // up to our first signed entry
    expect(fork.theirs.map((e) => e.seq)).toEqual([4, 5, 6]);
    // Both branches are proof: each verifies from the common entry 3.
    const common = { seq: 3, hash: h3 };
    expect(verifyBatch(common, fork.ours, nobleSigner).seq).toBe(5);
    expect(verifyBatch(common, fork.theirs, nobleSigner).seq).toBe(6);
    // Our branch is untouched; the author is quarantined, also after a reopen.
    expect(wires(store.readEntries(alice.publicKey, 1, 10))).toEqual(wires(feed));
    expect(store.isForked(alice.publicKey)).toBe(true);
    expect(wires(store.forks()[0]!.theirs)).toEqual(wires(other));
    const next = makeFeed(alice, 1, { from: { seq: 6, prev: entryHash(feed[4]!.body) } });
    const before = dump(lsm);
    expect(store.ingest(next).rejected[0]!.error).toBeInstanceOf(ForkError);
    expect(store.ingest(feed).rejected[0]!.error).toBeInstanceOf(ForkError);
    expect(dump(lsm)).toEqual(before);
    lsm.close();
    const again = open(fs);
    expect(again.store.isForked(alice.publicKey)).toBe(true);
    expect(again.store.ingest(next).rejected[0]!.error).toBeInstanceOf(ForkError);
    expect(again.store.forks()).toHaveLength(1);
    expect(again.store.isForked(bob.publicKey)).toBe(false);
  });

  it('detects a fork delivered together with the common prefix, and at seq 1', () => {
    const a = open();
    a.store.ingest(feed);
    expect(a.store.ingest([...feed.slice(0, 3), ...other]).forks[0]!.seq).toBe(4);
    const b = open();
    b.store.ingest(feed);
    const rewritten = makeFeed(alice, 2, { payload: () => text('rewritten') });
    const fork = b.store.ingest(rewritten).forks[0]!;
    expect(fork.seq).toBe(1);
    expect(fork.ours.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('does not take an unsigned or tampered conflicting entry as proof', () => {
    const { store, lsm } = open();
    store.ingest(feed);
    const before = dump(lsm);
    const unsigned = makeFeed(alice, 2, {
      from: { seq: 4, prev: h3 },
      payload: () => text('x'),
      signed: () => false,
    });
    expect(store.ingest(unsigned).rejected[0]!.error).toBeInstanceOf(BadSignatureError);
    const forged = [other[0]!, other[1]!, withSignature(other[2]!, feed[4]!.signature)];
    expect(store.ingest(forged).rejected[0]!.error).toBeInstanceOf(BadSignatureError);
    expect(store.forks()).toEqual([]);
    expect(store.isForked(alice.publicKey)).toBe(false);
    expect(dump(lsm)).toEqual(before);
  });

  it('refuses two different entries with one seq inside one batch without calling it a fork', () => {
    const { store, lsm } = open();
    const r = store.ingest([...feed.slice(0, 3), other[0]!, feed[3]!, feed[4]!]);
    expect(r.rejected[0]!.error.code).toBe('ARE_BROKEN_CHAIN');
    expect(r.forks).toEqual([]);
    expect(dump(lsm)).toEqual([]);
  });
});

describe('damaged store', () => {
  it('reports a corrupt head record or a missing entry as CorruptionError, not as a rejection', () => {
    const { store, lsm } = open();
    const feed = makeFeed(alice, 3);
    store.ingest(feed);
    const bad = open();
    bad.lsm.put(Uint8Array.of(0x68, ...alice.publicKey), new Uint8Array(10));
    expect(() => bad.store.head(alice.publicKey)).toThrow(CorruptionError);
    lsm.delete(Uint8Array.of(0x66, ...alice.publicKey, 0, 0, 0, 0, 0, 0, 0, 2));
    expect(() => store.ingest(feed)).toThrow(CorruptionError);
  });
});
