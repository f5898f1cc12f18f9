/**
 * A bounded cache of materialized documents, so that a hot `get` costs two map lookups
 * instead of an LSM read, a decode and a materialization.
 *
 * Entries are keyed by collection, then id (nested maps: no key string is built per lookup),
 * and hold the deep-frozen document, or `undefined` for a document known to be absent. The
 * database keeps the cache exact by invalidating every document a write touches before the
 * write reaches the store (local writes and transactions, remote ingest) and by clearing it
 * on `rebuild()`; a new `Database` (a restart) starts empty. So the cache never answers with
 * anything but what the store holds.
 *
 * Eviction is CLOCK (second chance): slots sit in a ring in insertion order; a hit sets the
 * slot's reference bit (no reordering, so a hit stays two map lookups and a store); to make
 * room the hand sweeps the ring, clearing set bits and evicting the first slot found clear.
 * The bounds are both a number of entries and a number of bytes, counted as the encoded view
 * row's size (the JavaScript objects take a few times that).
 */

import { assert } from '../assert.ts';
import type { JsonObject } from '../crdt/lww.ts';
import { InvalidArgumentError } from '../errors.ts';

/** Default most documents the cache holds. */
export const DOC_CACHE_ENTRIES_DEFAULT = 16_384;
/** Default most view-row bytes of the documents the cache holds. */
export const DOC_CACHE_BYTES_DEFAULT = 8 * 1024 * 1024;
/** Largest `entriesMax` accepted (the ring is an array of this many slots at most). */
export const DOC_CACHE_ENTRIES_LIMIT = 1 << 24;
/** Most collections with a map of their own; past it, the whole cache is emptied and starts over. */
export const DOC_CACHE_COLLECTIONS_MAX = 1024;

/** Cache bounds. Zero entries disables the cache. */
export interface DocCacheOptions {
  /** Most documents held. Default {@link DOC_CACHE_ENTRIES_DEFAULT}; 0 disables caching. */
  entriesMax?: number;
  /** Most view-row bytes held. Default {@link DOC_CACHE_BYTES_DEFAULT}. */
  bytesMax?: number;
}

/** A cached answer to a `get`. */
export interface CachedDoc {
  /** The document (deep-frozen), or undefined when it is absent. */
  readonly doc: JsonObject | undefined;
  /** Set on every hit (the CLOCK reference bit). */
  referenced: boolean;
}

/**
 * One collection's entries by id. A map handed out by {@link DocCache.slotsOf} stays exact for
 * as long as anyone holds it: entries leave it when they are evicted or invalidated, and when
 * the cache is cleared or drops the map every entry is removed first, so a map nobody else
 * uses any more is simply empty.
 */
export type CollectionSlots = ReadonlyMap<string, CachedDoc>;

interface Slot extends CachedDoc {
  doc: JsonObject | undefined;
  /** The collection map holding this slot; undefined for a free slot. */
  owner: Map<string, Slot> | undefined;
  id: string;
  bytes: number;
  referenced: boolean;
}

function checkBound(value: number, what: string, max: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > max)
    throw new InvalidArgumentError(`${what} must be an integer in 0..${max}, got ${value}`);
  return value;
}

/** The document cache of one open database. */
export class DocCache {
  /** Most entries held. */
  readonly entriesMax: number;
  /** Most bytes held. */
  readonly bytesMax: number;
  private readonly collections = new Map<string, Map<string, Slot>>();
  private readonly ring: Slot[] = [];
  private hand = 0;
  private entries = 0;
  private bytes = 0;

  constructor(options: DocCacheOptions = {}) {
    this.entriesMax = checkBound(
      options.entriesMax ?? DOC_CACHE_ENTRIES_DEFAULT,
      'entriesMax',
      DOC_CACHE_ENTRIES_LIMIT,
    );
    this.bytesMax = checkBound(
      options.bytesMax ?? DOC_CACHE_BYTES_DEFAULT,
      'bytesMax',
      Number.MAX_SAFE_INTEGER,
    );
  }

