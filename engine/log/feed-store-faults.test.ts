/**
 * The feed store under hostile and unlucky conditions: tampered bytes, batches delivered in any
 * order (with retries after gaps), and power loss in the middle of an ingest.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AregulaError, CrashError } from '../errors.ts';
import { CrashPolicy, MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { Lsm, type LsmOptions } from '../lsm/lsm.ts';
import { decodeEntryAt, type Entry, encodeEntry } from './entry.ts';
import { SequenceGapError } from './errors.ts';
import { concatWire, makeFeed, testIdentity } from './feed-fixtures.ts';
import { FeedStore } from './feed-store.ts';
import { nodeSigner } from './node-signer.ts';
import { verifyBatch } from './verify.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const alice = testIdentity(1);
const SMALL: LsmOptions = {
  memtableBytes: 1024,
  blockBytes: 256,
  backgroundWorkPerOp: 4,
  compactionMinRuns: 2,
};

function open(fs = new MemoryFs(), options: LsmOptions = {}) {
  const lsm = Lsm.open(fs, options);
  return { fs, lsm, store: new FeedStore(lsm, nodeSigner) };
}

function dump(lsm: Lsm): string[] {
  return [...lsm.scan()].map(([k, v]) => `${hex(k)}=${hex(v)}`);
}

function decodeAll(wire: Uint8Array): Entry[] {
  const out: Entry[] = [];
  for (let at = 0; at < wire.length; ) {
    const { entry, end } = decodeEntryAt(wire, at);
    out.push(entry);
    at = end;
  }
  return out;
}

/** Flips every bit of `wire` in turn and hands the decoded entries (if they decode) to `check`. */
function forEveryBitFlip(wire: Uint8Array, check: (entries: Entry[], bit: number) => void): number {
  let ingested = 0;
  for (let bit = 0; bit < wire.length * 8; bit++) {
    const bad = wire.slice();
    bad[bit >> 3]! ^= 1 << (bit & 7);
    let entries: Entry[];
    try {
      entries = decodeAll(bad);
    } catch (err) {
      expect(err, `bit ${bit}`).toBeInstanceOf(AregulaError);
      continue;
    }
    check(entries, bit);
    ingested++;
  }
  return ingested;
}

describe('tampering with a signed batch', () => {
  const feed = makeFeed(alice, 6, {
    signed: (s) => s === 3 || s === 5 || s === 6,
    payload: (s) => Uint8Array.of(s, s),
  });

  it('is refused with a typed error and leaves the store unchanged, for every bit of every byte', () => {
    const { store, lsm } = open();
    store.ingest(feed.slice(0, 3));
    // Entries 4..6 with only the last signed: every entry is needed to verify the batch.
    const batch = makeFeed(alice, 3, {
      from: { seq: 4, prev: nodeSigner.sha256(feed[2]!.body) },
      payload: (s) => Uint8Array.of(s, s),
    });
    const before = dump(lsm);
    const ingested = forEveryBitFlip(concatWire(batch), (entries, bit) => {
      const r = store.ingest(entries);
      expect(r.added, `bit ${bit}`).toEqual([]);
      expect(r.rejected.length, `bit ${bit}`).toBeGreaterThan(0);
      for (const x of r.rejected) expect(x.error).toBeInstanceOf(AregulaError);
      expect(r.forks).toEqual([]);
    });
    expect(ingested).toBeGreaterThan(1000);
    expect(dump(lsm)).toEqual(before);
    expect(store.ingest(batch).added).toHaveLength(3);
  });

  it('never stores a tampered byte or takes a tampered copy of a stored entry as a fork', () => {
    // Entries 2..6 where 2..3 are already stored, with a middle checkpoint at 5. Ingest checks
    // one signature here, entry 6's: a flip in the signature of the known entry 3 or of entry
    // 5 is not checked, and the batch stores exactly what the untampered one stores (entry 5
    // without a signature). A flip may also leave a shorter batch that is still valid (2..5
    // when entry 6's author is flipped), and storing that is right; storing a byte that is not
    // in the original feed, or a signature that was not checked, is not.
    const fresh = () => {
      const opened = open();
      opened.store.ingest(feed.slice(0, 3));
      return { ...opened, before: dump(opened.lsm) };
    };
    const reference = fresh();
    expect(reference.store.ingest(feed.slice(1)).rejected).toEqual([]);
    const untampered = dump(reference.lsm);
    let cur = fresh();
    let clean = 0;
    let changed = 0;
    forEveryBitFlip(concatWire(feed.slice(1)), (entries, bit) => {
      const r = cur.store.ingest(entries);
      expect(cur.store.forks(), `bit ${bit}`).toEqual([]);
      if (r.rejected.length === 0) {
        expect(dump(cur.lsm), `bit ${bit}`).toEqual(untampered);
        clean++;
      } else if (dump(cur.lsm).join() !== cur.before.join()) {
        changed++;
        const stored = cur.store.readEntries(alice.publicKey, 1, 100);
        for (const e of stored) {
          const want = feed[e.seq - 1]!;
          expect(hex(e.body), `bit ${bit} seq ${e.seq}`).toBe(hex(want.body));
          if (e.signed) expect(hex(e.signature!), `bit ${bit} seq ${e.seq}`).toBe(hex(want.signature!));
        }
        // The head's signature was checked and is kept; every other kept one ends an ingest.
        const head = cur.store.head(alice.publicKey)!.seq;
        expect(stored.filter((e) => e.signed).map((e) => e.seq)).toEqual([3, head]);
        expect(verifyBatch(undefined, stored, nodeSigner).seq).toBe(head);
        expect(cur.store.authors().map(hex)).toEqual([hex(alice.publicKey)]);
      } else {
        return;
      }
      cur = fresh();
    });
    // Unchecked: every bit of the signatures of entries 3 and 5.
    expect(clean).toBe(2 * 64 * 8);
    // Flips that move an entry to another author leave a shorter batch of alice's that is
    // still valid (the moved entry is refused under its new author): entries 2 and 3 are
    // stored duplicates, and 2..5 ends at a checkpoint. Nothing else may apply.
    expect(changed).toBe((32 + 32 + 32) * 8);
  });
});

