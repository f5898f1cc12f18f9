/**
 * Internal keys: what the LSM actually stores. Every user write gets a sequence number, and
 * every stored key is `userKey ‖ trailer` with an 8-byte trailer:
 *
 *   byte 0      kind (0 = deletion tombstone, 1 = value)
 *   bytes 1..7  sequence number, little-endian (at most 2^53 - 1)
 *
 * Ordering: user key ascending (bytewise), then sequence number descending, so a scan meets
 * the newest version of a key first and a snapshot at sequence S skips versions newer than S.
 */

import { assert } from '../assert.ts';
import { compareBytes, compareBytesPrefix } from './coding.ts';

/** Kind byte of a stored entry. */
export const EntryKind = {
  /** A tombstone: the key was deleted at this sequence. */
  Delete: 0,
  /** A value. */
  Value: 1,
} as const;

/** Kind byte of a stored entry: 0 = tombstone, 1 = value. */
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

/** Bytes of the trailer appended to every user key. */
export const TRAILER_BYTES = 8;

/** Largest sequence number (kept within JS safe integers). */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** Encodes `userKey ‖ trailer`. */
export function encodeInternalKey(userKey: Uint8Array, seq: number, kind: EntryKind): Uint8Array {
  assert(seq >= 0 && seq <= MAX_SEQUENCE, 'sequence number out of range');
  const out = new Uint8Array(userKey.length + TRAILER_BYTES);
  out.set(userKey, 0);
  writeTrailer(out, userKey.length, seq, kind);
  return out;
}

/** Writes the 8-byte trailer at `at`. */
export function writeTrailer(out: Uint8Array, at: number, seq: number, kind: EntryKind): void {
  out[at] = kind;
  // Two 32-bit halves and shifts, rather than seven divisions of a double (a few percent of
  // a received batch's cost): `>>> 0` is the low 32 bits of any integer up to 2^53.
  const lo = seq >>> 0;
  const hi = (seq - lo) / 0x1_0000_0000;
  out[at + 1] = lo & 0xff;
  out[at + 2] = (lo >>> 8) & 0xff;
  out[at + 3] = (lo >>> 16) & 0xff;
  out[at + 4] = lo >>> 24;
  out[at + 5] = hi & 0xff;
  out[at + 6] = (hi >>> 8) & 0xff;
  out[at + 7] = (hi >>> 16) & 0xff;
}

/** The user-key part of an internal key (a view, no copy). */
export function userKeyOf(ikey: Uint8Array): Uint8Array {
  return ikey.subarray(0, ikey.length - TRAILER_BYTES);
}

/** The sequence number of an internal key. */
export function seqOf(ikey: Uint8Array): number {
  const at = ikey.length - TRAILER_BYTES;
  let s = 0;
  for (let i = TRAILER_BYTES - 1; i >= 1; i--) s = s * 256 + ikey[at + i]!;
  return s;
}

/** The kind of an internal key. */
export function kindOf(ikey: Uint8Array): EntryKind {
  return ikey[ikey.length - TRAILER_BYTES] as EntryKind;
}

/** `compareBytes(userKeyOf(ikey), user)`, without a view of the user key. */
export function compareUserKeyTo(ikey: Uint8Array, user: Uint8Array): number {
  return compareBytesPrefix(ikey, ikey.length - TRAILER_BYTES, user);
}

/** Compares the user-key parts of two internal keys bytewise. */
export function compareUserKeysOf(a: Uint8Array, b: Uint8Array): number {
  const al = a.length - TRAILER_BYTES;
  const bl = b.length - TRAILER_BYTES;
  const n = Math.min(al, bl);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return al - bl;
}

/** Orders internal keys: user key ascending, then sequence descending, then kind descending. */
export function compareInternalKeys(a: Uint8Array, b: Uint8Array): number {
  const c = compareUserKeysOf(a, b);
  if (c !== 0) return c;
  const sa = seqOf(a);
  const sb = seqOf(b);
  if (sa !== sb) return sb - sa;
  return kindOf(b) - kindOf(a);
}

/**
 * The smallest internal key for `userKey` at snapshot `seq`: seeking to it lands on the newest
 * version of `userKey` whose sequence is at most `seq`.
 */
export function seekKey(userKey: Uint8Array, seq: number): Uint8Array {
  return encodeInternalKey(userKey, seq, EntryKind.Value);
}

/** Compares two user keys bytewise (re-exported for callers that only need user keys). */
export const compareUserKeys = compareBytes;
