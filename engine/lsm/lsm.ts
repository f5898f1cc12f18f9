/**
 * A LevelDB-style LSM-tree over the synchronous {@link FileSystem} seam.
 *
 * Writes go to the WAL and then the memtable. A full memtable becomes immutable and is
 * flushed to a table (a sorted run) by an incremental job, and similar-sized runs are merged
 * by size-tiered compaction (compaction.ts), also incrementally: each write pays for a
 * bounded slice of background work (`backgroundWorkPerOp` entries per operation), so no
 * writer ever waits for a whole compaction. Writers wait for a whole flush only if the next
 * memtable fills before the previous one is flushed, which the budget makes rare.
 *
 * Durability: a write is durable once a write with `sync: true` (or `close()`) follows it;
 * the WAL is strictly sequential, so after a crash the store holds a prefix of the writes that
 * includes every synced one. Flushes and compactions commit through the manifest
 * (version.ts), so a crash at any step reopens to exactly the synced state.
 *
 * Errors in background work (a full disk, a failing device) are kept and thrown by the next
 * write, flush or compaction; reads keep working. Reopen the store to recover.
 */

import { assert } from '../assert.ts';
import { ClosedError, InvalidArgumentError, LockedError } from '../errors.ts';
import type { FileSystem } from '../io/fs.ts';
import type { BackgroundMerger } from './background.ts';
import { BlockCache } from './block-cache.ts';
import { BloomProbe } from './bloom.ts';
import { pickTieredCompaction, type TieredPolicy } from './compaction.ts';
import { EntryKind, MAX_SEQUENCE } from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';
import { MAX_TABLES } from './limits.ts';
import { Memtable } from './memtable.ts';
import {
  arrived,
  finishJob,
  type Job,
  type JobHost,
  runToCompletion,
  startJob,
  writeTableNow,
} from './merge-scheduler.ts';
import { MergingIterator } from './merging-iterator.ts';
import {
  checkOptions,
  type LsmOptions,
  type LsmStats,
  SINGLE_BATCH_REUSE_BYTES_MAX,
  type Snapshot,
  type WriteOptions,
} from './options.ts';
import { liveLogNumbers, readManifestState, replayLogs } from './recovery.ts';
import {
  boundsMayTouch,
  checkScanOptions,
  type ScanOptions,
  ScanRelease,
  scanCheckedEntries,
} from './scan.ts';
import type { SsTableOptions } from './sstable.ts';
import { TableReaders } from './table-readers.ts';
import { tableCovers, type Version, VersionSet } from './version.ts';
import {
  highestFileNumber,
  logFileName,
  parseFileName,
  type TableMeta,
  tableFileName,
} from './version-edit.ts';
import { LogWriter } from './wal.ts';
import { checkKey, insertBatch, WriteBatch } from './write-batch.ts';

export {
  DEFAULT_BLOCK_CACHE_BYTES,
  type LsmOptions,
  type LsmStats,
  SINGLE_BATCH_REUSE_BYTES_MAX,
  type Snapshot,
  type WriteOptions,
} from './options.ts';
export type { ScanOptions } from './scan.ts';

const WORK_CHUNK = 256;
const openStores = new WeakMap<FileSystem, Lsm>();

/** The store. Create with {@link Lsm.open}. */
export class Lsm {
  private mem = new Memtable();
  private imm: Memtable | undefined;
  private wal: LogWriter;
  private walNumber: number;
  private flushJob: Job | undefined;
  private compactionJob: Job | undefined;
  private readonly readers: TableReaders;
  private readonly snapshots = new Map<number, number>();
  private lastSeq: number;
  private backgroundError: unknown;
  private closed = false;
  private debt = 0;
  /** Set while the current WAL's creation may not be durable yet (see {@link syncWal}). */
  private walDirSyncPending = false;
  /**
   * The batch `put` and `delete` reuse: `write` copies a record into the WAL and the memtable
   * before it returns, so nothing keeps a batch's bytes and one buffer serves every call.
   */
  private readonly single = new WriteBatch();
  /** Set when the table set changed since the picker last found nothing to do. */
  private compactionCheckNeeded = true;
  private readonly versions: VersionSet;
  private readonly cache: BlockCache;
  private readonly table: SsTableOptions;
  private readonly memtableBytes: number;
  /** The key a {@link get} looks for, hashed once for every table's filter. */
  private readonly probe = new BloomProbe();
  private readonly workPerOp: number;
  private readonly policy: TieredPolicy;
  private readonly background: BackgroundMerger | undefined;
  /** What the job functions (merge-scheduler.ts) need from the store. */
  private readonly host: JobHost;
  private readonly counts = { flushes: 0, compactions: 0, recoveredRecords: 0, recoveredTornBytes: 0 };

