/**
 * Batch verification of one author's entries against the feed's current head.
 *
 * Cost: one SHA-256 per entry plus ONE signature check per batch. A batch must end with a
 * signed entry, which vouches for the whole batch through the prev-hash chain, so signatures
 * on earlier entries add nothing to trusting it and are not checked. They are not trustworthy
 * either: whoever keeps or passes on entries verified here must drop those unchecked
 * signatures. A caller that wants to keep some of them (the feed store keeps one every few
 * hundred entries, so that it can serve what it holds in short verifiable ranges) names them
 * to {@link verifySignedRanges}, which checks exactly those and the last.
 *
 * Checks run cheapest first (structure, sequence, chain, then signatures), and the first
 * failure throws a typed error naming the entry's seq. Nothing is mutated.
 */

import { InvalidArgumentError } from '../errors.ts';
import { bytesEqual } from '../lsm/coding.ts';
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
    if (!bytesEqual(entry.author, author))
      throw new InvalidArgumentError(`verifyBatch: entry seq ${entry.seq} has a different author`);
    if (entry.seq !== expected)
      throw new SequenceGapError({ author, expectedSeq: expected, actualSeq: entry.seq });
    if (!bytesEqual(entry.prev, prev))
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
 * `MAX_PAYLOAD_BYTES`, and the last entry signed with a valid signature. Returns the new head.
 *
 * Cost: one SHA-256 per entry and ONE signature check per batch. The hash chain makes the last
 * signature vouch for every entry before it, so signatures on earlier entries of the batch add
 * nothing and are NOT checked: a caller must not keep or forward them (the feed store drops
 * every signature it did not check). Throws `SequenceGapError`, `BrokenChainError`, `BadSignatureError`,
 * `MalformedEntryError`, `LimitExceededError` or `InvalidArgumentError`.
 */
export function verifyBatch(head: FeedHead | undefined, entries: readonly Entry[], signer: Signer): FeedHead {
  if (!Array.isArray(entries) || entries.length === 0)
    throw new InvalidArgumentError('verifyBatch: entries must be a non-empty array');
  return verifySignedRanges(head, entries, signer, [entries.length - 1]);
}

/**
 * {@link verifyBatch} for a batch read as consecutive ranges that each end at a signed entry:
 * `ends` are the indexes (ascending, the last one `entries.length - 1`) of the entries whose
 * signatures are checked, so each of those entries then vouches for every entry up to it. The
 * chain is hashed once; the cost is one SHA-256 per entry and one signature check per range.
 * Signatures on entries not named in `ends` are not checked. Throws what `verifyBatch` throws
 * (`BadSignatureError` naming the first range end, in check order, that is unsigned or
 * invalid), and `InvalidArgumentError` for bad `ends`.
 */
export function verifySignedRanges(
  head: FeedHead | undefined,
  entries: readonly Entry[],
  signer: Signer,
  ends: readonly number[],
): FeedHead {
  if (!Array.isArray(entries) || entries.length === 0)
    throw new InvalidArgumentError('verifySignedRanges: entries must be a non-empty array');
  checkEnds(ends, entries.length);
  const hashes = checkChain(head, entries, signer);
  const lastAt = entries.length - 1;
  // The last entry first: it is the one signature a valid batch must have, and a forged batch
  // most likely fails there.
  checkSignature(entries[lastAt]!, hashes[lastAt]!, signer);
  for (let i = 0; i < ends.length - 1; i++) checkSignature(entries[ends[i]!]!, hashes[ends[i]!]!, signer);
  return { seq: entries[lastAt]!.seq, hash: hashes[lastAt]! };
}

function checkEnds(ends: readonly number[], count: number): void {
  if (!Array.isArray(ends) || ends.length === 0 || ends[ends.length - 1] !== count - 1)
    throw new InvalidArgumentError('verifySignedRanges: ends must be non-empty and end at the last entry');
  for (let i = 0; i < ends.length; i++) {
    const at = ends[i]!;
    if (!Number.isSafeInteger(at) || at < 0 || (i > 0 && at <= ends[i - 1]!))
      throw new InvalidArgumentError('verifySignedRanges: ends must be ascending entry indexes');
  }
}

function checkSignature(entry: Entry, hash: Uint8Array, signer: Signer): void {
  if (entry.signature === undefined)
    throw new BadSignatureError({ author: entry.author, seq: entry.seq, reason: 'missing' });
  if (!hasValidSignature(entry, hash, signer))
    throw new BadSignatureError({ author: entry.author, seq: entry.seq, reason: 'invalid' });
}
