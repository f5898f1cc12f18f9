/**
 * The canonical bytes of a document's LWW state (docs/crdt.md, "State encoding"), version 2.
 * Stamps repeat within a state (a put stamps the document and every field it writes with the
 * same one; one device writes most fields), so each distinct author and each distinct stamp is
 * written once, in a table, and referred to by index:
 *
 *   u8 version (2)
 *   varint A ‖ A authors (32 bytes each, strictly ascending bytewise)
 *   varint S ‖ S stamps (10-byte HLC ‖ varint author index), strictly ascending by (HLC, author)
 *   u8 flags (1 writtenAt, 2 clearedAt, 4 deleted) ‖ a varint stamp index per flag set, in that order
 *   varint R ‖ R registers, strictly ascending by field name (UTF-8 bytes), each:
 *     varint-length name (UTF-8) ‖ varint stamp index ‖ u8 kind (0 unset, 1 value)
 *     ‖ for a value: varint-length canonical JSON (UTF-8)
 *
 * Every author and stamp in the tables is referred to at least once. Peers holding the same
 * state produce the same bytes. {@link decodeState} accepts only those bytes (strictly, it
 * re-encodes the result and compares); the database reads back rows it wrote itself through a
 * checksummed store, and for those {@link materializeEncoded} goes straight from the bytes to
 * the visible document.
 */

import { assert } from '../assert.ts';
import { commitBytes, copyBytes, copyPrefix, reserveBytes, reservedStart } from '../bytes.ts';
import { InvalidArgumentError } from '../errors.ts';
import { bytesEqual, compareBytes, DecodeError, ScratchBuffer, varintLength } from '../lsm/coding.ts';
import {
  asciiFieldsText,
  asciiFieldsTextAt,
  type CanonicalFields,
  fieldJsonLength,
  fieldJsons,
  fieldNames,
  isCanonicalFields,
} from './canonical-fields.ts';
import { decodeHlc, HLC_BYTES } from './hlc.ts';
import {
  canonicalJson,
  checkFieldName,
  compareUtf8,
  deepFreeze,
  frozenValue,
  type JsonObject,
  type JsonValue,
} from './json.ts';
import {
  AUTHOR_BYTES,
  checkStamp,
  compareStamp,
  type DocState,
  EMPTY_DOC_STATE,
  type FieldRegister,
  mergeStates,
  type Stamp,
} from './lww.ts';
import { decodeUtf8, prefixedBytesMaxOfUnits, prefixedUtf8BytesMax, writePrefixedUtf8 } from './utf8.ts';

/** Version byte at the start of {@link canonicalEncodeState}'s output. */
export const STATE_FORMAT_VERSION = 2;

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

function writeHlc(out: Uint8Array, at: number, s: Stamp): number {
  const { wallMs, logical } = s.hlc;
  const high = Math.floor(wallMs / 4294967296);
  const low = wallMs >>> 0;
  out[at] = high >>> 8;
  out[at + 1] = high & 0xff;
  out[at + 2] = low >>> 24;
  out[at + 3] = (low >>> 16) & 0xff;
  out[at + 4] = (low >>> 8) & 0xff;
  out[at + 5] = low & 0xff;
  out[at + 6] = logical >>> 24;
  out[at + 7] = (logical >>> 16) & 0xff;
  out[at + 8] = (logical >>> 8) & 0xff;
  out[at + 9] = logical & 0xff;
  return at + HLC_BYTES;
}

/** The distinct stamps of a state, ascending, and their distinct authors, ascending. */
class StampTable {
  readonly stamps: Stamp[] = [];
  readonly authors: Uint8Array[] = [];
  /** `authorOf[i]`: the index in `authors` of `stamps[i]`'s author. */
  readonly authorOf: number[] = [];
  /** Index by stamp object: states share stamp objects, so most lookups end here. */
  private readonly byObject = new Map<Stamp, number>();

