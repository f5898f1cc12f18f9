/**
 * Merges several sorted cursors into one. Children are listed newest source first; on equal
 * internal keys (which a correct store never produces) the earlier child wins, so the result
 * is deterministic either way.
 *
 * A linear scan for the minimum is used instead of a heap: the store keeps few sources (the
 * memtables plus a handful of size-tiered runs, bounded by MAX_TABLES), and for that count a
 * scan is as fast and much simpler.
 */

import { assert } from '../assert.ts';
import { compareInternalKeys } from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';

/** A cursor over the union of `children`. */
export class MergingIterator implements InternalIterator {
  private current = -1;

  constructor(private readonly children: readonly InternalIterator[]) {}

  private findSmallest(): void {
    let best = -1;
    let bestKey: Uint8Array | undefined;
    for (let i = 0; i < this.children.length; i++) {
      const c = this.children[i]!;
      if (!c.valid()) continue;
      const k = c.key();
      if (bestKey === undefined || compareInternalKeys(k, bestKey) < 0) {
        best = i;
        bestKey = k;
      }
    }
    this.current = best;
  }

  valid(): boolean {
    return this.current >= 0;
  }

  seekToFirst(): void {
    for (const c of this.children) c.seekToFirst();
    this.findSmallest();
  }

  seek(target: Uint8Array): void {
    for (const c of this.children) c.seek(target);
    this.findSmallest();
  }

  next(): void {
    assert(this.current >= 0, 'merging iterator: next() past the end');
    this.children[this.current]!.next();
    this.findSmallest();
  }

  key(): Uint8Array {
    assert(this.current >= 0, 'merging iterator: key() past the end');
    return this.children[this.current]!.key();
  }

  value(): Uint8Array {
    assert(this.current >= 0, 'merging iterator: value() past the end');
    return this.children[this.current]!.value();
  }
}
