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

import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { ByteReader, ByteWriter, bytesEqual, compareBytes, DecodeError } from '../lsm/coding.ts';
import { checkHlc, compareHlc, decodeHlc, encodeHlcInto, HLC_BYTES, type Hlc } from './hlc.ts';

/** Length of an author key (an ed25519 public key). */
export const AUTHOR_BYTES = 32;
/** Encoded size of a stamp: the 10-byte HLC, then the author key. */
export const STAMP_BYTES = HLC_BYTES + AUTHOR_BYTES;
/** Version byte at the start of {@link canonicalEncodeState}'s output. */
export const STATE_FORMAT_VERSION = 1;

/** Deepest nesting of arrays and objects in one JSON value (a top-level `[]` is depth 1). */
export const MAX_JSON_DEPTH = 64;
/** Longest string (value or object key), in UTF-8 bytes. */
export const MAX_JSON_STRING_BYTES = 1024 * 1024;
/** Most elements in one array. */
export const MAX_JSON_ARRAY_LENGTH = 100_000;
/** Most keys in one object; also the most fields one op may name. */
export const MAX_JSON_OBJECT_KEYS = 10_000;
/** Largest canonical JSON text of one checked value, or of all field values of one op, in UTF-8 bytes. */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;
/** Longest top-level field name, in UTF-8 bytes. */
export const MAX_FIELD_NAME_BYTES = 1024;

/** A JSON value as the LWW layer stores it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
/** A JSON object. */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** Size limits for {@link checkJsonValue} and {@link canonicalJson}. */
export interface JsonLimits {
  /** See {@link MAX_JSON_DEPTH}. */
  readonly depthMax: number;
  /** See {@link MAX_JSON_STRING_BYTES}. */
  readonly stringBytesMax: number;
  /** See {@link MAX_JSON_ARRAY_LENGTH}. */
  readonly arrayLengthMax: number;
  /** See {@link MAX_JSON_OBJECT_KEYS}. */
  readonly objectKeysMax: number;
  /** See {@link MAX_JSON_BYTES}. */
  readonly totalBytesMax: number;
}

/** The protocol limits, which {@link applyOp} enforces on every op. */
export const DEFAULT_JSON_LIMITS: JsonLimits = Object.freeze({
  depthMax: MAX_JSON_DEPTH,
  stringBytesMax: MAX_JSON_STRING_BYTES,
  arrayLengthMax: MAX_JSON_ARRAY_LENGTH,
  objectKeysMax: MAX_JSON_OBJECT_KEYS,
  totalBytesMax: MAX_JSON_BYTES,
});

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
  | { readonly kind: 'put'; readonly fields: JsonObject; readonly stamp: Stamp }
  /** Sets the given top-level fields; others are untouched. */
  | { readonly kind: 'patch'; readonly fields: JsonObject; readonly stamp: Stamp }
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
 * Compares strings by their UTF-8 bytes (that is, by code point) without encoding them.
 * UTF-16 code unit order differs only where a surrogate meets a unit in U+E000..U+FFFF, so
 * units from U+D800 up are remapped: U+E000..U+FFFF below the surrogates.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

/** UTF-8 length of a well-formed string. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is 4 bytes: 2 for each half.
    n += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
  }
  return n;
}

const LONE_SURROGATE = /\p{Surrogate}/u;

function limitError(limit: string, max: number, actual: number, what: string): LimitExceededError {
  return new LimitExceededError({ limit, max, actual, what });
}

/**
 * Validates JSON values and writes their canonical text: object keys sorted by UTF-8 bytes,
 * no whitespace, numbers as ECMAScript `Number.prototype.toString` (`-0` as `0`), strings as
 * `JSON.stringify` escapes them. The byte counter spans every value written with one writer,
 * which bounds the total size of an op's fields.
 */
class CanonicalJsonWriter {
  private parts: string[] = [];
  private bytes = 0;
  private readonly ancestors = new Set<object>();
  private readonly path: (string | number)[] = [];
  private root = '$';

  constructor(private readonly limits: JsonLimits) {}

