/**
 * The operations a database entry carries, and their canonical encoding as the entry's
 * payload (docs/formats/entry.md, "Database payload"). Every operation of one entry shares
 * the entry's stamp (its HLC and author), so a transaction is one atomic, ordered write.
 *
 *   u8 payload version (1) ‖ varint op count ‖ ops
 *   op: u8 kind (1 put, 2 patch, 3 unset, 4 delete) ‖ varint-length collection (UTF-8)
 *       ‖ varint-length id (UTF-8) ‖ for put/patch: varint-length canonical JSON object
 *       ‖ for unset: varint count, then varint-length field names
 */

import { assert } from '../assert.ts';
import { commitBytes, copyBytes, reserveBytes, reservedStart } from '../bytes.ts';
import {
  fieldsTextBytesMax,
  fieldsTextLength,
  noteFieldsTextBytes,
  writePrefixedFieldsText,
} from '../crdt/canonical-fields.ts';
import {
  type CanonicalFields,
  canonicalFields,
  canonicalFieldsOfText,
  type JsonObject,
  type JsonValue,
  MAX_FIELD_NAME_BYTES,
} from '../crdt/lww.ts';
import {
  decodeUtf8,
  prefixedUtf8BytesMax,
  utf8ByteLength,
  utf8Bytes,
  writeAsciiPrefix,
  writePrefixedUtf8,
} from '../crdt/utf8.ts';
import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { ByteReader, DecodeError, varintLength } from '../lsm/coding.ts';
import { docKeyIdAt, viewKeyOf, writeKeyHead } from './doc-key.ts';

/** Payload format version. */
export const PAYLOAD_VERSION = 1;

/** Longest collection name, in UTF-8 bytes. */
export const MAX_COLLECTION_BYTES = 128;

/** Longest document id, in UTF-8 bytes. */
export const MAX_ID_BYTES = 512;

/** Most operations in one transaction (one entry). */
export const MAX_OPS_PER_ENTRY = 10_000;

/** One operation on one document. */
export type DbOp =
  | { kind: 'put'; collection: string; id: string; fields: JsonObject }
  | { kind: 'patch'; collection: string; id: string; fields: JsonObject }
  | { kind: 'unset'; collection: string; id: string; names: string[] }
  | { kind: 'delete'; collection: string; id: string };

const KIND = { put: 1, patch: 2, unset: 3, delete: 4 } as const;

/** The UTF-8 bytes of a collection name, after checking it: 1..MAX_COLLECTION_BYTES bytes, no NUL. */
export function collectionNameBytes(name: unknown): Uint8Array {
  if (typeof name !== 'string') throw new InvalidArgumentError('collection name must be a non-empty string');
  return checkCollectionBytes(utf8Bytes(name));
}

/** Returns `bytes` (a collection name's UTF-8) after checking it: 1..MAX_COLLECTION_BYTES bytes, no NUL. */
function checkCollectionBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) throw new InvalidArgumentError('collection name must be a non-empty string');
  if (bytes.includes(0)) throw new InvalidArgumentError('collection name must not contain NUL');
  if (bytes.length > MAX_COLLECTION_BYTES) {
    throw new LimitExceededError({
      limit: 'MAX_COLLECTION_BYTES',
      max: MAX_COLLECTION_BYTES,
      actual: bytes.length,
      what: 'collection name',
    });
  }
  return bytes;
}

/** Checks a collection name: 1..MAX_COLLECTION_BYTES UTF-8 bytes, no NUL (it separates keys). */
export function checkCollectionName(name: unknown): asserts name is string {
  collectionNameBytes(name);
}

/** The UTF-8 bytes of a document id, after checking it: 1..MAX_ID_BYTES bytes. */
export function docIdBytes(id: unknown): Uint8Array {
  if (typeof id !== 'string') throw new InvalidArgumentError('document id must be a non-empty string');
  return checkIdBytes(utf8Bytes(id));
}

/** Returns `bytes` (a document id's UTF-8) after checking it: 1..MAX_ID_BYTES bytes. */
function checkIdBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) throw new InvalidArgumentError('document id must be a non-empty string');
  if (bytes.length > MAX_ID_BYTES)
    throw new LimitExceededError({
      limit: 'MAX_ID_BYTES',
      max: MAX_ID_BYTES,
      actual: bytes.length,
      what: 'document id',
    });
  return bytes;
}

