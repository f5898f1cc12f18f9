/**
 * Document views: the materialised state of every document, derived from the feeds. A view
 * row is `'d' ‖ collection ‖ 0x00 ‖ id` → the document's canonical LWW state
 * (`canonicalEncodeState`), which includes the stamps, so new entries merge into it and two
 * replicas that applied the same entries in any order hold byte-identical rows.
 *
 * An entry whose payload does not decode is kept in its feed (the log is the truth) but
 * changes no view: every replica, live or rebuilding, ignores it the same way.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { decodeHlc } from '../crdt/hlc.ts';
import {
  applyOp,
  canonicalEncodeState,
  type DocState,
  decodeState,
  type LwwOp,
  type Stamp,
} from '../crdt/lww.ts';
import type { Entry } from '../log/entry.ts';
import { compareBytes, DecodeError } from '../lsm/coding.ts';
import type { Lsm } from '../lsm/lsm.ts';
import type { WriteBatch } from '../lsm/write-batch.ts';
import { type DbOp, decodePayload } from './payload.ts';

/**
 * View rows are written by this module with `canonicalEncodeState` into a store that checksums
 * every block, so reading them back skips the canonical re-encoding check.
 */
export const TRUSTED = { verifyCanonical: false } as const;

/** First byte of every view row's key. */
export const VIEW_PREFIX = 0x64;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** The key of a document's view row. */
export function viewKey(collection: string, id: string): Uint8Array {
  const c = utf8.encode(collection);
  const i = utf8.encode(id);
  const key = new Uint8Array(2 + c.length + i.length);
  key[0] = VIEW_PREFIX;
  key.set(c, 1);
  key[1 + c.length] = 0;
  key.set(i, 2 + c.length);
  return key;
}

/** The key prefix of a collection's rows. */
export function collectionPrefix(collection: string): Uint8Array {
  const c = utf8.encode(collection);
  const p = new Uint8Array(2 + c.length);
  p[0] = VIEW_PREFIX;
  p.set(c, 1);
  return p;
}

/** The document id of a row key under `prefix`. */
export function idOfKey(key: Uint8Array, prefix: Uint8Array): string {
  return fromUtf8.decode(key.subarray(prefix.length));
}

function mapKey(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}

function toLwwOp(op: DbOp, stamp: Stamp): LwwOp {
  switch (op.kind) {
    case 'put':
    case 'patch':
      return { kind: op.kind, fields: op.fields, stamp };
    case 'unset':
      return { kind: 'unset', names: op.names, stamp };
    case 'delete':
      return { kind: 'delete', stamp };
  }
}

/**
 * Accumulates view changes for one atomic write: reads current rows through `read`, applies
 * operations in memory (a document touched twice sees its own pending state), then writes
 * every changed row into a batch.
 */
export class ViewWriter {
  private readonly pending = new Map<string, { key: Uint8Array; state: DocState }>();
  /** Entries whose payload did not decode (their operations were ignored). */
  invalidPayloads = 0;

  constructor(private readonly read: (key: Uint8Array) => Uint8Array | undefined) {}

  /** The current state of a document, pending changes included. */
  state(key: Uint8Array): DocState | undefined {
    const p = this.pending.get(mapKey(key));
    if (p) return p.state;
    const bytes = this.read(key);
    return bytes === undefined ? undefined : decodeState(bytes, TRUSTED);
  }

  /** Applies operations under one stamp. */
  applyOps(ops: readonly DbOp[], stamp: Stamp): void {
    for (const op of ops) {
      const key = viewKey(op.collection, op.id);
      const next = applyOp(this.state(key), toLwwOp(op, stamp));
      this.pending.set(mapKey(key), { key, state: next });
    }
  }

  /** Applies an entry's operations; returns false when its payload is invalid (ignored). */
  applyEntry(entry: Entry): boolean {
    let ops: DbOp[];
    try {
      ops = decodePayload(entry.payload);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.invalidPayloads++;
      return false;
    }
    this.applyOps(ops, { hlc: decodeHlc(entry.hlc), author: entry.author });
    return true;
  }

  /** Puts every changed row into `batch`. */
  writeTo(batch: WriteBatch): void {
    for (const { key, state } of this.pending.values()) batch.put(key, canonicalEncodeState(state));
  }

  /** The changed rows, sorted by key (for rebuilds and comparisons). */
  rows(): [Uint8Array, Uint8Array][] {
    return [...this.pending.values()]
      .map(({ key, state }): [Uint8Array, Uint8Array] => [key, canonicalEncodeState(state)])
      .sort((a, b) => compareBytes(a[0], b[0]));
  }
}

/** Every view row of `lsm`, in key order. */
export function* viewRows(lsm: Lsm): Generator<[Uint8Array, Uint8Array]> {
  yield* lsm.scan({ prefix: Uint8Array.of(VIEW_PREFIX) });
}

/** SHA-256 (hex) over every view row: `u32 key length ‖ key ‖ u32 value length ‖ value`, in key order. */
export function hashRows(rows: Iterable<[Uint8Array, Uint8Array]>): string {
  const h = sha256.create();
  const len = new Uint8Array(4);
  const view = new DataView(len.buffer);
  for (const [k, v] of rows) {
    view.setUint32(0, k.length);
    h.update(len);
    h.update(k);
    view.setUint32(0, v.length);
    h.update(len);
    h.update(v);
  }
  let s = '';
  for (const b of h.digest()) s += b.toString(16).padStart(2, '0');
  return s;
}
