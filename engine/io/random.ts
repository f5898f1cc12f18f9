/**
 * The randomness seam. The engine never calls `Math.random`; anything random (HNSW level
 * draws, jitter, fault choices in MemoryFs) comes from a `Random`, which the simulator derives
 * from its seed so that a run can be replayed byte for byte.
 */

/** A source of uniformly distributed numbers. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). `n` must be a positive safe integer. */
  int(n: number): number;
}

/**
 * A small, fast, seedable PRNG (sfc32, Chris Doty-Humphrey's "small fast counting" generator,
 * 128-bit state; passes PractRand to large sizes). Seeded from a 32-bit integer through
 * splitmix32 so that nearby seeds give unrelated streams.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