describe('delivery order', () => {
  /** A feed split into batches that each end at a signed entry, plus overlapping extras. */
  const scenario = fc.integer({ min: 2, max: 30 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      cuts: fc.uniqueArray(fc.integer({ min: 1, max: n - 1 }), { maxLength: 8 }),
      extras: fc.array(fc.tuple(fc.integer({ min: 1, max: n }), fc.nat()), { maxLength: 4 }),
      order: fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
    }),
  );

  it('any order of batches, retrying gapped ones later, ends with the same head and entries', () => {
    fc.assert(
      fc.property(scenario, ({ n, cuts, extras, order }) => {
        const ends = [...new Set([...cuts, n])].sort((a, b) => a - b);
        const feed = makeFeed(alice, n, { signed: (s) => ends.includes(s) });
        const ranges: Array<[number, number]> = ends.map((end, i) => [i === 0 ? 1 : ends[i - 1]! + 1, end]);
        for (const [from, pick] of extras) {
          const end = ends.find((e) => e >= from)!;
          ranges.push([from, ends[Math.min(ends.indexOf(end) + (pick % 3), ends.length - 1)]!]);
        }
        // Shuffle by sort keys drawn from `order`.
        const queue = ranges
          .map((r, i) => ({ r, key: order[i % order.length]! * 100 + i }))
          .sort((a, b) => a.key - b.key)
          .map((x) => feed.slice(x.r[0] - 1, x.r[1]));
        const { store, lsm } = open();
        let stalled = 0;
        // The last seq of each ingest that added entries: where a checked signature is kept.
        const kept = new Set<number>();
        while (queue.length > 0) {
          const batch = queue.shift()!;
          const r = store.ingest(batch);
          if (r.rejected.length > 0) {
            expect(r.rejected[0]!.error).toBeInstanceOf(SequenceGapError);
            queue.push(batch);
            stalled++;
            expect(stalled, 'no batch could be applied for a whole round').toBeLessThanOrEqual(queue.length);
          } else {
            stalled = 0;
            if (r.added.length > 0) kept.add(r.added[r.added.length - 1]!.seq);
          }
        }
        const reference = open();
        reference.store.ingest(feed);
        expect(store.head(alice.publicKey)).toEqual(reference.store.head(alice.publicKey));
        // Bodies and head are byte for byte the same whatever the order; signatures are kept
        // exactly at the ends of the ingests that added entries, byte for byte the author's.
        const notSignature = (row: string) => !row.startsWith('73');
        expect(dump(lsm).filter(notSignature)).toEqual(dump(reference.lsm).filter(notSignature));
        const stored = store.readEntries(alice.publicKey, 1, n);
        expect(stored.filter((e) => e.signed).map((e) => e.seq)).toEqual([...kept].sort((a, b) => a - b));
        for (const e of stored.filter((x) => x.signed))
          expect(hex(e.signature!)).toBe(hex(feed[e.seq - 1]!.signature!));
        expect(verifyBatch(undefined, stored, nodeSigner).seq).toBe(n);
      }),
      { numRuns: 60 },
    );
  });
});

describe('crash during ingest', () => {
  const feed = makeFeed(alice, 40, {
    signed: (s) => s === 3 || s === 40,
    payload: (s) => new Uint8Array(60).fill(s),
  });
  const policies = [
    { name: 'loseAll', make: () => CrashPolicy.loseAll },
    { name: 'keepAll', make: () => CrashPolicy.keepAll },
    { name: 'random', make: () => CrashPolicy.random(new SeededRandom(7)) },
  ];

  it('leaves either nothing or the whole batch, at every step and under every crash policy', () => {
    for (const policy of policies) {
      const outcomes = new Set<number>();
      let step = 0;
      for (; ; step++) {
        const { fs, store } = open(new MemoryFs(), SMALL);
        store.ingest(feed.slice(0, 3), { sync: true });
        fs.crashAfter(step);
        try {
          store.ingest(feed.slice(3), { sync: true });
        } catch (err) {
          expect(err).toBeInstanceOf(CrashError);
        }
        if (!fs.crashed) break;
        fs.crash(policy.make());
        const again = open(fs, SMALL);
        const head = again.store.head(alice.publicKey)!;
        expect([3, 40], `${policy.name} step ${step}`).toContain(head.seq);
        outcomes.add(head.seq);
        const stored = again.store.readEntries(alice.publicKey, 1, 100);
        expect(stored.map((e) => hex(encodeEntry(e)))).toEqual(
          feed.slice(0, head.seq).map((e) => hex(encodeEntry(e))),
        );
        expect(verifyBatch(undefined, stored, nodeSigner).seq).toBe(head.seq);
        // Whatever survived, delivering the batch again completes the feed.
        again.store.ingest(feed.slice(3), { sync: true });
        expect(again.store.head(alice.publicKey)!.seq).toBe(40);
        again.lsm.close();
      }
      expect(step, policy.name).toBeGreaterThan(2);
      if (policy.name === 'loseAll') expect(outcomes).toEqual(new Set([3, 40]));
    }
  });
});
