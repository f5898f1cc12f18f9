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
import { compareInternalKeys, compareUserKeyTo } from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';

/** A cursor over the union of `children`. */
export class MergingIterator implements InternalIterator {
  private current = -1;
  /**
   * Each child's current key (undefined when it is exhausted), asked once per move of that
   * child: a key stays valid until its cursor moves, and only the current child moves on
   * `next()`, so the others need not be asked again (memtable cursors make a view per call).
   */
  private readonly keys: (Uint8Array | undefined)[];

  /** Exclusive bound on user keys set by {@link setUpperBound} (undefined: none). */
  private upper: Uint8Array | undefined;

  constructor(private readonly children: readonly InternalIterator[]) {
    this.keys = children.map(() => undefined);
  }

  /**
   * Promises that the caller stops at the first user key >= `lt`: a child positioned at or
   * past it then counts as exhausted, so the tables and memtables a short range scan sought
   * without finding anything in the range are no longer compared on every step.
   */
  setUpperBound(lt: Uint8Array | undefined): void {
    this.upper = lt;
  }

  private keyOf(i: number): void {
    const c = this.children[i]!;
    const k = c.valid() ? c.key() : undefined;
    this.keys[i] =
      k !== undefined && this.upper !== undefined && compareUserKeyTo(k, this.upper) >= 0 ? undefined : k;
  }

  private findSmallest(): void {
    let best = -1;
    let bestKey: Uint8Array | undefined;
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k === undefined) continue;
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
    for (let i = 0; i < this.children.length; i++) {
      this.children[i]!.seekToFirst();
      this.keyOf(i);
    }
    this.findSmallest();
  }

  seek(target: Uint8Array): void {
    for (let i = 0; i < this.children.length; i++) {
      this.children[i]!.seek(target);
      this.keyOf(i);
    }
    this.findSmallest();
  }

  next(): void {
    assert(this.current >= 0, 'merging iterator: next() past the end');
    this.children[this.current]!.next();
    this.keyOf(this.current);
    this.findSmallest();
  }

  key(): Uint8Array {
    assert(this.current >= 0, 'merging iterator: key() past the end');
    return this.keys[this.current]!;
  }

  value(): Uint8Array {
    assert(this.current >= 0, 'merging iterator: value() past the end');
    return this.children[this.current]!.value();
  }
}