/**
 * The key of document `id`'s view row in the collection whose checked name is `collection`
 * (doc-key.ts), checking `id` as {@link docIdBytes} does. An ASCII id (the common one) is
 * written straight into the key: no array of its own, no pass to measure it.
 */
export function docKeyOf(collection: Uint8Array, id: unknown): Uint8Array {
  if (typeof id !== 'string') throw new InvalidArgumentError('document id must be a non-empty string');
  const n = id.length;
  const head = docKeyIdAt(collection.length);
  if (n > 0 && n <= MAX_ID_BYTES) {
    const key = new Uint8Array(head + n);
    if (writeAsciiPrefix(id, key, head) === n) {
      writeKeyHead(key, collection);
      return key;
    }
  }
  return viewKeyOf(collection, docIdBytes(id));
}

/** Checks a document id: 1..MAX_ID_BYTES UTF-8 bytes. */
export function checkDocId(id: unknown): asserts id is string {
  docIdBytes(id);
}

/** Checks a fields object (a plain JSON object within the CRDT layer's limits) and returns it in canonical form. */
export function prepareFields(fields: unknown): CanonicalFields {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new InvalidArgumentError('document fields must be a plain JSON object');
  }
  return canonicalFields(fields);
}

/** Checks a fields object: a plain JSON object within the CRDT layer's limits. */
export function checkFields(fields: unknown): asserts fields is JsonObject {
  prepareFields(fields);
}

/** Checks a top-level field name against the CRDT layer's limit (it keys a register). */
export function checkFieldName(name: string): void {
  const n = utf8ByteLength(name);
  if (n > MAX_FIELD_NAME_BYTES) {
    throw new LimitExceededError({
      limit: 'MAX_FIELD_NAME_BYTES',
      max: MAX_FIELD_NAME_BYTES,
      actual: n,
      what: 'field name',
    });
  }
}

/**
 * An operation checked once and made ready for both of its uses (the entry's payload and the
 * view update): names and id as UTF-8, a put's or patch's fields in canonical form.
 */
export interface PreparedOp {
  /** The operation as given (for a put or patch, `fields` is the caller's object, unread later). */
  readonly op: DbOp;
  /** The collection name in UTF-8. */
  readonly collectionBytes: Uint8Array;
  /**
   * The key of the document's view row (doc-key.ts), which holds the id's UTF-8 from
   * `docKeyIdAt(collectionBytes.length)` on: the id is encoded once, for the key and the payload.
   */
  readonly key: Uint8Array;
  /** A put's or patch's fields in canonical form; undefined for other kinds. */
  readonly fields: CanonicalFields | undefined;
}

/**
 * Validates an operation (throws typed errors; nothing is written for an invalid one) and
 * prepares it. `collectionBytes` and `knownKey`, when given, must be `op.collection` already
 * checked and encoded, and the key of `op.id` in it (its id checked).
 */
export function prepareOp(op: DbOp, collectionBytes?: Uint8Array, knownKey?: Uint8Array): PreparedOp {
  const c = collectionBytes ?? collectionNameBytes(op.collection);
  const key = knownKey ?? docKeyOf(c, op.id);
  let fields: CanonicalFields | undefined;
  if (op.kind === 'put' || op.kind === 'patch') fields = prepareFields(op.fields);
  else if (op.kind === 'unset') {
    if (!Array.isArray(op.names) || op.names.some((n) => typeof n !== 'string' || n.length === 0)) {
      throw new InvalidArgumentError('unset: names must be non-empty strings');
    }
    for (const n of op.names) checkFieldName(n);
  } else if (op.kind !== 'delete') {
    throw new InvalidArgumentError(`unknown operation ${String((op as DbOp).kind)}`);
  }
  return { op, collectionBytes: c, key, fields };
}

/** Validates an operation (throws typed errors; nothing is written for an invalid one). */
export function checkOp(op: DbOp): void {
  prepareOp(op);
}

