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
import type { CanonicalFields } from '../crdt/canonical-fields.ts';
import { decodeHlc } from '../crdt/hlc.ts';
import { applyOp, type DocState, type LwwOp, ownedStamp, type Stamp } from '../crdt/lww.ts';
import { canonicalEncodeState, decodeState, encodeFreshState } from '../crdt/state-codec.ts';
import { decodeUtf8 } from '../crdt/utf8.ts';
import type { Entry } from '../log/entry.ts';
import { bytesEqual, compareBytes, DecodeError } from '../lsm/coding.ts';
import type { Lsm } from '../lsm/lsm.ts';
import type { WriteBatch } from '../lsm/write-batch.ts';
import { VIEW_PREFIX, viewKeyOf } from './doc-key.ts';
import { decodePreparedPayload, type PreparedOp } from './payload.ts';

export { VIEW_PREFIX, viewKeyOf } from './doc-key.ts';

/**
 * View rows are written by this module with `canonicalEncodeState` into a store that checksums
 * every block, so reading them back skips the canonical re-encoding check.
 */
export const TRUSTED = { verifyCanonical: false } as const;

const utf8 = new TextEncoder();

/** The key of a document's view row. */
export function viewKey(collection: string, id: string): Uint8Array {
  return viewKeyOf(utf8.encode(collection), utf8.encode(id));
}

/** The key prefix of a collection's rows, from the UTF-8 of its name. */
export function collectionPrefixOf(collection: Uint8Array): Uint8Array {
  const p = new Uint8Array(2 + collection.length);
  p[0] = VIEW_PREFIX;
  p.set(collection, 1);
  return p;
}

/** The key prefix of a collection's rows. */
export function collectionPrefix(collection: string): Uint8Array {
  return collectionPrefixOf(utf8.encode(collection));
}

/** The document id of a row key under `prefix`. */
export function idOfKey(key: Uint8Array, prefix: Uint8Array): string {
  return decodeUtf8(key, prefix.length, key.length);
}

function toLwwOp(prepared: PreparedOp, stamp: Stamp): LwwOp {
  const op = prepared.op;
  switch (op.kind) {
    case 'put':
    case 'patch':
      return { kind: op.kind, fields: op.fields, canonical: prepared.fields, stamp };
    case 'unset':
      return { kind: 'unset', names: op.names, stamp };
    case 'delete':
      return { kind: 'delete', stamp };
  }
}

/** A document a {@link ViewWriter} changed. */
interface Pending {
  readonly collection: string;
  readonly id: string;
  readonly key: Uint8Array;
  /** The stored state before this write (undefined when there was no row). */
  readonly original: DocState | undefined;
  /** The state after this write; undefined while a fresh write ({@link freshKind}) stands for it. */
  state: DocState | undefined;
  /**
   * Set when the only change is a lone put or patch of checked fields ({@link freshFields},
   * under {@link freshStamp}) on a document that had no row: its row is encoded straight from
   * the checked fields, and the state is built only if something asks for it (a later
   * operation on the document, derived views, listeners).
   */
  freshKind: 'put' | 'patch' | undefined;
  freshFields: CanonicalFields | undefined;
  freshStamp: Stamp | undefined;
}

/** The state after `p`'s changes, built from its fresh write if it has not been yet. */
function stateOf(p: Pending): DocState {
  if (p.state === undefined) {
    const kind = p.freshKind!;
    p.state = applyOp(undefined, { kind, fields: {}, canonical: p.freshFields!, stamp: p.freshStamp! });
  }
  return p.state;
}

/** The map key of a changed document: `collection ‖ NUL ‖ id` (unique: names hold no NUL). */
function nameOf(collection: string, id: string): string {
  return `${collection}\0${id}`;
}

/**
 * Accumulates view changes for one atomic write: reads current rows through `read`, applies
 * operations in memory (a document touched twice sees its own pending state), then writes
 * every changed row into a batch.
 *
 * Most writes change one document, so the first is kept in a field and a map by name is made
 * only when a second one comes (a map and a name string per write were about 0.1 µs).
 */
export class ViewWriter {
  /** The first changed document. */
  private first: Pending | undefined;
  /** Every changed document by {@link nameOf}, in first-touched order, once there are two. */
  private byName: Map<string, Pending> | undefined;
  /** Entries whose payload did not decode (their operations were ignored). */
  invalidPayloads = 0;
  /** The author of the last applied entry, copied once: stamps of a batch's entries share it. */
  private lastAuthor: Uint8Array | undefined;

  constructor(private readonly read: (key: Uint8Array) => Uint8Array | undefined) {}

