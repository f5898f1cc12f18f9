/**
 * Last-writer-wins per field: the merge rule for JSON documents (docs/crdt.md has examples).
 *
 * Every write carries a {@link Stamp} `(hlc, author)`; stamps are totally ordered by HLC and
 * then by the author's 32-byte public key, so every peer picks the same winner. A document's
 * state is a join-semilattice made of four parts, each merged by taking the greater:
 *
 * - `fields`: per top-level field, the register with the greatest stamp that touched it,
 *   either a value (from a put or a patch; nested values are replaced whole) or an unset
 *   tombstone. Equal stamps (one author signing two different writes with one HLC, which a
 *   correct {@link HlcClock} never does) are broken deterministically: unset < value, then
 *   canonical JSON text in UTF-8 byte order.
 * - `writtenAt`: the greatest stamp of any put or patch (the document was written).
 * - `clearedAt`: the greatest stamp of any put. A put replaces the whole document, so every
 *   field register older than `clearedAt` is dead; the put's own fields carry its stamp and live.
 * - `deleted`: the greatest stamp of any delete. Every register at or before it is dead.
 *
 * The document is visible iff `writtenAt > deleted` (or there is no delete), and then it shows
 * every value register that is neither at-or-before `deleted` nor before `clearedAt`. So a
 * patch newer than a delete resurrects the document with only the fields written after the
 * delete, a put newer than a delete resurrects it with exactly the put's fields (plus later
 * writes), and an unset never creates or resurrects a document. An empty patch is a "touch":
 * it creates or resurrects an empty document.
 *
 * Because every part merges by maximum, {@link mergeStates} is commutative, associative and
 * idempotent, and {@link applyOp} is merging the op's one-op state. After each merge the
 * state is normalized (dead registers dropped, `writtenAt`/`clearedAt` at or before `deleted`
 * dropped); death only depends on stamps that never decrease, so normalizing commutes with
 * merging and {@link canonicalEncodeState} is byte-identical on peers that merged the same ops
 * in any order, with any duplicates.
 *
 * Values are validated with the same limits on every peer (they are part of the protocol) and
 * stored as deep-frozen canonical copies, so a caller mutating its objects later changes nothing.
 */

import { InvalidArgumentError } from '../errors.ts';
import { compareBytes } from '../lsm/coding.ts';
import {
  type CanonicalFields,
  fieldJsons,
  fieldNames,
  fieldValues,
  isCanonicalFields,
} from './canonical-fields.ts';
import { checkHlc, compareHlc, HLC_BYTES, type Hlc } from './hlc.ts';
import {
  CanonicalJsonWriter,
  checkFieldName,
  checkPlainObject,
  compareUtf8,
  DEFAULT_JSON_LIMITS,
  frozenValue,
  type JsonObject,
  type JsonValue,
  limitError,
  MAX_JSON_OBJECT_KEYS,
} from './json.ts';

export { type CanonicalFields, canonicalFields, canonicalFieldsOfText } from './canonical-fields.ts';
export {
  canonicalJson,
  checkJsonValue,
  compareUtf8,
  DEFAULT_JSON_LIMITS,
  type JsonLimits,
  type JsonObject,
  type JsonValue,
  MAX_FIELD_NAME_BYTES,
  MAX_JSON_ARRAY_LENGTH,
  MAX_JSON_BYTES,
  MAX_JSON_DEPTH,
  MAX_JSON_OBJECT_KEYS,
  MAX_JSON_STRING_BYTES,
} from './json.ts';

/** Length of an author key (an ed25519 public key). */
export const AUTHOR_BYTES = 32;
/** Encoded size of a stamp: the 10-byte HLC, then the author key. */
export const STAMP_BYTES = HLC_BYTES + AUTHOR_BYTES;
/** Who wrote, and when: the total order of writes. */
export interface Stamp {
  /** The writer's hybrid logical timestamp. */
  readonly hlc: Hlc;
  /** The writer's {@link AUTHOR_BYTES}-byte public key; breaks HLC ties. */
  readonly author: Uint8Array;
}

/** One write to a document. */
export type LwwOp =
  /** Replaces the whole document: fields not in `fields` are removed as of `stamp`. */
  | {
      readonly kind: 'put';
      readonly fields: JsonObject;
      readonly canonical?: CanonicalFields;
      readonly stamp: Stamp;
    }
  /** Sets the given top-level fields; others are untouched. */
  | {
      readonly kind: 'patch';
      readonly fields: JsonObject;
      readonly canonical?: CanonicalFields;
      readonly stamp: Stamp;
    }
  /** Removes the named fields (field tombstones). */
  | { readonly kind: 'unset'; readonly names: readonly string[]; readonly stamp: Stamp }
  /** Deletes the document (document tombstone). */
  | { readonly kind: 'delete'; readonly stamp: Stamp };

