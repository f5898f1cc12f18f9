/**
 * Bloom filters over user keys, as stored in an SSTable's filter block.
 *
 * A filter answers "might this table hold this user key?" with no false negatives and a
 * tunable false-positive rate, so a point lookup can skip tables without reading a block.
 *
 * Hashing: two independent 32-bit hashes of the key (MurmurHash3 x86_32 under two seeds)
 * combined by Kirsch–Mitzenmacher double hashing, probe i = (h1 + i·h2) mod m. Kirsch and
 * Mitzenmacher showed this keeps the asymptotic false-positive rate of k independent hashes,
 * (1 − e^(−kn/m))^k, while computing only two.
 *
 * Encoding (see docs/formats/sstable.md): `bits[m/8] ‖ m (u32 LE) ‖ k (u8)`, bit j living in
 * byte j >> 3 under mask 1 << (j & 7).
 */

import { assert } from '../assert.ts';
import { DecodeError, getU32 } from './coding.ts';
import { TRAILER_BYTES } from './internal-key.ts';

/** Seed of the first hash (the first word of the SHA-256 initial state: nothing up our sleeve). */
export const BLOOM_SEED_1 = 0x6a09e667;
/** Seed of the second hash (the second word of the SHA-256 initial state). */
export const BLOOM_SEED_2 = 0xbb67ae85;
/** Fewest probes a filter uses. */
export const BLOOM_MIN_PROBES = 1;
/** Most probes a filter uses: more cost time and no longer lower the rate in practice. */
export const BLOOM_MAX_PROBES = 30;
/** Smallest filter in bits, so a table with few keys still gets a useful rate. */
export const BLOOM_MIN_BITS = 64;
/** Bytes after the bit array: bit count (u32) and probe count (u8). */
export const BLOOM_SUFFIX_BYTES = 5;
/** Largest bit count the u32 field can hold that is a multiple of 8. */
const BLOOM_MAX_BITS = 0xfffffff8;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function mixBlock(k: number): number {
  return Math.imul(rotl32(Math.imul(k, C1), 15), C2);
}

/**
 * MurmurHash3 x86_32 of `data[start, end)` under `seed` (Austin Appleby's public-domain hash).
 * The range form lets a caller hash a user key inside an internal key without a view.
 */
