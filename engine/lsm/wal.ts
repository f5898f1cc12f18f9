/**
 * The write-ahead log's record framing, shared by the WAL and the manifest. Byte layout (see
 * docs/formats/wal.md):
 *
 *   u32  masked CRC-32C of bytes 4..12 (the rest of the header)
 *   u32  payload length
 *   u8   kind (1 = full record)
 *   u32  masked CRC-32C of the payload
 *   ...  payload
 *
 * The header has its own CRC so that recovery can tell a torn tail (the header is intact and
 * the payload is short: the last write before a crash) from corruption (a header or payload
 * that fails its CRC): a flipped length must never make the rest of the log look torn, or
 * recovery would silently drop acknowledged writes after it.
 */

import { assert } from '../assert.ts';
import { CorruptionError, IoError } from '../errors.ts';
import { crc32c, maskCrc, unmaskCrc } from '../io/crc32c.ts';
import type { FileHandle } from '../io/fs.ts';
import { getU32, ScratchBuffer } from './coding.ts';
import { MAX_RECORD_BYTES } from './limits.ts';

/** Bytes of a record header. */
export const RECORD_HEADER_BYTES = 13;

/** Kind byte of a complete record. */
const KIND_FULL = 1;

/**
 * Largest frame buffer a writer keeps between appends. Frames up to this size are built in one
 * reused buffer (no allocation per record: most records are a few hundred bytes); a longer one
 * gets a buffer of its own that is dropped after the append.
 */
export const FRAME_BUFFER_BYTES_MAX = 1024 * 1024;

/** Appends framed records to a log file. */
export class LogWriter {
  /** Reused buffer for `header ‖ payload` of records up to {@link FRAME_BUFFER_BYTES_MAX}. */
  private readonly frames = new ScratchBuffer(512, FRAME_BUFFER_BYTES_MAX);
  /** Offset just past the last record known to be completely written. */
  private goodBytes: number;
  /** Set once an append failed and could not be undone: every later append refuses. */
  private broken: Error | undefined;

  constructor(
    /** The open log file, positioned by its size. */
    readonly file: FileHandle,
  ) {
    this.goodBytes = file.size();
  }

  /** Bytes written so far. */
  get size(): number {
    return this.goodBytes;
  }

  /**
   * Appends one record. On failure the log is cut back to its last complete record, so a
   * failed append never leaves garbage in front of later records; if even that fails the
   * writer refuses further appends (the store must be reopened).
   */
  add(payload: Uint8Array): void {
    if (this.broken)
      throw new IoError('log writer is unusable after an earlier failure', { cause: this.broken });
    assert(payload.length <= MAX_RECORD_BYTES, 'log record longer than the reader accepts');
    const size = RECORD_HEADER_BYTES + payload.length;
    const frame = this.frames.take(size);
    // Header fields written byte by byte: a DataView over a reused buffer would be one more
    // object to keep in step with it, and these are four little-endian words.
    putU32(frame, 4, payload.length);
    frame[8] = KIND_FULL;
    putU32(frame, 9, maskCrc(crc32c(payload)));
    putU32(frame, 0, maskCrc(crc32c(frame, 4, RECORD_HEADER_BYTES)));
    frame.set(payload, RECORD_HEADER_BYTES);
    try {
      this.file.append(size === frame.length ? frame : frame.subarray(0, size));
    } catch (err) {
      this.rollBack(err);
      throw err;
    }
    this.goodBytes += size;
  }

  private rollBack(err: unknown): void {
    try {
      if (this.file.size() !== this.goodBytes) this.file.truncate(this.goodBytes);
    } catch {
      this.broken = err instanceof Error ? err : new Error(String(err));
    }
  }

  /** Makes every record so far durable. */
  sync(): void {
    this.file.sync();
  }

  /** Closes the file. */
  close(): void {
    this.file.close();
  }
}

/** Writes `v` as a little-endian u32 at `buf[at]`. */
function putU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v & 0xff;
  buf[at + 1] = (v >>> 8) & 0xff;
  buf[at + 2] = (v >>> 16) & 0xff;
  buf[at + 3] = (v >>> 24) & 0xff;
}

/** What recovery read from a log. */
export interface LogContents {
  /** Complete, verified record payloads, in order. */
  records: Uint8Array[];
  /** Offset of each record's header. */
  offsets: number[];
  /** Bytes covered by complete records. */
  validBytes: number;
  /** Bytes after them that were a torn tail (dropped). */
  tornBytes: number;
}

function allZero(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Reads every record of a log, given its whole contents. A torn tail (an incomplete last
 * record, or a zero-filled tail as a file system may leave after a crash) is dropped and
 * counted. Any complete record that fails a check throws {@link CorruptionError} naming the
 * file and the record's offset: it is never returned, and neither is anything after it.
 */
export function readLog(name: string, bytes: Uint8Array): LogContents {
  const records: Uint8Array[] = [];
  const offsets: number[] = [];
  const end = bytes.length;
  let pos = 0;
  const corrupt = (at: number, detail: string) => new CorruptionError({ file: name, offset: at, detail });
  while (pos < end) {
    if (end - pos < RECORD_HEADER_BYTES) break;
    if (allZero(bytes, pos, pos + RECORD_HEADER_BYTES) && allZero(bytes, pos, end)) break;
    const headerCrc = unmaskCrc(getU32(bytes, pos));
    if (crc32c(bytes, pos + 4, pos + RECORD_HEADER_BYTES) !== headerCrc)
      throw corrupt(pos, 'record header CRC mismatch');
    const length = getU32(bytes, pos + 4);
    if (bytes[pos + 8] !== KIND_FULL) throw corrupt(pos, `unknown record kind ${bytes[pos + 8]}`);
    if (length > MAX_RECORD_BYTES) throw corrupt(pos, `record length ${length} exceeds ${MAX_RECORD_BYTES}`);
    const start = pos + RECORD_HEADER_BYTES;
    if (start + length > end) break;
    const payloadCrc = unmaskCrc(getU32(bytes, pos + 9));
    if (crc32c(bytes, start, start + length) !== payloadCrc) {
      // A file system may extend a file before writing its data; what it leaves is zeros.
      if (allZero(bytes, start, end)) break;
      throw corrupt(pos, 'record payload CRC mismatch');
    }
    records.push(bytes.subarray(start, start + length));
    offsets.push(pos);
    pos = start + length;
  }
  return { records, offsets, validBytes: pos, tornBytes: end - pos };
}
