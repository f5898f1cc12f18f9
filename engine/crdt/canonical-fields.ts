/**
 * A put's or patch's fields in canonical form, checked once for the entry's payload and the
 * document's state alike: from a local object (`canonicalFields`, with a direct path for flat
 * documents) or from a received payload's canonical text (`canonicalFieldsOfText`), and the
 * text written as UTF-8 from either (docs/crdt.md, "Checking a write's fields once"). Only
 * this module makes them: a private brand marks every instance, so a forged or copied object
 * is never taken for checked fields.
 */

import { assert } from '../assert.ts';
import { flatShapeOf, needsNoEscape } from './flat-shape.ts';
import {
  CanonicalJsonWriter,
  checkFieldName,
  compareUtf8,
  DEFAULT_JSON_LIMITS,
  frozenValue,
  type JsonValue,
  LONE_SURROGATE,
  MAX_FIELD_NAME_BYTES,
  MAX_JSON_BYTES,
  MAX_JSON_OBJECT_KEYS,
  MAX_JSON_STRING_BYTES,
} from './json.ts';
import { finishPrefixedText, prefixedTextStart, writeUtf8 } from './utf8.ts';

/** A put's or patch's fields, checked once and in canonical form, for the payload and the state alike. */
export interface CanonicalFields {
  /** The canonical JSON text of the whole object (what a payload carries). */
  readonly text: string;
  /** Field names in UTF-8 byte order. */
  readonly names: readonly string[];
  /** `jsons[i]` is the canonical text of field `names[i]`'s value. */
  readonly jsons: readonly string[];
  /** `values[i]` is field `names[i]`'s value: deep-frozen, independent of the caller's object, `-0` as `0`. */
  readonly values: readonly JsonValue[];
}

/**
 * Checks `fields` as a document's fields, exactly as {@link canonicalJson} checks an object
 * (within {@link DEFAULT_JSON_LIMITS}, the object itself at depth 1) and every top-level name
 * with {@link checkFieldName}, and returns them in canonical form. One walk serves both the
 * entry's payload and the document state, which would otherwise validate and serialise the
 * same values again (and those checks are implied by this one: each value is at least one
 * level shallower, and its text shorter, than the whole object's).
 */
export function canonicalFields(fields: object): CanonicalFields {
  const flat = flatFields(fields);
  if (flat !== undefined) return flat;
  const { text, names, jsons } = new CanonicalJsonWriter(DEFAULT_JSON_LIMITS).fields(fields);
  const values: JsonValue[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = checkFieldName(names[i], 'field name');
    values.push(frozenValue((fields as Record<string, unknown>)[name], jsons[i]!));
  }
  return seal(text, names, jsons, values);
}

/**
 * {@link canonicalFields} of a plain object whose values are all strings, finite numbers,
 * booleans or null and whose sizes are far within every limit (three UTF-8 bytes per UTF-16
 * unit at most): the common document, written without the general walk. Anything else,
 * including anything that would fail a check, returns undefined and takes the general path,
 * which then reports it exactly.
 */
