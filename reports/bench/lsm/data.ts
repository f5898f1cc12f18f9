/**
 * The data set of the `lsm` suite: random 16-byte keys with 100-byte values, the same keys in
 * the same order for every system, derived from a fixed seed so that runs are comparable.
 */

import { assert } from '../../../engine/assert.ts';
import { SeededRandom } from '../../../engine/io/random.ts';
import { compareBytes } from '../../../engine/lsm/coding.ts';

/** Bytes per key. */
export const KEY_BYTES = 16;
/** Bytes per value. */
export const VALUE_BYTES = 100;
/** Gets per sample of the get workloads (fewer when the store holds fewer records). */
export const GETS_PER_SAMPLE_MAX = 10_000;
/** Range scans per sample of the scan workload. */
export const SCANS_PER_SAMPLE = 500;
/** Entries each range scan reads (fewer when the store holds fewer records). */
export const SCAN_ENTRIES_MAX = 100;
/** Seed of the data set; fixed so that every run measures the same keys. */
export const DATA_SEED = 0x4c534d; // "LSM"

/** The records and the read plan for one size `n`. */
export interface LsmData {
  /** Number of records. */
  n: number;
  /** Distinct random keys, in insertion order. */
  keys: Uint8Array[];
  /** `values[i]` belongs to `keys[i]`. */
  values: Uint8Array[];
  /** Keys to get in one sample, drawn uniformly (with repetition) from `keys`. */
  getKeys: Uint8Array[];
  /** Start keys of the scans in one sample; each has at least `scanEntries` keys at or after it. */
  scanStarts: Uint8Array[];
  /** Entries each scan reads. */
  scanEntries: number;
}

/** Fills `bytes` with random bytes from `random`. */
function fillRandom(random: SeededRandom, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 4) {
    const word = random.u32();
    bytes[i] = word & 0xff;
    if (i + 1 < bytes.length) bytes[i + 1] = (word >>> 8) & 0xff;
    if (i + 2 < bytes.length) bytes[i + 2] = (word >>> 16) & 0xff;
    if (i + 3 < bytes.length) bytes[i + 3] = word >>> 24;
  }
}

/** `n` distinct random keys; a (vanishingly rare) duplicate is redrawn. */
function distinctKeys(random: SeededRandom, n: number): Uint8Array[] {
  const slab = new Uint8Array(n * KEY_BYTES);
  const seen = new Set<string>();
  const keys: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const key = slab.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES);
    let text: string;
    do {
      fillRandom(random, key);
      text = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
    } while (seen.has(text));
    seen.add(text);
    keys.push(key);
  }
  return keys;
}

/** Generates the data set for `n` records; the same `n` always gives the same bytes. */
export function generateLsmData(n: number): LsmData {
  assert(Number.isSafeInteger(n), `n must be an integer, got ${n}`);
  assert(n > 0, `n must be positive, got ${n}`);
  const random = new SeededRandom(DATA_SEED ^ n);
  const keys = distinctKeys(random, n);
  const valueSlab = new Uint8Array(n * VALUE_BYTES);
  fillRandom(random, valueSlab);
  const values = keys.map((_, i) => valueSlab.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES));
  const getKeys = Array.from({ length: Math.min(n, GETS_PER_SAMPLE_MAX) }, () => keys[random.int(n)]!);
  const sorted = [...keys].sort(compareBytes);
  const scanEntries = Math.min(n, SCAN_ENTRIES_MAX);
  const startsRange = n - scanEntries + 1;
  const scanStarts = Array.from({ length: SCANS_PER_SAMPLE }, () => sorted[random.int(startsRange)]!);
  return { n, keys, values, getKeys, scanStarts, scanEntries };
}