  constructor(all: Stamp[]) {
    // Most states hold one stamp object throughout (a document one write created).
    if (all.length > 0 && all.every((s) => s === all[0])) {
      this.stamps.push(all[0]!);
      this.authors.push(all[0]!.author);
      this.authorOf.push(0);
      this.byObject.set(all[0]!, 0);
      return;
    }
    all.sort(compareStamp);
    for (const s of all) {
      const last = this.stamps[this.stamps.length - 1];
      if (last === undefined || compareStamp(last, s) !== 0) this.stamps.push(s);
      this.byObject.set(s, this.stamps.length - 1);
    }
    const byAuthor = this.stamps.map((s, i) => [s.author, i] as const);
    byAuthor.sort((x, y) => compareBytes(x[0], y[0]));
    for (const [author, i] of byAuthor) {
      const last = this.authors[this.authors.length - 1];
      if (last === undefined || compareBytes(last, author) !== 0) this.authors.push(author);
      this.authorOf[i] = this.authors.length - 1;
    }
  }

  indexOf(s: Stamp): number {
    const known = this.byObject.get(s);
    if (known !== undefined) return known;
    let lo = 0;
    let hi = this.stamps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareStamp(this.stamps[mid]!, s);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new InvalidArgumentError('stamp missing from the state table');
  }
}

/**
 * The stamp object every part of `state` holds, or undefined when they hold several (or it has
 * no stamp at all). A document one write made (every row an initial sync writes, every new
 * document) is stamped with one object throughout, and its encoding needs no table.
 */
function soleStamp(state: DocState): Stamp | undefined {
  let sole: Stamp | undefined = state.writtenAt ?? state.clearedAt ?? state.deleted;
  if (state.clearedAt !== undefined && state.clearedAt !== sole) return undefined;
  if (state.deleted !== undefined && state.deleted !== sole) return undefined;
  for (const reg of state.fields.values()) {
    if (sole === undefined) sole = reg.stamp;
    else if (reg.stamp !== sole) return undefined;
  }
  return sole;
}

/** The state's flags: which of writtenAt, clearedAt and deleted it has (layout in the file header). */
const FLAG_WRITTEN = 1;
const FLAG_CLEARED = 2;
const FLAG_DELETED = 4;

/**
 * Writes the start of a state whose every part holds `stamp`, at `start` in `out`: the
 * version, the one author and the one stamp, and `flags` with stamp index 0 for each flag set.
 * Returns the end (where the registers follow).
 */
function writeSoleStampHead(out: Uint8Array, start: number, stamp: Stamp, flags: number): number {
  out[start] = STATE_FORMAT_VERSION;
  out[start + 1] = 1; // one author
  out.set(stamp.author, start + 2);
  let at = start + 2 + AUTHOR_BYTES;
  out[at++] = 1; // one stamp
  at = writeHlc(out, at, stamp);
  out[at++] = 0; // its author's index
  out[at++] = flags;
  for (let f = flags; f !== 0; f >>>= 1) if ((f & 1) !== 0) out[at++] = 0;
  return at;
}

/**
 * {@link canonicalEncodeState} of a state whose parts all hold the stamp `sole`: the same bytes,
 * with one author and one stamp in the tables and every reference to them 0, written without
 * building a stamp table. Names already in order (as canonical fields put them) are not sorted.
 */
function encodeSoleStamp(state: DocState, sole: Stamp): Uint8Array {
  const { writtenAt, clearedAt, deleted, fields } = state;
  const names: string[] = [];
  let sorted = true;
  let room = 1 + 1 + AUTHOR_BYTES + 1 + HLC_BYTES + 1 + 1 + 3 + varintLength(fields.size);
  for (const [name, reg] of fields) {
    if (sorted && names.length > 0 && compareUtf8(names[names.length - 1]!, name) > 0) sorted = false;
    names.push(name);
    room += prefixedUtf8BytesMax(name) + 2;
    if (reg.kind === 'value') room += prefixedUtf8BytesMax(reg.json);
  }
  if (!sorted) names.sort(compareUtf8);
  const out = stateScratch.take(room);
  const flags =
    (writtenAt ? FLAG_WRITTEN : 0) | (clearedAt ? FLAG_CLEARED : 0) | (deleted ? FLAG_DELETED : 0);
  let at = writeSoleStampHead(out, 0, sole, flags);
  at = writeVarint(out, at, names.length);
  for (const name of names) {
    const reg = fields.get(name)!;
    at = writePrefixedUtf8(name, out, at);
    out[at++] = 0; // the stamp's index
    if (reg.kind === 'unset') out[at++] = 0;
    else {
      out[at++] = 1;
      at = writePrefixedUtf8(reg.json, out, at);
    }
  }
  assert(at <= room, `state room ${room}, wrote ${at}`);
  return copyPrefix(out, at);
}

