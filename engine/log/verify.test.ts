import { describe, expect, it } from 'vitest';
import { AregulaError, InvalidArgumentError } from '../errors.ts';
import { createEntry, decodeEntryAt, type Entry, entryHash, withSignature } from './entry.ts';
import { BadSignatureError, BrokenChainError, SequenceGapError } from './errors.ts';
import { concatWire, makeFeed, testHlc, testIdentity } from './feed-fixtures.ts';
import { nodeSigner } from './node-signer.ts';
import { nobleSigner } from './signer.ts';
import { verifyBatch, verifySignedRanges } from './verify.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const alice = testIdentity(1);
const bob = testIdentity(2);

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

/** Decodes back-to-back wire entries (throws the decoder's typed errors). */
function decodeAll(wire: Uint8Array): Entry[] {
  const out: Entry[] = [];
  for (let at = 0; at < wire.length; ) {
    const { entry, end } = decodeEntryAt(wire, at);
    out.push(entry);
    at = end;
  }
  return out;
}

describe('verifyBatch accepts', () => {
  it('a whole feed from the empty head, and its continuation from the returned head', () => {
    const feed = makeFeed(alice, 10, { signed: (s) => s === 4 || s === 10 });
    for (const signer of [nobleSigner, nodeSigner]) {
      const h4 = verifyBatch(undefined, feed.slice(0, 4), signer);
      expect(h4.seq).toBe(4);
      expect(hex(h4.hash)).toBe(hex(entryHash(feed[3]!.body)));
      const h10 = verifyBatch(h4, feed.slice(4), signer);
      expect(h10.seq).toBe(10);
      expect(hex(verifyBatch(undefined, feed, signer).hash)).toBe(hex(h10.hash));
    }
  });

  it('without mutating the entries or the head', () => {
    const feed = makeFeed(alice, 3, { signed: (s) => s === 1 || s === 3 });
    const head = verifyBatch(undefined, feed.slice(0, 1), nodeSigner);
    const before = { head: hex(head.hash), wire: hex(concatWire(feed)) };
    verifyBatch(head, feed.slice(1), nodeSigner);
    expect(hex(head.hash)).toBe(before.head);
    expect(hex(concatWire(feed))).toBe(before.wire);
  });
});

