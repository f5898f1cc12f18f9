import { describe, expect, it } from 'vitest';
import { CorruptionError, InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
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
import {
  FeedStore,
  SIGNED_RANGE_BYTES_MAX,
  SIGNED_RANGE_ENTRIES_MAX,
  signedRangeEnds,
} from './feed-store.ts';
import { nodeSigner } from './node-signer.ts';
import { nobleSigner, type Signer } from './signer.ts';
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

/** `entries` with the signatures of the seqs in `kept` and no other. */
const keepSignatures = (entries: readonly Entry[], kept: number[]) =>
  entries.map((e) => (kept.includes(e.seq) ? e : withSignature(e, undefined)));

/** Seqs of `author`'s stored signatures. */
const signedSeqs = (store: FeedStore, author: Uint8Array) =>
  store
    .readEntries(author, 1, Number.MAX_SAFE_INTEGER)
    .filter((e) => e.signed)
    .map((e) => e.seq);

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

  it('replicates a feed byte for byte, keeping only the signature it checked, and reports what was new', () => {
    const { store, lsm } = open();
    const r = store.ingest(feed);
    // One check for the batch: the last signature; those at 3 and 6 are dropped unchecked, in
    // the store and in what is reported.
    const checked = keepSignatures(feed, [10]);
    expect(wires(r.added)).toEqual(wires(checked));
    expect(r.rejected).toEqual([]);
    expect(r.forks).toEqual([]);
    expect(wires(store.readEntries(alice.publicKey, 1, 10))).toEqual(wires(checked));
    expect(store.head(alice.publicKey)).toEqual({ seq: 10, hash: entryHash(feed[9]!.body), signedSeq: 10 });
    expect(store.stateVector()).toEqual(new Map([[hex(alice.publicKey), 10]]));
    // Batches delivered separately each keep their own last signature, byte for byte.
    const split = open();
    split.store.ingest(feed.slice(0, 6));
    split.store.ingest(feed.slice(6));
    expect(wires(split.store.readEntries(alice.publicKey, 1, 10))).toEqual(
      wires(keepSignatures(feed, [6, 10])),
    );
    // Another peer replicating from either gets the same bytes and signatures.
    for (const from of [store, split.store]) {
      const second = open();
      second.store.ingest(from.readEntries(alice.publicKey, 1, 10));
      expect(wires(second.store.readEntries(alice.publicKey, 1, 10))).toEqual(wires(checked));
      expect(dump(second.lsm)).toEqual(dump(lsm));
    }
  });

  it('is idempotent: the same batch twice, overlapping batches, duplicates inside a batch', () => {
    const once = open();
    once.store.ingest(feed);
    const { store, lsm } = open();
    expect(store.ingest(feed.slice(0, 6)).added).toHaveLength(6);
    const afterFirst = dump(lsm);
    expect(store.ingest(feed.slice(0, 6)).added).toEqual([]);
    expect(dump(lsm)).toEqual(afterFirst);
    expect(store.ingest(feed.slice(3, 10)).added.map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    const afterOverlap = dump(lsm);
    const doubled = [...feed, ...feed].reverse();
    const r = store.ingest(doubled);
    expect(r.added).toEqual([]);
    expect(r.rejected).toEqual([]);
    expect(dump(lsm)).toEqual(afterOverlap);
    // Same bodies and head as one delivery of the whole feed; the signatures are the ends of
    // the two batches that added entries (the known 3 of the overlap is not kept).
    expect(store.head(alice.publicKey)).toEqual(once.store.head(alice.publicKey));
    expect(wires(store.readEntries(alice.publicKey, 1, 10))).toEqual(wires(keepSignatures(feed, [6, 10])));
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

  it('ignores a bad signature on a known entry: neither checked nor kept', () => {
    const { store, lsm } = open();
    store.ingest(feed.slice(0, 6));
    const tampered = withSignature(feed[2]!, feed[5]!.signature);
    expect(store.ingest([tampered]).added).toEqual([]);
    const r = store.ingest([tampered, ...feed.slice(3, 10)]);
    expect(r.rejected).toEqual([]);
    expect(r.added.map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    expect(signedSeqs(store, alice.publicKey)).toEqual([6, 10]);
    // Exactly what the untampered delivery stores.
    const reference = open();
    reference.store.ingest(feed.slice(0, 6));
    reference.store.ingest(feed.slice(2, 10));
    expect(dump(lsm)).toEqual(dump(reference.lsm));
  });

  it('drops an unchecked bad signature inside a batch, storing what the untampered batch stores', () => {
    const reference = open();
    reference.store.ingest(feed);
    const tampered = [...feed];
    tampered[2] = withSignature(feed[2]!, feed[5]!.signature);
    tampered[4] = withSignature(feed[4]!, feed[9]!.signature);
    const { store, lsm } = open();
    const r = store.ingest(tampered);
    expect(r.rejected).toEqual([]);
    expect(wires(r.added)).toEqual(wires(keepSignatures(feed, [10])));
    expect(dump(lsm)).toEqual(dump(reference.lsm));
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
    expect(fork.ours.map((e) => e.seq)).toEqual([4, 5]); // up to our first kept signature
    expect(fork.theirs.map((e) => e.seq)).toEqual([4, 5, 6]);
    // Both branches are proof: each verifies from the common entry 3.
    const common = { seq: 3, hash: h3 };
    expect(verifyBatch(common, fork.ours, nobleSigner).seq).toBe(5);
    expect(verifyBatch(common, fork.theirs, nobleSigner).seq).toBe(6);
    // Our branch is untouched; the author is quarantined, also after a reopen.
    expect(wires(store.readEntries(alice.publicKey, 1, 10))).toEqual(wires(keepSignatures(feed, [5])));
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
    // Our branch runs to our first kept signature: 5 when the feed came in one batch (its
    // signature at 3 was not checked, so not kept), 3 when it came as 1..3 and 4..5.
    const rewritten = makeFeed(alice, 2, { payload: () => text('rewritten') });
    for (const [batches, ours] of [
      [[feed], [1, 2, 3, 4, 5]],
      [
        [feed.slice(0, 3), feed.slice(3)],
        [1, 2, 3],
      ],
    ] as const) {
      const b = open();
      for (const batch of batches) b.store.ingest(batch);
      const fork = b.store.ingest(rewritten).forks[0]!;
      expect(fork.seq).toBe(1);
      expect(fork.ours.map((e) => e.seq)).toEqual(ours);
      expect(fork.ours.filter((e) => e.signed).map((e) => e.seq)).toEqual([ours[ours.length - 1]]);
      expect(verifyBatch(undefined, fork.ours, nobleSigner).seq).toBe(ours[ours.length - 1]);
      expect(verifyBatch(undefined, fork.theirs, nobleSigner).seq).toBe(2);
    }
  });

  it('keeps in the fork record only the signature of theirs that it checked', () => {
    const { store } = open();
    store.ingest(feed);
    const signedTwice = makeFeed(alice, 3, {
      from: { seq: 4, prev: h3 },
      payload: (s) => text(`other ${s}`),
      signed: (s) => s === 4 || s === 6,
    });
    const tampered = [withSignature(signedTwice[0]!, feed[4]!.signature), ...signedTwice.slice(1)];
    const fork = store.ingest(tampered).forks[0]!;
    expect(fork.seq).toBe(4);
    expect(wires(fork.theirs)).toEqual(wires(keepSignatures(signedTwice, [6])));
    expect(wires(store.forks()[0]!.theirs)).toEqual(wires(keepSignatures(signedTwice, [6])));
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

describe('signatures kept on long runs', () => {
  /** nodeSigner, counting signature checks and hashes. */
  function counting() {
    const counts = { verifies: 0, hashes: 0 };
    const signer: Signer = {
      name: 'counting',
      sign: (identity, message) => nodeSigner.sign(identity, message),
      verify: (key, message, signature) => {
        counts.verifies++;
        return nodeSigner.verify(key, message, signature);
      },
      sha256: (data) => {
        counts.hashes++;
        return nodeSigner.sha256(data);
      },
    };
    return { counts, store: new FeedStore(Lsm.open(new MemoryFs()), signer) };
  }

  /**
   * Serves the stored feed the way a sync sender must, as ranges that each end at the next
   * stored signature, checking that each is at most `rangeMax` entries and verifies on its own
   * from the previous one. Returns the range ends.
   */
  function serveInRanges(store: FeedStore, rangeMax: number): number[] {
    const ends: number[] = [];
    let head: { seq: number; hash: Uint8Array } | undefined;
    const last = store.head(alice.publicKey)!.signedSeq;
    for (let from = 1; from <= last; from = head!.seq + 1) {
      const end = store.signedSeqAtOrAfter(alice.publicKey, from)!;
      expect(end - from + 1, `range from ${from}`).toBeLessThanOrEqual(rangeMax);
      head = verifyBatch(head, store.readEntries(alice.publicKey, from, end), nodeSigner);
      ends.push(end);
    }
    return ends;
  }

  // Signed every 64 entries, as the database's group commits are by default.
  const long = makeFeed(alice, 1000, { signed: (s, n) => s % 64 === 0 || s === n });

  it('checks and keeps a signature every SIGNED_RANGE_ENTRIES_MAX entries, so the feed can be served on', () => {
    expect(SIGNED_RANGE_ENTRIES_MAX).toBe(256);
    const { counts, store } = counting();
    // One delivery of the whole feed (a sync session retrying buffered entries does this).
    const r = store.ingest(long);
    expect(r.rejected).toEqual([]);
    expect(counts).toEqual({ verifies: 4, hashes: 1000 });
    expect(signedSeqs(store, alice.publicKey)).toEqual([256, 512, 768, 1000]);
    expect(r.added.filter((e) => e.signed).map((e) => e.seq)).toEqual([256, 512, 768, 1000]);
    expect(serveInRanges(store, SIGNED_RANGE_ENTRIES_MAX)).toEqual([256, 512, 768, 1000]);
    // A third replica fed from this one in those ranges ends with the same store.
    const third = counting();
    for (const [from, to] of [
      [1, 256],
      [257, 512],
      [513, 768],
      [769, 1000],
    ])
      expect(third.store.ingest(store.readEntries(alice.publicKey, from!, to!)).rejected).toEqual([]);
    expect(third.counts.verifies).toBe(4);
    expect(signedSeqs(third.store, alice.publicKey)).toEqual([256, 512, 768, 1000]);
  });

  it('counts ranges from the stored head, after the entries already known', () => {
    const { counts, store } = counting();
    store.ingest(long.slice(0, 320));
    expect(signedSeqs(store, alice.publicKey)).toEqual([256, 320]);
    counts.verifies = 0;
    expect(store.ingest(long).added.map((e) => e.seq)).toEqual(long.slice(320).map((e) => e.seq));
    expect(counts.verifies).toBe(3);
    expect(signedSeqs(store, alice.publicKey)).toEqual([256, 320, 576, 832, 1000]);
    serveInRanges(store, SIGNED_RANGE_ENTRIES_MAX);
  });

  it('cuts at the last signature within the bounds, or at the first past them when the author signed none', () => {
    const at = (signed: number[], n: number) =>
      signedRangeEnds(makeFeed(alice, n, { signed: (s) => signed.includes(s) })).map((i) => i + 1);
    expect(at([100, 200, 257, 400], 400)).toEqual([200, 400]);
    expect(at([300, 600], 600)).toEqual([300, 600]);
    expect(at([256], 257)).toEqual([256, 257]);
    expect(at([255], 256)).toEqual([256]);
    expect(at([], 1)).toEqual([1]);
    // The last entry always ends the last range, signed or not (verification then refuses it).
    expect(at([10], 300)).toEqual([10, 300]);
    const { counts, store } = counting();
    store.ingest(makeFeed(alice, 600, { signed: (s) => s === 300 || s === 600 }));
    expect(counts.verifies).toBe(2);
    expect(serveInRanges(store, 300)).toEqual([300, 600]);
  });

  it('bounds ranges by body bytes too', () => {
    const payloadBytes = 100_000;
    const heavy = makeFeed(alice, 30, {
      signed: (s) => s % 3 === 0,
      payload: (s) => new Uint8Array(payloadBytes).fill(s),
    });
    // 10 bodies fit within SIGNED_RANGE_BYTES_MAX, 11 do not.
    expect(10 * heavy[0]!.body.length).toBeLessThanOrEqual(SIGNED_RANGE_BYTES_MAX);
    expect(11 * heavy[0]!.body.length).toBeGreaterThan(SIGNED_RANGE_BYTES_MAX);
    const { counts, store } = counting();
    store.ingest(heavy);
    expect(counts.verifies).toBe(4);
    expect(signedSeqs(store, alice.publicKey)).toEqual([9, 18, 27, 30]);
    expect(
      signedRangeEnds([makeFeed(alice, 1, { payload: () => new Uint8Array(SIGNED_RANGE_BYTES_MAX) })[0]!]),
    ).toEqual([0]);
  });

  it('refuses the batch when a signature it checks is invalid, and drops those it does not check', () => {
    const { store } = counting();
    const badAt = (seq: number) =>
      long.map((e) => (e.seq === seq ? withSignature(e, long[1000 - 1]!.signature) : e));
    const r = store.ingest(badAt(512));
    expect(r.added).toEqual([]);
    expect(r.rejected[0]!.error).toBeInstanceOf(BadSignatureError);
    expect((r.rejected[0]!.error as BadSignatureError).seq).toBe(512);
    expect(store.head(alice.publicKey)).toBeUndefined();
    const reference = counting();
    reference.store.ingest(long);
    expect(store.ingest(badAt(448)).rejected).toEqual([]);
    expect(wires(store.readEntries(alice.publicKey, 1, 1000))).toEqual(
      wires(reference.store.readEntries(alice.publicKey, 1, 1000)),
    );
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

describe('state vector from cached heads', () => {
  it('matches a cold store over the same LSM after appends, signs and ingests of new authors', () => {
    const { lsm, store } = open();
    // Touch the state vector first, so later authors must be added to the loaded index.
    expect(store.stateVector()).toEqual(new Map());
    store.appendLocal(alice, { hlc: testHlc(1), payload: text('a') }, { sign: false });
    const authors = [3, 4, 5, 6].map((n) => testIdentity(n));
    for (const [i, who] of authors.entries()) {
      expect(store.ingest(makeFeed(who, i + 1)).rejected).toEqual([]);
      store.stateVector();
    }
    store.sign(alice);
    const cold = new FeedStore(lsm, nodeSigner).stateVector();
    const warm = store.stateVector();
    expect([...warm]).toEqual([...cold]);
    // Key order, as the head records' scan gives it.
    expect([...warm.keys()]).toEqual([...warm.keys()].sort());
    expect(warm.size).toBe(5);
    expect(warm.get(hex(alice.publicKey))).toBe(1);
    expect(warm.get(hex(authors[3]!.publicKey))).toBe(4);
  });
});

describe('sign with sync when nothing is left to sign', () => {
  it('still syncs, so an entry appended signed but unsynced survives a power loss', () => {
    const { fs, store } = open();
    store.appendLocal(alice, { hlc: testHlc(1), payload: text('a') }, { sign: true, sync: false });
    expect(store.sign(alice, { sync: true })).toBeUndefined();
    fs.crash({ random: new SeededRandom(0) });
    const again = open(fs);
    expect(again.store.head(alice.publicKey)).toMatchObject({ seq: 1, signedSeq: 1 });
    again.lsm.close();
  });
});