function flatFields(fields: object): CanonicalFields | undefined {
  const proto = Object.getPrototypeOf(fields);
  if (proto !== Object.prototype && proto !== null) return undefined;
  if (Object.getOwnPropertySymbols(fields).length > 0) return undefined;
  const shape = flatShapeOf(Object.keys(fields));
  if (shape === undefined) return undefined;
  const { names, nameJsons } = shape;
  // Sized once: arrays grown by push would reserve room for 17 elements each.
  const jsons = new Array<string>(names.length);
  const values = new Array<JsonValue>(names.length);
  // The text's length: braces, and per field its name, a colon, its value and a comma but one.
  let textLength = shape.namesTextLength;
  let unquoted = 0;
  for (let i = 0; i < names.length; i++) {
    const v: unknown = (fields as Record<string, unknown>)[names[i]!];
    let json: string;
    if (typeof v === 'string') {
      if (3 * v.length > MAX_JSON_STRING_BYTES) return undefined;
      if (needsNoEscape(v)) {
        if (i < UNQUOTED_FIELDS_MAX) {
          // Its JSON is the string in quotes: kept as it is, quoted only if someone asks.
          jsons[i] = v;
          values[i] = v;
          unquoted |= 1 << i;
          textLength += v.length + 2;
          continue;
        }
        json = `"${v}"`;
      } else if (LONE_SURROGATE.test(v)) return undefined;
      else json = JSON.stringify(v);
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return undefined;
      // What JSON.stringify writes for a finite number (Number::toString, "0" for -0), in half the time.
      json = String(v);
    } else if (typeof v === 'boolean') json = v ? 'true' : 'false';
    else if (v === null) json = 'null';
    else return undefined;
    textLength += json.length;
    jsons[i] = json;
    values[i] = (v === 0 ? 0 : v) as JsonValue;
  }
  if (3 * textLength > MAX_JSON_BYTES) return undefined;
  return new SealedFields(undefined, textLength, nameJsons, names, jsons, values, unquoted);
}

/**
 * Fields (the first ones) whose plain string values a SealedFields keeps unquoted, one bit
 * each: quoting a value made a new string per field, which the payload's writer then had to
 * flatten before reading it, while the quotes can be written around the value instead.
 */
const UNQUOTED_FIELDS_MAX = 31;

/** Whether bit `i` of `mask` is set (a shift count is taken modulo 32, so fields past the mask never are). */
function isUnquoted(mask: number, i: number): boolean {
  return i < UNQUOTED_FIELDS_MAX && ((mask >>> i) & 1) === 1;
}

/**
 * {@link canonicalFields} of the object whose JSON text is `text`, when `text` is already that
 * object's canonical text and the object is flat (every value a string, finite number, boolean
 * or null) and far within every limit, as every payload this engine writes is: read in one
 * pass, without parsing the text into an object and serialising it again (a received entry's
 * fields cost about 1 µs less). Anything else (whitespace, escapes, keys out of order or
 * repeated, a number not in its shortest form, nesting, `__proto__`) returns undefined, and
 * the caller parses and canonicalises it the general way, which reports problems exactly. So
 * when this returns fields, they are those of `canonicalFields(JSON.parse(text))`.
 */
export function canonicalFieldsOfText(text: string): CanonicalFields | undefined {
  const fields = readFieldsText(text);
  // The reused arrays keep room (and the last call's strings) only for a document's few fields.
  if (textNames.length > TEXT_PARTS_KEPT_MAX) {
    textNames.length = 0;
    textJsons.length = 0;
    textValues.length = 0;
  }
  return fields;
}

/** Most parts the arrays {@link canonicalFieldsOfText} reuses keep between calls. */
const TEXT_PARTS_KEPT_MAX = 64;

