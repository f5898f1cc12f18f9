/**
 * The adapter each system of the `lsm` suite implements. The operations are bulk ones (put all
 * these, get all those) so that every system loops in its own natural style: the synchronous
 * stores in a plain loop, classic-level awaiting each call. A per-operation async adapter
 * would charge a promise per operation to the synchronous stores and distort the comparison.
 */

/** An open key-value store under test. */
export interface KvStore {
  /** Puts each pair with its own call, unsynced, each finished before the next starts. */
  putEach(keys: readonly Uint8Array[], values: readonly Uint8Array[]): Promise<void>;
  /** Puts the pairs in atomic batches of `batchSize` (the last one may be smaller), unsynced. */
  putBatches(keys: readonly Uint8Array[], values: readonly Uint8Array[], batchSize: number): Promise<void>;
  /** Gets each key with its own call; returns how many were found. */
  getEach(keys: readonly Uint8Array[]): Promise<number>;
  /** For each start, reads up to `limit` entries from the first key >= start; returns the entries read. */
  scanEach(starts: readonly Uint8Array[], limit: number): Promise<number>;
  /**
   * Writes everything in memory to the store's files, closes and reopens it, so that reads
   * afterwards hit on-disk tables with cold caches (stores without files rebuild what they
   * would rebuild on a restart, or do nothing).
   */
  reopen(): Promise<void>;
  /** Closes the store. Closing twice is allowed. */
  close(): Promise<void>;
}

/** A system of the `lsm` suite: opens stores. */
export interface KvSystem {
  /** Name in the bench JSON (`system`). */
  readonly name: string;
  /** Opens (creating) a store in the empty directory `dir`. */
  open(dir: string): Promise<KvStore>;
}