describe('verifyBatch rejects with typed errors', () => {
  const feed = makeFeed(alice, 6, { signed: (s) => s === 3 || s === 6 });
  const head3 = verifyBatch(undefined, feed.slice(0, 3), nodeSigner);

  it('a gap (batch starting past head + 1) naming expected and actual seq', () => {
    const err = catchError(() => verifyBatch(head3, feed.slice(4), nodeSigner));
    expect(err).toBeInstanceOf(SequenceGapError);
    expect((err as SequenceGapError).code).toBe('ARE_SEQUENCE_GAP');
    expect((err as SequenceGapError).expectedSeq).toBe(4);
    expect((err as SequenceGapError).actualSeq).toBe(5);
    expect(catchError(() => verifyBatch(undefined, feed.slice(1, 3), nodeSigner))).toBeInstanceOf(
      SequenceGapError,
    );
  });

  it('a repeat (batch overlapping the head, or a seq twice inside it)', () => {
    const err = catchError(() => verifyBatch(head3, feed.slice(2), nodeSigner));
    expect((err as SequenceGapError).expectedSeq).toBe(4);
    expect((err as SequenceGapError).actualSeq).toBe(3);
    const twice = [feed[0]!, feed[1]!, feed[1]!, feed[2]!];
    expect((catchError(() => verifyBatch(undefined, twice, nodeSigner)) as SequenceGapError).actualSeq).toBe(
      2,
    );
  });

  it('a missing entry inside the batch', () => {
    const err = catchError(() => verifyBatch(undefined, [feed[0]!, feed[2]!], nodeSigner));
    expect((err as SequenceGapError).expectedSeq).toBe(2);
  });

  it('a broken link, at the first entry (wrong head) or inside the batch', () => {
    const wrongHead = { seq: 3, hash: new Uint8Array(32).fill(1) };
    const err = catchError(() => verifyBatch(wrongHead, feed.slice(3), nodeSigner));
    expect(err).toBeInstanceOf(BrokenChainError);
    expect((err as BrokenChainError).seq).toBe(4);
    expect((err as BrokenChainError).code).toBe('ARE_BROKEN_CHAIN');
    const other = makeFeed(alice, 6, { payload: () => new Uint8Array([9]) });
    const mixed = [feed[0]!, feed[1]!, other[2]!];
    expect((catchError(() => verifyBatch(undefined, mixed, nodeSigner)) as BrokenChainError).seq).toBe(3);
    const seq1 = createEntry({
      author: alice.publicKey,
      seq: 1,
      prev: new Uint8Array(32).fill(1),
      hlc: testHlc(1),
      payload: new Uint8Array(),
    });
    expect(catchError(() => verifyBatch(undefined, [seq1], nodeSigner))).toBeInstanceOf(BrokenChainError);
  });

  it('an unsigned last entry, even if an earlier one is signed', () => {
    const err = catchError(() => verifyBatch(undefined, feed.slice(0, 4), nodeSigner));
    expect(err).toBeInstanceOf(BadSignatureError);
    expect((err as BadSignatureError).reason).toBe('missing');
    expect((err as BadSignatureError).seq).toBe(4);
  });

  it('an invalid signature on the last entry (one on an earlier entry is not checked)', () => {
    const forged = withSignature(feed[5]!, feed[2]!.signature);
    const err = catchError(() => verifyBatch(head3, [...feed.slice(3, 5), forged], nodeSigner));
    expect(err).toBeInstanceOf(BadSignatureError);
    expect((err as BadSignatureError).reason).toBe('invalid');
    expect((err as BadSignatureError).code).toBe('ARE_BAD_SIGNATURE');
    expect((err as BadSignatureError).seq).toBe(6);
    // The last signature vouches for the whole batch; an earlier one costs nothing and proves
    // nothing, so it is not checked (and a caller must not keep it).
    const badMiddle = [...feed.slice(0, 2), withSignature(feed[2]!, feed[5]!.signature), ...feed.slice(3)];
    expect(hex(verifyBatch(undefined, badMiddle, nodeSigner).hash)).toBe(hex(entryHash(feed[5]!.body)));
  });

  it('a signature by another key, and entries of two authors', () => {
    const byBob = makeFeed(bob, 1)[0]!;
    const stolen = withSignature(feed[0]!, byBob.signature);
    expect(catchError(() => verifyBatch(undefined, [stolen], nodeSigner))).toBeInstanceOf(BadSignatureError);
    expect(
      catchError(() => verifyBatch(undefined, [feed[0]!, withSignature(byBob, undefined)], nodeSigner)),
    ).toBeInstanceOf(InvalidArgumentError);
  });

  it('bad arguments', () => {
    expect(() => verifyBatch(undefined, [], nodeSigner)).toThrow(InvalidArgumentError);
    expect(() => verifyBatch({ seq: -1, hash: new Uint8Array(32) }, feed, nodeSigner)).toThrow(
      InvalidArgumentError,
    );
    expect(() => verifyBatch({ seq: 1, hash: new Uint8Array(31) }, feed, nodeSigner)).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('verifySignedRanges', () => {
  const feed = makeFeed(alice, 6, { signed: (s) => s === 3 || s === 6 });
  const badMiddle = [...feed.slice(0, 2), withSignature(feed[2]!, feed[5]!.signature), ...feed.slice(3)];

  /** nodeSigner, counting signature checks. */
  function counting() {
    const counts = { verifies: 0 };
    const signer = {
      ...nodeSigner,
      verify: (key: Uint8Array, message: Uint8Array, signature: Uint8Array) => {
        counts.verifies++;
        return nodeSigner.verify(key, message, signature);
      },
    };
    return { counts, signer };
  }

  it('checks the signature at every named end and no other, one check each', () => {
    const { counts, signer } = counting();
    expect(verifySignedRanges(undefined, feed, signer, [2, 5]).seq).toBe(6);
    expect(counts.verifies).toBe(2);
    expect(verifyBatch(undefined, feed, signer).seq).toBe(6);
    expect(counts.verifies).toBe(3);
    const err = catchError(() => verifySignedRanges(undefined, badMiddle, signer, [2, 5]));
    expect(err).toBeInstanceOf(BadSignatureError);
    expect((err as BadSignatureError).seq).toBe(3);
    expect((err as BadSignatureError).reason).toBe('invalid');
    expect(verifySignedRanges(undefined, badMiddle, signer, [5]).seq).toBe(6);
    const missing = catchError(() => verifySignedRanges(undefined, feed, signer, [1, 5]));
    expect((missing as BadSignatureError).reason).toBe('missing');
    expect((missing as BadSignatureError).seq).toBe(2);
  });

  it('refuses ends that are empty, unordered, out of range or not ending at the last entry', () => {
    for (const ends of [[], [2], [5, 2, 5], [2, 2, 5], [-1, 5], [1.5, 5], [6], [2, 6]])
      expect(() => verifySignedRanges(undefined, feed, nodeSigner, ends), `${ends}`).toThrow(
        InvalidArgumentError,
      );
    expect(() => verifySignedRanges(undefined, [], nodeSigner, [0])).toThrow(InvalidArgumentError);
  });
});

describe('tampering', () => {
  // A small signed batch continuing a feed: two entries, the second (last) signed, plus an
  // earlier signed checkpoint so both kinds of signature are covered.
  const feed = makeFeed(alice, 5, {
    signed: (s) => s === 2 || s === 4 || s === 5,
    payload: (s) => new Uint8Array([s, s]),
  });
  const head = verifyBatch(undefined, feed.slice(0, 2), nodeSigner);
  const batch = feed.slice(2);
  const wire = concatWire(batch);

  it('of any bit of any byte is rejected by decoding or verifyBatch with a typed error, but for an unchecked signature', () => {
    expect(verifyBatch(head, decodeAll(wire), nodeSigner).seq).toBe(5);
    // Entry 4's signature is not checked (entry 5's vouches for the batch): flips there pass,
    // with the same result; with entry 4 named as a range end, they fail too.
    const sigFrom = batch[0]!.wireBytes + batch[1]!.body.length + 1;
    const sigEnd = sigFrom + 64;
    const codes = new Map<string, number>();
    let unchecked = 0;
    for (let bit = 0; bit < wire.length * 8; bit++) {
      const bad = wire.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      if (bit >> 3 >= sigFrom && bit >> 3 < sigEnd) {
        expect(hex(verifyBatch(head, decodeAll(bad), nodeSigner).hash), `bit ${bit}`).toBe(
          hex(entryHash(batch[2]!.body)),
        );
        const err = catchError(() => verifySignedRanges(head, decodeAll(bad), nodeSigner, [1, 2]));
        expect((err as BadSignatureError).seq, `bit ${bit}`).toBe(4);
        unchecked++;
        continue;
      }
      const err = catchError(() => verifyBatch(head, decodeAll(bad), nodeSigner));
      expect(err, `bit ${bit}`).toBeInstanceOf(AregulaError);
      const code = (err as AregulaError).code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(unchecked).toBe(64 * 8);
    // Every kind of check fires somewhere: structure, sequence, chain, signature, author.
    expect([...codes.keys()].sort()).toEqual([
      'ARE_BAD_SIGNATURE',
      'ARE_BROKEN_CHAIN',
      'ARE_CORRUPTION',
      'ARE_INVALID_ARGUMENT',
      'ARE_LIMIT_EXCEEDED',
      'ARE_SEQUENCE_GAP',
    ]);
  });

  it('gives the same verdicts with the noble backend (signature-relevant bits of the last entry)', () => {
    const lastAt = wire.length - batch[2]!.wireBytes;
    for (let byte = lastAt; byte < wire.length; byte += 7) {
      const bad = wire.slice();
      bad[byte]! ^= 0x10;
      const a = catchError(() => verifyBatch(head, decodeAll(bad), nodeSigner)) as AregulaError;
      const b = catchError(() => verifyBatch(head, decodeAll(bad), nobleSigner)) as AregulaError;
      expect(b.code, `byte ${byte}`).toBe(a.code);
      expect(b.message).toBe(a.message);
    }
  });
});
