/**
 * Sync protocol messages and their binary encoding (docs/protocol.md, "Sync messages").
 *
 *   u8 version (1) ‖ u8 type ‖ body
 *   hello (1), need (3), done (4): varint n, then n × (32-byte author, varint seq, 8-byte
 *                                   head hash), authors strictly ascending; the sender's state
 *                                   vector, with the first 8 bytes of the SHA-256 of its entry
 *                                   at that seq (zeros for seq 0), so that two replicas holding
 *                                   different entries at one seq (a fork) notice
 *   entries (2):                    varint n, then n × (varint length, wire entry bytes)
 *
 * Everything a peer sends is bounded and checked before anything is allocated for it: a
 * malformed or oversized message is a {@link ProtocolError}, never a crash.
 */

import { InvalidArgumentError, ProtocolError } from '../errors.ts';
import { bytesToHex, hexToBytes } from '../hex.ts';
import { ByteReader, ByteWriter, compareBytes, DecodeError } from '../lsm/coding.ts';

/** Protocol version this code speaks. */
export const PROTOCOL_VERSION = 1;

/** Largest encoded message accepted. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Most authors in one state vector. */
export const MAX_STATE_VECTOR_AUTHORS = 100_000;

/** Most entries in one `entries` message. */
export const MAX_ENTRIES_PER_MESSAGE = 4096;

/** Bytes of an author key. */
export const AUTHOR_BYTES = 32;

/** A replica's knowledge: for each author (lowercase hex key), the last signed sequence it holds. */
export type StateVector = Map<string, number>;

/** Bytes of a head hash in a state vector. */
export const HEAD_HASH_BYTES = 8;

/** For each author, the first {@link HEAD_HASH_BYTES} bytes of the hash of its entry at the state vector's seq. */
export type HeadHashes = Map<string, Uint8Array>;

/** A protocol message. */
export type SyncMessage =
  | { type: 'hello'; stateVector: StateVector; heads: HeadHashes }
  | { type: 'entries'; entries: Uint8Array[] }
  | { type: 'need'; stateVector: StateVector; heads: HeadHashes }
  | { type: 'done'; stateVector: StateVector; heads: HeadHashes };

const NO_HASH = new Uint8Array(HEAD_HASH_BYTES);

const TYPE_CODES = { hello: 1, entries: 2, need: 3, done: 4 } as const;

function authorFromHex(hex: string): Uint8Array {
  if (typeof hex === 'string' && hex.length === 2 * AUTHOR_BYTES) {
    try {
      return hexToBytes(hex);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
    }
  }
  throw new ProtocolError(`state vector author is not 64 hex digits: ${String(hex).slice(0, 80)}`);
}

/** Lowercase hex of an author key. */
export const authorToHex: (author: Uint8Array) => string = bytesToHex;

function writeStateVector(w: ByteWriter, sv: StateVector, heads: HeadHashes): void {
  if (sv.size > MAX_STATE_VECTOR_AUTHORS) throw new ProtocolError('state vector has too many authors');
  // Lowercase hex of equal length sorts exactly as the bytes it spells (each author is checked
  // to be such hex before it is written), so the keys are sorted as they are, not decoded first.
  const hexes = [...sv.keys()].sort();
  w.varint(hexes.length);
  for (const hex of hexes) {
    const a = authorFromHex(hex);
    const h = heads.get(hex) ?? NO_HASH;
    if (h.length !== HEAD_HASH_BYTES)
      throw new ProtocolError(`head hash of ${hex} is not ${HEAD_HASH_BYTES} bytes`);
    w.bytes(a).varint(sv.get(hex)!).bytes(h);
  }
}

function readStateVector(r: ByteReader): { stateVector: StateVector; heads: HeadHashes } {
  const n = r.varint();
  if (n > MAX_STATE_VECTOR_AUTHORS) throw new ProtocolError(`state vector of ${n} authors`);
  const stateVector: StateVector = new Map();
  const heads: HeadHashes = new Map();
  let prev: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const author = r.bytes(AUTHOR_BYTES);
    if (prev && compareBytes(prev, author) >= 0)
      throw new ProtocolError('state vector authors not ascending');
    prev = author;
    const hex = authorToHex(author);
    stateVector.set(hex, r.varint());
    heads.set(hex, r.bytes(HEAD_HASH_BYTES).slice());
  }
  return { stateVector, heads };
}

/** Bytes of `n` as an unsigned LEB128 varint. */
function varintBytes(n: number): number {
  let bytes = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
  return bytes;
}

