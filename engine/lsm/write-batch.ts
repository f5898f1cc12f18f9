/**
 * An atomic group of puts and deletes. A batch is encoded once, as it is built, in exactly the
 * form the WAL stores (LevelDB's `WriteBatch` rep), so writing it costs one copy:
 *
 *   u64 first sequence number (filled in by the store at write time)
 *   u32 operation count
 *   per operation: u8 kind (0 delete, 1 put), varint key length, key,
 *                  and for puts: varint value length, value
 *
 * The store applies a batch entirely or not at all, and gives its operations consecutive
 * sequence numbers in order, so a later operation on the same key in one batch wins.
 */

import { assert } from '../assert.ts';
import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { ByteReader, ByteWriter, DecodeError, getU32 } from './coding.ts';
import { EntryKind, MAX_SEQUENCE } from './internal-key.ts';
import { MAX_BATCH_BYTES, MAX_BATCH_OPS, MAX_KEY_BYTES, MAX_VALUE_BYTES } from './limits.ts';
import type { EntrySpan, Memtable } from './memtable.ts';

/** Bytes of the batch header (sequence + count). */
export const BATCH_HEADER_BYTES = 12;

/** Checks a user key against the documented limits. */
export function checkKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) throw new InvalidArgumentError('key must be a Uint8Array');
  if (key.length === 0) throw new InvalidArgumentError('key must not be empty');
  if (key.length > MAX_KEY_BYTES) {
    throw new LimitExceededError({
      limit: 'MAX_KEY_BYTES',
      max: MAX_KEY_BYTES,
      actual: key.length,
      what: 'key',
    });
  }
}

function checkValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('value must be a Uint8Array');
  if (value.length > MAX_VALUE_BYTES) {
    throw new LimitExceededError({
      limit: 'MAX_VALUE_BYTES',
      max: MAX_VALUE_BYTES,
      actual: value.length,
      what: 'value',
    });
  }
}

/**
 * Initial capacity of a batch's encoding: a single put of a small record, or a database write
 * (an entry and a view row), fits without regrowing the buffer.
 */
export const BATCH_INITIAL_BYTES = 512;

/** A batch of writes applied atomically by `Lsm.write`. */
export class WriteBatch {
  private readonly rep = new ByteWriter(BATCH_INITIAL_BYTES);
  private ops = 0;

  constructor() {
    this.rep.u64(0).u32(0);
  }

  /** Number of operations. */
  get count(): number {
    return this.ops;
  }

  /** Encoded size in bytes. */
  get byteLength(): number {
    return this.rep.length;
  }

  /** Adds a put of `key` = `value`. Returns the batch for chaining. */
  put(key: Uint8Array, value: Uint8Array): this {
    checkKey(key);
    checkValue(value);
    this.reserve(key.length + value.length + 11);
    this.rep.u8(EntryKind.Value).lengthPrefixed(key).lengthPrefixed(value);
    this.ops++;
    return this;
  }

  /** Adds a delete of `key`. Returns the batch for chaining. */
  delete(key: Uint8Array): this {
    checkKey(key);
    this.reserve(key.length + 6);
    this.rep.u8(EntryKind.Delete).lengthPrefixed(key);
    this.ops++;
    return this;
  }

  /** Removes every operation. */
  clear(): void {
    this.rep.reset();
    this.rep.u64(0).u32(0);
    this.ops = 0;
  }

  private reserve(bytes: number): void {
    if (this.ops + 1 > MAX_BATCH_OPS) {
      throw new LimitExceededError({
        limit: 'MAX_BATCH_OPS',
        max: MAX_BATCH_OPS,
        actual: this.ops + 1,
        what: 'write batch operations',
      });
    }
    if (this.rep.length + bytes > MAX_BATCH_BYTES) {
      throw new LimitExceededError({
        limit: 'MAX_BATCH_BYTES',
        max: MAX_BATCH_BYTES,
        actual: this.rep.length + bytes,
        what: 'write batch bytes',
      });
    }
  }