/**
 * {@link canonicalEncodeState} of the state a lone put or patch of `fields` (checked by
 * `canonicalFields`) under `stamp` makes of a document that had no state: the same bytes as
 * `canonicalEncodeState(applyOp(undefined, op))`, written straight from the checked texts
 * without building the state. A new document's write, and most of an initial sync's, is this.
 */
export function encodeFreshState(kind: 'put' | 'patch', fields: CanonicalFields, stamp: Stamp): Uint8Array {
  assert(isCanonicalFields(fields), 'fresh state of fields not made by canonicalFields');
  stamp = checkStamp(stamp, 'stamp');
  const names = fieldNames(fields);
  let room = 1 + 1 + AUTHOR_BYTES + 1 + HLC_BYTES + 1 + 1 + 2 + varintLength(names.length);
  for (let i = 0; i < names.length; i++)
    room += prefixedUtf8BytesMax(names[i]!) + 2 + prefixedBytesMaxOfUnits(fieldJsonLength(fields, i));
  // Written where it stays (a slab's free bytes), then kept at its exact length.
  const out = reserveBytes(room);
  const base = reservedStart();
  // writtenAt, and for a put clearedAt, both the stamp.
  let at = writeSoleStampHead(out, base, stamp, kind === 'put' ? FLAG_WRITTEN | FLAG_CLEARED : FLAG_WRITTEN);
  // Canonical fields are in UTF-8 byte order already, as the registers must be.
  at = writeVarint(out, at, names.length);
  const ascii = asciiFieldsText(fields);
  const copied = ascii === undefined ? -1 : copyAsciiRegisters(fields, ascii, out, at);
  if (copied >= 0) at = copied;
  else {
    const jsons = fieldJsons(fields);
    for (let i = 0; i < names.length; i++) {
      at = writePrefixedUtf8(names[i]!, out, at);
      out[at++] = 0; // the stamp's index
      out[at++] = 1; // a value
      at = writePrefixedUtf8(jsons[i]!, out, at);
    }
  }
  assert(at - base <= room, `state room ${room}, wrote ${at - base}`);
  return commitBytes(out, at);
}

const QUOTE = 0x22;
const COLON = 0x3a;

/**
 * Writes the registers of a fresh state (each name, stamp index 0, a value, its JSON) by
 * copying the texts from `bytes`, where `fields`' canonical text lies as ASCII from
 * {@link asciiFieldsTextAt}: `{"name":json,...}`. Each name is checked against its quoted
 * form there first (a name that needs escaping never matches), so the value's text is known to
 * follow its colon. Returns the end, or -1 (with `out` partly written) if a name does not match.
 */
function copyAsciiRegisters(fields: CanonicalFields, bytes: Uint8Array, out: Uint8Array, at: number): number {
  const names = fieldNames(fields);
  let p = asciiFieldsTextAt(fields) + 1; // past the opening brace
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const nl = name.length;
    if (bytes[p] !== QUOTE) return -1;
    for (let j = 0; j < nl; j++) if (bytes[p + 1 + j] !== name.charCodeAt(j)) return -1;
    if (bytes[p + 1 + nl] !== QUOTE || bytes[p + 2 + nl] !== COLON) return -1;
    at = writeVarint(out, at, nl);
    for (let j = 0; j < nl; j++) out[at + j] = bytes[p + 1 + j]!;
    at += nl;
    out[at++] = 0; // the stamp's index
    out[at++] = 1; // a value
    const jl = fieldJsonLength(fields, i);
    const q = p + 3 + nl;
    at = writeVarint(out, at, jl);
    copyBytes(bytes, q, q + jl, out, at);
    at += jl;
    p = q + jl + 1; // past the comma or the closing brace
  }
  return at;
}

/** Where {@link canonicalEncodeState} writes before copying out the exact bytes. */
const stateScratch = new ScratchBuffer();

/**
 * The canonical bytes of a state (layout in the file header): peers holding the same state
 * produce the same bytes. Written once into a scratch buffer sized for the longest possible
 * texts, then copied out exactly.
 */
