/**
 * Versions: immutable sets of live tables. The store always has a current version; readers
 * (scans, compactions) pin the version they started on, so a compaction may retire tables
 * while a scan still reads them. A table's file is deleted only when no live version holds it.
 *
 * The version set also owns the manifest: {@link VersionSet.logAndApply} makes an edit durable
 * before installing it, which is the commit point of every flush and compaction.
 */

import { assert } from '../assert.ts';
import { CorruptionError } from '../errors.ts';
import { type FileSystem, writeFileAtomic } from '../io/fs.ts';
import { TRAILER_BYTES } from './internal-key.ts';
import { MAX_TABLES } from './limits.ts';
import {
  encodeVersionEdit,
  MANIFEST_FORMAT_VERSION,
  manifestFileName,
  type TableMeta,
  type VersionEdit,
} from './version-edit.ts';
import { LogWriter } from './wal.ts';

/** Manifest size after which the next edit starts a fresh manifest with a full snapshot. */
export const MANIFEST_ROLL_BYTES = 4 * 1024 * 1024;

/** An immutable set of tables, newest first (by `maxSeq`). */
export class Version {
  /** Live references (the version set's own, scans, compactions). */
  refs = 0;

  constructor(
    /** Tables, newest first. Their sequence ranges are disjoint. */
    readonly tables: readonly TableMeta[],
  ) {
    for (let i = 1; i < tables.length; i++) {
      assert(
        tables[i - 1]!.minSeq > tables[i]!.maxSeq,
        'version: table sequence ranges overlap or are unordered',
      );
    }
  }
}

/** True when `userKey` lies within the user-key range of `t`. */
export function tableCovers(t: TableMeta, userKey: Uint8Array): boolean {
  return compareToUserKeyOf(userKey, t.smallest) >= 0 && compareToUserKeyOf(userKey, t.largest) <= 0;
}

/**
 * `compareBytes(userKey, userKeyOf(ikey))` without the view: every point read asks this of
 * every table's bounds, so it allocates nothing.
 */
function compareToUserKeyOf(userKey: Uint8Array, ikey: Uint8Array): number {
  const bl = ikey.length - TRAILER_BYTES;
  const n = Math.min(userKey.length, bl);
  for (let i = 0; i < n; i++) {
    const d = userKey[i]! - ikey[i]!;
    if (d !== 0) return d;
  }
  return userKey.length - bl;
}

/** Applies `edit` to `tables`, returning the new table list (newest first). */
export function applyEdit(
  tables: readonly TableMeta[],
  edit: VersionEdit,
  manifestName: string,
): TableMeta[] {
  const byNumber = new Map(tables.map((t) => [t.number, t]));
  for (const n of edit.deleted) {
    if (!byNumber.delete(n)) {
      throw new CorruptionError({ file: manifestName, offset: 0, detail: `edit deletes unknown table ${n}` });
    }
  }
  for (const t of edit.added) {
    if (byNumber.has(t.number)) {
      throw new CorruptionError({
        file: manifestName,
        offset: 0,
        detail: `edit adds table ${t.number} twice`,
      });
    }
    byNumber.set(t.number, t);
  }
  const out = [...byNumber.values()].sort((a, b) => b.maxSeq - a.maxSeq);
  for (let i = 1; i < out.length; i++) {
    if (out[i - 1]!.minSeq <= out[i]!.maxSeq) {
      throw new CorruptionError({
        file: manifestName,
        offset: 0,
        detail: 'tables have overlapping sequence ranges',
      });
    }
  }
  return out;
}

/** Persistent counters recorded with every edit. */
export interface VersionCounters {
  logNumber: number;
  nextFileNumber: number;
  lastSequence: number;
}

/** The current version, the manifest, and reference counts of table files. */
export class VersionSet {
  private currentVersion: Version;
  private readonly tableRefs = new Map<number, number>();
  private manifest: LogWriter | undefined;
  private manifestNumber = 0;
  /** Counters as of the last durable edit. */
  readonly counters: VersionCounters;