/** The parse behind {@link canonicalFieldsOfText}. */
function readFieldsText(text: string): CanonicalFields | undefined {
  const end = text.length;
  if (end < 2 || 3 * end > MAX_JSON_BYTES || text.charCodeAt(0) !== OPEN_BRACE) return undefined;
  // Parts are gathered in arrays reused between calls (nothing here calls out, so no call can
  // interleave) and copied out at their exact size: arrays grown by push from empty reserve
  // room for 17 elements each, most of a received payload's allocation.
  // (Their length is never cut: that would free the room they keep.)
  const names = textNames;
  const jsons = textJsons;
  const values = textValues;
  let count = 0;
  let at = 1;
  if (text.charCodeAt(at) === CLOSE_BRACE) return at + 1 === end ? sealCopies(text, 0) : undefined;
  for (;;) {
    const nameEnd = plainStringEnd(text, at);
    if (nameEnd < 0 || text.charCodeAt(nameEnd) !== COLON) return undefined;
    const name = text.slice(at + 1, nameEnd - 1);
    if (3 * name.length > MAX_FIELD_NAME_BYTES || name === '__proto__') return undefined;
    if (count === MAX_JSON_OBJECT_KEYS) return undefined;
    if (count > 0 && compareUtf8(names[count - 1]!, name) >= 0) return undefined;
    at = nameEnd + 1;
    const valueEnd = canonicalScalarEnd(text, at);
    if (valueEnd < 0) return undefined;
    const json = text.slice(at, valueEnd);
    const c = text.charCodeAt(at);
    let value: JsonValue;
    if (c === QUOTE) {
      value = text.slice(at + 1, valueEnd - 1);
      if (3 * value.length > MAX_JSON_STRING_BYTES) return undefined;
    } else if (c === LETTER_T) value = true;
    else if (c === LETTER_F) value = false;
    else if (c === LETTER_N) value = null;
    else value = Number(json);
    names[count] = name;
    jsons[count] = json;
    values[count] = value;
    count++;
    at = valueEnd;
    const next = text.charCodeAt(at);
    if (next === COMMA) at++;
    else if (next === CLOSE_BRACE && at + 1 === end) return sealCopies(text, count);
    else return undefined;
  }
}

/** {@link canonicalFieldsOfText}'s parts as they are gathered (see there). */
const textNames: string[] = [];
const textJsons: string[] = [];
const textValues: JsonValue[] = [];

/** Seals `text` with copies of the first `count` parts {@link canonicalFieldsOfText} gathered. */
function sealCopies(text: string, count: number): CanonicalFields {
  return seal(text, textNames.slice(0, count), textJsons.slice(0, count), textValues.slice(0, count));
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LETTER_T = 0x74;
const LETTER_F = 0x66;
const LETTER_N = 0x6e;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Digits of an integer that prints exactly as written (below 2^53 whatever the digits). */
const EXACT_INTEGER_DIGITS_MAX = 15;

/**
 * Where the JSON string starting at `text[at]` ends (one past its closing quote), if it is
 * written as `JSON.stringify` writes it and needs no escape: no backslash, no control character,
 * no lone surrogate. -1 otherwise.
 */
function plainStringEnd(text: string, at: number): number {
  if (text.charCodeAt(at) !== QUOTE) return -1;
  for (let i = at + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH || c < 0x20) return -1;
    if (c >= 0xd800 && c <= 0xdfff) {
      // A pair (high then low) is text; any other surrogate is lone and would be escaped.
      const low = text.charCodeAt(i + 1);
      if (c >= 0xdc00 || !(low >= 0xdc00 && low <= 0xdfff)) return -1;
      i++;
    }
  }
  return -1;
}

/**
 * Where the canonical JSON scalar starting at `text[at]` ends: a plain string, `true`, `false`,
 * `null`, or a finite number as `JSON.stringify` writes it. -1 for anything else.
 */
function canonicalScalarEnd(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c === QUOTE) return plainStringEnd(text, at);
  if (c === LETTER_T) return text.startsWith('true', at) ? at + 4 : -1;
  if (c === LETTER_F) return text.startsWith('false', at) ? at + 5 : -1;
  if (c === LETTER_N) return text.startsWith('null', at) ? at + 4 : -1;
  if (c !== MINUS && !(c >= DIGIT_0 && c <= DIGIT_9)) return -1;
  let i = at + 1;
  while (i < text.length && isNumberChar(text.charCodeAt(i))) i++;
  const digits = i - (c === MINUS ? at + 1 : at);
  const first = text.charCodeAt(c === MINUS ? at + 1 : at);
  // A plain integer without a leading zero prints as written up to 15 digits ("-0" excepted);
  // anything else is canonical only if it is what the number prints as.
  let plain = digits > 0 && digits <= EXACT_INTEGER_DIGITS_MAX && first !== DIGIT_0;
  for (let k = i - digits; plain && k < i; k++) {
    const d = text.charCodeAt(k);
    plain = d >= DIGIT_0 && d <= DIGIT_9;
  }
  if (plain || (digits === 1 && first === DIGIT_0 && c !== MINUS)) return i;
  const json = text.slice(at, i);
  const n = Number(json);
  return Number.isFinite(n) && String(n) === json ? i : -1;
}