  private constructor(
    private readonly fs: FileSystem,
    options: LsmOptions,
  ) {
    const o = checkOptions(options);
    this.background = options.background;
    this.memtableBytes = o.memtableBytes;
    this.workPerOp = o.backgroundWorkPerOp;
    this.table = { blockBytes: o.blockBytes, bloomBitsPerKey: o.bloomBitsPerKey };
    this.cache = new BlockCache(o.blockCacheBytes);
    this.readers = new TableReaders(fs, this.cache);
    this.host = {
      fs,
      table: this.table,
      background: this.background,
      mustGetReader: (n) => this.readers.mustGet(n),
      openReader: (n) => this.readers.open(n),
      namesDurable: (walAtStart) => {
        if (walAtStart === this.walNumber) this.walDirSyncPending = false;
      },
    };
    this.policy = {
      minRuns: o.compactionMinRuns,
      maxRuns: 32,
      smallTableBytes: this.memtableBytes * 2,
      softMaxRuns: MAX_TABLES / 2,
    };
    const state = readManifestState(fs);
    const counters = state?.counters ?? { logNumber: 0, nextFileNumber: 1, lastSequence: 0 };
    // Numbers handed out after the last manifest edit were never recorded (an unfinished
    // compaction's output, say); never reuse one, even for a file about to be deleted.
    counters.nextFileNumber = Math.max(counters.nextFileNumber, highestFileNumber(fs) + 1);
    let tables = state?.tables ?? [];
    for (const t of tables) this.readers.open(t.number);
    const recovered = new Memtable();
    const replay = replayLogs(fs, liveLogNumbers(fs, counters.logNumber), recovered, counters.lastSequence);
    this.counts.recoveredRecords = replay.records;
    this.counts.recoveredTornBytes = replay.tornBytes;
    this.lastSeq = replay.lastSequence;
    counters.lastSequence = replay.lastSequence;
    if (recovered.entries > 0) {
      const number = counters.nextFileNumber++;
      const meta = writeTableNow(this.host, recovered, number, tables);
      if (meta) tables = [meta, ...tables];
    }
    this.walNumber = counters.nextFileNumber++;
    this.wal = new LogWriter(fs.open(logFileName(this.walNumber), { create: true, exclusive: true }));
    fs.syncDir();
    counters.logNumber = this.walNumber;
    this.versions = new VersionSet(fs, tables, counters, (n) => this.readers.obsolete(n));
    this.versions.writeSnapshot();
    this.deleteObsoleteFiles();
  }

  /**
   * Opens the store in `fs`, creating it if the directory is empty. Recovers from a crash:
   * replays the WAL (dropping a torn tail), discards half-written tables, and verifies every
   * table's footer, index and filter. Throws `CorruptionError` rather than open a store that
   * would be missing data, and `LockedError` if the same `FileSystem` is already open.
   */
  static open(fs: FileSystem, options: LsmOptions = {}): Lsm {
    const holder = openStores.get(fs);
    if (holder?.holdsFiles()) throw new LockedError('this file system already has an open store');
    const db = new Lsm(fs, options);
    openStores.set(fs, db);
    return db;
  }

  /** Writes `key` = `value`. */
  put(key: Uint8Array, value: Uint8Array, options?: WriteOptions): void {
    // A large record gets a batch of its own, so the reused one never keeps a big buffer.
    const big = value?.length > SINGLE_BATCH_REUSE_BYTES_MAX;
    const batch = big ? new WriteBatch() : this.single;
    batch.clear();
    this.write(batch.put(key, value), options);
  }

  /** Deletes `key` (a no-op if absent, but still a logged write). */
  delete(key: Uint8Array, options?: WriteOptions): void {
    const batch = this.single;
    batch.clear();
    this.write(batch.delete(key), options);
  }

  /** Applies `batch` atomically. An empty batch does nothing. */
  write(batch: WriteBatch, options: WriteOptions = {}): void {
    this.checkWritable();
    if (!(batch instanceof WriteBatch)) throw new InvalidArgumentError('write() takes a WriteBatch');
    if (batch.count === 0) return;
    const first = this.lastSeq + 1;
    assert(first + batch.count - 1 <= MAX_SEQUENCE, 'sequence numbers exhausted');
    const record = batch.encode(first);
    this.wal.add(record);
    if (options.sync === true) {
      try {
        this.syncWal();
      } catch (err) {
        // The record is in the WAL but may or may not be durable: the only safe state is a
        // failed store, which the next open recovers from whatever the disk kept.
        this.backgroundError ??= err;
        throw err;
      }
    }
    insertBatch(record, first, this.mem);
    this.lastSeq = first + batch.count - 1;
    this.afterWrite(batch.count);
  }

