/**
 * Reading a store's durable state at open: CURRENT names the manifest, the manifest's edits
 * give the live tables and counters, and the WALs not yet in tables are replayed into a
 * memtable. Anything that fails a check is a {@link CorruptionError}; recovery never guesses
 * and never opens a store that would silently be missing acknowledged data.
 */

import { CorruptionError } from '../errors.ts';
import { type FileSystem, readWholeFile } from '../io/fs.ts';
import { DecodeError } from './coding.ts';
import type { Memtable } from './memtable.ts';
import { applyEdit, type VersionCounters } from './version.ts';
import {
  decodeVersionEdit,
  logFileName,
  MANIFEST_FORMAT_VERSION,
  parseFileName,
  type TableMeta,
} from './version-edit.ts';
import { readLog } from './wal.ts';
import { decodeBatch } from './write-batch.ts';

/** The durable state named by CURRENT. */
export interface ManifestState {
  tables: TableMeta[];
  counters: VersionCounters;
  manifestName: string;
}

const CURRENT_PATTERN = /^(MANIFEST-\d{6,15})\n$/;

/**
 * Reads CURRENT and the manifest. Returns undefined for a store that was never created (or
 * whose creation crashed before CURRENT existed: then only manifests and temp files exist).
 */
export function readManifestState(fs: FileSystem): ManifestState | undefined {
  const files = fs.list();
  if (!files.includes('CURRENT')) {
    // A crash while creating a store can leave an empty WAL: it holds nothing anybody was
    // told is stored, so the store is still new. Anything else means CURRENT was lost.
    const data = files.filter((f) => {
      const k = parseFileName(f).kind;
      return k === 'table' || (k === 'log' && readWholeFile(fs, f).length > 0);
    });
    if (data.length > 0) {
      throw new CorruptionError({
        file: 'CURRENT',
        offset: 0,
        detail: `missing, but data files exist (${data[0]})`,
      });
    }
    return undefined;
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(readWholeFile(fs, 'CURRENT'));
  const m = CURRENT_PATTERN.exec(text);
  if (!m) throw new CorruptionError({ file: 'CURRENT', offset: 0, detail: 'does not name a manifest' });
  const manifestName = m[1]!;
  if (!fs.exists(manifestName)) {
    throw new CorruptionError({ file: 'CURRENT', offset: 0, detail: `names missing ${manifestName}` });
  }
  const log = readLog(manifestName, readWholeFile(fs, manifestName));
  let tables: TableMeta[] = [];
  const counters: Partial<VersionCounters> = {};
  let sawFormat = false;
  for (let i = 0; i < log.records.length; i++) {
    const at = log.offsets[i]!;
    let edit: ReturnType<typeof decodeVersionEdit>;
    try {
      edit = decodeVersionEdit(log.records[i]!);
    } catch (err) {
      if (err instanceof DecodeError)
        throw new CorruptionError({ file: manifestName, offset: at, detail: err.message });
      throw err;
    }
    if (edit.formatVersion !== undefined) {
      if (edit.formatVersion !== MANIFEST_FORMAT_VERSION) {
        throw new CorruptionError({ file: manifestName, offset: at, detail: `format ${edit.formatVersion}` });
      }
      sawFormat = true;
    }
    tables = applyEdit(tables, edit, manifestName);
    if (edit.logNumber !== undefined) counters.logNumber = edit.logNumber;
    if (edit.nextFileNumber !== undefined) counters.nextFileNumber = edit.nextFileNumber;
    if (edit.lastSequence !== undefined) counters.lastSequence = edit.lastSequence;
  }
  const { logNumber, nextFileNumber, lastSequence } = counters;
  if (!sawFormat || logNumber === undefined || nextFileNumber === undefined || lastSequence === undefined) {
    throw new CorruptionError({
      file: manifestName,
      offset: 0,
      detail: 'manifest lacks its snapshot record',
    });
  }
  return { tables, counters: { logNumber, nextFileNumber, lastSequence }, manifestName };
}

/** Numbers of the WALs at or after `logNumber`, oldest first. */
export function liveLogNumbers(fs: FileSystem, logNumber: number): number[] {
  const out: number[] = [];
  for (const f of fs.list()) {
    const p = parseFileName(f);
    if (p.kind === 'log' && p.number >= logNumber) out.push(p.number);
  }
  return out.sort((a, b) => a - b);
}

/** What replaying the WALs found. */
export interface ReplayResult {
  lastSequence: number;
  records: number;
  tornBytes: number;
}

/**
 * Replays WAL records into `mem`. Sequence numbers are contiguous across records and WALs
 * (each batch starts right after the last one, and the first right after the manifest's last
 * sequence); a gap or a step back is corruption: its bytes passed their CRC, so a lost range
 * or a hostile file put it there. A torn tail is accepted only in a WAL followed by empty
 * ones: an older WAL is synced before the next one receives writes, so a torn tail with data
 * after it means synced records were lost.
 */
export function replayLogs(
  fs: FileSystem,
  logs: readonly number[],
  mem: Memtable,
  lastSequence: number,
): ReplayResult {
  let last = lastSequence;
  let records = 0;
  let tornBytes = 0;
  const contents = logs.map((n) => ({ name: logFileName(n), bytes: readWholeFile(fs, logFileName(n)) }));
  for (let li = 0; li < contents.length; li++) {
    const { name, bytes } = contents[li]!;
    const log = readLog(name, bytes);
    tornBytes += log.tornBytes;
    if (log.tornBytes > 0 && contents.slice(li + 1).some((c) => c.bytes.length > 0)) {
      throw new CorruptionError({
        file: name,
        offset: log.validBytes,
        detail: 'torn tail in a WAL followed by others',
      });
    }
    for (let i = 0; i < log.records.length; i++) {
      const at = log.offsets[i]!;
      let batch: ReturnType<typeof decodeBatch>;
      try {
        batch = decodeBatch(log.records[i]!);
      } catch (err) {
        if (err instanceof DecodeError)
          throw new CorruptionError({ file: name, offset: at, detail: err.message });
        throw err;
      }
      if (batch.firstSeq !== last + 1) {
        throw new CorruptionError({
          file: name,
          offset: at,
          detail: `sequence ${batch.firstSeq} does not follow ${last}`,
        });
      }
      for (let j = 0; j < batch.ops.length; j++) {
        const op = batch.ops[j]!;
        mem.add(batch.firstSeq + j, op.kind, op.key, op.value);
      }
      last = batch.firstSeq + batch.ops.length - 1;
      records++;
    }
  }
  return { lastSequence: last, records, tornBytes };
}
