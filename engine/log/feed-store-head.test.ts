/**
 * The head of the device's own feed across restarts and crashes. Local appends rewrite the head
 * record only at the first entry, when they sign and every HEAD_RECORD_INTERVAL_ENTRIES seqs,
 * so reopening must find the real head by following the feed past the record.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../errors.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { Lsm } from '../lsm/lsm.ts';
import { createEntry, entryHash } from './entry.ts';
import { testHlc, testIdentity } from './feed-fixtures.ts';
import { HEAD_PREFIX } from './feed-records.ts';
import { FeedStore, HEAD_RECORD_INTERVAL_ENTRIES } from './feed-store.ts';
import { nodeSigner } from './node-signer.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const alice = testIdentity(1);
const headKey = Uint8Array.of(HEAD_PREFIX, ...alice.publicKey);
const payload = (i: number) => new TextEncoder().encode(`entry ${i}`);

function open(fs: MemoryFs) {
  const lsm = Lsm.open(fs, { memtableBytes: 4096, blockBytes: 512 });
  return { lsm, store: new FeedStore(lsm, nodeSigner) };
}

/** What the stored entries themselves say the head is: count, last hash, last signed seq. */
function headFromEntries(store: FeedStore) {
  const entries = store.readEntries(alice.publicKey, 1, Number.MAX_SAFE_INTEGER);
  for (let i = 1; i < entries.length; i++)
    expect(hex(entries[i]!.prev)).toBe(hex(entryHash(entries[i - 1]!.body, nodeSigner)));
  const last = entries.at(-1);
  if (last === undefined) return undefined;
  const signed = entries.filter((e) => e.signed).at(-1);
  return { seq: last.seq, hash: hex(entryHash(last.body, nodeSigner)), signedSeq: signed?.seq ?? 0 };
}

function headOf(store: FeedStore) {
  const h = store.head(alice.publicKey);
  return h === undefined ? undefined : { seq: h.seq, hash: hex(h.hash), signedSeq: h.signedSeq };
}

type Step =
  | { kind: 'append'; sign: boolean; sync: boolean }
  | { kind: 'sign' }
  | { kind: 'close' }
  | { kind: 'crash'; seed: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('append' as const), sign: fc.boolean(), sync: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'sign' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
  { weight: 1, arbitrary: fc.nat().map((seed) => ({ kind: 'crash' as const, seed })) },
);

describe('the local head across restarts', () => {
  it('writes the head record only at the first entry, at signatures and at every interval', () => {
    const fs = new MemoryFs();
    const { lsm, store } = open(fs);
    const recorded = () => {
      const bytes = lsm.get(headKey);
      return bytes === undefined ? undefined : new DataView(bytes.buffer, bytes.byteOffset).getUint32(5);
    };
    expect(recorded()).toBeUndefined();
    store.appendLocal(alice, { hlc: testHlc(1), payload: payload(1) }, { sign: false });
    expect(recorded()).toBe(1);
    store.appendLocal(alice, { hlc: testHlc(2), payload: payload(2) }, { sign: false });
    expect(recorded()).toBe(1);
    store.appendLocal(alice, { hlc: testHlc(3), payload: payload(3) }, { sign: true });
    expect(recorded()).toBe(3);
    for (let i = 4; i <= HEAD_RECORD_INTERVAL_ENTRIES + 1; i++)
      store.appendLocal(alice, { hlc: testHlc(i), payload: payload(i) }, { sign: false });
    expect(recorded()).toBe(HEAD_RECORD_INTERVAL_ENTRIES);
    store.sign(alice);
    expect(recorded()).toBe(HEAD_RECORD_INTERVAL_ENTRIES + 1);
    lsm.close();
  });

  it('finds the head past the record after a reopen, with more unsigned entries than the interval', () => {
    const fs = new MemoryFs();
    const first = open(fs);
    const n = 2 * HEAD_RECORD_INTERVAL_ENTRIES + 17;
    for (let i = 1; i <= n; i++)
      first.store.appendLocal(alice, { hlc: testHlc(i), payload: payload(i) }, { sign: i === 5 });
    const before = headOf(first.store);
    first.lsm.close();
    const again = open(fs);
    expect(headOf(again.store)).toEqual(before);
    expect(before).toEqual(headFromEntries(again.store));
    expect(before!.signedSeq).toBe(5);
    const next = again.store.appendLocal(
      alice,
      { hlc: testHlc(n + 1), payload: payload(n + 1) },
      { sign: true },
    );
    expect(next.seq).toBe(n + 1);
    again.lsm.close();
  });

  it('refuses, as corruption, an entry past the record that does not continue the feed', () => {
    const fs = new MemoryFs();
    const first = open(fs);
    for (let i = 1; i <= 3; i++)
      first.store.appendLocal(alice, { hlc: testHlc(i), payload: payload(i) }, { sign: i === 1 });
    // Replace entry 3 (past the record at 1) by one whose prev is not entry 2's hash.
    const stray = createEntry({
      author: alice.publicKey,
      seq: 3,
      prev: new Uint8Array(32).fill(9),
      hlc: testHlc(3),
      payload: payload(3),
    });
    first.lsm.put(Uint8Array.of(0x66, ...alice.publicKey, 0, 0, 0, 0, 0, 0, 0, 3), stray.body);
    first.lsm.close();
    const again = open(fs);
    expect(() => again.store.head(alice.publicKey)).toThrow(CorruptionError);
    again.lsm.close();
  });

  it('after any mix of appends, signatures, closes and power losses, the head is what the stored entries say', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 120 }), (steps) => {
        const fs = new MemoryFs();
        let { lsm, store } = open(fs);
        let seq = headOf(store)?.seq ?? 0;
        let synced = 0;
        for (const s of steps) {
          if (s.kind === 'append') {
            seq++;
            store.appendLocal(
              alice,
              { hlc: testHlc(seq), payload: payload(seq) },
              { sign: s.sign, sync: s.sync },
            );
            if (s.sync) synced = seq;
          } else if (s.kind === 'sign') {
            store.sign(alice, { sync: true });
            synced = seq;
          } else {
            const before = headOf(store);
            if (s.kind === 'close') lsm.close();
            else fs.crash({ random: new SeededRandom(s.seed) });
            ({ lsm, store } = open(fs));
            const after = headOf(store);
            expect(after).toEqual(headFromEntries(store));
            if (s.kind === 'close') expect(after).toEqual(before);
            // A power loss keeps a prefix of the writes that includes every synced one.
            else expect(after?.seq ?? 0).toBeGreaterThanOrEqual(synced);
            seq = after?.seq ?? 0;
            synced = seq;
          }
          expect(headOf(store)?.seq ?? 0).toBe(seq);
        }
        lsm.close();
      }),
      { numRuns: 60 },
    );
  });
});
