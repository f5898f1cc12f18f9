/**
 * Lowercase hex for keys and hashes, shared by every layer (author keys in state vectors,
 * error messages, logs). Decoding is strict: anything but an even number of hex digits is a
 * typed error, never a silently zeroed byte.
 */

import { InvalidArgumentError } from './errors.ts';

/** The two lowercase hex digits of every byte value. */
const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** The value of every lowercase hex digit by char code, -1 for every other code below 128. */
const DIGIT_VALUE: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let d = 0; d < 16; d++) t[d.toString(16).charCodeAt(0)] = d;
  return t;
})();

/**
 * Lowercase hex of `bytes`. A table lookup per byte: author keys are turned into hex for every
 * state vector a sync sends, so this runs tens of thousands of times per simulated run.
 */
export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_HEX[bytes[i]!]!;
  return s;
}

/** The value of the lowercase hex digit at `text[i]`, or -1. */
function digitAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? DIGIT_VALUE[c]! : -1;
}

/** The bytes of lowercase hex `text`; throws `InvalidArgumentError` on anything else. */
export function hexToBytes(text: string): Uint8Array {
  const bad = () => new InvalidArgumentError(`not lowercase hex: ${String(text).slice(0, 80)}`);
  if (typeof text !== 'string' || text.length % 2 !== 0) throw bad();
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = digitAt(text, 2 * i);
    const lo = digitAt(text, 2 * i + 1);
    if (hi < 0 || lo < 0) throw bad();
    out[i] = hi * 16 + lo;
  }
  return out;
}
