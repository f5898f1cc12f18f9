/**
 * An LRU cache of decoded, checked data blocks shared by every open SSTable, bounded by bytes.
 *
 * Keys are (file id, block offset). A block enters the cache only after its CRC and structure
 * were verified, so a hit skips both the read and the checks. A hit returns the very same
 * {@link Block} object, which is immutable, so any number of cursors may share it.
 *
 * Recency is the insertion order of a JavaScript `Map`: a hit deletes and re-inserts its
 * entry, and eviction takes from the front.
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
  private readonly map = new Map<string, { fileId: number; block: Block }>();
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
    return this.map.size;
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
    const k = cacheKey(fileId, offset);
    const hit = this.map.get(k);
    if (hit === undefined) {
      this.stats.misses++;
      return undefined;
    }
    this.map.delete(k);
    this.map.set(k, hit);
    this.stats.hits++;
    return hit.block;
  }

  /**
   * Caches `block` as most recently used, evicting the least recently used blocks until the
   * total charge fits. A block larger than the whole capacity is not cached at all.
   */
  insert(fileId: number, offset: number, block: Block): void {
    const k = cacheKey(fileId, offset);
    const old = this.map.get(k);
    if (old !== undefined) {
      this.map.delete(k);
      this.used -= old.block.chargeBytes;
    }
    const charge = block.chargeBytes;
    if (charge > this.capacityBytes) return;
    this.map.set(k, { fileId, block });
    this.used += charge;
    this.stats.inserts++;
    this.evictUntil(this.capacityBytes);
  }

  /** Drops every block of `fileId` (for a deleted table; readers of live tables need not). */
  evictFile(fileId: number): void {
    for (const [k, entry] of this.map) {
      if (entry.fileId !== fileId) continue;
      this.map.delete(k);
      this.used -= entry.block.chargeBytes;
    }
  }

  /** Drops every block. */
  clear(): void {
    this.map.clear();
    this.used = 0;
  }

  private evictUntil(limitBytes: number): void {
    while (this.used > limitBytes) {
      const first = this.map.entries().next();
      assert(first.done !== true, 'charged bytes without cached blocks');
      const [k, entry] = first.value;
      this.map.delete(k);
      this.used -= entry.block.chargeBytes;
      this.stats.evictions++;
    }
  }
}

function cacheKey(fileId: number, offset: number): string {
  return `${fileId}:${offset}`;
}
