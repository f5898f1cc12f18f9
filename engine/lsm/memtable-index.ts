/**
 * A hash index from user keys to the memtable node holding each key's newest version, so that
 * a point lookup costs a hash and a probe or two instead of a skip-list search. At 200K
 * entries a search touches about twenty nodes spread over the arrays (measured 1.9 µs a
 * lookup on the development machine, most of it cache misses), and every local write and
 * every received entry looks up its document's row before writing it; a key the memtable does
 * not hold (a new document) is answered by the first empty slot.
 *
 * Open addressing with linear probing over two Int32Arrays (node, and the key's 32-bit hash so
 * that most mismatches are decided without reading the key), kept at most half full, doubling
 * without reading any key (the hashes are stored). Slots hold node indices; 0 (the skip list's
 * head) means empty.
 */

import { assert } from '../assert.ts';

/** Slots at first; a power of two. */
const INITIAL_SLOTS = 1024;
/** Most slots: far more than a memtable's entries (its byte limit is reached long before). */
const SLOTS_MAX = 1 << 28;
assert((INITIAL_SLOTS & (INITIAL_SLOTS - 1)) === 0, 'memtable index: slots a power of two');

/** What the index asks of the memtable about its nodes. */
export interface IndexedNodes {
  /** Whether node `n` holds the user key at `key[at, at + len)`. */
  nodeHasUserKey(n: number, key: Uint8Array, at: number, len: number): boolean;
  /** The sequence number of node `n`. */
  nodeSeq(n: number): number;
}

/** FNV-1a (32-bit) of `key[at, at + len)`, as a signed 32-bit integer (as an Int32Array stores it). */
export function hashUserKey(key: Uint8Array, at: number, len: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = at; i < at + len; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
  return h;
}

/** Node of each user key's newest version, by the key's hash. */
export class NewestVersionIndex {
  private nodes = new Int32Array(INITIAL_SLOTS);
  private hashes = new Int32Array(INITIAL_SLOTS);
  private used = 0;

  constructor(private readonly table: IndexedNodes) {}

  /** Distinct user keys indexed. */
  get size(): number {
    return this.used;
  }

  /** The node indexed for the user key at `key[at, at + len)` of hash `h`, or 0 when none. */
  get(h: number, key: Uint8Array, at: number, len: number): number {
    const nodes = this.nodes;
    const mask = nodes.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const n = nodes[s]!;
      if (n === 0) return 0;
      if (this.hashes[s] === h && this.table.nodeHasUserKey(n, key, at, len)) return n;
    }
  }

  /**
   * Indexes node `n`, of sequence `seq`, for its user key `key[at, at + len)` of hash `h`,
   * unless the node already indexed for that key has a higher sequence.
   */
  put(h: number, n: number, seq: number, key: Uint8Array, at: number, len: number): void {
    assert(n !== 0, 'memtable index: the head is never indexed');
    const nodes = this.nodes;
    const mask = nodes.length - 1;
    let s = h & mask;
    for (; nodes[s] !== 0; s = (s + 1) & mask) {
      const old = nodes[s]!;
      if (this.hashes[s] === h && this.table.nodeHasUserKey(old, key, at, len)) {
        if (seq > this.table.nodeSeq(old)) nodes[s] = n;
        return;
      }
    }
    nodes[s] = n;
    this.hashes[s] = h;
    this.used++;
    if (2 * this.used > nodes.length) this.grow();
  }

  /** Doubles the table, placing every slot again by its stored hash. */
  private grow(): void {
    const oldNodes = this.nodes;
    const oldHashes = this.hashes;
    assert(oldNodes.length * 2 <= SLOTS_MAX, 'memtable index: more keys than any memtable holds');
    const nodes = new Int32Array(oldNodes.length * 2);
    const hashes = new Int32Array(oldNodes.length * 2);
    const mask = nodes.length - 1;
    for (let i = 0; i < oldNodes.length; i++) {
      const n = oldNodes[i]!;
      if (n === 0) continue;
      const h = oldHashes[i]!;
      let s = h & mask;
      while (nodes[s] !== 0) s = (s + 1) & mask;
      nodes[s] = n;
      hashes[s] = h;
    }
    this.nodes = nodes;
    this.hashes = hashes;
  }
}