export function canonicalEncodeState(state: DocState): Uint8Array {
  const sole = soleStamp(state);
  if (sole !== undefined) return encodeSoleStamp(state, sole);
  const { writtenAt, clearedAt, deleted } = state;
  const names = [...state.fields.keys()].sort(compareUtf8);
  const all: Stamp[] = [];
  for (const s of [writtenAt, clearedAt, deleted]) if (s) all.push(s);
  for (const reg of state.fields.values()) all.push(reg.stamp);
  const table = new StampTable(all);
  const { stamps, authors, authorOf } = table;
  let room = 1 + varintLength(authors.length) + AUTHOR_BYTES * authors.length + varintLength(stamps.length);
  for (let i = 0; i < stamps.length; i++) room += HLC_BYTES + varintLength(authorOf[i]!);
  room += 1 + 3 * varintLength(stamps.length) + varintLength(names.length);
  for (const name of names) {
    const reg = state.fields.get(name)!;
    room += prefixedUtf8BytesMax(name) + varintLength(stamps.length) + 1;
    if (reg.kind === 'value') room += prefixedUtf8BytesMax(reg.json);
  }
  const out = stateScratch.take(room);
  out[0] = STATE_FORMAT_VERSION;
  let at = writeVarint(out, 1, authors.length);
  for (const a of authors) {
    out.set(a, at);
    at += AUTHOR_BYTES;
  }
  at = writeVarint(out, at, stamps.length);
  for (let i = 0; i < stamps.length; i++) at = writeVarint(out, writeHlc(out, at, stamps[i]!), authorOf[i]!);
  out[at++] = (writtenAt ? 1 : 0) | (clearedAt ? 2 : 0) | (deleted ? 4 : 0);
  for (const s of [writtenAt, clearedAt, deleted]) if (s) at = writeVarint(out, at, table.indexOf(s));
  at = writeVarint(out, at, names.length);
  for (const name of names) {
    const reg = state.fields.get(name)!;
    at = writePrefixedUtf8(name, out, at);
    at = writeVarint(out, at, table.indexOf(reg.stamp));
    if (reg.kind === 'unset') {
      out[at++] = 0;
    } else {
      out[at++] = 1;
      at = writePrefixedUtf8(reg.json, out, at);
    }
  }
  assert(at <= room, `state room ${room}, wrote ${at}`);
  return copyPrefix(out, at);
}

/** A cursor over state bytes that fails with {@link DecodeError} at the first thing out of place. */
class StateReader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  need(n: number): void {
    if (this.bytes.length - this.pos < n) throw new DecodeError('state runs past the end', this.pos);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new DecodeError('varint too long', start);
  }

  /** A count of items of at least `minBytes` each, which must fit in what is left. */
  count(minBytes: number, what: string): number {
    const at = this.pos;
    const n = this.varint();
    if (n * minBytes > this.bytes.length - this.pos) throw new DecodeError(`${n} ${what} cannot fit`, at);
    return n;
  }

  /** A varint index below `limit`. */
  index(limit: number, what: string): number {
    const at = this.pos;
    const i = this.varint();
    if (i >= limit) throw new DecodeError(`${what} index ${i} out of range`, at);
    return i;
  }

  /** A length-prefixed UTF-8 string. */
  text(what: string): string {
    const n = this.varint();
    this.need(n);
    const start = this.pos;
    this.pos += n;
    try {
      return decodeUtf8(this.bytes, start, this.pos);
    } catch {
      throw new DecodeError(`${what} is not valid UTF-8`, start);
    }
  }

  /** Reads the version and skips the author and stamp tables; returns the number of stamps. */
  skipTables(): number {
    const version = this.u8();
    if (version !== STATE_FORMAT_VERSION) throw new DecodeError(`unknown state format version ${version}`, 0);
    const authors = this.count(AUTHOR_BYTES, 'authors');
    this.pos += AUTHOR_BYTES * authors;
    const stamps = this.count(HLC_BYTES + 1, 'stamps');
    for (let i = 0; i < stamps; i++) {
      this.need(HLC_BYTES);
      this.pos += HLC_BYTES;
      this.index(authors, 'author');
    }
    return stamps;
  }

  /** Reads the version and both tables. */
  tables(): Stamp[] {
    const version = this.u8();
    if (version !== STATE_FORMAT_VERSION) throw new DecodeError(`unknown state format version ${version}`, 0);
    const authorCount = this.count(AUTHOR_BYTES, 'authors');
    const authors: Uint8Array[] = [];
    for (let i = 0; i < authorCount; i++) {
      authors.push(this.bytes.slice(this.pos, this.pos + AUTHOR_BYTES));
      this.pos += AUTHOR_BYTES;
    }
    const stampCount = this.count(HLC_BYTES + 1, 'stamps');
    const stamps: Stamp[] = [];
    for (let i = 0; i < stampCount; i++) {
      this.need(HLC_BYTES);
      const hlc = decodeHlc(this.bytes, this.pos);
      this.pos += HLC_BYTES;
      stamps.push(Object.freeze({ hlc, author: authors[this.index(authorCount, 'author')]! }));
    }
    return stamps;
  }

  flags(): number {
    const flags = this.u8();
    if (flags > 7) throw new DecodeError(`unknown state flags ${flags}`, this.pos - 1);
    return flags;
  }
}

