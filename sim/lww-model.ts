/**
 * A deliberately simple reference of the documented last-writer-wins rules (docs/crdt.md,
 * sections 2 and 3), written independently of engine/crdt/lww.ts so the checkers can judge the
 * engine against it (LevelDB's ModelDB idea). It keeps no state and merges nothing: given every
 * write a peer holds, it decides each document from scratch.
 *
 * For one document:
 *
 * - its latest delete, latest put and latest write (put or patch) are the greatest stamps of
 *   those ops that touch it;
 * - it is visible iff it has a write and that write is after the latest delete;
 * - each field shows the winning write among all writes touching that field (put and patch set
 *   it, unset removes it) if the winner sets a value, is after the latest delete and is not
 *   before the latest put.
 *
 * Stamps order by HLC (wall, then logical), then by author bytes; lowercase hex of equal length
 * compares like the bytes. Equal stamps happen only inside one transaction (every op of an
 * entry shares its stamp) or from a faulty author; then an unset loses to a value and values
 * compare by the UTF-8 bytes of their canonical JSON text. A field written at exactly the
 * delete's stamp is dead; one written at exactly the put's stamp lives.
 */

import { canonicalJson } from '../engine/crdt/lww.ts';
import type { DbOp } from '../engine/db/payload.ts';

/** One entry as the model sees it: who wrote it, when, and its operations. */
export interface ModelWrite {
  /** Author public key, hex (compared case-insensitively). */
  author: string;
  /** Sequence number in the author's feed (not used by the LWW rules). */
  seq: number;
  /** The entry's hybrid logical timestamp. */
  hlc: { wallMs: number; logical: number };
  /** The entry's operations; all of them carry the entry's stamp. */
  ops: DbOp[];
}

/** A write's position in the LWW order. */
export interface ModelStamp {
  wallMs: number;
  logical: number;
  /** Lowercase hex. */
  author: string;
}

/** The key of a document in the model's and the checkers' maps. */
export function docKey(collection: string, id: string): string {
  return `${collection}\u0000${id}`;
}

/** Orders stamps: wall time, logical counter, then author bytes. */
export function compareModelStamps(a: ModelStamp, b: ModelStamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  if (a.author === b.author) return 0;
  return a.author < b.author ? -1 : 1;
}

/** The stamp of a write. */
export function stampOf(write: Pick<ModelWrite, 'author' | 'hlc'>): ModelStamp {
  return { wallMs: write.hlc.wallMs, logical: write.hlc.logical, author: write.author.toLowerCase() };
}

const utf8 = new TextEncoder();

/** Compares strings by their UTF-8 bytes. */
function compareUtf8Bytes(a: string, b: string): number {
  if (a === b) return 0;
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** One op touching one document, with its write's stamp. */
interface Touch {
  stamp: ModelStamp;
  op: DbOp;
}

/** What one write did to one field. */
type FieldWrite = { stamp: ModelStamp; kind: 'value'; value: unknown } | { stamp: ModelStamp; kind: 'unset' };

/** Which of two writes to one field wins (positive: `a`). */
function compareFieldWrites(a: FieldWrite, b: FieldWrite): number {
  const byStamp = compareModelStamps(a.stamp, b.stamp);
  if (byStamp !== 0) return byStamp;
  if (a.kind !== b.kind) return a.kind === 'unset' ? -1 : 1;
  if (a.kind === 'value' && b.kind === 'value')
    return compareUtf8Bytes(canonicalJson(a.value), canonicalJson(b.value));
  return 0;
}

/** What `op` wrote to field `name`, if it touched it. */
function fieldWrite(touch: Touch, name: string): FieldWrite | undefined {
  const { op, stamp } = touch;
  if ((op.kind === 'put' || op.kind === 'patch') && Object.hasOwn(op.fields, name)) {
    return { stamp, kind: 'value', value: op.fields[name] };
  }
  if (op.kind === 'unset' && op.names.includes(name)) return { stamp, kind: 'unset' };
  return undefined;
}

/** The greatest stamp among touches whose op kind is in `kinds`. */
function latest(touches: readonly Touch[], kinds: readonly DbOp['kind'][]): ModelStamp | undefined {
  let best: ModelStamp | undefined;
  for (const t of touches) {
    if (!kinds.includes(t.op.kind)) continue;
    if (best === undefined || compareModelStamps(t.stamp, best) > 0) best = t.stamp;
  }
  return best;
}

/** Every field name any op of the document names (set or unset). */
function touchedNames(touches: readonly Touch[]): string[] {
  const names = new Set<string>();
  for (const { op } of touches) {
    if (op.kind === 'put' || op.kind === 'patch') for (const n of Object.keys(op.fields)) names.add(n);
    else if (op.kind === 'unset') for (const n of op.names) names.add(n);
  }
  return [...names].sort(compareUtf8Bytes);
}

/** The winning write to field `name` among `touches`, if any touched it. */
function winningWrite(touches: readonly Touch[], name: string): FieldWrite | undefined {
  let best: FieldWrite | undefined;
  for (const t of touches) {
    const w = fieldWrite(t, name);
    if (w !== undefined && (best === undefined || compareFieldWrites(w, best) > 0)) best = w;
  }
  return best;
}

/** The visible document that `touches` (every op on one document) produce, or undefined. */
function expectedDocument(touches: readonly Touch[]): Record<string, unknown> | undefined {
  const lastDelete = latest(touches, ['delete']);
  const lastPut = latest(touches, ['put']);
  const lastWrite = latest(touches, ['put', 'patch']);
  if (lastWrite === undefined) return undefined;
  if (lastDelete !== undefined && compareModelStamps(lastWrite, lastDelete) <= 0) return undefined;
  const fields: [string, unknown][] = [];
  for (const name of touchedNames(touches)) {
    const winner = winningWrite(touches, name);
    if (winner === undefined || winner.kind !== 'value') continue;
    if (lastDelete !== undefined && compareModelStamps(winner.stamp, lastDelete) <= 0) continue;
    if (lastPut !== undefined && compareModelStamps(winner.stamp, lastPut) < 0) continue;
    fields.push([name, winner.value]);
  }
  // fromEntries defines own properties, so a field named "__proto__" stays a field.
  return Object.fromEntries(fields);
}

/**
 * The visible documents after every write in `writes` (in any order; duplicates change
 * nothing), keyed by {@link docKey}. Documents that were never written, or are deleted, are
 * absent. Values are the writes' own objects (not copies); compare them by canonical JSON.
 */
export function expectedDocuments(writes: readonly ModelWrite[]): Map<string, Record<string, unknown>> {
  const byDoc = new Map<string, Touch[]>();
  for (const w of writes) {
    const stamp = stampOf(w);
    for (const op of w.ops) {
      const key = docKey(op.collection, op.id);
      const list = byDoc.get(key);
      if (list === undefined) byDoc.set(key, [{ stamp, op }]);
      else list.push({ stamp, op });
    }
  }
  const out = new Map<string, Record<string, unknown>>();
  for (const [key, touches] of byDoc) {
    const doc = expectedDocument(touches);
    if (doc !== undefined) out.set(key, doc);
  }
  return out;
}
