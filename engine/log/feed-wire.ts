/**
 * Reading a stored feed in wire form for sync (body ‖ flags ‖ [signature], docs/formats/entry.md)
 * without decoding entries: one scan of the sparse signature records to choose where the
 * range ends, one scan of the bodies, and one copy per entry into its wire bytes. Sending is
 * what a hub does most, and decoding every body into an `Entry` only to encode it again was
 * most of its cost.
 *
 * The feed store wrote and verified what it stores, and the LSM checks every block's CRC, so
 * a stored body is not parsed again here; the one cheap check left is that each body's author
 * and seq match its key (a misplaced record is corruption, not something to send).
 */

import { assert } from '../assert.ts';
import { CorruptionError, InvalidArgumentError } from '../errors.ts';
import type { Lsm } from '../lsm/lsm.ts';
import { BODY_HEADER_BYTES, FLAG_SIGNED } from './entry.ts';
import { authorHex } from './errors.ts';
import { FEED_PREFIX, SIGNATURE_PREFIX, seqKey } from './feed-records.ts';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './identity.ts';

/** Bounds of {@link readWireRange}. */
export interface WireRangeOptions {
  /** About this many entries: the range ends at the last signature within them, or at the first past them. */
  limit: number;
  /** Stop at the first signed entry at which the range's wire bytes reach this. */
  maxBytes: number;
  /** Never read past this seq (the feed's last signed entry). */
  signedSeqMax: number;
}

/**
 * `author`'s stored entries from `fromSeq` in wire form, contiguous, ending at a signed entry
 * so that a receiver can verify them (empty when no signature is stored at or after
 * `fromSeq` up to `signedSeqMax`). The range ends at the last signed entry within `limit`
 * entries, or, when the author signed none within them, at the first signed entry past them;
 * and earlier, at a signed entry, once `maxBytes` are reached (at least one signed range is
 * returned). Throws `CorruptionError` when an entry below a stored signature is missing or
 * misplaced.
 */
export function readWireRange(
  lsm: Lsm,
  author: Uint8Array,
  fromSeq: number,
  options: WireRangeOptions,
): Uint8Array[] {
  if (!Number.isSafeInteger(fromSeq) || fromSeq < 1)
    throw new InvalidArgumentError(`fromSeq must be an integer >= 1, got ${fromSeq}`);
  if (fromSeq > options.signedSeqMax) return [];
  const want = fromSeq + Math.max(1, options.limit) - 1;
  const signatures = new Map<number, Uint8Array>();
  let end = 0;
  const sigBounds = {
    gte: seqKey(SIGNATURE_PREFIX, author, fromSeq),
    lte: seqKey(SIGNATURE_PREFIX, author, options.signedSeqMax),
  };
  for (const [key, signature] of lsm.scan(sigBounds)) {
    const seq = keySeq(key);
    if (seq > want && end > 0) break;
    signatures.set(seq, signature);
    end = seq;
    if (seq >= want) break;
  }
  if (end === 0) return [];
  return readBodies(lsm, author, fromSeq, end, signatures, options.maxBytes);
}

function readBodies(
  lsm: Lsm,
  author: Uint8Array,
  fromSeq: number,
  end: number,
  signatures: Map<number, Uint8Array>,
  maxBytes: number,
): Uint8Array[] {
  const bodies: Uint8Array[] = [];
  const signed: (Uint8Array | undefined)[] = [];
  let bytes = 0;
  let expected = fromSeq;
  const bounds = { gte: seqKey(FEED_PREFIX, author, fromSeq), lte: seqKey(FEED_PREFIX, author, end) };
  for (const [key, body] of lsm.scan(bounds)) {
    if (keySeq(key) !== expected || !headerMatchesKey(body, key)) throw misplaced(author, expected);
    const signature = signatures.get(expected);
    bodies.push(body);
    signed.push(signature);
    bytes += body.length + 1 + (signature === undefined ? 0 : SIGNATURE_BYTES);
    expected++;
    // Only at a signed entry may the range end early: what is sent must verify.
    if (signature !== undefined && bytes >= maxBytes) return wireForms(bodies, signed, bytes);
  }
  if (expected !== end + 1) throw misplaced(author, expected);
  return wireForms(bodies, signed, bytes);
}

/**
 * The wire forms of a range, as views into one buffer of exactly `bytes`: one allocation per
 * range instead of one per entry, and a caller that keeps the range (a memo of served ranges)
 * keeps exactly its bytes alive.
 */
function wireForms(
  bodies: Uint8Array[],
  signatures: (Uint8Array | undefined)[],
  bytes: number,
): Uint8Array[] {
  const all = new Uint8Array(bytes);
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < bodies.length; i++) {
    const body = bodies[i]!;
    const signature = signatures[i];
    const start = at;
    all.set(body, at);
    at += body.length;
    if (signature !== undefined) {
      all[at++] = FLAG_SIGNED;
      all.set(signature, at);
      at += SIGNATURE_BYTES;
    } else at++; // FLAG 0: unsigned
    out.push(all.subarray(start, at));
  }
  assert(at === bytes, 'feed wire: the range fills its buffer exactly');
  return out;
}

/** The seq of a feed or signature key (`prefix ‖ author ‖ u64 BE seq`), read without a DataView per key. */
function keySeq(key: Uint8Array): number {
  const at = 1 + PUBLIC_KEY_BYTES;
  const hi = ((key[at]! << 24) | (key[at + 1]! << 16) | (key[at + 2]! << 8) | key[at + 3]!) >>> 0;
  const lo = ((key[at + 4]! << 24) | (key[at + 5]! << 16) | (key[at + 6]! << 8) | key[at + 7]!) >>> 0;
  return hi * 4294967296 + lo;
}

/** True when `body`'s author and seq (bytes 1..41) are the key's (after its prefix byte). */
function headerMatchesKey(body: Uint8Array, key: Uint8Array): boolean {
  if (body.length < BODY_HEADER_BYTES) return false;
  for (let i = 1; i < 1 + PUBLIC_KEY_BYTES + 8; i++) if (body[i] !== key[i]) return false;
  return true;
}

function misplaced(author: Uint8Array, seq: number): CorruptionError {
  return new CorruptionError({
    file: `feed store entry ${authorHex(author)}/${seq}`,
    offset: 0,
    detail: 'entry below a stored signature is missing or stored under another key',
  });
}
