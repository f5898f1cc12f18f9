/**
 * The open readers of a store's live tables, by file number. A table is opened (footer, index
 * and filter verified) once when it becomes live, read through the shared block cache, and
 * closed and deleted when no version refers to it any more.
 */

import { assert } from '../assert.ts';
import type { FileSystem } from '../io/fs.ts';
import type { BlockCache } from './block-cache.ts';
import { SsTableReader } from './sstable.ts';
import { tableFileName } from './version-edit.ts';

/** Readers of the live tables of one store. */
export class TableReaders {
  private readonly readers = new Map<number, SsTableReader>();

  constructor(
    private readonly fs: FileSystem,
    private readonly cache: BlockCache,
  ) {}

  /** Opens table `number` (verifying it) and keeps its reader. */
  open(number: number): SsTableReader {
    const r = SsTableReader.open({
      fs: this.fs,
      name: tableFileName(number),
      cache: this.cache,
      fileNumber: number,
    });
    this.readers.set(number, r);
    return r;
  }

  /** The reader of live table `number`; asserts that it is open. */
  mustGet(number: number): SsTableReader {
    const r = this.readers.get(number);
    assert(r !== undefined, `no reader for live table ${number}`);
    return r;
  }

  /** Closes table `number`'s reader, if open, and deletes its file: no version refers to it. */
  obsolete(number: number): void {
    this.readers.get(number)?.close();
    this.readers.delete(number);
    this.fs.delete(tableFileName(number));
  }

  /** Closes every reader (the files stay). */
  closeAll(): void {
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
  }
}