/** The exact size of an `entries` message, so that its writer never grows (and copies). */
function entriesMessageBytes(entries: readonly Uint8Array[]): number {
  let size = 2 + varintBytes(entries.length);
  for (const e of entries) size += varintBytes(e.length) + e.length;
  return size;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  let v = n;
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}

/** An `entries` message written straight into a buffer of its exact size (one copy per entry). */
function encodeEntriesMessage(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length > MAX_ENTRIES_PER_MESSAGE) throw new ProtocolError('too many entries for one message');
  const size = entriesMessageBytes(entries);
  if (size > MAX_MESSAGE_BYTES)
    throw new ProtocolError(`message of ${size} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  const out = new Uint8Array(size);
  out[0] = PROTOCOL_VERSION;
  out[1] = TYPE_CODES.entries;
  let at = writeVarint(out, 2, entries.length);
  for (const e of entries) {
    at = writeVarint(out, at, e.length);
    out.set(e, at);
    at += e.length;
  }
  return out;
}

/** Encodes a message. */
export function encodeMessage(m: SyncMessage): Uint8Array {
  if (m.type === 'entries') return encodeEntriesMessage(m.entries);
  const w = new ByteWriter(64);
  w.u8(PROTOCOL_VERSION).u8(TYPE_CODES[m.type]);
  writeStateVector(w, m.stateVector, m.heads);
  if (w.length > MAX_MESSAGE_BYTES)
    throw new ProtocolError(`message of ${w.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  return w.finish();
}

/**
 * A copy of an encoded `hello`, `need` or `done` as another of the three (they differ only in
 * their type byte), so that a state vector encoded once can be sent as any of them.
 */
export function retypeKnowledge(encoded: Uint8Array, type: 'hello' | 'need' | 'done'): Uint8Array {
  const out = encoded.slice();
  if (knowledgeType(out) === undefined)
    throw new InvalidArgumentError('retypeKnowledge: not an encoded hello, need or done');
  out[1] = TYPE_CODES[type];
  return out;
}

/** The type code of each message that says what a replica knows. */
const KNOWLEDGE_BY_CODE: ReadonlyMap<number, 'hello' | 'need' | 'done'> = new Map([
  [TYPE_CODES.hello, 'hello'],
  [TYPE_CODES.need, 'need'],
  [TYPE_CODES.done, 'done'],
]);

/** The type of a message whose first bytes say it is a `hello`, `need` or `done` (else undefined). */
export function knowledgeType(bytes: Uint8Array): 'hello' | 'need' | 'done' | undefined {
  if (bytes.length < 2 || bytes[0] !== PROTOCOL_VERSION) return undefined;
  return KNOWLEDGE_BY_CODE.get(bytes[1]!);
}

/**
 * Decodes a message, rejecting anything malformed with a {@link ProtocolError}. The entries of
 * an `entries` message are views into `bytes`, not copies (decoding an entry copies what it
 * keeps): a caller that holds on to them beyond the message copies them.
 */
export function decodeMessage(bytes: Uint8Array): SyncMessage {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('message is not bytes');
  if (bytes.length > MAX_MESSAGE_BYTES)
    throw new ProtocolError(`message of ${bytes.length} bytes is too large`);
  try {
    const r = new ByteReader(bytes);
    const version = r.u8();
    if (version !== PROTOCOL_VERSION) throw new ProtocolError(`unsupported protocol version ${version}`);
    const type = r.u8();
    let m: SyncMessage;
    if (type === TYPE_CODES.entries) {
      const n = r.varint();
      if (n > MAX_ENTRIES_PER_MESSAGE) throw new ProtocolError(`entries message of ${n} entries`);
      const entries: Uint8Array[] = [];
      for (let i = 0; i < n; i++) entries.push(r.lengthPrefixed());
      m = { type: 'entries', entries };
    } else if (type === TYPE_CODES.hello) {
      m = { type: 'hello', ...readStateVector(r) };
    } else if (type === TYPE_CODES.need) {
      m = { type: 'need', ...readStateVector(r) };
    } else if (type === TYPE_CODES.done) {
      m = { type: 'done', ...readStateVector(r) };
    } else {
      throw new ProtocolError(`unknown message type ${type}`);
    }
    if (r.remaining() !== 0) throw new ProtocolError('trailing bytes after the message');
    return m;
  } catch (err) {
    if (err instanceof DecodeError)
      throw new ProtocolError(`malformed message: ${err.message} at ${err.offset}`);
    throw err;
  }
}