  /**
   * Syncs the WAL, and first the directory if the WAL's creation is not yet durable. A new
   * WAL's name needs to be durable only before a write in it is acknowledged as synced, and
   * before a manifest edit names it; the flush that follows every switch syncs the directory
   * for its table anyway (which covers the WAL), so a switch no longer syncs it itself.
   */
  private syncWal(): void {
    if (this.walDirSyncPending) {
      this.fs.syncDir();
      this.walDirSyncPending = false;
    }
    this.wal.sync();
  }

  /** Makes every write so far durable (syncs the WAL), like a `sync: true` write. */
  sync(): void {
    this.checkWritable();
    try {
      this.syncWal();
    } catch (err) {
      this.backgroundError ??= err;
      throw err;
    }
  }

  /** The value of `key`, or undefined. Reads the latest state, or `snapshot`'s. */
  get(key: Uint8Array, options?: { snapshot?: Snapshot }): Uint8Array | undefined {
    this.checkOpen();
    checkKey(key);
    const seq = options?.snapshot?.seq ?? this.lastSeq;
    const hit = this.mem.find(key, seq) ?? this.imm?.find(key, seq);
    if (hit) return hit.kind === EntryKind.Value ? hit.value.slice() : undefined;
    let hashed = false;
    for (const t of this.versions.current.tables) {
      if (t.minSeq > seq || !tableCovers(t, key)) continue;
      if (!hashed) {
        this.probe.set(key);
        hashed = true;
      }
      const found = this.readers.mustGet(t.number).find(key, seq, this.probe);
      if (found) return found.kind === EntryKind.Value ? found.value.slice() : undefined;
    }
    return undefined;
  }

  /**
   * Iterates `[key, value]` pairs in bytewise key order over a consistent snapshot, within the
   * given bounds. Flushes and compactions may run meanwhile; the scan is unaffected. Consume
   * the iterator or call its `return()` (a `for...of` with `break` does) to release it.
   */
  scan(options: ScanOptions = {}): IterableIterator<[Uint8Array, Uint8Array]> {
    this.checkOpen();
    checkScanOptions(options);
    const own = options.snapshot === undefined;
    const seq = options.snapshot?.seq ?? this.lastSeq;
    if (own) this.holdSeq(seq);
    const version = this.versions.current;
    this.versions.ref(version);
    const sources: InternalIterator[] = [this.mem.iterator()];
    if (this.imm) sources.push(this.imm.iterator());
    // Tables whose key range misses the bounds hold nothing the scan returns: not opened.
    for (const t of version.tables)
      if (t.minSeq <= seq && boundsMayTouch(options, t.smallest, t.largest))
        sources.push(this.readers.mustGet(t.number).iterator());
    const iter = sources.length === 1 ? sources[0]! : new MergingIterator(sources);
    return scanCheckedEntries(iter, seq, options, new ScanRelease(this, version, own ? seq : undefined));
  }

  /** @internal Ends what {@link scan} took: the version's reference and its own snapshot. */
  endScan(version: Version, seq: number | undefined): void {
    if (this.closed) return;
    this.versions.unref(version);
    if (seq !== undefined) this.unholdSeq(seq);
  }

  /** Registers a reader of sequence `seq` (compactions keep what it sees). */
  private holdSeq(seq: number): void {
    this.snapshots.set(seq, (this.snapshots.get(seq) ?? 0) + 1);
  }

  private unholdSeq(seq: number): void {
    const n = this.snapshots.get(seq)!;
    if (n > 1) this.snapshots.set(seq, n - 1);
    else this.snapshots.delete(seq);
  }

  /** Takes a snapshot of the current state. */
  snapshot(): Snapshot {
    this.checkOpen();
    const seq = this.lastSeq;
    this.holdSeq(seq);
    let released = false;
    return {
      seq,
      release: () => {
        if (released) return;
        released = true;
        this.unholdSeq(seq);
      },
    };
  }

  /** Flushes the memtable to a table and waits for it. */
  flush(): void {
    this.checkWritable();
    this.guard(() => {
      if (this.mem.entries > 0) this.switchMemtable();
      if (this.flushJob) runToCompletion(this.background, this.flushJob, () => this.completeFlush());
    });
  }