/** A field's register: the winning write to it so far. */
export type FieldRegister =
  | {
      readonly kind: 'value';
      readonly stamp: Stamp;
      /** Deep-frozen; `-0` is stored as `0`. */
      readonly value: JsonValue;
      /** {@link canonicalJson} of `value`. */
      readonly json: string;
    }
  | { readonly kind: 'unset'; readonly stamp: Stamp };

/** The mergeable state of one document. Always normalized; Map iteration order is not significant. */
export interface DocState {
  /** Live registers (values and unset tombstones), by field name. */
  readonly fields: ReadonlyMap<string, FieldRegister>;
  /** Greatest put or patch stamp, unless at or before `deleted`. */
  readonly writtenAt?: Stamp;
  /** Greatest put stamp, unless at or before `deleted`. */
  readonly clearedAt?: Stamp;
  /** Greatest delete stamp. */
  readonly deleted?: Stamp;
}

/** The state of a document nothing was applied to. */
export const EMPTY_DOC_STATE: DocState = Object.freeze({ fields: new Map<string, FieldRegister>() });

/** Orders stamps: HLC first, then author bytes. Negative, zero or positive. */
export function compareStamp(a: Stamp, b: Stamp): number {
  return compareHlc(a.hlc, b.hlc) || compareBytes(a.author, b.author);
}

/**
 * A stamp checked once and kept as it is: {@link checkStamp} returns it without checking and
 * copying it again for each operation (an entry's operations all share one stamp, and a
 * received batch's entries one author). Made only by {@link ownedStamp}; its private brand
 * cannot be forged.
 */
class OwnedStamp implements Stamp {
  readonly #owned = true;
  constructor(
    readonly hlc: Hlc,
    readonly author: Uint8Array,
  ) {
    Object.freeze(this);
  }

  /** True when `v` is an OwnedStamp. */
  static has(v: object): boolean {
    return #owned in v;
  }
}

/**
 * The stamp of `hlc` and `author`, checked now, for operations to share. The CRDT layer keeps
 * `author` itself, not a copy: the caller hands it over and must never change it (the database
 * passes its own private copy of an author key). `hlc` is copied.
 */
export function ownedStamp(hlc: Hlc, author: Uint8Array): Stamp {
  checkHlc(hlc, 'stamp.hlc');
  if (!(author instanceof Uint8Array) || author.length !== AUTHOR_BYTES)
    throw new InvalidArgumentError(`stamp.author must be a ${AUTHOR_BYTES}-byte Uint8Array`);
  return new OwnedStamp(Object.freeze({ wallMs: hlc.wallMs, logical: hlc.logical }), author);
}

/**
 * `s` as a checked, frozen stamp: returned as it is when {@link ownedStamp} made it, else its
 * parts are checked and copied. Throws `InvalidArgumentError`.
 */
export function checkStamp(s: unknown, what: string): Stamp {
  if (typeof s !== 'object' || s === null) throw new InvalidArgumentError(`${what} must be an object`);
  if (OwnedStamp.has(s)) return s as Stamp;
  const { hlc, author } = s as { hlc?: unknown; author?: unknown };
  checkHlc(hlc, `${what}.hlc`);
  if (!(author instanceof Uint8Array) || author.length !== AUTHOR_BYTES) {
    throw new InvalidArgumentError(`${what}.author must be a ${AUTHOR_BYTES}-byte Uint8Array`);
  }
  const hlcCopy = Object.freeze({ wallMs: hlc.wallMs, logical: hlc.logical });
  return Object.freeze({ hlc: hlcCopy, author: author.slice() });
}

function countCheck(n: number, what: string): void {
  if (n > MAX_JSON_OBJECT_KEYS) throw limitError('MAX_JSON_OBJECT_KEYS', MAX_JSON_OBJECT_KEYS, n, what);
}

/**
 * The state of a lone put or patch whose fields {@link canonicalFields} already checked and
 * serialised: built from them without walking the values again.
 */
function canonicalOpState(kind: 'put' | 'patch', fields: CanonicalFields, stamp: Stamp): DocState {
  const registers = new Map<string, FieldRegister>();
  const names = fieldNames(fields);
  const jsons = fieldJsons(fields);
  const values = fieldValues(fields);
  for (let i = 0; i < names.length; i++)
    registers.set(names[i]!, Object.freeze({ kind: 'value', stamp, value: values[i]!, json: jsons[i]! }));
  return kind === 'put'
    ? { fields: registers, writtenAt: stamp, clearedAt: stamp }
    : { fields: registers, writtenAt: stamp };
}

