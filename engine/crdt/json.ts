/**
 * JSON values as the LWW layer takes them: the protocol's size limits, validation, and the
 * canonical text (keys sorted by UTF-8 bytes, no whitespace, `-0` as `0`) that is hashed,
 * signed and stored. Every peer applies the same limits: they are part of the protocol.
 */

import { InvalidArgumentError, LimitExceededError } from '../errors.ts';

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

/** The protocol limits, which the LWW layer enforces on every op. */
export const DEFAULT_JSON_LIMITS: JsonLimits = Object.freeze({
  depthMax: MAX_JSON_DEPTH,
  stringBytesMax: MAX_JSON_STRING_BYTES,
  arrayLengthMax: MAX_JSON_ARRAY_LENGTH,
  objectKeysMax: MAX_JSON_OBJECT_KEYS,
  totalBytesMax: MAX_JSON_BYTES,
});

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
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is 4 bytes: 2 for each half.
    n += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
  }
  return n;
}

/** Matches a string holding a lone surrogate (not valid Unicode text). */
export const LONE_SURROGATE = /\p{Surrogate}/u;

/** A {@link LimitExceededError} for `limit`. */
export function limitError(limit: string, max: number, actual: number, what: string): LimitExceededError {
  return new LimitExceededError({ limit, max, actual, what });
}

/**
 * Validates JSON values and writes their canonical text: object keys sorted by UTF-8 bytes,
 * no whitespace, numbers as ECMAScript `Number.prototype.toString` (`-0` as `0`), strings as
 * `JSON.stringify` escapes them. The byte counter spans every value written with one writer,
 * which bounds the total size of an op's fields.
 */
export class CanonicalJsonWriter {
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

  /**
   * The canonical text of the object `o`, exactly as {@link json} checks and writes it, and
   * beside it each top-level key (in UTF-8 order) with its value's canonical text.
   */
  fields(o: object): { text: string; names: string[]; jsons: string[] } {
    this.parts = [];
    this.root = '$';
    const record = { names: [] as string[], jsons: [] as string[] };
    this.object(o, 1, record);
    return { text: this.parts.join(''), ...record };
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

  private object(o: object, depth: number, record?: { names: string[]; jsons: string[] }): void {
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
      const start = this.parts.length;
      this.value((o as Record<string, unknown>)[key], depth);
      if (record !== undefined) {
        record.names.push(key);
        record.jsons.push(
          start + 1 === this.parts.length ? this.parts[start]! : this.parts.slice(start).join(''),
        );
      }
      this.path.pop();
    }
    this.emit('}', 1);
    this.ancestors.delete(o);
  }
}

/** Throws unless `o` is a plain object (prototype Object.prototype or null, no symbol keys); returns its keys. */
export function checkPlainObject(o: unknown, what: string): string[] {
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

/** Freezes `v` and everything in it; returns it. */
export function deepFreeze(v: JsonValue): JsonValue {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/** A frozen, independent value equal to the canonical text `json` (`v` is the value it was made from). */
export function frozenValue(v: unknown, json: string): JsonValue {
  if (typeof v !== 'object' || v === null) return v === 0 ? 0 : (v as JsonValue);
  return deepFreeze(JSON.parse(json) as JsonValue);
}

/**
 * Returns `name` if it can name a top-level field: a string without lone surrogates of at most
 * {@link MAX_FIELD_NAME_BYTES} UTF-8 bytes. Throws otherwise, naming it `what`.
 */
export function checkFieldName(name: unknown, what: string): string {
  if (typeof name !== 'string') throw new InvalidArgumentError(`${what} must be a string`);
  if (LONE_SURROGATE.test(name))
    throw new InvalidArgumentError(`${what} ${JSON.stringify(name)} has a lone surrogate`);
  const byteCount = utf8Length(name);
  if (byteCount > MAX_FIELD_NAME_BYTES)
    throw limitError('MAX_FIELD_NAME_BYTES', MAX_FIELD_NAME_BYTES, byteCount, what);
  return name;
}