  /** Number of documents held. */
  get size(): number {
    return this.entries;
  }

  /** Bytes held. */
  get byteSize(): number {
    return this.bytes;
  }

  /** The cached answer for (`collection`, `id`), or undefined on a miss. */
  get(collection: string, id: string): CachedDoc | undefined {
    const slot = this.collections.get(collection)?.get(id);
    if (slot !== undefined) slot.referenced = true;
    return slot;
  }

  /**
   * The map of `collection`'s entries, for a caller that looks ids up itself (setting
   * `referenced` on a hit), or undefined while none is cached. See {@link CollectionSlots}.
   */
  slotsOf(collection: string): CollectionSlots | undefined {
    return this.collections.get(collection);
  }

  /**
   * Caches `doc` (undefined: known absent) for (`collection`, `id`), whose view row is `bytes`
   * long. A document larger than the whole byte budget is not cached.
   */
  set(collection: string, id: string, doc: JsonObject | undefined, bytes: number): void {
    if (this.entriesMax === 0 || bytes > this.bytesMax) return;
    this.invalidate(collection, id);
    let owner = this.collections.get(collection);
    if (owner === undefined) {
      if (this.collections.size >= DOC_CACHE_COLLECTIONS_MAX) this.clear(true);
      owner = new Map();
      this.collections.set(collection, owner);
    }
    while (this.entries >= this.entriesMax || this.bytes + bytes > this.bytesMax) this.evictOne();
    const slot = this.freeSlot();
    slot.owner = owner;
    slot.id = id;
    slot.doc = doc;
    slot.bytes = bytes;
    slot.referenced = false;
    owner.set(id, slot);
    this.entries++;
    this.bytes += bytes;
  }

  /** Forgets (`collection`, `id`): the next `get` of it reads the store. */
  invalidate(collection: string, id: string): void {
    const owner = this.collections.get(collection);
    const slot = owner?.get(id);
    if (slot === undefined) return;
    owner!.delete(id);
    this.release(slot);
  }

  /**
   * Forgets everything. The collection maps are emptied, not replaced, so a map handed out
   * earlier cannot answer with a forgotten entry; with `dropMaps` they are then dropped too.
   */
  clear(dropMaps = false): void {
    for (const slot of this.ring) this.release(slot);
    for (const owner of this.collections.values()) owner.clear();
    if (dropMaps) this.collections.clear();
    assert(this.entries === 0, 'cache entries counted wrong');
    assert(this.bytes === 0, 'cache bytes counted wrong');
  }

  private release(slot: Slot): void {
    if (slot.owner === undefined) return;
    slot.owner = undefined;
    slot.doc = undefined;
    this.entries--;
    this.bytes -= slot.bytes;
  }

  /** A free slot: a new one while the ring is short, else the next free one at or after the hand. */
  private freeSlot(): Slot {
    if (this.ring.length < this.entriesMax) {
      const slot: Slot = { owner: undefined, id: '', doc: undefined, bytes: 0, referenced: false };
      this.ring.push(slot);
      return slot;
    }
    // evictOne left at least one slot free; one turn of the ring finds it.
    for (let turn = 0; turn < this.ring.length; turn++) {
      const slot = this.ring[this.hand]!;
      this.hand = (this.hand + 1) % this.ring.length;
      if (slot.owner === undefined) return slot;
    }
    assert(false, 'no free slot in the document cache');
  }

  /** Evicts one entry (CLOCK). At most two turns of the ring: the first clears every reference bit. */
  private evictOne(): void {
    assert(this.entries > 0, 'evicting from an empty document cache');
    for (let step = 0; step < 2 * this.ring.length; step++) {
      const slot = this.ring[this.hand]!;
      if (slot.owner !== undefined) {
        if (!slot.referenced) {
          slot.owner.delete(slot.id);
          this.release(slot);
          return;
        }
        slot.referenced = false;
      }
      this.hand = (this.hand + 1) % this.ring.length;
    }
    assert(false, 'the document cache found nothing to evict');
  }
}