  /** The canonical text of `v`; throws for a non-JSON value or an exceeded limit, naming `root`. */
  json(v: unknown, root = '$'): string {
    this.parts = [];
    this.root = root;
    this.value(v, 0);
    return this.parts.join('');
  }

  private where(): string {
    return (
      this.root + this.path.map((p) => (typeof p === 'number' ? `[${p}]` : `[${JSON.stringify(p)}]`)).join('')
    );
  }

  private emit(text: string, byteCount: number): void {
    this.bytes += byteCount;
    if (this.bytes > this.limits.totalBytesMax) {
      throw limitError(
        'MAX_JSON_BYTES',
        this.limits.totalBytesMax,
        this.bytes,
        `JSON text up to ${this.where()}`,
      );
    }
    this.parts.push(text);
  }

  private value(v: unknown, depth: number): void {
    if (v === null) {
      this.emit('null', 4);
    } else if (typeof v === 'boolean') {
      this.emit(v ? 'true' : 'false', v ? 4 : 5);
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new InvalidArgumentError(`${v} at ${this.where()} is not a JSON number`);
      const text = JSON.stringify(v); // "0" for -0
      this.emit(text, text.length);
    } else if (typeof v === 'string') {
      this.string(v, 'JSON string');
    } else if (Array.isArray(v)) {
      this.array(v, depth + 1);
    } else if (typeof v === 'object') {
      this.object(v, depth + 1);
    } else {
      throw new InvalidArgumentError(`${typeof v} at ${this.where()} is not a JSON value`);
    }
  }

  private string(s: string, what: string): void {
    if (LONE_SURROGATE.test(s))
      throw new InvalidArgumentError(`${what} at ${this.where()} has a lone surrogate`);
    const byteCount = utf8Length(s);
    if (byteCount > this.limits.stringBytesMax) {
      throw limitError(
        'MAX_JSON_STRING_BYTES',
        this.limits.stringBytesMax,
        byteCount,
        `${what} at ${this.where()}`,
      );
    }
    const text = JSON.stringify(s);
    // Escapes replace one ASCII character by several, so they add exactly the length difference.
    this.emit(text, byteCount + text.length - s.length);
  }

  private enter(v: object, depth: number): void {
    if (this.ancestors.has(v)) throw new InvalidArgumentError(`cyclic JSON value at ${this.where()}`);
    if (depth > this.limits.depthMax) {
      throw limitError('MAX_JSON_DEPTH', this.limits.depthMax, depth, `JSON nesting at ${this.where()}`);
    }
    this.ancestors.add(v);
  }

  private array(a: unknown[], depth: number): void {
    if (Object.getPrototypeOf(a) !== Array.prototype) {
      throw new InvalidArgumentError(`array at ${this.where()} is not a plain array`);
    }
    if (a.length > this.limits.arrayLengthMax) {
      throw limitError(
        'MAX_JSON_ARRAY_LENGTH',
        this.limits.arrayLengthMax,
        a.length,
        `array at ${this.where()}`,
      );
    }
    this.enter(a, depth);
    this.emit('[', 1);
    for (let i = 0; i < a.length; i++) {
      if (i > 0) this.emit(',', 1);
      this.path.push(i);
      if (!(i in a)) throw new InvalidArgumentError(`sparse array: hole at ${this.where()}`);
      this.value(a[i], depth);
      this.path.pop();
    }
    this.emit(']', 1);
    this.ancestors.delete(a);
  }

  private object(o: object, depth: number): void {
    const keys = checkPlainObject(o, `object at ${this.where()}`);
    if (keys.length > this.limits.objectKeysMax) {
      throw limitError(
        'MAX_JSON_OBJECT_KEYS',
        this.limits.objectKeysMax,
        keys.length,
        `object at ${this.where()}`,
      );
    }
    keys.sort(compareUtf8);
    this.enter(o, depth);
    this.emit('{', 1);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (i > 0) this.emit(',', 1);
      this.path.push(key);
      this.string(key, 'object key');
      this.emit(':', 1);
      this.value((o as Record<string, unknown>)[key], depth);
      this.path.pop();
    }
    this.emit('}', 1);
    this.ancestors.delete(o);
  }
}