  constructor(
    private readonly fs: FileSystem,
    tables: readonly TableMeta[],
    counters: VersionCounters,
    /** Called when a table's file is no longer referenced by any live version. */
    private readonly onTableObsolete: (number: number) => void,
  ) {
    this.counters = { ...counters };
    this.currentVersion = new Version(tables);
    this.ref(this.currentVersion);
  }

  /** The current version (not pinned; call {@link ref} to keep it). */
  get current(): Version {
    return this.currentVersion;
  }

  /** Allocates a file number. The allocation becomes durable with the next edit. */
  newFileNumber(): number {
    return this.counters.nextFileNumber++;
  }

  /** Pins a version. */
  ref(v: Version): void {
    if (v.refs++ === 0) {
      for (const t of v.tables) this.tableRefs.set(t.number, (this.tableRefs.get(t.number) ?? 0) + 1);
    }
  }

  /** Unpins a version; tables no live version holds become obsolete. */
  unref(v: Version): void {
    assert(v.refs > 0, 'version: unref of an unreferenced version');
    if (--v.refs > 0) return;
    for (const t of v.tables) {
      const n = this.tableRefs.get(t.number);
      assert(n !== undefined, 'version: table refcount missing');
      if (n > 1) {
        this.tableRefs.set(t.number, n - 1);
      } else {
        this.tableRefs.delete(t.number);
        this.onTableObsolete(t.number);
      }
    }
  }

  /** True when some live version still holds table `n`. */
  isLive(n: number): boolean {
    return this.tableRefs.has(n);
  }

  /**
   * Starts a fresh manifest holding a snapshot of the current state and points CURRENT at it.
   * Returns the number of the manifest it replaced (0 if none).
   */
  writeSnapshot(): number {
    const old = this.manifestNumber;
    const number = this.newFileNumber();
    const name = manifestFileName(number);
    const w = new LogWriter(this.fs.open(name, { create: true, exclusive: true }));
    try {
      const edit: VersionEdit = {
        formatVersion: MANIFEST_FORMAT_VERSION,
        ...this.counters,
        deleted: [],
        added: [...this.currentVersion.tables],
      };
      w.add(encodeVersionEdit(edit));
      w.sync();
      this.fs.syncDir();
      writeFileAtomic(this.fs, 'CURRENT', new TextEncoder().encode(`${name}\n`));
    } catch (err) {
      w.close();
      throw err;
    }
    this.manifest?.close();
    this.manifest = w;
    this.manifestNumber = number;
    return old;
  }

  /**
   * Makes `edit` durable in the manifest, then installs the resulting version. When this
   * returns, a crash can no longer undo the edit. If it throws, the edit may or may not be
   * durable (the append, the sync or a later manifest roll failed): the caller must treat the
   * store as failed and let the next open read what the disk kept.
   */
  logAndApply(edit: VersionEdit): void {
    assert(this.manifest !== undefined, 'version set: no manifest open');
    const tables = applyEdit(this.currentVersion.tables, edit, manifestFileName(this.manifestNumber));
    assert(tables.length <= MAX_TABLES * 2, 'version set: table count far beyond MAX_TABLES');
    if (edit.logNumber !== undefined) this.counters.logNumber = edit.logNumber;
    if (edit.lastSequence !== undefined) this.counters.lastSequence = edit.lastSequence;
    const full: VersionEdit = { ...edit, ...this.counters };
    this.manifest.add(encodeVersionEdit(full));
    this.manifest.sync();
    this.install(new Version(tables));
    if (this.manifest.size > MANIFEST_ROLL_BYTES) {
      const old = this.writeSnapshot();
      if (old !== 0) this.fs.delete(manifestFileName(old));
    }
  }

  private install(v: Version): void {
    const old = this.currentVersion;
    this.currentVersion = v;
    this.ref(v);
    this.unref(old);
  }

  /** Number of the manifest in use. */
  get currentManifestNumber(): number {
    return this.manifestNumber;
  }

  /** Releases the manifest. */
  close(): void {
    this.manifest?.close();
    this.manifest = undefined;
  }
}
