/**
 * The internal cursor protocol shared by memtables, SSTable blocks, SSTables and merging
 * iterators (LevelDB's `Iterator`). A cursor walks internal keys in
 * {@link compareInternalKeys} order; `key()` and `value()` are valid only while `valid()`.
 *
 * Cursors are synchronous and cheap to create. `key()`/`value()` may return views into
 * internal buffers that stay valid until the cursor moves; callers that keep them copy them.
 */

/** A cursor over internal entries in internal-key order. */
export interface InternalIterator {
  /** True while positioned at an entry. */
  valid(): boolean;
  /** Positions at the first entry. */
  seekToFirst(): void;
  /** Positions at the first entry whose internal key is >= `target`. */
  seek(target: Uint8Array): void;
  /** Moves to the next entry. Requires `valid()`. */
  next(): void;
  /** The current internal key. Requires `valid()`. */
  key(): Uint8Array;
  /** The current value (empty for tombstones). Requires `valid()`. */
  value(): Uint8Array;
}
