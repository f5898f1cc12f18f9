/**
 * The simulator's one source of randomness. A world is built from a single integer seed;
 * every random choice in it (workload, latency, loss, crash points, clock skew) is drawn from
 * a named sub-stream of that seed, so a run replays byte for byte and adding draws to one
 * concern (say, a new workload operation) does not shift the draws of another (the network).
 *
 * Algorithm: each stream is an sfc32 generator ({@link SeededRandom}) seeded through
 * splitmix32 from a 32-bit seed. The seed of `stream(name)` is
 * `mix32(mix32(seed) ^ fnv1a32(name))`, where `fnv1a32` is 32-bit FNV-1a over the name's UTF-8
 * bytes and `mix32` is splitmix32's output finaliser (a bijection on 32 bits). It depends on
 * the parent's seed and the name only, never on how far the parent has been drawn.
 */

import { InvalidArgumentError } from '../engine/errors.ts';
import type { Random } from '../engine/io/random.ts';
import { SeededRandom } from '../engine/io/random.ts';

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

const utf8 = new TextEncoder();

/** splitmix32's output finaliser: a bijective 32-bit mix with good avalanche. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** 32-bit FNV-1a over the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET_BASIS;
  for (const byte of utf8.encode(text)) {
    h = Math.imul(h ^ byte, FNV_PRIME) >>> 0;
  }
  return h >>> 0;
}

/** The seed of sub-stream `name` of a stream seeded with `seed` (both already u32). */
export function deriveSeed(seed: number, name: string): number {
  return mix32(mix32(seed) ^ fnv1a32(name));
}

/**
 * A seeded PRNG with the helpers a simulation needs, split into independent named
 * sub-streams. Every helper consumes a fixed number of draws for given arguments (`chance`
 * always one, even for p = 0 or 1), so tuning a rate never shifts later draws.
 */
export class SimRandom extends SeededRandom implements Random {
  /** The seed this stream was built from, normalised to an unsigned 32-bit integer. */
  readonly seed: number;
  private readonly streams = new Map<string, SimRandom>();

  /** Builds a stream from any integer seed; it is reduced modulo 2^32. */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new InvalidArgumentError(`seed must be an integer, got ${seed}`);
    const normalised = seed >>> 0;
    super(normalised);
    this.seed = normalised;
  }

  /**
   * An integer in [0, n), without modulo bias (rejection sampling). `n` is a positive safe
   * integer; above 2^32 two draws are combined into 53 bits.
   */
  override int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new InvalidArgumentError(`int(n) needs a positive safe integer, got ${n}`);
    }
    if (n <= TWO_POW_32) {
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      for (;;) {
        const x = this.u32();
        if (x < limit) return x % n;
      }
    }
    const limit = TWO_POW_53 - (TWO_POW_53 % n);
    for (;;) {
      const x = (this.u32() >>> 11) * TWO_POW_32 + this.u32();
      if (x < limit) return x % n;
    }
  }

  /** True with probability `p` (in [0, 1]). Always consumes exactly one draw. */
  chance(p: number): boolean {
    if (!(p >= 0 && p <= 1)) throw new InvalidArgumentError(`chance(p) needs p in [0, 1], got ${p}`);
    return this.next() < p;
  }

  /** An integer in [min, max], both inclusive; both are safe integers with min <= max. */
  range(min: number, max: number): number {
    if (!Number.isSafeInteger(min))
      throw new InvalidArgumentError(`range min must be a safe integer: ${min}`);
    if (!Number.isSafeInteger(max))
      throw new InvalidArgumentError(`range max must be a safe integer: ${max}`);
    if (min > max) throw new InvalidArgumentError(`range min ${min} exceeds max ${max}`);
    return min + this.int(max - min + 1);
  }

  /** A uniformly chosen element of `items`; throws on an empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new InvalidArgumentError('pick() from an empty list');
    return items[this.int(items.length)] as T;
  }

  /**
   * An exponentially distributed float with the given mean (>= 0): inter-arrival times of a
   * Poisson process, or the long tail of a latency distribution. Finite: at most about
   * 22.2 * mean, because the uniform draw has 32 bits.
   */
  exponential(mean: number): number {
    if (!(mean >= 0 && Number.isFinite(mean))) {
      throw new InvalidArgumentError(`exponential(mean) needs a finite mean >= 0, got ${mean}`);
    }
    return -mean * Math.log(1 - this.next());
  }

  /**
   * The sub-stream called `name`. Its seed depends only on this stream's seed and the name,
   * so drawing from one stream never changes another. Asking twice for the same name returns
   * the same object (it continues where it was), so two parts of the harness that share a
   * name share one sequence instead of repeating each other's draws.
   */
  stream(name: string): SimRandom {
    let s = this.streams.get(name);
    if (s === undefined) {
      s = new SimRandom(deriveSeed(this.seed, name));
      this.streams.set(name, s);
    }
    return s;
  }
}
