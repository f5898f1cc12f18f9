/**
 * The incremental merge that both flush and compaction run: read a merged cursor over the
 * inputs, drop what no reader can ever see, and write one output table, a bounded number of
 * entries per step so that writers are never held up for long.
 *
 * What may be dropped (LevelDB's rules, restated):
 * - A version of a key shadowed by a newer version of the same key whose sequence is at or
 *   below the oldest live snapshot: no snapshot can see the older one.
 * - A tombstone at or below the oldest live snapshot, when no table older than the inputs can
 *   hold the key (checked by key range and bloom filter): there is nothing left for it to
 *   hide. Older versions of that key in the inputs are then dropped by the first rule.
 */

import { assert } from '../assert.ts';
import type { FileHandle } from '../io/fs.ts';
import { KeyHolder } from './coding.ts';
import { compareUserKeysOf, EntryKind, kindOf, seqOf, userKeyOf } from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';
import { type SsTableOptions, SsTableWriter } from './sstable.ts';
import type { TableMeta } from './version-edit.ts';

/** What a merge job needs from its owner. */
export interface MergeJobOptions {
  /** The merged inputs. */
  input: InternalIterator;
  /** The empty output file. */
  output: FileHandle;
  /** Its file number. */
  outputNumber: number;
  /** Sequence of the oldest live snapshot (the last sequence when there is none). */
  smallestSnapshot: number;
  /** True when some table older than the inputs may hold `userKey`. */
  olderMayContain: (userKey: Uint8Array) => boolean;
  /** Table format options. */
  table: SsTableOptions;
}

/** One flush or compaction, run in steps. */
export class MergeJob {
  private readonly writer: SsTableWriter;
  /** A copy of the last internal key read (its user key decides what is shadowed). */
  private readonly last = new KeyHolder();
  private anyRead = false;
  private lastSeqForKey = Number.POSITIVE_INFINITY;
  private minSeq = Number.POSITIVE_INFINITY;
  private maxSeq = -1;
  private started = false;
  /** Entries read from the inputs so far. */
  entriesRead = 0;
  /** Entries dropped so far. */
  entriesDropped = 0;

  constructor(private readonly options: MergeJobOptions) {
    this.writer = new SsTableWriter(options.output, options.table);
  }

  /** True when every input entry has been read. */
  get done(): boolean {
    return this.started && !this.options.input.valid();
  }

  /** Processes up to `budget` input entries. Returns true when the input is exhausted. */
  step(budget: number): boolean {
    const { input, smallestSnapshot } = this.options;
    if (!this.started) {
      input.seekToFirst();
      this.started = true;
    }
    for (let n = 0; n < budget && input.valid(); n++) {
      const ikey = input.key();
      this.entriesRead++;
      if (!this.anyRead || compareUserKeysOf(ikey, this.last.view) !== 0) {
        this.anyRead = true;
        this.lastSeqForKey = Number.POSITIVE_INFINITY;
      }
      this.last.set(ikey);
      const seq = seqOf(ikey);
      let drop = false;
      if (this.lastSeqForKey <= smallestSnapshot) {
        drop = true;
      } else if (
        kindOf(ikey) === EntryKind.Delete &&
        seq <= smallestSnapshot &&
        !this.options.olderMayContain(userKeyOf(ikey))
      ) {
        drop = true;
      }
      this.lastSeqForKey = seq;
      if (drop) {
        this.entriesDropped++;
      } else {
        this.writer.add(ikey, input.value());
        if (seq < this.minSeq) this.minSeq = seq;
        if (seq > this.maxSeq) this.maxSeq = seq;
      }
      input.next();
    }
    return !input.valid();
  }

  /**
   * Completes the output table and syncs it. Returns its metadata, or undefined when every
   * entry was dropped (the caller deletes the empty file).
   */
  finish(): TableMeta | undefined {
    assert(this.done, 'merge job: finish() before the input is exhausted');
    if (this.writer.entries === 0) return undefined;
    const meta = this.writer.finish();
    this.options.output.sync();
    return {
      number: this.options.outputNumber,
      fileBytes: meta.fileBytes,
      entries: meta.entries,
      minSeq: this.minSeq,
      maxSeq: this.maxSeq,
      smallest: meta.smallest.slice(),
      largest: meta.largest.slice(),
    };
  }
}
