/**
 * The canonical bytes of a document's LWW state (docs/crdt.md, "State encoding"), version 1:
 *
 *   u8 version (1) ‖ u8 flags (1 writtenAt, 2 clearedAt, 4 deleted) ‖ the present stamps in
 *   that order ‖ varint register count ‖ registers sorted by field name in UTF-8 byte order,
 *   each: varint-length name (UTF-8) ‖ stamp ‖ u8 kind (0 unset, 1 value)
 *   ‖ for a value: varint-length canonical JSON (UTF-8)
 *
 * A stamp is the 10-byte HLC encoding then the 32-byte author key. Peers holding the same
 * state produce the same bytes. {@link decodeState} accepts only those bytes (strictly, it
 * re-encodes the result and compares); the database reads back rows it wrote itself through a
 * checksummed store, and for those {@link materializeEncoded} goes straight from the bytes to
 * the visible document.
 */

import { InvalidArgumentError } from '../errors.ts';
import { ByteReader, bytesEqual, DecodeError, varintLength } from '../lsm/coding.ts';
import { decodeHlc, HLC_BYTES } from './hlc.ts';
import {
  canonicalJson,
  checkFieldName,
  compareUtf8,
  deepFreeze,
  frozenValue,
  type JsonObject,
} from './json.ts';
import {
  AUTHOR_BYTES,
  type DocState,
  EMPTY_DOC_STATE,
  type FieldRegister,
  mergeStates,
  STAMP_BYTES,
  type Stamp,
} from './lww.ts';
import { decodeUtf8, utf8ByteLength, writeUtf8 } from './utf8.ts';

/** Version byte at the start of {@link canonicalEncodeState}'s output. */
export const STATE_FORMAT_VERSION = 1;

function writeStamp(out: Uint8Array, at: number, s: Stamp): number {
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
  out.set(s.author, at + HLC_BYTES);
  return at + STAMP_BYTES;
}

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

/**
 * The canonical bytes of a state (layout in the file header): peers holding the same state
 * produce the same bytes. The size is computed first, so the bytes are written once, in place.
 */
export function canonicalEncodeState(state: DocState): Uint8Array {
  const { writtenAt, clearedAt, deleted } = state;
  const names = [...state.fields.keys()].sort(compareUtf8);
  const nameBytes: number[] = [];
  const jsonBytes: number[] = [];
  let size = 2 + (writtenAt ? STAMP_BYTES : 0) + (clearedAt ? STAMP_BYTES : 0) + (deleted ? STAMP_BYTES : 0);
  size += varintLength(names.length);
  for (let i = 0; i < names.length; i++) {
    const reg = state.fields.get(names[i]!)!;
    const n = utf8ByteLength(names[i]!);
    nameBytes.push(n);
    size += varintLength(n) + n + STAMP_BYTES + 1;
    if (reg.kind === 'value') {
      const j = utf8ByteLength(reg.json);
      jsonBytes.push(j);
      size += varintLength(j) + j;
    } else jsonBytes.push(0);
  }
  const out = new Uint8Array(size);
  out[0] = STATE_FORMAT_VERSION;
  out[1] = (writtenAt ? 1 : 0) | (clearedAt ? 2 : 0) | (deleted ? 4 : 0);
  let at = 2;
  if (writtenAt) at = writeStamp(out, at, writtenAt);
  if (clearedAt) at = writeStamp(out, at, clearedAt);
  if (deleted) at = writeStamp(out, at, deleted);
  at = writeVarint(out, at, names.length);
  for (let i = 0; i < names.length; i++) {
    const reg = state.fields.get(names[i]!)!;
    at = writeUtf8(names[i]!, out, writeVarint(out, at, nameBytes[i]!));
    at = writeStamp(out, at, reg.stamp);
    if (reg.kind === 'unset') {
      out[at++] = 0;
    } else {
      out[at++] = 1;
      at = writeUtf8(reg.json, out, writeVarint(out, at, jsonBytes[i]!));
    }
  }
  return out;
}

function decodeText(bytes: Uint8Array, offset: number, what: string): string {
  try {
    return decodeUtf8(bytes, 0, bytes.length);
  } catch {
    throw new DecodeError(`${what} is not valid UTF-8`, offset);
  }
}

function readStamp(r: ByteReader): Stamp {
  const hlc = decodeHlc(r.bytes(HLC_BYTES));
  return Object.freeze({ hlc, author: r.bytes(AUTHOR_BYTES).slice() });
}

function readRegister(r: ByteReader, stamp: Stamp, strict: boolean): FieldRegister {
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
    fields.set(name, readRegister(r, readStamp(r), strict));
  }
  if (r.remaining() !== 0) throw new DecodeError(`${r.remaining()} trailing bytes`, r.pos);
  const state = mergeStates(EMPTY_DOC_STATE, { fields, writtenAt, clearedAt, deleted });
  if (strict && !bytesEqual(canonicalEncodeState(state), bytes)) {
    throw new DecodeError('state is not in canonical form (order, duplicates, dead entries or flags)', 0);
  }
  return state;
}

/** A cursor over trusted state bytes that fails with {@link DecodeError} past the end. */
class TrustedReader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  need(n: number): void {
    if (this.bytes.length - this.pos < n) throw new DecodeError('state runs past the end', this.pos);
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 8; i++) {
      this.need(1);
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new DecodeError('varint too long', start);
  }

  /** Reads a length-prefixed UTF-8 string. */
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
  if (bytes.length < 2) throw new DecodeError('state shorter than its header', 0);
  if (bytes[0] !== STATE_FORMAT_VERSION) throw new DecodeError(`unknown state format version ${bytes[0]}`, 0);
  const flags = bytes[1]!;
  if (flags > 7) throw new DecodeError(`unknown state flags ${flags}`, 1);
  if ((flags & 1) === 0) return undefined;
  const r = new TrustedReader(bytes);
  r.pos = 2 + STAMP_BYTES * ((flags & 1) + ((flags >> 1) & 1) + ((flags >> 2) & 1));
  const count = r.varint();
  let text = '{';
  for (let i = 0; i < count; i++) {
    const name = r.text('field name');
    r.need(STAMP_BYTES + 1);
    r.pos += STAMP_BYTES;
    const kind = bytes[r.pos++];
    if (kind === 0) continue;
    if (kind !== 1) throw new DecodeError(`unknown register kind ${kind}`, r.pos - 1);
    const json = r.text('field value');
    text += `${text.length > 1 ? ',' : ''}${JSON.stringify(name)}:${json}`;
  }
  if (r.pos !== bytes.length) throw new DecodeError(`${bytes.length - r.pos} trailing bytes`, r.pos);
  // One parse builds the whole object; JSON.parse defines keys as own data properties, so a
  // field named `__proto__` stays a field, as in `materialize`.
  let doc: JsonObject;
  try {
    doc = JSON.parse(`${text}}`) as JsonObject;
  } catch (e) {
    throw new DecodeError(`field value is not valid JSON: ${(e as Error).message}`, 0);
  }
  return deepFreeze(doc) as JsonObject;
}
