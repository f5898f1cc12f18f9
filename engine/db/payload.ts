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

import { canonicalJson, checkJsonValue, type JsonObject, MAX_FIELD_NAME_BYTES } from '../crdt/lww.ts';
import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { ByteReader, ByteWriter, DecodeError } from '../lsm/coding.ts';

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
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Checks a collection name: 1..MAX_COLLECTION_BYTES UTF-8 bytes, no NUL (it separates keys). */
export function checkCollectionName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidArgumentError('collection name must be a non-empty string');
  if (name.includes('\0')) throw new InvalidArgumentError('collection name must not contain NUL');
  const n = utf8.encode(name).length;
  if (n > MAX_COLLECTION_BYTES) {
    throw new LimitExceededError({
      limit: 'MAX_COLLECTION_BYTES',
      max: MAX_COLLECTION_BYTES,
      actual: n,
      what: 'collection name',
    });
  }
}

/** Checks a document id: 1..MAX_ID_BYTES UTF-8 bytes. */
export function checkDocId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0)
    throw new InvalidArgumentError('document id must be a non-empty string');
  const n = utf8.encode(id).length;
  if (n > MAX_ID_BYTES)
    throw new LimitExceededError({
      limit: 'MAX_ID_BYTES',
      max: MAX_ID_BYTES,
      actual: n,
      what: 'document id',
    });
}

/** Checks a fields object: a plain JSON object within the CRDT layer's limits. */
export function checkFields(fields: unknown): asserts fields is JsonObject {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new InvalidArgumentError('document fields must be a plain JSON object');
  }
  checkJsonValue(fields);
  for (const name of Object.keys(fields)) checkFieldName(name);
}

/** Checks a top-level field name against the CRDT layer's limit (it keys a register). */
export function checkFieldName(name: string): void {
  const n = utf8.encode(name).length;
  if (n > MAX_FIELD_NAME_BYTES) {
    throw new LimitExceededError({
      limit: 'MAX_FIELD_NAME_BYTES',
      max: MAX_FIELD_NAME_BYTES,
      actual: n,
      what: 'field name',
    });
  }
}

/** Validates an operation (throws typed errors; nothing is written for an invalid one). */
export function checkOp(op: DbOp): void {
  checkCollectionName(op.collection);
  checkDocId(op.id);
  if (op.kind === 'put' || op.kind === 'patch') checkFields(op.fields);
  else if (op.kind === 'unset') {
    if (!Array.isArray(op.names) || op.names.some((n) => typeof n !== 'string' || n.length === 0)) {
      throw new InvalidArgumentError('unset: names must be non-empty strings');
    }
    for (const n of op.names) checkFieldName(n);
  } else if (op.kind !== 'delete')
    throw new InvalidArgumentError(`unknown operation ${String((op as DbOp).kind)}`);
}

/** Encodes the operations of one entry. */
export function encodePayload(ops: readonly DbOp[]): Uint8Array {
  if (ops.length === 0) throw new InvalidArgumentError('a transaction needs at least one operation');
  if (ops.length > MAX_OPS_PER_ENTRY) {
    throw new LimitExceededError({
      limit: 'MAX_OPS_PER_ENTRY',
      max: MAX_OPS_PER_ENTRY,
      actual: ops.length,
      what: 'transaction',
    });
  }
  const w = new ByteWriter(64);
  w.u8(PAYLOAD_VERSION).varint(ops.length);
  for (const op of ops) {
    w.u8(KIND[op.kind]).lengthPrefixed(utf8.encode(op.collection)).lengthPrefixed(utf8.encode(op.id));
    if (op.kind === 'put' || op.kind === 'patch') w.lengthPrefixed(utf8.encode(canonicalJson(op.fields)));
    else if (op.kind === 'unset') {
      w.varint(op.names.length);
      for (const n of op.names) w.lengthPrefixed(utf8.encode(n));
    }
  }
  return w.finish();
}

function text(r: ByteReader): string {
  const at = r.pos;
  try {
    return fromUtf8.decode(r.lengthPrefixed());
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError('invalid UTF-8', at);
  }
}

/**
 * Decodes a payload. Anything malformed (structure, UTF-8, JSON, names, limits) throws
 * `DecodeError`: the database then ignores the entry's operations, on every peer alike.
 */
export function decodePayload(payload: Uint8Array): DbOp[] {
  const r = new ByteReader(payload);
  if (r.u8() !== PAYLOAD_VERSION) throw new DecodeError('unknown payload version', 0);
  const n = r.varint();
  if (n === 0 || n > MAX_OPS_PER_ENTRY) throw new DecodeError('op count out of range', 1);
  const ops: DbOp[] = [];
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    const kind = r.u8();
    const collection = text(r);
    const id = text(r);
    let op: DbOp;
    if (kind === KIND.put || kind === KIND.patch) {
      let fields: unknown;
      try {
        fields = JSON.parse(text(r));
      } catch (err) {
        if (err instanceof DecodeError) throw err;
        throw new DecodeError('invalid JSON', at);
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
      checkOp(op);
    } catch (err) {
      throw new DecodeError(`invalid op: ${(err as Error).message}`, at);
    }
    ops.push(op);
  }
  if (r.remaining() !== 0) throw new DecodeError('trailing bytes after the ops', r.pos);
  return ops;
}
