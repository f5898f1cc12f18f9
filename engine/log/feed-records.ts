/**
 * The feed store's keys and record encodings inside the LSM (see docs/formats/entry.md,
 * "Feed store layout"). All integers are big-endian so that keys sort by (author, seq).
 *
 *   f ‖ author ‖ u64 seq  ->  entry body (immutable once written)
 *   s ‖ author ‖ u64 seq  ->  64-byte signature of that entry (added at a group commit's end)
 *   h ‖ author            ->  head: u8 version ‖ u64 seq ‖ 32B hash ‖ u64 signedSeq
 *   x ‖ author            ->  fork record: u8 version ‖ u64 seq ‖ u32 n ‖ n wire entries
 *                             (ours) ‖ u32 m ‖ m wire entries (theirs)
 *
 * Signatures live apart from bodies because an entry is stored before the group commit that
 * signs it ends; the wire form of a stored entry is its body plus the signature, if any.
 */

import { CorruptionError } from '../errors.ts';
import { decodeEntryAt, type Entry, encodeEntry, HASH_BYTES, writeU64BE } from './entry.ts';
import { PUBLIC_KEY_BYTES } from './identity.ts';

/** Key prefix of entry bodies. */
export const FEED_PREFIX = 0x66; // 'f'
/** Key prefix of feed heads. */
export const HEAD_PREFIX = 0x68; // 'h'
/** Key prefix of checkpoint signatures. */
export const SIGNATURE_PREFIX = 0x73; // 's'
/** Key prefix of fork records. */
export const FORK_PREFIX = 0x78; // 'x'
/** Version byte of head and fork records. */
export const RECORD_VERSION = 1;
/** Bytes of an encoded head. */
export const HEAD_RECORD_BYTES = 1 + 8 + HASH_BYTES + 8;

/** A feed's head as the store keeps it. */
export interface StoredHead {
  /** Seq of the last stored entry. */
  readonly seq: number;
  /** Hash of the last stored entry's body. */
  readonly hash: Uint8Array;
  /** Seq of the last signed entry (<= seq; 0 when none is signed yet). */
  readonly signedSeq: number;
}

/** Proof that an author signed two different entries with the same seq. */
export interface ForkRecord {
  /** The author. */
  readonly author: Uint8Array;
  /** The seq at which the two branches differ. */
  readonly seq: number;
  /** The stored branch from `seq` up to its first signed entry (or the head). */
  readonly ours: readonly Entry[];
  /** The incoming branch from `seq` up to its signed last entry. */
  readonly theirs: readonly Entry[];
}

function readU64BE(b: Uint8Array, at: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(at) * 4294967296 + v.getUint32(at + 4);
}

/** `prefix ‖ author`. */
export function authorKey(prefix: number, author: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + PUBLIC_KEY_BYTES);
  key[0] = prefix;
  key.set(author, 1);
  return key;
}

/** `prefix ‖ author ‖ u64 BE seq`. */
export function seqKey(prefix: number, author: Uint8Array, seq: number): Uint8Array {
  return seqKeyInto(new Uint8Array(SEQ_KEY_BYTES), prefix, author, seq);
}

/** Bytes of a {@link seqKey}. */
export const SEQ_KEY_BYTES = 1 + PUBLIC_KEY_BYTES + 8;

/** Writes {@link seqKey}(prefix, author, seq) into `key` ({@link SEQ_KEY_BYTES} long) and returns it. */
export function seqKeyInto(key: Uint8Array, prefix: number, author: Uint8Array, seq: number): Uint8Array {
  key[0] = prefix;
  key.set(author, 1);
  writeU64BE(key, 1 + PUBLIC_KEY_BYTES, seq);
  return key;
}

/** The seq of a `seqKey`. */
export function seqOfKey(key: Uint8Array): number {
  return readU64BE(key, 1 + PUBLIC_KEY_BYTES);
}

/** Encodes a head record. */
export function encodeHead(head: StoredHead): Uint8Array {
  const out = new Uint8Array(HEAD_RECORD_BYTES);
  out[0] = RECORD_VERSION;
  writeU64BE(out, 1, head.seq);
  out.set(head.hash, 9);
  writeU64BE(out, 9 + HASH_BYTES, head.signedSeq);
  return out;
}

function corrupt(what: string, detail: string, offset = 0): CorruptionError {
  return new CorruptionError({ file: `feed store ${what}`, offset, detail });
}

/** Decodes a head record; `what` names it in a `CorruptionError`. */
export function decodeHead(bytes: Uint8Array, what: string): StoredHead {
  if (bytes.length !== HEAD_RECORD_BYTES) throw corrupt(what, `head record of ${bytes.length} bytes`);
  if (bytes[0] !== RECORD_VERSION) throw corrupt(what, `head record version ${bytes[0]}`);
  const seq = readU64BE(bytes, 1);
  const signedSeq = readU64BE(bytes, 9 + HASH_BYTES);
  if (!Number.isSafeInteger(seq) || seq < 1) throw corrupt(what, 'head seq out of range', 1);
  if (!Number.isSafeInteger(signedSeq) || signedSeq > seq)
    throw corrupt(what, 'head signedSeq out of range', 9 + HASH_BYTES);
  return { seq, hash: bytes.slice(9, 9 + HASH_BYTES), signedSeq };
}

function pushEntries(parts: Uint8Array[], entries: readonly Entry[]): void {
  const count = new Uint8Array(4);
  new DataView(count.buffer).setUint32(0, entries.length);
  parts.push(count);
  for (const e of entries) parts.push(encodeEntry(e));
}

/** Encodes a fork record (the author is in the key). */
export function encodeFork(fork: ForkRecord): Uint8Array {
  const head = new Uint8Array(9);
  head[0] = RECORD_VERSION;
  writeU64BE(head, 1, fork.seq);
  const parts: Uint8Array[] = [head];
  pushEntries(parts, fork.ours);
  pushEntries(parts, fork.theirs);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function readEntries(bytes: Uint8Array, at: number, what: string): { entries: Entry[]; end: number } {
  if (bytes.length - at < 4) throw corrupt(what, 'fork record entry count missing', at);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at);
  let pos = at + 4;
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const { entry, end } = decodeEntryAt(bytes, pos);
      entries.push(entry);
      pos = end;
    } catch (err) {
      throw corrupt(what, `fork record entry ${i}: ${(err as Error).message}`, pos);
    }
  }
  return { entries, end: pos };
}

/** Decodes a fork record of `author`; `what` names it in a `CorruptionError`. */
export function decodeFork(author: Uint8Array, bytes: Uint8Array, what: string): ForkRecord {
  if (bytes.length < 9 || bytes[0] !== RECORD_VERSION) throw corrupt(what, 'bad fork record header');
  const seq = readU64BE(bytes, 1);
  const ours = readEntries(bytes, 9, what);
  const theirs = readEntries(bytes, ours.end, what);
  if (theirs.end !== bytes.length) throw corrupt(what, 'trailing bytes after fork record', theirs.end);
  return { author: author.slice(), seq, ours: ours.entries, theirs: theirs.entries };
}
