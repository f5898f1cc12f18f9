/**
 * The hub's event order: every entry the hub stores gets the next cursor (0, 1, 2, ...), in
 * the order it was stored, and that order never changes, so an event stream can resume from
 * any cursor without gaps or duplicates. Record i of the file `cursor-index` is the entry with
 * cursor i: its author, its sequence number, and whether it carries a signature (an event
 * must end at a signed entry, or its receiver could not verify it). Layout in
 * docs/formats/hub-state.md.
 *
 * The index is written after the entries are durable in the replica and synced before any
 * event names it; after a crash between the two, {@link CursorIndex.repair} appends what the
 * replica holds and the index lacks.
 */

import { CorruptionError } from '../engine/errors.ts';
import type { FileSystem } from '../engine/io/fs.ts';
import type { FeedStore } from '../engine/log/feed-store.ts';
import { PUBLIC_KEY_BYTES } from '../engine/log/identity.ts';
import { authorToHex } from '../engine/sync/messages.ts';
import { RecordFile } from './record-file.ts';

/** Bytes of one index record (before its CRC). */
export const INDEX_RECORD_BYTES = PUBLIC_KEY_BYTES + 8 + 1;
/** Flags bit: the entry carries a signature. */
export const INDEX_FLAG_SIGNED = 0x01;
/** The index file's name. */
export const INDEX_FILE = 'cursor-index';

/** One indexed entry. */
export interface IndexRecord {
  author: Uint8Array;
  seq: number;
  signed: boolean;
}

function encodeRecord(r: IndexRecord): Uint8Array {
  const out = new Uint8Array(INDEX_RECORD_BYTES);
  out.set(r.author, 0);
  const view = new DataView(out.buffer);
  view.setUint32(PUBLIC_KEY_BYTES, r.seq % 4294967296, true);
  view.setUint32(PUBLIC_KEY_BYTES + 4, Math.floor(r.seq / 4294967296), true);
  out[PUBLIC_KEY_BYTES + 8] = r.signed ? INDEX_FLAG_SIGNED : 0;
  return out;
}

function decodeRecord(b: Uint8Array): IndexRecord {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const seq =
    view.getUint32(PUBLIC_KEY_BYTES, true) + view.getUint32(PUBLIC_KEY_BYTES + 4, true) * 4294967296;
  return {
    author: b.slice(0, PUBLIC_KEY_BYTES),
    seq,
    signed: (b[PUBLIC_KEY_BYTES + 8]! & INDEX_FLAG_SIGNED) !== 0,
  };
}

/** The cursor index (see the module comment). */
export class CursorIndex {
  private readonly file: RecordFile;
  /** Highest indexed seq per author (hex). */
  private readonly last = new Map<string, number>();

  constructor(fs: FileSystem) {
    this.file = new RecordFile(fs, INDEX_FILE, INDEX_RECORD_BYTES);
    const chunk = 4096;
    for (let from = 0; from < this.file.count; from += chunk) {
      for (const raw of this.file.read(from, chunk)) {
        const r = decodeRecord(raw);
        const hex = authorToHex(r.author);
        const prev = this.last.get(hex) ?? 0;
        if (r.seq !== prev + 1)
          throw new CorruptionError({
            file: INDEX_FILE,
            offset: from,
            detail: `${hex} seq ${r.seq} after ${prev}`,
          });
        this.last.set(hex, r.seq);
      }
    }
  }

  /** Records cut off as torn when the index was opened. */
  get tornRecordsDropped(): number {
    return this.file.tornRecordsDropped;
  }

  /** The next cursor (the number of indexed entries). */
  get end(): number {
    return this.file.count;
  }

  /** Highest indexed seq of `author` (hex), 0 when none. */
  lastSeq(author: string): number {
    return this.last.get(author) ?? 0;
  }

  /**
   * Indexes `author`'s entries `fromSeq..toSeq` (the ones just stored), in order, durably.
   * `fromSeq` must follow the author's last indexed seq.
   */
  appendRange(feeds: FeedStore, author: Uint8Array, fromSeq: number, toSeq: number): void {
    const hex = authorToHex(author);
    if (fromSeq !== this.lastSeq(hex) + 1)
      throw new CorruptionError({ file: INDEX_FILE, offset: this.end, detail: `${hex} from ${fromSeq}` });
    const records: Uint8Array[] = [];
    let nextSigned = feeds.signedSeqAtOrAfter(author, fromSeq);
    for (let seq = fromSeq; seq <= toSeq; seq++) {
      if (nextSigned !== undefined && nextSigned < seq) nextSigned = feeds.signedSeqAtOrAfter(author, seq);
      records.push(encodeRecord({ author, seq, signed: nextSigned === seq }));
    }
    this.file.append(records);
    this.last.set(hex, toSeq);
  }

  /**
   * Appends what the replica holds (up to each feed's signed head) and the index lacks, after
   * a crash between storing entries and indexing them. Returns the number of records added.
   * An index ahead of the replica means acknowledged entries were lost: corruption.
   */
  repair(feeds: FeedStore): number {
    let added = 0;
    for (const author of feeds.authors()) {
      const head = feeds.head(author);
      if (head === undefined) continue;
      const hex = authorToHex(author);
      const indexed = this.lastSeq(hex);
      if (indexed > head.signedSeq)
        throw new CorruptionError({
          file: INDEX_FILE,
          offset: this.end,
          detail: `index holds ${hex} up to ${indexed} but the replica only to ${head.signedSeq}`,
        });
      if (indexed < head.signedSeq) {
        this.appendRange(feeds, author, indexed + 1, head.signedSeq);
        added += head.signedSeq - indexed;
      }
    }
    return added;
  }

  /** Records with cursors `[from, from + n)`, clipped to the end. */
  read(from: number, n: number): IndexRecord[] {
    return this.file.read(from, n).map(decodeRecord);
  }

  /** Closes the file. */
  close(): void {
    this.file.close();
  }
}
