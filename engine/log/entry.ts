/**
 * Feed entries, format version 1: the canonical bytes that are hashed, chained and signed.
 * docs/formats/entry.md documents the layout byte by byte; in short:
 *
 *   body = u8 version (1) ‖ 32B author ‖ u64 seq (BE, from 1) ‖ 32B prev ‖ 10B HLC
 *          ‖ u32 payload length (BE) ‖ payload
 *   hash = SHA-256(body)
 *   wire = body ‖ u8 flags (bit 0: signed) ‖ [64B ed25519 signature of DOMAIN ‖ hash]
 *
 * `prev` is the hash of the entry before (32 zero bytes for seq 1), so a signature on entry n
 * vouches for entries 1..n. Signing is per group commit, not per entry: most entries carry no
 * signature and are covered by a later signed one.
 *
 * An {@link Entry} is built only from its body (by {@link createEntry} or a decoder), so its
 * fields can never disagree with the bytes that are hashed.
 */

import { allocBytes, copyRange } from '../bytes.ts';
import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { MalformedEntryError } from './errors.ts';
import { checkBytes, checkIdentity, type Identity, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './identity.ts';
import { nobleSigner, type Signer } from './signer.ts';

/** The body format version this module writes and reads. */
export const ENTRY_VERSION = 1;
/** Bytes of an HLC timestamp (6 bytes wall-clock ms, 4 bytes logical; opaque here). */
export const HLC_BYTES = 10;
/** Bytes of an entry hash (SHA-256). */
export const HASH_BYTES = 32;
/** Largest payload, in bytes. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Largest sequence number (the largest safe integer; u64 values above it are refused). */
export const MAX_ENTRY_SEQ = Number.MAX_SAFE_INTEGER;
/** Flags bit: a signature follows. */
export const FLAG_SIGNED = 0x01;
/** Domain separator prefixed to the hash in the signed message (ASCII, 16 bytes). */
export const ENTRY_SIGNING_DOMAIN = 'aregula/entry/v1';

// Field offsets in the body.
const AUTHOR_AT = 1;
const SEQ_AT = AUTHOR_AT + PUBLIC_KEY_BYTES;
const PREV_AT = SEQ_AT + 8;
const HLC_AT = PREV_AT + HASH_BYTES;
const LENGTH_AT = HLC_AT + HLC_BYTES;
/** Bytes of the body before the payload (87). */
export const BODY_HEADER_BYTES = LENGTH_AT + 4;

const DOMAIN_BYTES = new TextEncoder().encode(ENTRY_SIGNING_DOMAIN);
/** The `prev` of every feed's first entry. */
export const ZERO_HASH: Uint8Array = new Uint8Array(HASH_BYTES);

/** The fields an author chooses for a new entry. */
export interface EntryFields {
  author: Uint8Array;
  seq: number;
  prev: Uint8Array;
  hlc: Uint8Array;
  payload: Uint8Array;
}

function readU32BE(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Writes `v` (a safe integer) as 8 big-endian bytes at `at`. */
export function writeU64BE(b: Uint8Array, at: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  const lo = v % 4294967296;
  b[at] = hi >>> 24;
  b[at + 1] = (hi >>> 16) & 0xff;
  b[at + 2] = (hi >>> 8) & 0xff;
  b[at + 3] = hi & 0xff;
  b[at + 4] = lo >>> 24;
  b[at + 5] = (lo >>> 16) & 0xff;
  b[at + 6] = (lo >>> 8) & 0xff;
  b[at + 7] = lo & 0xff;
}

/** One feed entry: its canonical body and, if it closes a group commit, a signature. */
export class Entry {
  /** Format version (always {@link ENTRY_VERSION} for entries this module accepts). */
  readonly version: number;
  /** Position in the author's feed, from 1. */
  readonly seq: number;
  // Views into `body`, made on first use: a local write reads none of them, and each view is
  // an object on the heap.
  #author: Uint8Array | undefined;
  #prev: Uint8Array | undefined;
  #hlc: Uint8Array | undefined;
  #payload: Uint8Array | undefined;

  /**
   * Prefer {@link createEntry} and the decoders. Checks that `body` is one well-formed body
   * (an O(1) check of its header against its length) and that a signature is 64 bytes, so an
   * entry's fields always match the bytes that are hashed; keeps `body` without copying it.
   */
  constructor(
    /** The canonical body; its SHA-256 is the entry's hash. Never mutate it. */
    readonly body: Uint8Array,
    /** The 64-byte signature of {@link signingMessage}(hash), if any. */
    readonly signature: Uint8Array | undefined,
  ) {
    const n = checkBodyAt(body, 0);
    if (n !== body.length) throw new MalformedEntryError('trailing bytes after the body', n);
    if (signature !== undefined) checkBytes(signature, SIGNATURE_BYTES, 'entry signature');
    this.version = body[0]!;
    this.seq = readU32BE(body, SEQ_AT) * 4294967296 + readU32BE(body, SEQ_AT + 4);
  }

  /** The author's public key (32 bytes; a view into `body`). */
  get author(): Uint8Array {
    if (this.#author === undefined) this.#author = this.body.subarray(AUTHOR_AT, SEQ_AT);
    return this.#author;
  }

  /** Hash of the previous entry's body; zeros for seq 1 (a view into `body`). */
  get prev(): Uint8Array {
    if (this.#prev === undefined) this.#prev = this.body.subarray(PREV_AT, HLC_AT);
    return this.#prev;
  }

  /** HLC timestamp, 10 opaque bytes (a view into `body`). */
  get hlc(): Uint8Array {
    if (this.#hlc === undefined) this.#hlc = this.body.subarray(HLC_AT, LENGTH_AT);
    return this.#hlc;
  }

  /** Opaque payload (a view into `body`). */
  get payload(): Uint8Array {
    if (this.#payload === undefined) this.#payload = this.body.subarray(BODY_HEADER_BYTES);
    return this.#payload;
  }

  /** True when the entry carries a signature. */
  get signed(): boolean {
    return this.signature !== undefined;
  }

  /** Bytes of the wire form. */
  get wireBytes(): number {
    return this.body.length + 1 + (this.signature === undefined ? 0 : SIGNATURE_BYTES);
  }
}

function checkSeq(seq: unknown): asserts seq is number {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    throw new InvalidArgumentError(`entry seq must be an integer in [1, ${MAX_ENTRY_SEQ}], got ${seq}`);
}

/** Throws `LimitExceededError` when a payload of `bytes` is too large. */
export function checkPayloadBytes(bytes: number): void {
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new LimitExceededError({
      limit: 'MAX_PAYLOAD_BYTES',
      max: MAX_PAYLOAD_BYTES,
      actual: bytes,
      what: 'entry payload',
    });
  }
}

/** Builds an unsigned entry from its fields, validating each. */
export function createEntry(fields: EntryFields): Entry {
  // The payload is checked before its body is allocated; createEntryInBody checks the rest.
  if (!(fields.payload instanceof Uint8Array))
    throw new InvalidArgumentError('entry payload must be a Uint8Array');
  checkPayloadBytes(fields.payload.length);
  const body = allocBytes(BODY_HEADER_BYTES + fields.payload.length);
  body.set(fields.payload, BODY_HEADER_BYTES);
  return createEntryInBody(fields, body);
}

/**
 * {@link createEntry} of `fields` and the payload that `body` holds after its first
 * {@link BODY_HEADER_BYTES} bytes: writes the header into those bytes, so a payload encoded
 * where the entry keeps it is not copied again. Takes `body` over: the caller must not keep or
 * change it.
 */
export function createEntryInBody(fields: Omit<EntryFields, 'payload'>, body: Uint8Array): Entry {
  checkBytes(fields.author, PUBLIC_KEY_BYTES, 'entry author');
  checkSeq(fields.seq);
  checkBytes(fields.prev, HASH_BYTES, 'entry prev');
  checkBytes(fields.hlc, HLC_BYTES, 'entry hlc');
  if (!(body instanceof Uint8Array) || body.length < BODY_HEADER_BYTES)
    throw new InvalidArgumentError(`entry body must be a Uint8Array of at least ${BODY_HEADER_BYTES} bytes`);
  checkPayloadBytes(body.length - BODY_HEADER_BYTES);
  writeHeader(body, fields, body.length - BODY_HEADER_BYTES);
  return new Entry(body, undefined);
}

/** Writes the body header of `fields` and a payload of `n` bytes at the start of `body`. */
function writeHeader(body: Uint8Array, fields: Omit<EntryFields, 'payload'>, n: number): void {
  body[0] = ENTRY_VERSION;
  body.set(fields.author, AUTHOR_AT);
  writeU64BE(body, SEQ_AT, fields.seq);
  body.set(fields.prev, PREV_AT);
  body.set(fields.hlc, HLC_AT);
  body[LENGTH_AT] = n >>> 24;
  body[LENGTH_AT + 1] = (n >>> 16) & 0xff;
  body[LENGTH_AT + 2] = (n >>> 8) & 0xff;
  body[LENGTH_AT + 3] = n & 0xff;
}

/**
 * Checks the body that starts at `at` in `bytes` and returns its length. Throws
 * `MalformedEntryError` (offsets relative to `bytes`) or `LimitExceededError`.
 */
function checkBodyAt(bytes: Uint8Array, at: number): number {
  if (bytes.length - at < BODY_HEADER_BYTES)
    throw new MalformedEntryError('shorter than an entry header', at);
  if (bytes[at] !== ENTRY_VERSION)
    throw new MalformedEntryError(`unsupported entry version ${bytes[at]}`, at);
  const hi = readU32BE(bytes, at + SEQ_AT);
  const lo = readU32BE(bytes, at + SEQ_AT + 4);
  if (hi > 0x1fffff) throw new MalformedEntryError('seq exceeds 2^53 - 1', at + SEQ_AT);
  if (hi === 0 && lo === 0) throw new MalformedEntryError('seq 0 (feeds start at 1)', at + SEQ_AT);
  const payloadBytes = readU32BE(bytes, at + LENGTH_AT);
  checkPayloadBytes(payloadBytes);
  if (bytes.length - at - BODY_HEADER_BYTES < payloadBytes)
    throw new MalformedEntryError('payload runs past the end', at + LENGTH_AT);
  return BODY_HEADER_BYTES + payloadBytes;
}

/** Decodes a bare body (as the feed store keeps it), which must fill `body` exactly. */
export function decodeBody(body: Uint8Array): Entry {
  if (!(body instanceof Uint8Array)) throw new InvalidArgumentError('entry body must be a Uint8Array');
  return new Entry(copyRange(body, 0, body.length), undefined);
}

/**
 * Decodes the wire-form entry starting at `offset`. Returns it (owning copies of its bytes)
 * and the offset just past it, so a sequence of entries can be read back to back.
 */
export function decodeEntryAt(bytes: Uint8Array, offset: number): { entry: Entry; end: number } {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('entry bytes must be a Uint8Array');
  const bodyEnd = offset + checkBodyAt(bytes, offset);
  if (bodyEnd >= bytes.length) throw new MalformedEntryError('flags byte missing', bodyEnd);
  const flags = bytes[bodyEnd]!;
  if ((flags & ~FLAG_SIGNED) !== 0)
    throw new MalformedEntryError(`unknown flags 0x${flags.toString(16)}`, bodyEnd);
  const body = copyRange(bytes, offset, bodyEnd);
  if ((flags & FLAG_SIGNED) === 0) return { entry: new Entry(body, undefined), end: bodyEnd + 1 };
  const sigAt = bodyEnd + 1;
  if (bytes.length - sigAt < SIGNATURE_BYTES)
    throw new MalformedEntryError('signature runs past the end', sigAt);
  const signature = bytes.slice(sigAt, sigAt + SIGNATURE_BYTES);
  return { entry: new Entry(body, signature), end: sigAt + SIGNATURE_BYTES };
}

/** Decodes one wire-form entry that must fill `bytes` exactly (no trailing bytes). */
export function decodeEntry(bytes: Uint8Array): Entry {
  const { entry, end } = decodeEntryAt(bytes, 0);
  if (end !== bytes.length) throw new MalformedEntryError('trailing bytes after the entry', end);
  return entry;
}

/** The wire form: body ‖ flags ‖ [signature]. */
export function encodeEntry(entry: Entry): Uint8Array {
  const out = new Uint8Array(entry.wireBytes);
  out.set(entry.body, 0);
  if (entry.signature !== undefined) {
    out[entry.body.length] = FLAG_SIGNED;
    out.set(entry.signature, entry.body.length + 1);
  }
  return out;
}

/** SHA-256 of a body, by `hasher` (default the portable @noble implementation). */
export function entryHash(body: Uint8Array, hasher: Pick<Signer, 'sha256'> = nobleSigner): Uint8Array {
  return hasher.sha256(body);
}

/** The signed message for an entry hash: the ASCII domain `aregula/entry/v1` ‖ hash (48 bytes). */
export function signingMessage(hash: Uint8Array): Uint8Array {
  checkBytes(hash, HASH_BYTES, 'entry hash');
  const out = new Uint8Array(DOMAIN_BYTES.length + HASH_BYTES);
  out.set(DOMAIN_BYTES, 0);
  out.set(hash, DOMAIN_BYTES.length);
  return out;
}

/** The same entry with `signature` attached (or removed, with undefined). Not verified here. */
export function withSignature(entry: Entry, signature: Uint8Array | undefined): Entry {
  return new Entry(entry.body, signature?.slice());
}

/** Signs `entry` as `identity`, which must be its author. Returns the signed entry. */
export function signEntry(entry: Entry, identity: Identity, signer: Signer): Entry {
  checkIdentity(identity);
  for (let i = 0; i < PUBLIC_KEY_BYTES; i++) {
    if (entry.author[i] !== identity.publicKey[i])
      throw new InvalidArgumentError('signEntry: the identity is not the entry author');
  }
  const hash = signer.sha256(entry.body);
  return new Entry(entry.body, signer.sign(identity, signingMessage(hash)));
}

/** True when the entry's signature is present and valid under its author's key. */
export function hasValidSignature(entry: Entry, hash: Uint8Array, signer: Signer): boolean {
  if (entry.signature === undefined) return false;
  return signer.verify(entry.author, signingMessage(hash), entry.signature);
}
