/**
 * Version edits: the manifest's records. The manifest is a log (same framing as the WAL) whose
 * records each describe one atomic change to the set of live tables; replaying them from the
 * start gives the current version. A flush or compaction becomes visible exactly when its edit
 * is durable in the manifest, which is what makes switching files atomic under crashes.
 *
 * Encoding (docs/formats/manifest.md): a sequence of tagged fields, each `u8 tag` then:
 *   1 format version      varint (must be 1)
 *   2 log number          varint: WALs numbered below this are fully in tables
 *   3 next file number    varint
 *   4 last sequence       varint
 *   5 deleted table       varint file number
 *   6 added table         varint number, fileBytes, entries, minSeq, maxSeq,
 *                         then smallest and largest internal keys, each varint length + bytes
 */

import type { FileSystem } from '../io/fs.ts';
import { ByteReader, ByteWriter, DecodeError } from './coding.ts';
import { TRAILER_BYTES } from './internal-key.ts';
import { MAX_KEY_BYTES } from './limits.ts';

/** The manifest format version this code writes and reads. */
export const MANIFEST_FORMAT_VERSION = 1;

/** What the manifest knows about one table (sorted run). */
export interface TableMeta {
  /** File number; the file is named by {@link tableFileName}. */
  number: number;
  /** Size of the file in bytes. */
  fileBytes: number;
  /** Number of entries. */
  entries: number;
  /** Smallest sequence number in the table. */
  minSeq: number;
  /** Largest sequence number in the table; tables are ordered newest first by it. */
  maxSeq: number;
  /** Smallest internal key. */
  smallest: Uint8Array;
  /** Largest internal key. */
  largest: Uint8Array;
}

/** One atomic change to the version. */
export interface VersionEdit {
  formatVersion?: number;
  logNumber?: number;
  nextFileNumber?: number;
  lastSequence?: number;
  deleted: number[];
  added: TableMeta[];
}

const TAG_FORMAT = 1;
const TAG_LOG = 2;
const TAG_NEXT_FILE = 3;
const TAG_LAST_SEQ = 4;
const TAG_DELETED = 5;
const TAG_ADDED = 6;

/** Encodes an edit as a manifest record payload. */
export function encodeVersionEdit(edit: VersionEdit): Uint8Array {
  const w = new ByteWriter(64);
  if (edit.formatVersion !== undefined) w.u8(TAG_FORMAT).varint(edit.formatVersion);
  if (edit.logNumber !== undefined) w.u8(TAG_LOG).varint(edit.logNumber);
  if (edit.nextFileNumber !== undefined) w.u8(TAG_NEXT_FILE).varint(edit.nextFileNumber);
  if (edit.lastSequence !== undefined) w.u8(TAG_LAST_SEQ).varint(edit.lastSequence);
  for (const n of edit.deleted) w.u8(TAG_DELETED).varint(n);
  for (const t of edit.added) {
    w.u8(TAG_ADDED).varint(t.number).varint(t.fileBytes).varint(t.entries).varint(t.minSeq).varint(t.maxSeq);
    w.lengthPrefixed(t.smallest).lengthPrefixed(t.largest);
  }
  return w.finish();
}

function internalKey(r: ByteReader): Uint8Array {
  const at = r.pos;
  const k = r.lengthPrefixed();
  if (k.length <= TRAILER_BYTES || k.length > MAX_KEY_BYTES + TRAILER_BYTES) {
    throw new DecodeError('table boundary key has a bad length', at);
  }
  return k.slice();
}

/** Decodes a manifest record payload. Throws `DecodeError` on anything malformed. */
export function decodeVersionEdit(payload: Uint8Array): VersionEdit {
  const r = new ByteReader(payload);
  const edit: VersionEdit = { deleted: [], added: [] };
  while (r.remaining() > 0) {
    const tagAt = r.pos;
    const tag = r.u8();
    switch (tag) {
      case TAG_FORMAT:
        edit.formatVersion = r.varint();
        break;
      case TAG_LOG:
        edit.logNumber = r.varint();
        break;
      case TAG_NEXT_FILE:
        edit.nextFileNumber = r.varint();
        break;
      case TAG_LAST_SEQ:
        edit.lastSequence = r.varint();
        break;
      case TAG_DELETED:
        edit.deleted.push(r.varint());
        break;
      case TAG_ADDED: {
        const number = r.varint();
        const fileBytes = r.varint();
        const entries = r.varint();
        const minSeq = r.varint();
        const maxSeq = r.varint();
        if (minSeq > maxSeq) throw new DecodeError('table minSeq > maxSeq', tagAt);
        const smallest = internalKey(r);
        const largest = internalKey(r);
        edit.added.push({ number, fileBytes, entries, minSeq, maxSeq, smallest, largest });
        break;
      }
      default:
        throw new DecodeError(`unknown manifest tag ${tag}`, tagAt);
    }
  }
  return edit;
}

/** File name of table `n`. */
export function tableFileName(n: number): string {
  return `${String(n).padStart(6, '0')}.sst`;
}

/** File name of WAL `n`. */
export function logFileName(n: number): string {
  return `${String(n).padStart(6, '0')}.log`;
}

/** File name of manifest `n`. */
export function manifestFileName(n: number): string {
  return `MANIFEST-${String(n).padStart(6, '0')}`;
}

/** The kinds of file a store directory holds. */
export type StoreFile =
  | { kind: 'table' | 'log' | 'manifest'; number: number }
  | { kind: 'current' | 'temp' | 'other' };

/** Classifies a file name found in the store's directory. */
export function parseFileName(name: string): StoreFile {
  if (name === 'CURRENT') return { kind: 'current' };
  if (name.endsWith('.tmp')) return { kind: 'temp' };
  let m = /^(\d{6,15})\.sst$/.exec(name);
  if (m) return { kind: 'table', number: Number(m[1]) };
  m = /^(\d{6,15})\.log$/.exec(name);
  if (m) return { kind: 'log', number: Number(m[1]) };
  m = /^MANIFEST-(\d{6,15})$/.exec(name);
  if (m) return { kind: 'manifest', number: Number(m[1]) };
  return { kind: 'other' };
}

/** The highest number any table, WAL or manifest in `fs` carries (0 when there is none). */
export function highestFileNumber(fs: FileSystem): number {
  let max = 0;
  for (const name of fs.list()) {
    const p = parseFileName(name);
    if ('number' in p && p.number > max) max = p.number;
  }
  return max;
}