/** Throws unless `o` is a plain object (prototype Object.prototype or null, no symbol keys); returns its keys. */
function checkPlainObject(o: unknown, what: string): string[] {
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new InvalidArgumentError(`${what} must be an object`);
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidArgumentError(
      `${what} is not a plain object (${o.constructor?.name ?? 'unknown class'})`,
    );
  }
  if (Object.getOwnPropertySymbols(o).length > 0) throw new InvalidArgumentError(`${what} has symbol keys`);
  return Object.keys(o);
}

/**
 * The canonical JSON text of `v` (see docs/crdt.md): keys sorted by UTF-8 bytes, no
 * whitespace, `-0` as `0`. Throws {@link InvalidArgumentError} for anything that is not JSON
 * (undefined, functions, symbols, bigints, NaN, ±Infinity, cycles, sparse arrays, class
 * instances, symbol keys, lone surrogates) and {@link LimitExceededError} past `limits`.
 */
export function canonicalJson(v: unknown, limits: JsonLimits = DEFAULT_JSON_LIMITS): string {
  return new CanonicalJsonWriter(limits).json(v);
}

/** Throws as {@link canonicalJson} does unless `v` is a JSON value within `limits`. */
export function checkJsonValue(v: unknown, limits: JsonLimits = DEFAULT_JSON_LIMITS): asserts v is JsonValue {
  canonicalJson(v, limits);
}

