/**
 * The simulator's history: every operation a run performed, Jepsen style. A client operation
 * is an `invoke` record followed by its completion, `ok` (it happened, with its result) or
 * `fail` (an error code; the operation may or may not have taken effect if the error came from
 * inside the engine, e.g. a crash mid-write). Events that are not client operations (crashes,
 * restarts, faults, sync rounds) are single `info` records.
 *
 * Records are snapshots: details and results are copied into JSON-safe form when recorded, so
 * a caller mutating its objects later cannot rewrite history, and the history serialises as is.
 */

import { assert } from '../engine/assert.ts';
import type { DbOp } from '../engine/db/payload.ts';

/** What an operation did. */
export type OpKind = 'write' | 'read' | 'commit' | 'crash' | 'restart' | 'sync' | 'fault';

/** The detail of a write invoke: one transaction's operations. */
export interface WriteDetail {
  /** The transaction, in order; every operation shares the entry's stamp. */
  ops: DbOp[];
}

/** The result of an acknowledged write: where its entry sits and its stamp. */
export interface WriteResult {
  /** The writer's public key, lowercase hex. */
  author: string;
  /** The entry's sequence number in the author's feed. */
  seq: number;
  /** The entry's hybrid logical timestamp. */
  hlc: { wallMs: number; logical: number };
}

/** The detail of a read invoke. */
export interface ReadDetail {
  collection: string;
  id: string;
}

/** One record of the history. */
export interface OpRecord {
  /** Position in the history (0-based); records are in the order they happened. */
  index: number;
  /** The peer that performed the operation or suffered the event. */
  peer: string;
  kind: OpKind;
  type: 'invoke' | 'ok' | 'fail' | 'info';
  /** Virtual time. */
  timeMs: number;
  /** `WriteDetail` | `ReadDetail` | a string, as the caller gave it (JSON-safe copy). */
  detail?: unknown;
  /** `WriteResult` for writes; the document (`JsonObject | null`) for reads. */
  result?: unknown;
  /** The error code of a `fail`. */
  error?: string;
  /** For `ok` and `fail`: the index of the invoke it completes. */
  invokeIndex?: number;
}

/** Deepest nesting {@link jsonSafe} copies; deeper parts become a marker string. */
const JSON_SAFE_DEPTH_MAX = 100;

/**
 * A JSON-safe deep copy of `v`: byte arrays become lowercase hex, Maps objects (or entry
 * arrays when their keys are not strings), Sets arrays, bigints and non-finite numbers
 * strings, errors `{name, message}`; `undefined` properties and functions are dropped.
 */
export function jsonSafe(v: unknown, depth = 0): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object') return undefined;
  if (depth >= JSON_SAFE_DEPTH_MAX) return '<too deep>';
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (Array.isArray(v)) return v.map((x) => jsonSafe(x, depth + 1) ?? null);
  if (v instanceof Set) return [...v].map((x) => jsonSafe(x, depth + 1) ?? null);
  if (v instanceof Error) return { name: v.name, message: v.message };
  if (v instanceof Map) {
    const entries = [...v.entries()];
    if (entries.every(([k]) => typeof k === 'string')) return safeObject(entries, depth);
    return entries.map(([k, x]) => [jsonSafe(k, depth + 1) ?? null, jsonSafe(x, depth + 1) ?? null]);
  }
  return safeObject(Object.entries(v), depth);
}

function safeObject(entries: [string, unknown][], depth: number): Record<string, unknown> {
  const kept: [string, unknown][] = [];
  for (const [k, x] of entries) {
    const copy = jsonSafe(x, depth + 1);
    if (copy !== undefined) kept.push([k, copy]);
  }
  // fromEntries defines own properties, so a field named "__proto__" stays a field.
  return Object.fromEntries(kept);
}

/** An append-only, Jepsen-style history of one run. */
export class History {
  private readonly list: OpRecord[] = [];
  /** Invoke index -> index of its completion. */
  private readonly completions = new Map<number, number>();

  /** `now` reads the virtual time stamped on each record. */
  constructor(private readonly now: () => number) {}

  /** Every record so far, in order (`records[i].index === i`). */
  get records(): readonly OpRecord[] {
    return this.list;
  }

  /** Records the start of a client operation; returns its index for {@link ok} / {@link fail}. */
  invoke(peer: string, kind: OpKind, detail?: unknown): number {
    return this.push({ peer, kind, type: 'invoke', detail });
  }

  /** Records that the operation invoked at `invokeIndex` happened, with its result. */
  ok(invokeIndex: number, result?: unknown): void {
    const inv = this.open(invokeIndex);
    this.push({ peer: inv.peer, kind: inv.kind, type: 'ok', result, invokeIndex });
  }

  /** Records that the operation invoked at `invokeIndex` failed with `error` (an error code). */
  fail(invokeIndex: number, error: string): void {
    assert(typeof error === 'string', 'History.fail needs an error code string');
    const inv = this.open(invokeIndex);
    this.push({ peer: inv.peer, kind: inv.kind, type: 'fail', error, invokeIndex });
  }

  /** Records an event that is not a client operation: a crash, restart, fault or sync round. */
  info(peer: string, kind: OpKind, detail?: unknown): void {
    this.push({ peer, kind, type: 'info', detail });
  }

  /** The `ok` or `fail` record completing the invoke at `invokeIndex`, if any yet. */
  completion(invokeIndex: number): OpRecord | undefined {
    const at = this.completions.get(invokeIndex);
    return at === undefined ? undefined : this.list[at];
  }

  /** The records as plain JSON-safe objects (copies). */
  toJSON(): OpRecord[] {
    return this.list.map((r) => ({ ...r }));
  }

  /** The open invoke at `invokeIndex`; throws if there is none or it already completed. */
  private open(invokeIndex: number): OpRecord {
    const inv = this.list[invokeIndex];
    assert(inv !== undefined, `History: no record at index ${invokeIndex}`);
    assert(inv.type === 'invoke', `History: record ${invokeIndex} is a '${inv.type}', not an invoke`);
    assert(!this.completions.has(invokeIndex), `History: invoke ${invokeIndex} was already completed`);
    this.completions.set(invokeIndex, this.list.length);
    return inv;
  }

  private push(fields: Omit<OpRecord, 'index' | 'timeMs'>): number {
    assert(typeof fields.peer === 'string', 'History: peer must be a string');
    const index = this.list.length;
    const record: OpRecord = {
      index,
      peer: fields.peer,
      kind: fields.kind,
      type: fields.type,
      timeMs: this.now(),
    };
    if (fields.detail !== undefined) record.detail = jsonSafe(fields.detail);
    if (fields.result !== undefined) record.result = jsonSafe(fields.result);
    if (fields.error !== undefined) record.error = fields.error;
    if (fields.invokeIndex !== undefined) record.invokeIndex = fields.invokeIndex;
    this.list.push(Object.freeze(record));
    return index;
  }
}