function isNumberChar(c: number): boolean {
  return (
    (c >= DIGIT_0 && c <= DIGIT_9) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === MINUS
  );
}

/**
 * The only class whose instances pass {@link isCanonicalFields}: its private brand cannot be
 * forged or copied onto another object, and checking it costs a field lookup (a WeakSet of
 * every made object cost the write path an ephemeron-table insertion per write).
 *
 * The parts live in private fields, which nothing outside this class can change or shadow;
 * the engine reads them through {@link fieldNames}, {@link fieldJsons} and {@link fieldValues}.
 * The public getters hand out the same arrays frozen, freezing them on first use: freezing
 * three arrays and the instance on every write cost about 0.15 µs a document (each freeze is a
 * call into the runtime), and a local write's parts are seldom read by anyone else.
 */
class SealedFields implements CanonicalFields {
  readonly #sealed = true;
  readonly #names: readonly string[];
  /** Each value's JSON text, except where {@link unquoted} says it is the string itself. */
  readonly #jsons: string[];
  readonly #values: readonly JsonValue[];
  /** Bit `i` set: `#jsons[i]` is a plain string value, whose JSON is it in quotes. */
  #unquoted: number;
  /** Set once the public getters have frozen the arrays. */
  #frozen = false;
  /** The text, once built or when it came first (a received payload's). */
  #text: string | undefined;
  /** The text's length in UTF-16 units. */
  readonly #textLength: number;
  /** Each name's JSON text, when the text is to be built from the parts. */
  readonly #nameJsons: readonly string[] | undefined;
  /** Bytes holding the text's UTF-8 when it is all ASCII (see {@link noteAsciiText}). */
  #ascii: Uint8Array | undefined;
  #asciiAt = 0;

  /**
   * Either `text` is the text, or it is undefined and `textLength` and `nameJsons` are what
   * {@link text} builds it from. Takes ownership of the arrays: nobody else may hold them.
   */
  constructor(
    text: string | undefined,
    textLength: number,
    nameJsons: readonly string[] | undefined,
    names: readonly string[],
    jsons: string[],
    values: readonly JsonValue[],
    unquoted = 0,
  ) {
    assert(text !== undefined || nameJsons !== undefined, 'sealed fields without a text or its parts');
    this.#text = text;
    this.#textLength = text === undefined ? textLength : text.length;
    this.#nameJsons = nameJsons;
    this.#names = names;
    this.#jsons = jsons;
    this.#values = values;
    this.#unquoted = unquoted;
  }

  /** Field names in UTF-8 byte order (frozen). */
  get names(): readonly string[] {
    this.#freeze();
    return this.#names;
  }

  /** `jsons[i]` is the canonical text of field `names[i]`'s value (frozen). */
  get jsons(): readonly string[] {
    this.#freeze();
    return this.#jsons;
  }

