/**
 * An append-only file of fixed-size records, each followed by its CRC-32C (masked, u32
 * little-endian): record i lives at byte i × (size + 4), so any record is one read away. The
 * hub keeps its event cursor index, its admitted devices and its revocations in such files
 * (docs/formats/hub-state.md).
 *
 * Crash safety: an append may be torn, so on open a partial last record, or a last record
 * whose CRC fails, is cut off (it was never acknowledged: appends are synced before anyone is
 * told). A failing CRC anywhere before the last record is corruption and stops the open.
 */

import { CorruptionError } from '../engine/errors.ts';
import { crc32c, maskCrc } from '../engine/io/crc32c.ts';
import type { FileHandle, FileSystem } from '../engine/io/fs.ts';

/** Bytes of the CRC after each record. */
export const RECORD_CRC_BYTES = 4;

/** A file of fixed-size, checksummed records. */
export class RecordFile {
  private readonly handle: FileHandle;
  private readonly stride: number;
  private count_: number;
  /** Records cut off as torn when the file was opened. */
  readonly tornRecordsDropped: number;

  constructor(
    fs: FileSystem,
    readonly name: string,
    readonly recordBytes: number,
  ) {
    this.stride = recordBytes + RECORD_CRC_BYTES;
    this.handle = fs.open(name, { create: true });
    const size = this.handle.size();
    let whole = Math.floor(size / this.stride);
    let dropped = size % this.stride === 0 ? 0 : 1;
    if (whole > 0 && !this.valid(this.handle.read((whole - 1) * this.stride, this.stride))) {
      whole--;
      dropped++;
    }
    for (let i = 0; i < whole - 1; i++) {
      if (!this.valid(this.handle.read(i * this.stride, this.stride)))
        throw new CorruptionError({ file: name, offset: i * this.stride, detail: 'record CRC mismatch' });
    }
    if (whole * this.stride !== size) {
      this.handle.truncate(whole * this.stride);
      this.handle.sync();
    }
    this.count_ = whole;
    this.tornRecordsDropped = dropped;
  }

  private valid(bytes: Uint8Array): boolean {
    if (bytes.length !== this.stride) return false;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return view.getUint32(this.recordBytes, true) === maskCrc(crc32c(bytes, 0, this.recordBytes));
  }

  /** Number of records. */
  get count(): number {
    return this.count_;
  }

  /** Appends `records` (each exactly `recordBytes`) and syncs them before returning. */
  append(records: readonly Uint8Array[]): void {
    if (records.length === 0) return;
    const out = new Uint8Array(records.length * this.stride);
    const view = new DataView(out.buffer);
    records.forEach((r, i) => {
      if (r.length !== this.recordBytes)
        throw new RangeError(`${this.name}: record of ${r.length} bytes, expected ${this.recordBytes}`);
      out.set(r, i * this.stride);
      view.setUint32(i * this.stride + this.recordBytes, maskCrc(crc32c(r)), true);
    });
    this.handle.write(this.count_ * this.stride, out);
    this.handle.sync();
    this.count_ += records.length;
  }

  /** Records `[from, from + n)` clipped to the file (copies, without their CRCs). */
  read(from: number, n: number): Uint8Array[] {
    const to = Math.min(this.count_, from + n);
    if (from >= to) return [];
    const bytes = this.handle.read(from * this.stride, (to - from) * this.stride);
    const out: Uint8Array[] = [];
    for (let i = 0; i < to - from; i++) {
      const rec = bytes.subarray(i * this.stride, (i + 1) * this.stride);
      if (!this.valid(rec))
        throw new CorruptionError({
          file: this.name,
          offset: (from + i) * this.stride,
          detail: 'record CRC mismatch',
        });
      out.push(rec.slice(0, this.recordBytes));
    }
    return out;
  }

  /** Closes the file. */
  close(): void {
    this.handle.close();
  }
}