  /**
   * The encoded batch with `firstSeq` stamped in. The returned bytes share memory with the
   * batch and stay valid until the batch is next changed.
   * @internal
   */
  encode(firstSeq: number): Uint8Array {
    this.rep.patchU32(0, firstSeq % 4294967296);
    this.rep.patchU32(4, Math.floor(firstSeq / 4294967296));
    this.rep.patchU32(8, this.ops);
    return this.rep.peek();
  }
}

/** One decoded operation of a batch. Key and value are views into the record. */
export interface BatchOp {
  kind: EntryKind;
  key: Uint8Array;
  value: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * Decodes an encoded batch (from the WAL). Throws `DecodeError` on any structural problem,
 * which the WAL reader reports as corruption: a record whose CRC matched but whose contents do
 * not parse was written by a buggy or hostile writer and is never applied in part.
 */
export function decodeBatch(record: Uint8Array): { firstSeq: number; ops: BatchOp[] } {
  const r = new ByteReader(record);
  const firstSeq = r.u64();
  const count = r.u32();
  if (count === 0 || count > MAX_BATCH_OPS) throw new DecodeError('batch count out of range', 8);
  // Written as a subtraction: firstSeq + count would round above 2^53 and could pass.
  if (firstSeq > MAX_SEQUENCE - (count - 1)) {
    throw new DecodeError('batch sequence numbers run past MAX_SEQUENCE', 0);
  }
  const ops: BatchOp[] = [];
  for (let i = 0; i < count; i++) {
    const kind = r.u8();
    if (kind !== EntryKind.Value && kind !== EntryKind.Delete)
      throw new DecodeError('bad op kind', r.pos - 1);
    const key = r.lengthPrefixed();
    if (key.length === 0 || key.length > MAX_KEY_BYTES) throw new DecodeError('bad key length', r.pos);
    const value = kind === EntryKind.Value ? r.lengthPrefixed() : EMPTY;
    if (value.length > MAX_VALUE_BYTES) throw new DecodeError('value longer than MAX_VALUE_BYTES', r.pos);
    ops.push({ kind, key, value });
  }
  if (r.remaining() !== 0) throw new DecodeError('trailing bytes after batch', r.pos);
  assert(ops.length === count, 'decoded op count matches header');
  return { firstSeq, ops };
}

/** Reads the varint at `record[at]`; returns its value and sets `out.next` past it. */
function readTrustedVarint(record: Uint8Array, at: number, out: { next: number }): number {
  let result = 0;
  let mul = 1;
  let pos = at;
  for (let i = 0; i < 8; i++) {
    const b = record[pos++]!;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      out.next = pos;
      return result;
    }
    mul *= 128;
  }
  assert(false, 'write batch: varint longer than 8 bytes');
}

/**
 * Inserts every operation of an encoded batch into `mem`, the i-th at `firstSeq + i`, copying
 * keys and values straight from `record` (no per-operation arrays). Only for a record this
 * process built with {@link WriteBatch}, whose contents were checked as they were added; a
 * record read from disk goes through {@link decodeBatch}, which validates everything.
 */
export function insertBatch(record: Uint8Array, firstSeq: number, mem: Memtable): void {
  const count = getU32(record, 8);
  const span: EntrySpan = { keyAt: 0, keyLen: 0, valueAt: 0, valueLen: 0 };
  const cursor = { next: BATCH_HEADER_BYTES };
  for (let i = 0; i < count; i++) {
    const kind = record[cursor.next]! as EntryKind;
    span.keyLen = readTrustedVarint(record, cursor.next + 1, cursor);
    span.keyAt = cursor.next;
    if (kind === EntryKind.Value) {
      span.valueLen = readTrustedVarint(record, span.keyAt + span.keyLen, cursor);
      span.valueAt = cursor.next;
      cursor.next = span.valueAt + span.valueLen;
    } else {
      span.valueLen = 0;
      span.valueAt = span.keyAt + span.keyLen;
      cursor.next = span.valueAt;
    }
    mem.addFrom(firstSeq + i, kind, record, span);
  }
  assert(cursor.next === record.length, 'write batch: record length matches its operations');
}
