/**
 * Typed errors of the log layer: why a feed entry or a batch of entries was refused. Each has a
 * stable `code` the sync layer matches on to decide what to do next (re-request on a gap, drop
 * the peer's batch on a bad signature, stop accepting an author on a fork).
 */

import { AregulaError, type ErrorCode } from '../errors.ts';
import { bytesToHex } from '../hex.ts';

/** The codes of this layer's errors (members of the engine's {@link ErrorCode}). */
export type LogErrorCode = Extract<
  ErrorCode,
  'ARE_BAD_SIGNATURE' | 'ARE_SEQUENCE_GAP' | 'ARE_BROKEN_CHAIN' | 'ARE_FORK'
>;

/** Hex of an author key, for messages. */
export const authorHex: (author: Uint8Array) => string = bytesToHex;

/**
 * Entry bytes do not parse: a bad length, an unknown version or flag, trailing bytes. Code
 * `ARE_CORRUPTION`, like every structural failure of bytes; `offset` is where in the given
 * bytes the problem was found.
 */
export class MalformedEntryError extends AregulaError {
  /** Byte offset of the problem in the decoded buffer. */
  readonly offset: number;
  constructor(detail: string, offset: number) {
    super('ARE_CORRUPTION', `malformed entry at offset ${offset}: ${detail}`);
    this.offset = offset;
  }
}

/**
 * A batch does not continue its feed: the first entry is not head + 1 (a gap, e.g. batches
 * delivered out of order, or a repeat), or two entries are not consecutive. Code
 * `ARE_SEQUENCE_GAP`. The sync layer reacts by re-requesting from `expectedSeq`.
 */
export class SequenceGapError extends AregulaError {
  /** The sequence number the feed needed next. */
  readonly expectedSeq: number;
  /** The sequence number that arrived instead. */
  readonly actualSeq: number;
  constructor(options: { author: Uint8Array; expectedSeq: number; actualSeq: number }) {
    super(
      'ARE_SEQUENCE_GAP',
      `feed ${authorHex(options.author)}: expected seq ${options.expectedSeq}, got ${options.actualSeq}`,
    );
    this.expectedSeq = options.expectedSeq;
    this.actualSeq = options.actualSeq;
  }
}

/** An entry's `prev` is not the hash of the entry before it. Code `ARE_BROKEN_CHAIN`. */
export class BrokenChainError extends AregulaError {
  /** Sequence number of the entry whose `prev` does not match. */
  readonly seq: number;
  constructor(options: { author: Uint8Array; seq: number; detail: string }) {
    super('ARE_BROKEN_CHAIN', `feed ${authorHex(options.author)} seq ${options.seq}: ${options.detail}`);
    this.seq = options.seq;
  }
}

/**
 * A signature does not verify, or a batch's last entry carries none (so nothing vouches for the
 * batch). Code `ARE_BAD_SIGNATURE`.
 */
export class BadSignatureError extends AregulaError {
  /** Sequence number of the entry whose signature failed or is missing. */
  readonly seq: number;
  /** `missing`: the entry that must be signed is not; `invalid`: the signature is wrong. */
  readonly reason: 'missing' | 'invalid';
  constructor(options: { author: Uint8Array; seq: number; reason: 'missing' | 'invalid' }) {
    const what = options.reason === 'missing' ? 'is not signed' : 'has an invalid signature';
    super('ARE_BAD_SIGNATURE', `feed ${authorHex(options.author)} seq ${options.seq} ${what}`);
    this.seq = options.seq;
    this.reason = options.reason;
  }
}

/**
 * The author signed two different entries with the same sequence number: a fork, proof that
 * the key is used by two devices or compromised. The feed store keeps both as proof and refuses
 * every later entry of the author with this error. Code `ARE_FORK`.
 */
export class ForkError extends AregulaError {
  /** The forked author's public key. */
  readonly author: Uint8Array;
  /** Lowest sequence number with two signed entries. */
  readonly seq: number;
  constructor(options: { author: Uint8Array; seq: number }) {
    super('ARE_FORK', `feed ${authorHex(options.author)} forked at seq ${options.seq}; author quarantined`);
    this.author = options.author;
    this.seq = options.seq;
  }
}
