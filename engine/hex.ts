/**
 * Lowercase hex for keys and hashes, shared by every layer (author keys in state vectors,
 * error messages, logs). Decoding is strict: anything but an even number of hex digits is a
 * typed error, never a silently zeroed byte.
 */

import { InvalidArgumentError } from './errors.ts';

/** Lowercase hex of `bytes`. */
export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

const HEX = /^(?:[0-9a-f]{2})*$/;

/** The bytes of lowercase hex `text`; throws `InvalidArgumentError` on anything else. */
export function hexToBytes(text: string): Uint8Array {
  if (typeof text !== 'string' || !HEX.test(text))
    throw new InvalidArgumentError(`not lowercase hex: ${String(text).slice(0, 80)}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
