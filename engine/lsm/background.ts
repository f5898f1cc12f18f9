/**
 * Merge work (flushes and compactions) run by another thread. The store stays synchronous and
 * single-threaded in everything it decides: it picks the job, hands its inputs to a
 * {@link BackgroundMerger}, and later commits the finished table to the manifest itself,
 * exactly as it commits a job it ran inline. Only the CPU work of reading the inputs and
 * writing and syncing the output table moves, so a crash at any point leaves what an inline
 * job would leave: an unrecorded output file that the next open deletes.
 *
 * The merger is optional (`LsmOptions.background`); without one, or on a file system a worker
 * cannot reach (memory, the simulator), jobs run inline and deterministically as before. The
 * task here is plain data (structured-cloneable), and {@link runMergeTask} is what the other
 * thread runs, with the same {@link MergeJob} and the same dropping rules as inline work.
 */

import type { FileSystem } from '../io/fs.ts';
import type { InternalIterator } from './iterator.ts';
import { Memtable, type MemtableParts } from './memtable.ts';
import { MergeJob } from './merge-job.ts';
import { MergingIterator } from './merging-iterator.ts';
import { type SsTableOptions, SsTableReader } from './sstable.ts';
import { tableCovers } from './version.ts';
import { type TableMeta, tableFileName } from './version-edit.ts';

/** One table a task reads or consults, by file number with its metadata. */
export interface TaskTable {
  readonly meta: TableMeta;
}

/** A flush or compaction for a {@link BackgroundMerger}. */
export interface MergeTask {
  /** Output file number (the file does not exist yet). */
  readonly output: number;
  /** A flush's memtable, or undefined for a compaction. */
  readonly memtable: MemtableParts | undefined;
  /** A compaction's input tables, newest first (empty for a flush). */
  readonly inputs: readonly TaskTable[];
  /** Tables older than the inputs, whose filters decide whether a tombstone may go. */
  readonly older: readonly TaskTable[];
  /** Sequence of the oldest live snapshot when the job started. */
  readonly smallestSnapshot: number;
  /** Table format options. */
  readonly table: SsTableOptions;
}

/** What came back for a task: the table written (undefined when every entry was dropped), or why it failed. */
export type MergeOutcome =
  | { readonly ok: true; readonly meta: TableMeta | undefined }
  | {
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      /** For `ARE_CORRUPTION`: the file and offset the check named. */
      readonly file?: string;
      readonly offset?: number;
    };

/**
 * Runs merge tasks off the store's thread. Tasks of one kind finish in the order they were
 * started; `poll` and `wait` return the outcome of the task `start` returned the id of.
 */
export interface BackgroundMerger {
  /**
   * True once the merger can take a task. Until then (a worker still starting, or one that
   * never will) the store runs its jobs inline, so it never blocks on a thread that is not
   * there yet.
   */
  ready(): boolean;
  /** Starts `task`; returns its id. `flush` says which queue it joins (flushes never wait behind compactions). */
  start(task: MergeTask, flush: boolean): number;
  /** The outcome of task `id` if it has finished, without blocking. */
  poll(id: number): MergeOutcome | undefined;
  /** Blocks until task `id` has finished and returns its outcome. */
  wait(id: number): MergeOutcome;
  /** Releases the merger (after every started task was waited for). */
  close(): void;
}

/** The merged cursor of a task's inputs. */
function inputOf(task: MergeTask, reader: (t: TaskTable) => SsTableReader): InternalIterator {
  if (task.memtable !== undefined) return Memtable.fromParts(task.memtable).iterator();
  return new MergingIterator(task.inputs.map((t) => reader(t).iterator()));
}

/**
 * Runs one task to the end on `fs` (the store's directory, opened by this thread): writes and
 * syncs the output table, syncs the directory (its name) and closes it. `readers` caches open tables across tasks; readers of
 * tables no longer mentioned are closed. Throws what the inline job would throw.
 */
export function runMergeTask(
  fs: FileSystem,
  task: MergeTask,
  readers: Map<number, SsTableReader>,
): TableMeta | undefined {
  const wanted = new Set([...task.inputs, ...task.older].map((t) => t.meta.number));
  for (const [n, r] of readers) {
    if (wanted.has(n)) continue;
    r.close();
    readers.delete(n);
  }
  const reader = (t: TaskTable): SsTableReader => {
    let r = readers.get(t.meta.number);
    if (r === undefined) {
      r = SsTableReader.open({ fs, name: tableFileName(t.meta.number), fileNumber: t.meta.number });
      readers.set(t.meta.number, r);
    }
    return r;
  };
  const file = fs.open(tableFileName(task.output), { create: true, exclusive: true });
  try {
    const merge = new MergeJob({
      input: inputOf(task, reader),
      output: file,
      outputNumber: task.output,
      smallestSnapshot: task.smallestSnapshot,
      olderMayContain: (k) => task.older.some((t) => tableCovers(t.meta, k) && reader(t).mayContain(k)),
      table: task.table,
    });
    while (!merge.step(1 << 16)) {
      /* keep stepping */
    }
    const meta = merge.finish();
    // The table's name must be durable before the store's manifest edit names it; doing it
    // here keeps that system call off the store's thread too.
    if (meta !== undefined) fs.syncDir();
    return meta;
  } finally {
    file.close();
  }
}
