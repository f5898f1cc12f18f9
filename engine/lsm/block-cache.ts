/**
 * An LRU cache of decoded, checked data blocks shared by every open SSTable, bounded by bytes.
 *
 * Keys are (file id, block offset). A block enters the cache only after its CRC and structure
 * were verified, so a hit skips both the read and the checks. A hit returns the very same
 * {@link Block} object, which is immutable, so any number of cursors may share it.
 *
 * Recency is a doubly linked list through the entries, least recent first: a hit moves its
 * entry to the end with a few pointer writes and eviction takes from the front. Entries are
 * found through one map per file keyed by block offset (small integers hash fast; a string
 * key per lookup and a delete/re-insert per hit cost a scan's seek more than the seek).
 */

import { assert } from '../assert.ts';
import type { Block } from './block.ts';

/** Counters for tests and benchmarks. */
export interface BlockCacheStats {
  hits: number;
  misses: number;
  inserts: number;
  evictions: number;
}

/** An LRU of decoded blocks keyed by (file id, block offset), bounded by charged bytes. */
export class BlockCache {
  /** Entries by file id, then by block offset. */
  private readonly files = new Map<number, Map<number, CacheEntry>>();
  /** The least recently used entry (the next to evict), and the most recently used one. */
  private head: CacheEntry | undefined;
  private tail: CacheEntry | undefined;
  private count = 0;
  private used = 0;
  private nextPrivateId = -1;
  /** Hit, miss, insert and eviction counts since construction. */
  readonly stats: BlockCacheStats = { hits: 0, misses: 0, inserts: 0, evictions: 0 };

  constructor(
    /** Most bytes the cached blocks may be charged together. */
    readonly capacityBytes: number,
  ) {
    assert(Number.isInteger(capacityBytes), 'cache capacity is an integer');
    assert(capacityBytes >= 0, 'cache capacity is not negative');
  }

  /** Bytes charged by the blocks held now (never above `capacityBytes`). */
  get usedBytes(): number {
    return this.used;
  }

  /** Number of blocks held now. */
  get size(): number {
    return this.count;
  }

  /**
   * A fresh id for a reader that has no file number. Ids from here are negative, so they never
   * collide with file numbers (which are not).
   */
  newFileId(): number {
    return this.nextPrivateId--;
  }

  /** The cached block, marking it most recently used, or undefined. */
  get(fileId: number, offset: number): Block | undefined {
    const e = this.files.get(fileId)?.get(offset);
    if (e === undefined) {
      this.stats.misses++;
      return undefined;
    }
    if (e !== this.tail) {
      this.unlink(e);
      this.append(e);
    }
    this.stats.hits++;
    return e.block;
  }

  /**
   * Caches `block` as most recently used, evicting the least recently used blocks until the
   * total charge fits. A block larger than the whole capacity is not cached at all.
   */
  insert(fileId: number, offset: number, block: Block): void {
    let blocks = this.files.get(fileId);
    const old = blocks?.get(offset);
    if (old !== undefined) this.remove(old);
    const charge = block.chargeBytes;
    if (charge > this.capacityBytes) return;
    if (blocks === undefined || !this.files.has(fileId)) {
      blocks = new Map();
      this.files.set(fileId, blocks);
    }
    const e: CacheEntry = { fileId, offset, block, prev: undefined, next: undefined };
    blocks.set(offset, e);
    this.append(e);
    this.count++;
    this.used += charge;
    this.stats.inserts++;
    this.evictUntil(this.capacityBytes);
  }

  /** Drops every block of `fileId` (for a deleted table; readers of live tables need not). */
  evictFile(fileId: number): void {
    const blocks = this.files.get(fileId);
    if (blocks === undefined) return;
    for (const e of [...blocks.values()]) this.remove(e);
  }

  /** Drops every block. */
  clear(): void {
    this.files.clear();
    this.head = undefined;
    this.tail = undefined;
    this.count = 0;
    this.used = 0;
  }

  private evictUntil(limitBytes: number): void {
    while (this.used > limitBytes) {
      const first = this.head;
      assert(first !== undefined, 'charged bytes without cached blocks');
      this.remove(first);
      this.stats.evictions++;
    }
  }

  /** Takes `e` out of the list, its file's map and the totals. */
  private remove(e: CacheEntry): void {
    this.unlink(e);
    const blocks = this.files.get(e.fileId)!;
    blocks.delete(e.offset);
    if (blocks.size === 0) this.files.delete(e.fileId);
    this.count--;
    this.used -= e.block.chargeBytes;
  }

  private unlink(e: CacheEntry): void {
    if (e.prev === undefined) this.head = e.next;
    else e.prev.next = e.next;
    if (e.next === undefined) this.tail = e.prev;
    else e.next.prev = e.prev;
    e.prev = undefined;
    e.next = undefined;
  }

  private append(e: CacheEntry): void {
    e.prev = this.tail;
    if (this.tail === undefined) this.head = e;
    else this.tail.next = e;
    this.tail = e;
  }
}

/** One cached block, linked in recency order. */
interface CacheEntry {
  readonly fileId: number;
  readonly offset: number;
  readonly block: Block;
  prev: CacheEntry | undefined;
  next: CacheEntry | undefined;
}