  /** Flushes, then merges every table into one (a major compaction), and waits. */
  compact(): void {
    this.flush();
    this.guard(() => {
      if (this.compactionJob)
        runToCompletion(this.background, this.compactionJob, () => this.completeCompaction());
      const n = this.versions.current.tables.length;
      if (n > 1) {
        this.compactionJob = this.startCompaction(0, n);
        runToCompletion(this.background, this.compactionJob, () => this.completeCompaction());
      }
    });
  }

  /** Runs up to `budget` entries of pending flush and compaction work (for idle time). */
  maintain(budget: number): void {
    this.checkWritable();
    if (!Number.isInteger(budget) || budget < 0)
      throw new InvalidArgumentError('maintain: budget must be an integer >= 0');
    this.doBackgroundWork(budget);
    this.throwBackgroundError();
  }

  /** Syncs the WAL and releases every file. Further calls throw `ClosedError`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (openStores.get(this.fs) === this) openStores.delete(this.fs);
    try {
      if (this.backgroundError === undefined) {
        this.syncWal();
        // An unfinished job's output is not part of any version: drop it now rather than
        // leave it for the next open to clean up.
        for (const job of [this.flushJob, this.compactionJob]) {
          if (job === undefined) continue;
          if (job.merge === undefined) job.outcome ??= this.background!.wait(job.task);
          job.file?.close();
          if (this.fs.exists(tableFileName(job.output))) this.fs.delete(tableFileName(job.output));
        }
      }
    } finally {
      for (const job of [this.flushJob, this.compactionJob]) job?.file?.close();
      this.flushJob = undefined;
      this.compactionJob = undefined;
      this.background?.close();
      this.wal.close();
      this.versions.close();
      this.readers.closeAll();
    }
  }

  /** Current counters. */
  stats(): LsmStats {
    const tables = this.versions.current.tables;
    return {
      lastSequence: this.lastSeq,
      tables: tables.length,
      tableBytes: tables.reduce((s, t) => s + t.fileBytes, 0),
      memtableBytes: this.mem.approximateBytes + (this.imm?.approximateBytes ?? 0),
      ...this.counts,
    };
  }

