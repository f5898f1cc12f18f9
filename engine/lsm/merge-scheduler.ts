/**
 * Starting and finishing the store's flush and compaction jobs (lsm.ts decides when). A job
 * merges a memtable (a flush) or a run of tables (a compaction) into one new table, either
 * inline through a {@link MergeJob} that writers step in slices, or on a
 * {@link BackgroundMerger} whose outcome the store polls for.
 */

import { assert } from '../assert.ts';
import { CorruptionError, IoError, NoSpaceError } from '../errors.ts';
import type { FileHandle, FileSystem } from '../io/fs.ts';
import type { BackgroundMerger, MergeOutcome } from './background.ts';
import { MAX_SEQUENCE } from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';
import type { Memtable } from './memtable.ts';
import { MergeJob } from './merge-job.ts';
import { MergingIterator } from './merging-iterator.ts';
import type { SsTableOptions, SsTableReader } from './sstable.ts';
import { tableCovers, type Version } from './version.ts';
import { type TableMeta, tableFileName } from './version-edit.ts';

/** A flush or compaction in progress. */
export interface Job {
  /** The inline merge, or undefined when a background merger runs the job. */
  merge: MergeJob | undefined;
  /** The inline job's output file, owned by the job until it finishes or is abandoned. */
  file: FileHandle | undefined;
  /** The background task's id (when `merge` is undefined). */
  task: number;
  /** The background task's outcome, once it has arrived. */
  outcome?: MergeOutcome;
  /** The WAL current when the job started (its creation preceded the job's directory sync). */
  walAtStart: number;
  output: number;
  version: Version;
  inputs: number[];
}

/** What starting and writing a job's table needs from the store. */
export interface JobHost {
  readonly fs: FileSystem;
  readonly table: SsTableOptions;
  readonly background: BackgroundMerger | undefined;
  /** The reader of a live table (asserts that there is one). */
  mustGetReader(number: number): SsTableReader;
  /** Opens and registers the reader of a newly written table. */
  openReader(number: number): SsTableReader;
  /**
   * Called once the directory is synced after a job's table: every name created before the
   * job started (`walAtStart`, the WAL current then, included) is now durable.
   */
  namesDurable(walAtStart: number): void;
}

/** What a new job merges, into which file number, under which version and snapshot. */
export interface JobSpec {
  /** The memtable a flush writes, or undefined for a compaction. */
  mem: Memtable | undefined;
  /** The tables a compaction merges (empty for a flush). */
  inputs: readonly TableMeta[];
  /** The (referenced) version the job reads. */
  version: Version;
  /** The tables older than the job's input, which decide whether a tombstone can be dropped. */
  older: readonly TableMeta[];
  output: number;
  smallestSnapshot: number;
  walAtStart: number;
}

/**
 * Starts a merge of `spec.mem` (a flush) or of the tables `spec.inputs` (a compaction) into a
 * new table: inline, or on the background merger when there is one.
 */
export function startJob(host: JobHost, spec: JobSpec): Job {
  const { mem, inputs, version, older, output, smallestSnapshot, walAtStart } = spec;
  const inputNumbers = inputs.map((t) => t.number);
  if (host.background?.ready() === true) {
    const task = host.background.start(
      {
        output,
        memtable: mem?.exportParts(),
        inputs: inputs.map((meta) => ({ meta })),
        older: older.map((meta) => ({ meta })),
        smallestSnapshot,
        table: host.table,
      },
      mem !== undefined,
    );
    return {
      merge: undefined,
      file: undefined,
      task,
      output,
      version,
      inputs: inputNumbers,
      walAtStart,
    };
  }
  const file = host.fs.open(tableFileName(output), { create: true, exclusive: true });
  const input: InternalIterator =
    mem?.iterator() ?? new MergingIterator(inputs.map((t) => host.mustGetReader(t.number).iterator()));
  const merge = new MergeJob({
    input,
    output: file,
    outputNumber: output,
    smallestSnapshot,
    olderMayContain: (k) =>
      older.some((t) => tableCovers(t, k) && host.mustGetReader(t.number).mayContain(k)),
    table: host.table,
  });
  return { merge, file, task: 0, output, version, inputs: inputNumbers, walAtStart };
}

/** Runs `job` to its end (stepping it, or waiting for its background outcome), then `complete`. */
export function runToCompletion(
  background: BackgroundMerger | undefined,
  job: Job,
  complete: () => void,
): void {
  if (job.merge === undefined) {
    job.outcome ??= background!.wait(job.task);
    complete();
    return;
  }
  while (!job.merge.step(1 << 16)) {
    /* keep stepping */
  }
  complete();
}

/**
 * Writes a memtable straight to table `number` (used at open, before the store accepts
 * writes), or returns undefined when nothing in it survives.
 */
export function writeTableNow(
  host: JobHost,
  mem: Memtable,
  number: number,
  older: readonly TableMeta[],
): TableMeta | undefined {
  const file = host.fs.open(tableFileName(number), { create: true, exclusive: true });
  try {
    const merge = new MergeJob({
      input: mem.iterator(),
      output: file,
      outputNumber: number,
      smallestSnapshot: MAX_SEQUENCE,
      olderMayContain: (k) =>
        older.some((t) => tableCovers(t, k) && host.mustGetReader(t.number).mayContain(k)),
      table: host.table,
    });
    while (!merge.step(1 << 16)) {
      /* keep stepping */
    }
    const meta = merge.finish();
    if (meta === undefined) return undefined;
    host.fs.syncDir();
    host.openReader(number);
    return meta;
  } finally {
    file.close();
  }
}

/** Finishes a job's output; opens its reader, or deletes it when it came out empty. */
export function finishJob(host: JobHost, job: Job): TableMeta | undefined {
  let meta: TableMeta | undefined;
  if (job.merge === undefined) {
    meta = outcomeMeta(job.outcome, tableFileName(job.output));
  } else {
    try {
      meta = job.merge.finish();
    } finally {
      job.file?.close();
    }
  }
  if (meta === undefined) {
    host.fs.delete(tableFileName(job.output));
    return undefined;
  }
  // A background job synced the directory itself, after the table (runMergeTask); either
  // way every name created before the job started is now durable, the WAL's included.
  if (job.merge !== undefined) host.fs.syncDir();
  host.namesDurable(job.walAtStart);
  host.openReader(job.output);
  return meta;
}

/** True once a background job's outcome is in (polling for it without blocking). */
export function arrived(bg: BackgroundMerger, job: Job): boolean {
  job.outcome ??= bg.poll(job.task);
  return job.outcome !== undefined;
}

/** The table a background job wrote, or its failure as the typed error inline work would throw. */
function outcomeMeta(outcome: MergeOutcome | undefined, name: string): TableMeta | undefined {
  assert(outcome !== undefined, 'a background job finishes only with its outcome');
  if (outcome.ok) return outcome.meta;
  const what = `background merge into ${name}: ${outcome.message}`;
  if (outcome.code === 'ARE_CORRUPTION')
    throw new CorruptionError({ file: outcome.file ?? name, offset: outcome.offset ?? 0, detail: what });
  if (outcome.code === 'ARE_NO_SPACE') throw new NoSpaceError(what);
  throw new IoError(`${what} (${outcome.code})`);
}
