/**
 * A write batch kept from one write to the next. The store copies a batch into its WAL and
 * memtable before `write` returns, so a finished write's batch (its grown buffer) can serve the
 * next write instead of a fresh one that grows again by doubling. A batch is taken while in
 * use and handed back only after its write succeeded, so a write started from inside another
 * (by a listener or a derived view) gets a batch of its own; a batch grown past the bound is
 * dropped rather than held for the life of the database.
 */

import { assert } from '../assert.ts';
import { WriteBatch } from '../lsm/write-batch.ts';

/** One spare {@link WriteBatch}, kept while its encoding is at most `bytesMax` bytes. */
export class SpareBatch {
  private spare: WriteBatch | undefined;

  constructor(private readonly bytesMax: number) {
    assert(Number.isSafeInteger(bytesMax) && bytesMax >= 0, `spare batch bound ${bytesMax}`);
  }

  /** An empty batch: the spare one when there is one, else a new one. */
  take(): WriteBatch {
    const batch = this.spare;
    if (batch === undefined) return new WriteBatch();
    this.spare = undefined;
    batch.clear();
    return batch;
  }

  /** Keeps `batch` (whose write has succeeded) for the next {@link take}, unless it grew too big. */
  giveBack(batch: WriteBatch): void {
    if (batch.byteLength <= this.bytesMax) this.spare = batch;
  }
}
