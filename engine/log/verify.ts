/**
 * Batch verification of one author's entries against the feed's current head.
 *
 * Cost: one SHA-256 per entry plus one signature check per signed entry. A batch must end with
 * a signed entry, which vouches for the whole batch through the prev-hash chain. Signatures on
 * earlier entries (earlier group commits) are verified too rather than skipped: the feed store
 * keeps them to serve shorter ranges later, and a store must never keep, and pass on, a
 * signature it has not checked. With one signature per group commit this adds one check per
 * commit, not per entry.
 *
 * Checks run cheapest first (structure, sequence, chain, then signatures), and the first
 * failure throws a typed error naming the entry's seq. Nothing is mutated.
 */

import { InvalidArgumentError } from '../errors.ts';
import {
  checkPayloadBytes,
  ENTRY_VERSION,
  type Entry,
  HASH_BYTES,
  hasValidSignature,
  ZERO_HASH,
} from './entry.ts';
import { BadSignatureError, BrokenChainError, MalformedEntryError, SequenceGapError } from './errors.ts';
import type { Signer } from './signer.ts';

/** The last entry of a feed (or of a verified prefix of it): its seq and hash. */
export interface FeedHead {
  readonly seq: number;
  readonly hash: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Checks the structure, sequence and chain of `entries` (one author, in order) from `head`
 * (undefined for an empty feed) and returns each entry's hash. Signatures are not checked.
 */
export function checkChain(
  head: FeedHead | undefined,
  entries: readonly Entry[],
  signer: Signer,
): Uint8Array[] {
  if (!Array.isArray(entries) || entries.length === 0)
    throw new InvalidArgumentError('verifyBatch: entries must be a non-empty array');
  if (
    head !== undefined &&
    (!Number.isSafeInteger(head.seq) || head.seq < 0 || head.hash?.length !== HASH_BYTES)
  )
    throw new InvalidArgumentError('verifyBatch: head must be { seq >= 0, hash: 32 bytes }');
  const author = entries[0]!.author;
  let expected = (head?.seq ?? 0) + 1;
  let prev = head?.hash ?? ZERO_HASH;
  const hashes: Uint8Array[] = [];
  for (const entry of entries) {
    if (entry.version !== ENTRY_VERSION)
      throw new MalformedEntryError(`unsupported entry version ${entry.version}`, 0);
    if (!sameBytes(entry.author, author))
      throw new InvalidArgumentError(`verifyBatch: entry seq ${entry.seq} has a different author`);
    if (entry.seq !== expected)
      throw new SequenceGapError({ author, expectedSeq: expected, actualSeq: entry.seq });
    if (!sameBytes(entry.prev, prev))
      throw new BrokenChainError({
        author,
        seq: entry.seq,
        detail: 'prev is not the hash of the previous entry',
      });
    checkPayloadBytes(entry.payload.length);
    prev = signer.sha256(entry.body);
    hashes.push(prev);
    expected++;
  }
  return hashes;
}

/**
 * Verifies a batch of ONE author's entries as the continuation of the feed whose last entry
 * is `head` (undefined for an empty feed): same author throughout, seqs head+1, head+2, ...
 * without gaps or repeats, each `prev` the hash of the entry before, payloads within
 * `MAX_PAYLOAD_BYTES`, the last entry signed, and every signature present valid. Returns the
 * new head. Throws `SequenceGapError`, `BrokenChainError`, `BadSignatureError`,
 * `MalformedEntryError`, `LimitExceededError` or `InvalidArgumentError`.
 */
export function verifyBatch(head: FeedHead | undefined, entries: readonly Entry[], signer: Signer): FeedHead {
  const hashes = checkChain(head, entries, signer);
  const last = entries[entries.length - 1]!;
  if (last.signature === undefined)
    throw new BadSignatureError({ author: last.author, seq: last.seq, reason: 'missing' });
  // The last entry first: it is the one signature a valid batch must have, and a forged batch
  // most likely fails there.
  if (!hasValidSignature(last, hashes[hashes.length - 1]!, signer))
    throw new BadSignatureError({ author: last.author, seq: last.seq, reason: 'invalid' });
  for (let i = 0; i < entries.length - 1; i++) {
    const e = entries[i]!;
    if (e.signature !== undefined && !hasValidSignature(e, hashes[i]!, signer))
      throw new BadSignatureError({ author: e.author, seq: e.seq, reason: 'invalid' });
  }
  return { seq: last.seq, hash: hashes[hashes.length - 1]! };
}