function deepFreeze(v: JsonValue): JsonValue {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/** A frozen, independent value equal to the canonical text `json`. */
function frozenValue(v: unknown, json: string): JsonValue {
  if (typeof v !== 'object' || v === null) return v === 0 ? 0 : (v as JsonValue);
  return deepFreeze(JSON.parse(json) as JsonValue);
}

function checkFieldName(name: unknown, what: string): string {
  if (typeof name !== 'string') throw new InvalidArgumentError(`${what} must be a string`);
  if (LONE_SURROGATE.test(name))
    throw new InvalidArgumentError(`${what} ${JSON.stringify(name)} has a lone surrogate`);
  const byteCount = utf8Length(name);
  if (byteCount > MAX_FIELD_NAME_BYTES)
    throw limitError('MAX_FIELD_NAME_BYTES', MAX_FIELD_NAME_BYTES, byteCount, what);
  return name;
}

function checkStamp(s: unknown, what: string): Stamp {
  if (typeof s !== 'object' || s === null) throw new InvalidArgumentError(`${what} must be an object`);
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

/** Validates `op` and returns the state holding only it. */
function opState(op: LwwOp): DocState {
  if (typeof op !== 'object' || op === null) throw new InvalidArgumentError('op must be an object');
  const stamp = checkStamp(op.stamp, 'op.stamp');
  const fields = new Map<string, FieldRegister>();
  switch (op.kind) {
    case 'put':
    case 'patch': {
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
      for (const name of op.names) fields.set(checkFieldName(name, 'field name'), tombstone);
      return { fields };
    }
    case 'delete':
      return { fields, deleted: stamp };
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
 * for a malformed op, a non-JSON value or an exceeded {@link DEFAULT_JSON_LIMITS} limit.
 */
export function applyOp(state: DocState | undefined, op: LwwOp): DocState {
  return mergeStates(state ?? EMPTY_DOC_STATE, opState(op));
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

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function writeStamp(w: ByteWriter, s: Stamp): void {
  const hlcBytes = new Uint8Array(HLC_BYTES);
  encodeHlcInto(s.hlc, hlcBytes, 0);
  w.bytes(hlcBytes).bytes(s.author);
}

function readStamp(r: ByteReader): Stamp {
  const hlc = decodeHlc(r.bytes(HLC_BYTES));
  return Object.freeze({ hlc, author: r.bytes(AUTHOR_BYTES).slice() });
}

/**
 * The canonical bytes of a state (layout in docs/crdt.md): version, presence flags, the
 * document stamps, then the registers sorted by field name in UTF-8 byte order, values as
 * canonical JSON. Peers holding the same state produce the same bytes.
 */
export function canonicalEncodeState(state: DocState): Uint8Array {
  const w = new ByteWriter(64);
  const { writtenAt, clearedAt, deleted } = state;
  w.u8(STATE_FORMAT_VERSION);
  w.u8((writtenAt ? 1 : 0) | (clearedAt ? 2 : 0) | (deleted ? 4 : 0));
  for (const s of [writtenAt, clearedAt, deleted]) if (s) writeStamp(w, s);
  const names = [...state.fields.keys()].sort(compareUtf8);
  w.varint(names.length);
  for (const name of names) {
    const reg = state.fields.get(name)!;
    w.lengthPrefixed(utf8Encoder.encode(name));
    writeStamp(w, reg.stamp);
    if (reg.kind === 'unset') {
      w.u8(0);
    } else {
      w.u8(1).lengthPrefixed(utf8Encoder.encode(reg.json));
    }
  }
  return w.finish();
}

function decodeText(bytes: Uint8Array, offset: number, what: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new DecodeError(`${what} is not valid UTF-8`, offset);
  }
}

function readRegister(r: ByteReader, stamp: Stamp): FieldRegister {
  const at = r.pos;
  const kind = r.u8();
  if (kind === 0) return Object.freeze({ kind: 'unset', stamp });
  if (kind !== 1) throw new DecodeError(`unknown register kind ${kind}`, at);
  const textAt = r.pos;
  const text = decodeText(r.lengthPrefixed(), textAt, 'field value');
  let value: unknown;
  let json: string;
  try {
    value = JSON.parse(text);
    json = canonicalJson(value);
  } catch (e) {
    throw new DecodeError(`field value is not valid JSON: ${(e as Error).message}`, textAt);
  }
  return Object.freeze({ kind: 'value', stamp, value: frozenValue(value, json), json });
}

/**
 * Decodes bytes written by {@link canonicalEncodeState}. Accepts only the canonical encoding
 * of a normalized state (the result re-encodes to exactly `bytes`); anything else is a
 * {@link DecodeError}.
 */
export function decodeState(bytes: Uint8Array, options: { verifyCanonical?: boolean } = {}): DocState {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes must be a Uint8Array');
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== STATE_FORMAT_VERSION) throw new DecodeError(`unknown state format version ${version}`, 0);
  const flags = r.u8();
  if (flags > 7) throw new DecodeError(`unknown state flags ${flags}`, 1);
  const writtenAt = flags & 1 ? readStamp(r) : undefined;
  const clearedAt = flags & 2 ? readStamp(r) : undefined;
  const deleted = flags & 4 ? readStamp(r) : undefined;
  const countAt = r.pos;
  const count = r.varint();
  // Each register takes at least a name length, a stamp and a kind byte.
  if (count > r.remaining() / (STAMP_BYTES + 2)) throw new DecodeError(`${count} fields cannot fit`, countAt);
  const fields = new Map<string, FieldRegister>();
  for (let i = 0; i < count; i++) {
    const nameAt = r.pos;
    const name = decodeText(r.lengthPrefixed(), nameAt, 'field name');
    try {
      checkFieldName(name, 'field name');
    } catch (e) {
      throw new DecodeError((e as Error).message, nameAt);
    }
    fields.set(name, readRegister(r, readStamp(r)));
  }
  if (r.remaining() !== 0) throw new DecodeError(`${r.remaining()} trailing bytes`, r.pos);
  const state = mergeStates(EMPTY_DOC_STATE, { fields, writtenAt, clearedAt, deleted });
  // Strict by default; a caller reading back rows it wrote itself through a checksummed store
  // (the database's views) may skip the re-encoding, which is most of a read's cost.
  if (options.verifyCanonical !== false && !bytesEqual(canonicalEncodeState(state), bytes)) {
    throw new DecodeError('state is not in canonical form (order, duplicates, dead entries or flags)', 0);
  }
  return state;
}