function readRegister(r: StateReader, stamp: Stamp, strict: boolean): FieldRegister {
  const at = r.pos;
  const kind = r.u8();
  if (kind === 0) return Object.freeze({ kind: 'unset', stamp });
  if (kind !== 1) throw new DecodeError(`unknown register kind ${kind}`, at);
  const textAt = r.pos;
  const text = r.text('field value');
  let value: unknown;
  let json: string;
  try {
    value = JSON.parse(text);
    // Trusted bytes were written canonical, so their text is already the canonical JSON.
    json = strict ? canonicalJson(value) : text;
  } catch (e) {
    throw new DecodeError(`field value is not valid JSON: ${(e as Error).message}`, textAt);
  }
  const frozen =
    typeof value === 'object' && value !== null ? deepFreeze(value as JsonObject) : frozenValue(value, json);
  return Object.freeze({ kind: 'value', stamp, value: frozen, json });
}

/**
 * Decodes bytes written by {@link canonicalEncodeState}. By default it accepts only the
 * canonical encoding of a normalized state (the result re-encodes to exactly `bytes`);
 * anything else is a {@link DecodeError}. With `verifyCanonical: false` (for rows the caller
 * wrote itself into a checksummed store) structure is still checked but the re-encoding,
 * most of the cost, is skipped.
 */
export function decodeState(bytes: Uint8Array, options: { verifyCanonical?: boolean } = {}): DocState {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('bytes must be a Uint8Array');
  const strict = options.verifyCanonical !== false;
  const r = new StateReader(bytes);
  const stamps = r.tables();
  const flags = r.flags();
  const ref = () => stamps[r.index(stamps.length, 'stamp')]!;
  const writtenAt = flags & 1 ? ref() : undefined;
  const clearedAt = flags & 2 ? ref() : undefined;
  const deleted = flags & 4 ? ref() : undefined;
  // Each register takes at least a name length, a stamp index and a kind byte.
  const count = r.count(3, 'fields');
  const fields = new Map<string, FieldRegister>();
  for (let i = 0; i < count; i++) {
    const nameAt = r.pos;
    const name = r.text('field name');
    try {
      checkFieldName(name, 'field name');
    } catch (e) {
      throw new DecodeError((e as Error).message, nameAt);
    }
    fields.set(name, readRegister(r, ref(), strict));
  }
  if (r.pos !== bytes.length) throw new DecodeError(`${bytes.length - r.pos} trailing bytes`, r.pos);
  const state = mergeStates(EMPTY_DOC_STATE, { fields, writtenAt, clearedAt, deleted });
  if (strict && !bytesEqual(canonicalEncodeState(state), bytes)) {
    throw new DecodeError('state is not in canonical form (order, duplicates, dead entries or flags)', 0);
  }
  return state;
}

/**
 * The visible document held by state bytes the caller wrote itself with
 * {@link canonicalEncodeState} (the database's own view rows): as {@link materialize} of the
 * decoded state gives it, but deep-frozen, and built straight from the bytes. A normalized
 * state keeps no dead register and no `writtenAt` at or before its delete, so the document is
 * visible exactly when `writtenAt` is present, and then its fields are every value register.
 * Structural damage is still a {@link DecodeError}; canonical form is not re-verified.
 */