export function murmur3x86_32(data: Uint8Array, seed: number, start = 0, end = data.length): number {
  const n = end - start;
  const blocksEnd = end - (n & 3);
  let h = seed | 0;
  for (let i = start; i < blocksEnd; i += 4) {
    h ^= mixBlock(data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    h = (Math.imul(rotl32(h, 13), 5) + 0xe6546b64) | 0;
  }
  const tail = n & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= data[blocksEnd + 2]! << 16;
    if (tail >= 2) k ^= data[blocksEnd + 1]! << 8;
    k ^= data[blocksEnd]!;
    h ^= mixBlock(k);
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Probe count for `bitsPerKey`: round(bitsPerKey · ln 2), clamped to 1..30 (the optimum k). */
export function bloomProbes(bitsPerKey: number): number {
  const k = Math.round(bitsPerKey * Math.LN2);
  return Math.min(BLOOM_MAX_PROBES, Math.max(BLOOM_MIN_PROBES, k));
}

/** The textbook false-positive rate (1 − e^(−kn/m))^k of a filter with these dimensions. */
export function bloomFalsePositiveRate(options: { keys: number; bits: number; probes: number }): number {
  const { keys, bits, probes } = options;
  assert(bits > 0, 'a filter has at least one bit');
  return (1 - Math.exp((-probes * keys) / bits)) ** probes;
}

/**
 * Collects keys and encodes a filter. Memory is 8 bytes per key (two hashes), not the keys
 * themselves, because the bit count depends on how many keys there are in the end.
 */
export class BloomFilterBuilder {
  private hashes = new Uint32Array(64);
  private count = 0;

  constructor(private readonly bitsPerKey: number) {
    assert(Number.isInteger(bitsPerKey), 'bits per key is an integer');
    assert(bitsPerKey > 0, 'bits per key is positive');
  }

  /** Keys added so far. */
  get keys(): number {
    return this.count;
  }

  /** Adds a key (the caller passes each distinct key once; duplicates only waste bits). */
  add(key: Uint8Array): void {
    this.addRange(key, 0, key.length);
  }

  /** Adds the user key of internal key `ikey` (all but its trailer), without a view of it. */
  addUserKeyOf(ikey: Uint8Array): void {
    this.addRange(ikey, 0, ikey.length - TRAILER_BYTES);
  }

  private addRange(data: Uint8Array, start: number, end: number): void {
    if (this.count * 2 === this.hashes.length) {
      const next = new Uint32Array(this.hashes.length * 2);
      next.set(this.hashes);
      this.hashes = next;
    }
    this.hashes[this.count * 2] = murmur3x86_32(data, BLOOM_SEED_1, start, end);
    this.hashes[this.count * 2 + 1] = murmur3x86_32(data, BLOOM_SEED_2, start, end);
    this.count++;
  }

  /** Bytes {@link finish} will return, for size estimates. */
  estimatedBytes(): number {
    return bitCountFor(this.count, this.bitsPerKey) / 8 + BLOOM_SUFFIX_BYTES;
  }

  /** Encodes the filter over every key added. */
  finish(): Uint8Array {
    const bits = bitCountFor(this.count, this.bitsPerKey);
    const probes = bloomProbes(this.bitsPerKey);
    const out = new Uint8Array(bits / 8 + BLOOM_SUFFIX_BYTES);
    for (let i = 0; i < this.count; i++) {
      // (h1 + p·h2) mod m stepped as (h1 mod m) + p·(h2 mod m), reduced each step: the same
      // bits as the formula, in small integers instead of a float division per probe.
      let bit = this.hashes[i * 2]! % bits;
      const step = this.hashes[i * 2 + 1]! % bits;
      for (let p = 0; p < probes; p++) {
        out[bit >>> 3]! |= 1 << (bit & 7);
        bit += step;
        if (bit >= bits) bit -= bits;
      }
    }
    const at = bits / 8;
    new DataView(out.buffer).setUint32(at, bits, true);
    out[at + 4] = probes;
    return out;
  }
}

function bitCountFor(keys: number, bitsPerKey: number): number {
  const bits = Math.max(BLOOM_MIN_BITS, Math.ceil((keys * bitsPerKey) / 8) * 8);
  assert(bits <= BLOOM_MAX_BITS, 'filter too large for its u32 bit count');
  return bits;
}

/** A decoded filter. Queries read the encoded bytes in place. */
export class BloomFilter {
  private constructor(
    private readonly data: Uint8Array,
    /** Number of bits (m). */
    readonly bits: number,
    /** Number of probes per key (k). */
    readonly probes: number,
  ) {}

  /**
   * Decodes and checks an encoded filter. Throws {@link DecodeError} when the bytes are not a
   * filter this code writes: too short, a bit count that disagrees with the length, or a probe
   * count outside 1..30.
   */
  static decode(data: Uint8Array): BloomFilter {
    if (data.length < BLOOM_SUFFIX_BYTES + BLOOM_MIN_BITS / 8) {
      throw new DecodeError(`filter of ${data.length} bytes is too short`, 0);
    }
    const at = data.length - BLOOM_SUFFIX_BYTES;
    const bits = getU32(data, at);
    if (bits !== at * 8) throw new DecodeError(`filter bit count ${bits} disagrees with ${at} bytes`, at);
    const probes = data[at + 4]!;
    if (probes < BLOOM_MIN_PROBES || probes > BLOOM_MAX_PROBES) {
      throw new DecodeError(`filter probe count ${probes} outside 1..${BLOOM_MAX_PROBES}`, at + 4);
    }
    return new BloomFilter(data, bits, probes);
  }

  /** False only when `key` was certainly never added. */
  mayContain(key: Uint8Array): boolean {
    return this.mayContainHashed(murmur3x86_32(key, BLOOM_SEED_1), murmur3x86_32(key, BLOOM_SEED_2));
  }

  /** {@link mayContain} of the key whose hashes a {@link BloomProbe} holds. */
  mayContainProbe(probe: BloomProbe): boolean {
    return this.mayContainHashed(probe.h1, probe.h2);
  }

  private mayContainHashed(h1: number, h2: number): boolean {
    const bits = this.bits;
    // The same probe sequence as the builder's (see there).
    let bit = h1 % bits;
    const step = h2 % bits;
    for (let p = 0; p < this.probes; p++) {
      if ((this.data[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
      bit += step;
      if (bit >= bits) bit -= bits;
    }
    return true;
  }
}

/**
 * A key's two filter hashes, computed once for a lookup that asks several filters (one per
 * table it passes): every filter probes the same two hashes, reduced by its own bit count.
 * A point lookup in a store of four tables hashed its key eight times, about a third of a
 * write's cost in a 300K-document store (each write reads its document first).
 */
export class BloomProbe {
  /** The key's hash under {@link BLOOM_SEED_1}. */
  h1 = 0;
  /** The key's hash under {@link BLOOM_SEED_2}. */
  h2 = 0;

  /** Hashes `key`; the probe then stands for it until the next call. */
  set(key: Uint8Array): void {
    this.h1 = murmur3x86_32(key, BLOOM_SEED_1);
    this.h2 = murmur3x86_32(key, BLOOM_SEED_2);
  }
}
