/**
 * Base64 for binary fields in the hub's HTTP API: base64url without padding (RFC 4648 §5) in
 * JSON bodies and headers, standard base64 with padding (§4) in Server-Sent Events data. Both
 * decoders are strict: any character outside the alphabet, a wrong length or non-zero padding
 * bits is an `InvalidArgumentError`, so one value has exactly one text form. Pure JavaScript:
 * runs in Node and in browsers without `Buffer`.
 */

import { InvalidArgumentError } from '../errors.ts';

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function table(alphabet: string): Int16Array {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
}

const STD_TABLE = table(STD);
const URL_TABLE = table(URL);

function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + alphabet[(n >>> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + alphabet[(n >>> 6) & 63]! + (pad ? '=' : '');
  }
  return out;
}

function decode(text: string, t: Int16Array, padded: boolean, what: string): Uint8Array {
  if (typeof text !== 'string') throw new InvalidArgumentError(`${what} must be a string`);
  let body = text;
  if (padded) {
    if (text.length % 4 !== 0)
      throw new InvalidArgumentError(`${what}: base64 length is not a multiple of 4`);
    if (body.endsWith('==')) body = body.slice(0, -2);
    else if (body.endsWith('=')) body = body.slice(0, -1);
  }
  if (body.length % 4 === 1) throw new InvalidArgumentError(`${what}: impossible base64 length`);
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    const v = c < 128 ? t[c]! : -1;
    if (v < 0) throw new InvalidArgumentError(`${what}: invalid base64 character at ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0)
    throw new InvalidArgumentError(`${what}: non-zero base64 padding bits`);
  return out;
}

/** base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return encode(bytes, URL, false);
}

/** Strict inverse of {@link toBase64Url}; `what` names the field in the error. */
export function fromBase64Url(text: string, what = 'value'): Uint8Array {
  return decode(text, URL_TABLE, false, what);
}

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  return encode(bytes, STD, true);
}

/** Strict inverse of {@link toBase64}; `what` names the field in the error. */
export function fromBase64(text: string, what = 'value'): Uint8Array {
  return decode(text, STD_TABLE, true, what);
}