function checkOpCount(n: number): void {
  if (n === 0) throw new InvalidArgumentError('a transaction needs at least one operation');
  if (n > MAX_OPS_PER_ENTRY) {
    throw new LimitExceededError({
      limit: 'MAX_OPS_PER_ENTRY',
      max: MAX_OPS_PER_ENTRY,
      actual: n,
      what: 'transaction',
    });
  }
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

function writeBytes(out: Uint8Array, at: number, b: Uint8Array): number {
  out.set(b, writeVarint(out, at, b.length));
  return at + varintLength(b.length) + b.length;
}

/** Writes the id of `p`'s key, length-prefixed, at `at` in `out`; returns the end. */
function writeIdOfKey(out: Uint8Array, at: number, p: PreparedOp): number {
  const key = p.key;
  const from = docKeyIdAt(p.collectionBytes.length);
  at = writeVarint(out, at, key.length - from);
  copyBytes(key, from, key.length, out, at);
  return at + key.length - from;
}

/**
 * Encodes the operations of one entry: every byte written once, into room reserved for the
 * longest possible text (`reserveBytes`: for most payloads the free bytes of a slab, where
 * they stay), with the fields' canonical text encoded straight into it, then kept at its exact
 * length. With `headBytes`, the returned array starts with that many bytes left for the caller
 * to write, every one of them (their contents are unspecified): an entry's body header, so that
 * the payload is written once, where the entry keeps it. The payload follows them.
 */
export function encodePreparedPayload(ops: readonly PreparedOp[], headBytes = 0): Uint8Array {
  checkOpCount(ops.length);
  assert(Number.isSafeInteger(headBytes), 'payload head room is an integer');
  assert(headBytes >= 0, 'payload head room is not negative');
  let room = 1 + varintLength(ops.length);
  for (const p of ops) {
    room += 1 + varintLength(p.collectionBytes.length) + p.collectionBytes.length;
    const idBytes = p.key.length - docKeyIdAt(p.collectionBytes.length);
    room += varintLength(idBytes) + idBytes;
    if (p.fields !== undefined) room += fieldsTextBytesMax(p.fields);
    else if (p.op.kind === 'unset') {
      room += varintLength(p.op.names.length);
      for (const n of p.op.names) room += prefixedUtf8BytesMax(n);
    }
  }
  // Written where it stays (a slab's free bytes), then kept at its exact length.
  const out = reserveBytes(headBytes + room);
  const head = reservedStart();
  const base = head + headBytes;
  out[base] = PAYLOAD_VERSION;
  let at = writeVarint(out, base + 1, ops.length);
  textEnds.length = 0;
  for (const p of ops) {
    out[at++] = KIND[p.op.kind];
    at = writeBytes(out, at, p.collectionBytes);
    at = writeIdOfKey(out, at, p);
    if (p.fields !== undefined) {
      const start = at;
      at = writePrefixedFieldsText(p.fields, out, at);
      textEnds.push(at, at - start);
    } else if (p.op.kind === 'unset') {
      at = writeVarint(out, at, p.op.names.length);
      for (const n of p.op.names) at = writePrefixedUtf8(n, out, at);
    }
  }
  assert(at - base <= room, `payload room ${room}, wrote ${at - base}`);
  // The head bytes hold whatever the slab held there: the caller writes every one of them.
  const payload = commitBytes(out, at);
  // Where a text is all ASCII, its bytes here serve the document state too (noteFieldsTextBytes).
  // A text's UTF-8 is as long as its prefix leaves; it is as many bytes as the text has
  // characters exactly when it is all ASCII (then its prefix is as long as that count's).
  let k = 0;
  for (const p of ops) {
    if (p.fields === undefined) continue;
    const end = textEnds[k++]! - head;
    const bytes = textEnds[k++]! - varintLength(fieldsTextLength(p.fields));
    noteFieldsTextBytes(p.fields, payload, end - bytes, bytes);
  }
  return payload;
}

/** The end and prefixed length of each text {@link encodePreparedPayload} wrote, reused between calls. */
const textEnds: number[] = [];

/** Encodes the operations of one entry (checking each). */
export function encodePayload(ops: readonly DbOp[]): Uint8Array {
  checkOpCount(ops.length);
  return encodePreparedPayload(ops.map((op) => prepareOp(op)));
}

/** The text of UTF-8 `bytes` read at `at`; invalid UTF-8 is a DecodeError. */
function textOf(bytes: Uint8Array, at: number): string {
  try {
    return decodeUtf8(bytes, 0, bytes.length);
  } catch {
    throw new DecodeError('invalid UTF-8', at);
  }
}

function text(r: ByteReader): string {
  const at = r.pos;
  return textOf(r.lengthPrefixed(), at);
}

/** `op.fields` of a put or patch decoded without its fields object (see decodePreparedPayload). */
export const NO_OP_FIELDS: JsonObject = Object.freeze({});

/** The plain object of flat canonical fields (their names exclude `__proto__`). */
function objectOf(fields: CanonicalFields): JsonObject {
  const o: Record<string, JsonValue> = {};
  const { names, values } = fields;
  for (let i = 0; i < names.length; i++) o[names[i]!] = values[i]!;
  return o;
}

function decodeOp(r: ByteReader, opFields: boolean): PreparedOp {
  const at = r.pos;
  const kind = r.u8();
  // The name and id stay as the bytes they arrived as (views of the payload): strict UTF-8
  // decoding round-trips exactly, so encoding the strings again would give the same bytes.
  const collectionBytes = r.lengthPrefixed();
  const collection = textOf(collectionBytes, at);
  const idBytes = r.lengthPrefixed();
  const id = textOf(idBytes, at);
  let op: DbOp;
  // Fields in the canonical text this engine writes are read as they are; anything else is
  // parsed and canonicalised the general way (the same fields, or the same error).
  let canonical: CanonicalFields | undefined;
  if (kind === KIND.put || kind === KIND.patch) {
    const textBytes = r.lengthPrefixed();
    const json = textOf(textBytes, at);
    canonical = canonicalFieldsOfText(json);
    if (canonical !== undefined) noteFieldsTextBytes(canonical, textBytes, 0, textBytes.length);
    let fields: unknown;
    if (canonical !== undefined) fields = opFields ? objectOf(canonical) : NO_OP_FIELDS;
    else {
      try {
        fields = JSON.parse(json);
      } catch {
        throw new DecodeError('invalid JSON', at);
      }
    }
    op = { kind: kind === KIND.put ? 'put' : 'patch', collection, id, fields: fields as JsonObject };
  } else if (kind === KIND.unset) {
    const m = r.varint();
    if (m > MAX_OPS_PER_ENTRY) throw new DecodeError('too many field names', at);
    const names: string[] = [];
    for (let j = 0; j < m; j++) names.push(text(r));
    op = { kind: 'unset', collection, id, names };
  } else if (kind === KIND.delete) {
    op = { kind: 'delete', collection, id };
  } else {
    throw new DecodeError(`unknown op kind ${kind}`, at);
  }
  try {
    const checked = checkCollectionBytes(collectionBytes);
    const key = viewKeyOf(checked, checkIdBytes(idBytes));
    if (canonical === undefined) return prepareOp(op, checked, key);
    return { op, collectionBytes: checked, key, fields: canonical };
  } catch (err) {
    throw new DecodeError(`invalid op: ${(err as Error).message}`, at);
  }
}

/**
 * Decodes a payload into checked, prepared operations. Anything malformed (structure, UTF-8,
 * JSON, names, limits) throws `DecodeError`: the database then ignores the entry's
 * operations, on every peer alike.
 *
 * With `opFields: false` (the views' ingest, which reads a put's or patch's fields from the
 * prepared `fields` alone), an op whose fields were read from canonical text gets
 * {@link NO_OP_FIELDS} as `op.fields` instead of a fields object built for nobody.
 */
export function decodePreparedPayload(payload: Uint8Array, opFields = true): PreparedOp[] {
  const r = new ByteReader(payload);
  if (r.u8() !== PAYLOAD_VERSION) throw new DecodeError('unknown payload version', 0);
  const n = r.varint();
  if (n === 0 || n > MAX_OPS_PER_ENTRY) throw new DecodeError('op count out of range', 1);
  const ops: PreparedOp[] = [];
  for (let i = 0; i < n; i++) ops.push(decodeOp(r, opFields));
  if (r.remaining() !== 0) throw new DecodeError('trailing bytes after the ops', r.pos);
  return ops;
}

/**
 * Decodes a payload. Anything malformed (structure, UTF-8, JSON, names, limits) throws
 * `DecodeError`: the database then ignores the entry's operations, on every peer alike.
 */
export function decodePayload(payload: Uint8Array): DbOp[] {
  return decodePreparedPayload(payload).map((p) => p.op);
}
