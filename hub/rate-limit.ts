/**
 * Request rate limits: a token bucket per key (a device, or a client address before it has
 * authenticated). Each request takes a token; tokens refill at `perSecond` up to `burst`. The
 * table of keys is bounded: past `keysMax`, the least recently seen key is forgotten (it
 * starts again with a full bucket, which only ever errs towards serving).
 */

/** Bucket parameters. */
export interface RateLimitOptions {
  perSecond: number;
  burst: number;
  keysMax: number;
  nowMs: () => number;
}

/** Token buckets by key. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(private readonly o: RateLimitOptions) {}

  /** Takes a token for `key`; returns 0 when granted, else the ms until one is available. */
  take(key: string): number {
    const now = this.o.nowMs();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.o.keysMax) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.o.burst, atMs: now };
    } else {
      this.buckets.delete(key);
      b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.atMs) / 1000) * this.o.perSecond);
      b.atMs = now;
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / this.o.perSecond) * 1000);
  }
}