  /** The pending change of a document, if this writer changed it. */
  private pendingOf(collection: string, id: string): Pending | undefined {
    if (this.byName !== undefined) return this.byName.get(nameOf(collection, id));
    const first = this.first;
    return first !== undefined && first.id === id && first.collection === collection ? first : undefined;
  }

  private addPending(p: Pending): void {
    const first = this.first;
    if (first === undefined) {
      this.first = p;
      return;
    }
    if (this.byName === undefined) this.byName = new Map([[nameOf(first.collection, first.id), first]]);
    this.byName.set(nameOf(p.collection, p.id), p);
  }

  /** Every changed document, in first-touched order. */
  private all(): readonly Pending[] | IterableIterator<Pending> {
    if (this.byName !== undefined) return this.byName.values();
    return this.first === undefined ? [] : [this.first];
  }

  /** Applies prepared operations under one stamp. */
  applyPrepared(ops: readonly PreparedOp[], stamp: Stamp): void {
    for (const p of ops) {
      const { collection, id } = p.op;
      let pending = this.pendingOf(collection, id);
      let current: DocState | undefined;
      if (pending !== undefined) current = stateOf(pending);
      else {
        const key = p.key;
        const bytes = this.read(key);
        const kind = p.op.kind;
        if (bytes === undefined && p.fields !== undefined && (kind === 'put' || kind === 'patch')) {
          this.addPending({
            collection,
            id,
            key,
            original: undefined,
            state: undefined,
            freshKind: kind,
            freshFields: p.fields,
            freshStamp: stamp,
          });
          continue;
        }
        current = bytes === undefined ? undefined : decodeState(bytes, TRUSTED);
        pending = {
          collection,
          id,
          key,
          original: current,
          state: current,
          freshKind: undefined,
          freshFields: undefined,
          freshStamp: undefined,
        };
        this.addPending(pending);
      }
      pending.state = applyOp(current, toLwwOp(p, stamp));
      pending.freshKind = undefined;
      pending.freshFields = undefined;
      pending.freshStamp = undefined;
    }
  }

  /** Applies an entry's operations; returns false when its payload is invalid (ignored). */
  applyEntry(entry: Entry): boolean {
    let ops: PreparedOp[];
    try {
      // Views read a put's fields from the prepared canonical fields: no object for `op.fields`.
      ops = decodePreparedPayload(entry.payload, false);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.invalidPayloads++;
      return false;
    }
    const hlc = decodeHlc(entry.hlc);
    let author = this.lastAuthor;
    if (author === undefined || !bytesEqual(author, entry.author)) {
      author = entry.author.slice();
      this.lastAuthor = author;
    }
    this.applyPrepared(ops, ownedStamp(hlc, author));
    return true;
  }

  /** The documents changed so far, as (collection, id) pairs. */
  *touched(): Generator<[string, string]> {
    for (const p of this.all()) yield [p.collection, p.id];
  }

  /** Each changed document's state before and after this write, in first-touched order. */
  *states(): Generator<{ collection: string; id: string; before: DocState | undefined; after: DocState }> {
    for (const p of this.all())
      yield { collection: p.collection, id: p.id, before: p.original, after: stateOf(p) };
  }

  /** Puts every changed row into `batch`. */
  writeTo(batch: WriteBatch): void {
    if (this.byName === undefined) {
      if (this.first !== undefined) batch.put(this.first.key, rowOf(this.first));
      return;
    }
    for (const p of this.byName.values()) batch.put(p.key, rowOf(p));
  }

  /** The changed rows, sorted by key (for rebuilds and comparisons). */
  rows(): [Uint8Array, Uint8Array][] {
    return [...this.all()]
      .map((p): [Uint8Array, Uint8Array] => [p.key, rowOf(p)])
      .sort((a, b) => compareBytes(a[0], b[0]));
  }
}

/** The row bytes of `p`'s state after its changes. */
function rowOf(p: Pending): Uint8Array {
  const kind = p.freshKind;
  if (kind !== undefined) return encodeFreshState(kind, p.freshFields!, p.freshStamp!);
  return canonicalEncodeState(p.state!);
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

/** The collection name and document id of a document row's key. */
export function docKeyParts(key: Uint8Array): { collection: string; id: string } {
  const nul = key.indexOf(0, 1);
  if (key[0] !== VIEW_PREFIX || nul < 0) throw new DecodeError('not a document row key', 0);
  return { collection: decodeUtf8(key, 1, nul), id: decodeUtf8(key, nul + 1, key.length) };
}