  /**
   * True while this instance still holds live file handles. After a simulated power loss
   * (`MemoryFs.crash()`) every handle is dead, and a new instance may take over the files,
   * just as a new process may after a real crash.
   */
  private holdsFiles(): boolean {
    if (this.closed) return false;
    try {
      this.wal.file.size();
      return true;
    } catch (err) {
      if (err instanceof ClosedError) return false;
      throw err;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('the store is closed');
  }

  private checkWritable(): void {
    this.checkOpen();
    this.throwBackgroundError();
  }

  private throwBackgroundError(): void {
    if (this.backgroundError !== undefined) throw this.backgroundError;
  }

  /** Runs `fn`; any error becomes the sticky background error (the store's state is unknown). */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.backgroundError ??= err;
      throw err;
    }
  }

  private afterWrite(ops: number): void {
    if (this.mem.approximateBytes >= this.memtableBytes) {
      try {
        this.switchMemtable();
      } catch (err) {
        this.backgroundError ??= err;
        return;
      }
    }
    if (this.flushJob === undefined && this.compactionJob === undefined && !this.compactionCheckNeeded)
      return;
    this.debt += ops * this.workPerOp;
    if (this.debt >= WORK_CHUNK) {
      const budget = this.debt;
      this.debt = 0;
      this.doBackgroundWork(budget);
    }
  }

  /**
   * Spends up to `budget` entries on inline jobs, flush first. A job on the background merger
   * costs nothing here: it is committed if its outcome has arrived and otherwise left alone
   * (the loop never waits for one).
   */
  private doBackgroundWork(budget: number): void {
    if (this.backgroundError !== undefined) return;
    try {
      let left = budget;
      while (left > 0) {
        const flush = this.flushJob;
        if (flush?.merge !== undefined) {
          const n = Math.min(left, WORK_CHUNK);
          left -= n;
          if (flush.merge.step(n)) this.completeFlush();
          continue;
        }
        if (flush !== undefined && arrived(this.background!, flush)) {
          this.completeFlush();
          continue;
        }
        if (this.compactionJob === undefined) {
          if (!this.compactionCheckNeeded) return;
          const pick = pickTieredCompaction(
            this.versions.current.tables.map((t) => t.fileBytes),
            this.policy,
          );
          if (pick === undefined) {
            this.compactionCheckNeeded = false;
            return;
          }
          this.compactionJob = this.startCompaction(pick.start, pick.end);
        }
        const compaction = this.compactionJob;
        if (compaction.merge === undefined) {
          if (arrived(this.background!, compaction)) this.completeCompaction();
          return;
        }
        const n = Math.min(left, WORK_CHUNK);
        left -= n;
        if (compaction.merge.step(n)) this.completeCompaction();
      }
    } catch (err) {
      this.backgroundError ??= err;
    }
  }

  private switchMemtable(): void {
    if (this.flushJob) runToCompletion(this.background, this.flushJob, () => this.completeFlush());
    if (this.versions.current.tables.length >= MAX_TABLES) this.compactUntilUnderLimit();
    const number = this.versions.newFileNumber();
    // Sync the old WAL (and its name, if that is still pending) first: a later synced write
    // must never survive a crash that loses an earlier unsynced one in the previous WAL, or
    // recovery would not be a prefix. The new WAL's name becomes durable lazily (syncWal).
    this.syncWal();
    const file = this.fs.open(logFileName(number), { create: true, exclusive: true });
    this.walDirSyncPending = true;
    this.wal.close();
    this.wal = new LogWriter(file);
    this.walNumber = number;
    this.imm = this.mem;
    this.mem = new Memtable();
    const version = this.versions.current;
    this.versions.ref(version);
    this.flushJob = this.newJob(this.imm, [], version, version.tables);
  }

  private compactUntilUnderLimit(): void {
    while (this.versions.current.tables.length >= MAX_TABLES) {
      if (this.compactionJob === undefined) {
        const sizes = this.versions.current.tables.map((t) => t.fileBytes);
        const pick = pickTieredCompaction(sizes, { ...this.policy, softMaxRuns: 0 });
        assert(pick !== undefined, 'a store over MAX_TABLES always has a compaction to run');
        this.compactionJob = this.startCompaction(pick.start, pick.end);
      }
      runToCompletion(this.background, this.compactionJob, () => this.completeCompaction());
    }
  }

  /**
   * Starts a merge of `mem` (a flush) or of the tables `inputs` (a compaction) into a new
   * table: inline, or on the background merger when there is one.
   */
  private newJob(
    mem: Memtable | undefined,
    inputs: readonly TableMeta[],
    version: Version,
    older: readonly TableMeta[],
  ): Job {
    const output = this.versions.newFileNumber();
    const smallestSnapshot = this.smallestSnapshot();
    return startJob(this.host, {
      mem,
      inputs,
      version,
      older,
      output,
      smallestSnapshot,
      walAtStart: this.walNumber,
    });
  }

  private startCompaction(start: number, end: number): Job {
    const version = this.versions.current;
    this.versions.ref(version);
    return this.newJob(undefined, version.tables.slice(start, end), version, version.tables.slice(end));
  }

  private completeFlush(): void {
    const job = this.flushJob;
    assert(job !== undefined, 'completeFlush without a flush job');
    assert(this.imm !== undefined, 'completeFlush without an immutable memtable');
    const meta = finishJob(this.host, job);
    const lastSequence = Math.max(this.versions.counters.lastSequence, this.imm.maxSeq);
    this.versions.logAndApply({
      logNumber: this.walNumber,
      lastSequence,
      deleted: [],
      added: meta ? [meta] : [],
    });
    this.flushJob = undefined;
    this.imm = undefined;
    this.versions.unref(job.version);
    this.counts.flushes++;
    this.compactionCheckNeeded = true;
    this.deleteObsoleteFiles();
  }

  private completeCompaction(): void {
    const job = this.compactionJob;
    assert(job !== undefined, 'completeCompaction without a job');
    const meta = finishJob(this.host, job);
    this.versions.logAndApply({ deleted: job.inputs, added: meta ? [meta] : [] });
    this.compactionJob = undefined;
    this.versions.unref(job.version);
    this.counts.compactions++;
    this.compactionCheckNeeded = true;
  }

  private smallestSnapshot(): number {
    for (const seq of this.snapshots.keys()) return seq;
    return this.lastSeq;
  }

  /** Deletes WALs, manifests, tables and temp files that no live state refers to. */
  private deleteObsoleteFiles(): void {
    const live = new Set<number>([this.versions.currentManifestNumber]);
    if (this.flushJob) live.add(this.flushJob.output);
    if (this.compactionJob) live.add(this.compactionJob.output);
    for (const name of this.fs.list()) {
      const p = parseFileName(name);
      let obsolete = false;
      if (p.kind === 'log') obsolete = p.number < this.versions.counters.logNumber;
      else if (p.kind === 'manifest') obsolete = !live.has(p.number);
      else if (p.kind === 'table') obsolete = !this.versions.isLive(p.number) && !live.has(p.number);
      else if (p.kind === 'temp') obsolete = true;
      if (obsolete) this.fs.delete(name);
    }
  }
}

export { WriteBatch } from './write-batch.ts';
