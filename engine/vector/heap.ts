/**
 * A binary min-heap of (key, node) pairs in two typed arrays, so that the search loop allocates
 * nothing and touches no objects. A max-heap is the same heap over negated keys (negation is
 * exact, so no ordering information is lost).
 */

import { assert } from '../assert.ts';

/** Most entries a heap may grow to (an `ef` of {@link MAX_EF} plus one node's links is far below). */
export const HEAP_CAPACITY_MAX = 1 << 26;

/** A binary min-heap keyed by a double, carrying an int32 node per entry. */
export class MinHeap {
  private keys: Float64Array;
  private nodes: Int32Array;
  /** Number of entries. */
  size = 0;

  /** An empty heap with room for `capacity` entries before it grows. */
  constructor(capacity: number) {
    assert(Number.isSafeInteger(capacity), 'heap capacity must be an integer');
    assert(capacity >= 1, 'heap capacity must be positive');
    assert(capacity <= HEAP_CAPACITY_MAX, 'heap capacity exceeds HEAP_CAPACITY_MAX');
    this.keys = new Float64Array(capacity);
    this.nodes = new Int32Array(capacity);
  }

  /** Removes every entry (keeps the storage). */
  clear(): void {
    this.size = 0;
  }

  /** Adds an entry. */
  push(key: number, node: number): void {
    if (this.size === this.keys.length) this.grow();
    const keys = this.keys;
    const nodes = this.nodes;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pk = keys[parent]!;
      if (pk <= key) break;
      keys[i] = pk;
      nodes[i] = nodes[parent]!;
      i = parent;
    }
    keys[i] = key;
    nodes[i] = node;
  }

  /** The smallest key. The heap must not be empty. */
  peekKey(): number {
    return this.keys[0]!;
  }

  /** The node of the smallest key. The heap must not be empty. */
  peekNode(): number {
    return this.nodes[0]!;
  }

  /** Removes the smallest entry and returns its node. The heap must not be empty. */
  pop(): number {
    const keys = this.keys;
    const nodes = this.nodes;
    const top = nodes[0]!;
    const size = --this.size;
    if (size === 0) return top;
    const key = keys[size]!;
    const node = nodes[size]!;
    let i = 0;
    const half = size >> 1;
    while (i < half) {
      let child = 2 * i + 1;
      let ck = keys[child]!;
      const right = child + 1;
      if (right < size) {
        const rk = keys[right]!;
        if (rk < ck) {
          child = right;
          ck = rk;
        }
      }
      if (ck >= key) break;
      keys[i] = ck;
      nodes[i] = nodes[child]!;
      i = child;
    }
    keys[i] = key;
    nodes[i] = node;
    return top;
  }

  private grow(): void {
    const capacity = this.keys.length * 2;
    assert(capacity <= HEAP_CAPACITY_MAX, 'heap grew past HEAP_CAPACITY_MAX');
    const keys = new Float64Array(capacity);
    keys.set(this.keys);
    const nodes = new Int32Array(capacity);
    nodes.set(this.nodes);
    this.keys = keys;
    this.nodes = nodes;
  }
}