export function materializeEncoded(bytes: Uint8Array): JsonObject | undefined {
  const r = new StateReader(bytes);
  const stamps = r.skipTables();
  const flags = r.flags();
  if ((flags & 1) === 0) return undefined;
  for (let f = flags; f !== 0; f >>= 1) if (f & 1) r.index(stamps, 'stamp');
  const count = r.count(3, 'fields');
  // Fields come in ascending UTF-8 order of their names, the order `materialize` defines them in.
  const doc: Record<string, JsonValue> = {};
  for (let i = 0; i < count; i++) {
    const name = fieldName(r, i);
    r.index(stamps, 'stamp');
    const kind = r.u8();
    if (kind === 0) continue;
    if (kind !== 1) throw new DecodeError(`unknown register kind ${kind}`, r.pos - 1);
    const n = r.varint();
    r.need(n);
    const value = jsonValueAt(bytes, r.pos, r.pos + n);
    r.pos += n;
    // A field named `__proto__` must stay an own data property, as JSON.parse would define it.
    if (name === '__proto__')
      Object.defineProperty(doc, name, { value, enumerable: true, writable: true, configurable: true });
    else doc[name] = value;
  }
  if (r.pos !== bytes.length) throw new DecodeError(`${bytes.length - r.pos} trailing bytes`, r.pos);
  return Object.freeze(doc);
}

/** Fields per document whose names {@link fieldName} remembers, and the longest name remembered. */
export const NAME_CACHE_FIELDS_MAX = 32;
export const NAME_CACHE_BYTES_MAX = 32;
/** The UTF-8 and text of the field name last read at each position (documents of a collection share names). */
const cachedNameBytes: Uint8Array[] = [];
const cachedNames: string[] = [];

/**
 * Reads the `i`-th field name: the same string as last time when the bytes repeat, so a scan
 * of similar documents neither decodes nor allocates their names again.
 */
function fieldName(r: StateReader, i: number): string {
  const at = r.pos;
  const n = r.varint();
  r.need(n);
  const start = r.pos;
  const known = i < NAME_CACHE_FIELDS_MAX ? cachedNameBytes[i] : undefined;
  if (known !== undefined && known.length === n) {
    let same = true;
    for (let k = 0; k < n; k++) {
      if (known[k] !== r.bytes[start + k]) {
        same = false;
        break;
      }
    }
    if (same) {
      r.pos += n;
      return cachedNames[i]!;
    }
  }
  r.pos = at;
  const name = r.text('field name');
  if (i < NAME_CACHE_FIELDS_MAX && n <= NAME_CACHE_BYTES_MAX) {
    cachedNameBytes[i] = r.bytes.slice(start, start + n);
    cachedNames[i] = name;
  }
  return name;
}

/** JSON's number grammar (RFC 8259): the texts `Number` reads exactly as JSON.parse does. */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** Longest value text read without JSON.parse (short numbers and ASCII strings without escapes). */
export const JSON_FAST_PATH_BYTES_MAX = 64;

/**
 * The deep-frozen value of the canonical JSON text `bytes[start, end)`. Short numbers, literals
 * and ASCII strings without escapes are read directly (their text is canonical, so `Number` of
 * a number's text is what JSON.parse gives); everything else goes through JSON.parse.
 */
function jsonValueAt(bytes: Uint8Array, start: number, end: number): JsonValue {
  const n = end - start;
  const first = bytes[start];
  if (n > 0 && n <= JSON_FAST_PATH_BYTES_MAX) {
    if (first === 0x22 && bytes[end - 1] === 0x22 && n >= 2) {
      let text = '';
      let i = start + 1;
      for (; i < end - 1; i++) {
        const b = bytes[i]!;
        if (b >= 0x80 || b === 0x5c || b === 0x22 || b < 0x20) break;
        text += String.fromCharCode(b);
      }
      if (i === end - 1) return text;
    } else if (first === 0x2d || (first !== undefined && first >= 0x30 && first <= 0x39)) {
      let text = '';
      for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
      if (JSON_NUMBER.test(text)) {
        const v = Number(text);
        if (Number.isFinite(v)) return v === 0 ? 0 : v;
      }
    } else if (n === 4 && first === 0x74) return true;
    else if (n === 5 && first === 0x66) return false;
    else if (n === 4 && first === 0x6e) return null;
  }
  let text: string;
  let value: JsonValue;
  try {
    text = decodeUtf8(bytes, start, end);
    value = JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new DecodeError(`field value is not valid JSON: ${(e as Error).message}`, start);
  }
  return typeof value === 'object' && value !== null ? deepFreeze(value) : value === 0 ? 0 : value;
}
