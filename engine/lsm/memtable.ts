/**
 * The memtable: recent writes, sorted, in memory, as a skip list over internal keys (user key
 * ascending, sequence descending). Every version of a key is kept until the memtable is
 * flushed, so a snapshot or an open iterator sees exactly the state at its sequence number
 * while later writes keep arriving.
 *
 * Iteration is safe while inserts happen: an insert links a fully built node in with plain
 * pointer writes, and a cursor only ever follows `next[0]`, so it sees each node at most once.
 * Heights come from a fixed internal xorshift generator: they affect speed, never results,
 * so they need not come from the `Random` seam.
 */

import { assert } from '../assert.ts';
import {
  compareInternalKeys,
  compareUserKeysOf,
  type EntryKind,
  encodeInternalKey,
  seqOf,
  TRAILER_BYTES,
} from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';

/** Tallest tower in the skip list (enough for ~4^12 = 16M entries at p = 1/4). */
const MAX_HEIGHT = 12;

/** Approximate per-entry overhead (node object, arrays) counted towards the size limit. */
const NODE_OVERHEAD_BYTES = 64;

interface Node {
  readonly ikey: Uint8Array;
  readonly value: Uint8Array;
  readonly next: (Node | undefined)[];
}

/** True when two internal keys have the same user key and sequence (whatever their kinds). */
function sameKeyAndSeq(a: Uint8Array, b: Uint8Array): boolean {
  return compareUserKeysOf(a, b) === 0 && seqOf(a) === seqOf(b);
}

/** A sorted in-memory table of internal entries. */
export class Memtable {
  private readonly head: Node = { ikey: new Uint8Array(TRAILER_BYTES), value: new Uint8Array(0), next: [] };
  private height = 1;
  private rngState = 0x2545f491;
  private readonly prev: Node[] = new Array(MAX_HEIGHT);
  /** Approximate memory used, for the flush threshold. */
  approximateBytes = 0;
  /** Number of entries. */
  entries = 0;
  /** Smallest sequence number inserted (Infinity when empty). */
  minSeq = Number.POSITIVE_INFINITY;
  /** Largest sequence number inserted (-1 when empty). */
  maxSeq = -1;

  constructor() {
    for (let i = 0; i < MAX_HEIGHT; i++) this.head.next.push(undefined);
  }

  private randomHeight(): number {
    let h = 1;
    while (h < MAX_HEIGHT) {
      let x = this.rngState;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.rngState = x >>> 0;
      if ((this.rngState & 3) !== 0) break;
      h++;
    }
    return h;
  }

  /** Finds the first node >= `ikey`, filling `prev` with the last node < `ikey` per level. */
  private findGreaterOrEqual(ikey: Uint8Array, prev: Node[] | undefined): Node | undefined {
    let x = this.head;
    for (let level = this.height - 1; level >= 0; level--) {
      for (;;) {
        const nx = x.next[level];
        if (nx !== undefined && compareInternalKeys(nx.ikey, ikey) < 0) x = nx;
        else break;
      }
      if (prev) prev[level] = x;
    }
    return x.next[0];
  }

  /** Inserts one entry. The (key, seq) pair must be new. */
  add(seq: number, kind: EntryKind, userKey: Uint8Array, value: Uint8Array): void {
    const ikey = encodeInternalKey(userKey, seq, kind);
    const prev = this.prev;
    const found = this.findGreaterOrEqual(ikey, prev);
    // The same (key, seq) with the other kind sorts right after or right before `ikey`.
    assert(found === undefined || !sameKeyAndSeq(found.ikey, ikey), 'memtable: duplicate sequence');
    assert(prev[0] === this.head || !sameKeyAndSeq(prev[0]!.ikey, ikey), 'memtable: duplicate sequence');
    const h = this.randomHeight();
    if (h > this.height) {
      for (let i = this.height; i < h; i++) prev[i] = this.head;
      this.height = h;
    }
    const node: Node = { ikey, value, next: new Array(h) };
    for (let i = 0; i < h; i++) {
      node.next[i] = prev[i]!.next[i];
      prev[i]!.next[i] = node;
    }
    this.entries++;
    this.approximateBytes += ikey.length + value.length + NODE_OVERHEAD_BYTES;
    if (seq < this.minSeq) this.minSeq = seq;
    if (seq > this.maxSeq) this.maxSeq = seq;
  }

  /**
   * The newest version of `userKey` with sequence <= `seqMax`, or undefined when the memtable
   * holds none. `seekKey` is `encodeInternalKey(userKey, seqMax, Value)`, built once by the caller.
   */
  find(seekKey: Uint8Array): { kind: EntryKind; value: Uint8Array } | undefined {
    const node = this.findGreaterOrEqual(seekKey, undefined);
    if (node === undefined) return undefined;
    const a = node.ikey;
    const ul = seekKey.length - TRAILER_BYTES;
    if (a.length !== seekKey.length) return undefined;
    for (let i = 0; i < ul; i++) if (a[i] !== seekKey[i]) return undefined;
    return { kind: a[ul] as EntryKind, value: node.value };
  }

  /** A cursor over every entry in internal-key order. */
  iterator(): InternalIterator {
    return new MemtableIterator(this, this.head);
  }

  /** @internal Used by the iterator's seek. */
  seekNode(ikey: Uint8Array): Node | undefined {
    return this.findGreaterOrEqual(ikey, undefined);
  }
}

class MemtableIterator implements InternalIterator {
  private node: Node | undefined;

  constructor(
    private readonly table: Memtable,
    private readonly head: Node,
  ) {}

  valid(): boolean {
    return this.node !== undefined;
  }

  seekToFirst(): void {
    this.node = this.head.next[0];
  }

  seek(target: Uint8Array): void {
    this.node = this.table.seekNode(target);
  }

  next(): void {
    assert(this.node !== undefined, 'memtable iterator: next() past the end');
    this.node = this.node.next[0];
  }

  key(): Uint8Array {
    assert(this.node !== undefined, 'memtable iterator: key() past the end');
    return this.node.ikey;
  }

  value(): Uint8Array {
    assert(this.node !== undefined, 'memtable iterator: value() past the end');
    return this.node.value;
  }
}