/** Validates `op` and returns the state holding only it. */
function opState(op: LwwOp): DocState {
  if (typeof op !== 'object' || op === null) throw new InvalidArgumentError('op must be an object');
  const stamp = checkStamp(op.stamp, 'op.stamp');
  switch (op.kind) {
    case 'put':
    case 'patch': {
      if (isCanonicalFields(op.canonical)) return canonicalOpState(op.kind, op.canonical, stamp);
      const fields = new Map<string, FieldRegister>();
      const names = checkPlainObject(op.fields, 'op.fields');
      countCheck(names.length, 'op.fields');
      const writer = new CanonicalJsonWriter(DEFAULT_JSON_LIMITS);
      for (const name of names) {
        const value: unknown = op.fields[checkFieldName(name, 'field name')];
        const json = writer.json(value, `fields[${JSON.stringify(name)}]`);
        fields.set(name, Object.freeze({ kind: 'value', stamp, value: frozenValue(value, json), json }));
      }
      return { fields, writtenAt: stamp, clearedAt: op.kind === 'put' ? stamp : undefined };
    }
    case 'unset': {
      if (!Array.isArray(op.names))
        throw new InvalidArgumentError('op.names must be an array of field names');
      countCheck(op.names.length, 'op.names');
      const tombstone: FieldRegister = Object.freeze({ kind: 'unset', stamp });
      const fields = new Map<string, FieldRegister>();
      for (const name of op.names) fields.set(checkFieldName(name, 'field name'), tombstone);
      return { fields };
    }
    case 'delete':
      return { fields: new Map<string, FieldRegister>(), deleted: stamp };
    default:
      throw new InvalidArgumentError(`unknown op kind ${JSON.stringify((op as { kind?: unknown }).kind)}`);
  }
}

function maxStamp(a: Stamp | undefined, b: Stamp | undefined): Stamp | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareStamp(a, b) >= 0 ? a : b;
}

/** True when `s` is at or before `bound` (false without a bound). */
function atOrBefore(s: Stamp, bound: Stamp | undefined): boolean {
  return bound !== undefined && compareStamp(s, bound) <= 0;
}

function isDeadField(s: Stamp, state: Pick<DocState, 'deleted' | 'clearedAt'>): boolean {
  if (atOrBefore(s, state.deleted)) return true;
  return state.clearedAt !== undefined && compareStamp(s, state.clearedAt) < 0;
}

function compareRegisters(a: FieldRegister, b: FieldRegister): number {
  const byStamp = compareStamp(a.stamp, b.stamp);
  if (byStamp !== 0) return byStamp;
  if (a.kind !== b.kind) return a.kind === 'unset' ? -1 : 1;
  return a.kind === 'value' && b.kind === 'value' ? compareUtf8(a.json, b.json) : 0;
}

/**
 * Joins two states: each part takes the greater side, then the result is normalized. Pure
 * (never mutates its inputs), commutative, associative and idempotent.
 */
export function mergeStates(a: DocState, b: DocState): DocState {
  const deleted = maxStamp(a.deleted, b.deleted);
  const writtenAt = maxStamp(a.writtenAt, b.writtenAt);
  const clearedAt = maxStamp(a.clearedAt, b.clearedAt);
  const out: { fields: Map<string, FieldRegister>; writtenAt?: Stamp; clearedAt?: Stamp; deleted?: Stamp } = {
    fields: new Map(),
  };
  if (deleted !== undefined) out.deleted = deleted;
  if (writtenAt !== undefined && !atOrBefore(writtenAt, deleted)) out.writtenAt = writtenAt;
  if (clearedAt !== undefined && !atOrBefore(clearedAt, deleted)) out.clearedAt = clearedAt;
  for (const side of [a.fields, b.fields]) {
    for (const [name, reg] of side) {
      if (isDeadField(reg.stamp, out)) continue;
      const current = out.fields.get(name);
      if (current === undefined || compareRegisters(reg, current) > 0) out.fields.set(name, reg);
    }
  }
  return Object.freeze(out);
}

/**
 * Applies one op to a state (`undefined` is the empty state) and returns the new state;
 * the input is not changed. Throws {@link InvalidArgumentError} / {@link LimitExceededError}
 * for a malformed op, a non-JSON value or an exceeded {@link DEFAULT_JSON_LIMITS} limit. A put
 * or patch may carry its fields already checked, as {@link canonicalFields} made them from
 * `fields`, in `canonical`: then they are taken from there, not walked again.
 */
export function applyOp(state: DocState | undefined, op: LwwOp): DocState {
  const alone = opState(op);
  // A lone put or patch with checked fields is already a normalized state (see canonicalOpState).
  if (state === undefined && (op.kind === 'put' || op.kind === 'patch') && isCanonicalFields(op.canonical))
    return Object.freeze(alone);
  return mergeStates(state ?? EMPTY_DOC_STATE, alone);
}

/**
 * The visible document: `undefined` when it was never written (by a put or patch) or its
 * latest delete is at or after every put and patch; otherwise an object of the live value
 * fields (a fresh object; the values in it are deep-frozen and shared with the state).
 */
export function materialize(state: DocState | undefined): JsonObject | undefined {
  if (state?.writtenAt === undefined || atOrBefore(state.writtenAt, state.deleted)) return undefined;
  const live: [string, JsonValue][] = [];
  for (const [name, reg] of state.fields) {
    if (reg.kind === 'value' && !isDeadField(reg.stamp, state)) live.push([name, reg.value]);
  }
  live.sort((x, y) => compareUtf8(x[0], y[0]));
  return Object.fromEntries(live);
}