  /** Quotes the values kept unquoted, so that every `#jsons[i]` is its text. */
  #quoteAll(): void {
    const unquoted = this.#unquoted;
    if (unquoted === 0) return;
    const jsons = this.#jsons;
    for (let i = 0; i < UNQUOTED_FIELDS_MAX; i++) if ((unquoted & (1 << i)) !== 0) jsons[i] = `"${jsons[i]}"`;
    this.#unquoted = 0;
  }

  /** The length of value `i`'s JSON text. */
  jsonLength(i: number): number {
    return this.#jsons[i]!.length + (isUnquoted(this.#unquoted, i) ? 2 : 0);
  }

  /** `values[i]` is field `names[i]`'s value (frozen, deep-frozen values). */
  get values(): readonly JsonValue[] {
    this.#freeze();
    return this.#values;
  }

  #freeze(): void {
    if (this.#frozen) return;
    this.#quoteAll();
    Object.freeze(this.#names);
    Object.freeze(this.#jsons);
    Object.freeze(this.#values);
    this.#frozen = true;
  }

  /**
   * The canonical JSON text of the whole object. Fields checked from a local object build it
   * only when asked: a local write's payload is written from the parts ({@link writeFieldsText}),
   * which saves the string and its flattening.
   */
  get text(): string {
    if (this.#text === undefined) {
      this.#quoteAll();
      const names = this.#names;
      const jsons = this.#jsons;
      const nameJsons = this.#nameJsons!;
      let text = '{';
      for (let i = 0; i < names.length; i++) text += `${i > 0 ? ',' : ''}${nameJsons[i]}:${jsons[i]}`;
      this.#text = `${text}}`;
    }
    return this.#text;
  }

  /** The text's length in UTF-16 units (without building it). */
  get textLength(): number {
    return this.#textLength;
  }

  /** Writes the text as UTF-8 at `at` in `out` (room for 3 bytes per unit); returns the end. */
  writeText(out: Uint8Array, at: number): number {
    if (this.#text !== undefined) return writeUtf8(this.#text, out, at);
    const names = this.#names;
    const jsons = this.#jsons;
    const nameJsons = this.#nameJsons!;
    const unquoted = this.#unquoted;
    out[at++] = OPEN_BRACE;
    for (let i = 0; i < names.length; i++) {
      if (i > 0) out[at++] = COMMA;
      at = writeUtf8(nameJsons[i]!, out, at);
      out[at++] = COLON;
      if (!isUnquoted(unquoted, i)) at = writeUtf8(jsons[i]!, out, at);
      else {
        out[at++] = QUOTE;
        at = writeUtf8(jsons[i]!, out, at);
        out[at++] = QUOTE;
      }
    }
    out[at++] = CLOSE_BRACE;
    return at;
  }

  /** Records that the text's UTF-8, all ASCII, is at `bytes[at, at + textLength)`. */
  noteAsciiText(bytes: Uint8Array, at: number): void {
    assert(at >= 0 && at + this.#textLength <= bytes.length, 'ascii text within its bytes');
    this.#ascii = bytes;
    this.#asciiAt = at;
  }

  /** The bytes {@link noteAsciiText} recorded, or undefined. */
  get asciiBytes(): Uint8Array | undefined {
    return this.#ascii;
  }

  /** Where the text starts in {@link asciiBytes}. */
  get asciiAt(): number {
    return this.#asciiAt;
  }

  /** The names, unfrozen (see {@link fieldNames}). */
  static namesOf(f: SealedFields): readonly string[] {
    return f.#names;
  }

  /** The values' texts, unfrozen (see {@link fieldJsons}). */
  static jsonsOf(f: SealedFields): readonly string[] {
    f.#quoteAll();
    return f.#jsons;
  }

  /** The values, unfrozen (see {@link fieldValues}). */
  static valuesOf(f: SealedFields): readonly JsonValue[] {
    return f.#values;
  }

  /** True when `v` is a SealedFields (made by this module). */
  static has(v: object): boolean {
    return #sealed in v;
  }
}

/**
 * @internal `fields.names` as the engine reads it: from the private field, without freezing
 * it first. The caller must not change the array.
 */
export function fieldNames(fields: CanonicalFields): readonly string[] {
  assert(isCanonicalFields(fields), 'fields not made by canonicalFields');
  return SealedFields.namesOf(fields as SealedFields);
}

/** @internal `fields.jsons` as the engine reads it (see {@link fieldNames}). */
export function fieldJsons(fields: CanonicalFields): readonly string[] {
  assert(isCanonicalFields(fields), 'fields not made by canonicalFields');
  return SealedFields.jsonsOf(fields as SealedFields);
}

/**
 * @internal The length of the JSON text of `fields`' value `i` (`fieldJsons(fields)[i].length`,
 * without quoting a plain string value to measure it).
 */
export function fieldJsonLength(fields: CanonicalFields, i: number): number {
  assert(isCanonicalFields(fields), 'fields not made by canonicalFields');
  return (fields as SealedFields).jsonLength(i);
}

/** @internal `fields.values` as the engine reads it (see {@link fieldNames}). */
export function fieldValues(fields: CanonicalFields): readonly JsonValue[] {
  assert(isCanonicalFields(fields), 'fields not made by canonicalFields');
  return SealedFields.valuesOf(fields as SealedFields);
}

function seal(text: string, names: string[], jsons: string[], values: JsonValue[]): CanonicalFields {
  return new SealedFields(text, text.length, undefined, names, jsons, values);
}

/**
 * Writes `fields`' canonical text as UTF-8, prefixed by its byte length as a LEB128 varint, at
 * `at` in `out`, which has room for {@link fieldsTextBytesMax}(fields); returns the offset just
 * past it. The same bytes as `writePrefixedUtf8(fields.text, out, at)`, without needing the
 * text as a string.
 */
export function writePrefixedFieldsText(fields: CanonicalFields, out: Uint8Array, at: number): number {
  assert(fields instanceof SealedFields, 'fields not made by canonicalFields');
  const start = prefixedTextStart(at, fields.textLength);
  return finishPrefixedText(out, at, start, fields.writeText(out, start));
}

/**
 * Records where `fields`' text was written or read as UTF-8: `bytes[at, at + byteLength)`.
 * When that is as many bytes as the text has UTF-16 units, every character is ASCII (any other
 * takes two bytes or more), so each byte is a character code and a name's or value's text can
 * be copied from those bytes instead of encoded again ({@link asciiFieldsText}). Otherwise
 * nothing is recorded. The bytes must not change while `fields` is in use.
 */
export function noteFieldsTextBytes(
  fields: CanonicalFields,
  bytes: Uint8Array,
  at: number,
  byteLength: number,
): void {
  assert(fields instanceof SealedFields, 'fields not made by canonicalFields');
  if (byteLength === fields.textLength) fields.noteAsciiText(bytes, at);
}

/**
 * The bytes {@link noteFieldsTextBytes} recorded for `fields`' all-ASCII text (it starts at
 * {@link asciiFieldsTextAt}), or undefined.
 */
export function asciiFieldsText(fields: CanonicalFields): Uint8Array | undefined {
  return fields instanceof SealedFields ? fields.asciiBytes : undefined;
}

/** Where `fields`' text starts in {@link asciiFieldsText}'s bytes. */
export function asciiFieldsTextAt(fields: CanonicalFields): number {
  return fields instanceof SealedFields ? fields.asciiAt : 0;
}

/** The length in UTF-16 units of `fields`' canonical text (without building it). */
export function fieldsTextLength(fields: CanonicalFields): number {
  assert(fields instanceof SealedFields, 'fields not made by canonicalFields');
  return fields.textLength;
}

/**
 * Writes `fields`' canonical text as UTF-8 (no length prefix) at `at` in `out`, which has room
 * for three bytes per UTF-16 unit of it; returns the end.
 */
export function writeFieldsText(fields: CanonicalFields, out: Uint8Array, at: number): number {
  assert(fields instanceof SealedFields, 'fields not made by canonicalFields');
  return fields.writeText(out, at);
}

/** Room {@link writePrefixedFieldsText} may need: a varint and three bytes per UTF-16 unit. */
export function fieldsTextBytesMax(fields: CanonicalFields): number {
  assert(fields instanceof SealedFields, 'fields not made by canonicalFields');
  const units = fields.textLength;
  return prefixedTextStart(0, units) + 3 * units;
}

/** True when `v` was made by {@link canonicalFields}: its fields were checked, and it is frozen. */
export function isCanonicalFields(v: unknown): v is CanonicalFields {
  return typeof v === 'object' && v !== null && SealedFields.has(v);
}
