/**
 * WAL framing: LogWriter and readLog. Round trips; a torn last record cut at every byte is
 * dropped with the records before it intact; zero-filled tails are dropped; a bit flip at every
 * bit of a small log is corruption at the flipped record's offset, never a wrong record; bad
 * kinds and oversized lengths behind a valid header CRC are corruption; a failed append is
 * rolled back so that later records read cleanly.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ClosedError, CorruptionError, IoError, NoSpaceError } from '../errors.ts';
import { crc32c, maskCrc } from '../io/crc32c.ts';
import { type FileHandle, readWholeFile } from '../io/fs.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { MAX_RECORD_BYTES } from './limits.ts';
import { type LogContents, LogWriter, RECORD_HEADER_BYTES, readLog } from './wal.ts';

const NAME = '000007.log';

/** Writes `payloads` through a LogWriter into a fresh MemoryFs file and returns its bytes. */
function writeLog(payloads: readonly Uint8Array[]): Uint8Array {
  const fs = new MemoryFs();
  const w = new LogWriter(fs.open(NAME, { create: true }));
  for (const p of payloads) w.add(p);
  w.sync();
  w.close();
  return readWholeFile(fs, NAME);
}

/** Header offsets of each record of a log of `payloads`. */
function offsetsOf(payloads: readonly Uint8Array[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const p of payloads) {
    out.push(at);
    at += RECORD_HEADER_BYTES + p.length;
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A header for `length`/`kind` with a correct header CRC (and a payload CRC of `payloadCrc`). */
function header(length: number, kind: number, payloadCrc = 0): Uint8Array {
  const h = new Uint8Array(RECORD_HEADER_BYTES);
  const v = new DataView(h.buffer);
  v.setUint32(4, length, true);
  h[8] = kind;
  v.setUint32(9, payloadCrc, true);
  v.setUint32(0, maskCrc(crc32c(h, 4, RECORD_HEADER_BYTES)), true);
  return h;
}

function corruptionOf(f: () => unknown): CorruptionError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(CorruptionError);
    return err as CorruptionError;
  }
  throw new Error('expected a CorruptionError, but the log read without one');
}

function expectRecords(got: LogContents, payloads: readonly Uint8Array[]): void {
  expect(got.records.map((r) => [...r])).toEqual(payloads.map((p) => [...p]));
  expect(got.offsets).toEqual(offsetsOf(payloads));
}

const bytesOf = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('round trip', () => {
  test.prop([fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 })])(
    'reads back every record, in order, at its offset',
    (payloads) => {
      const bytes = writeLog(payloads);
      const got = readLog(NAME, bytes);
      expectRecords(got, payloads);
      expect(got.validBytes).toBe(bytes.length);
      expect(got.tornBytes).toBe(0);
    },
  );

  it('reads an empty log as no records', () => {
    expect(readLog(NAME, new Uint8Array(0))).toEqual({
      records: [],
      offsets: [],
      validBytes: 0,
      tornBytes: 0,
    });
  });

  it('frames a record as a 13-byte header then the payload', () => {
    const payload = bytesOf(1, 2, 3);
    const bytes = writeLog([payload]);
    expect(bytes.length).toBe(RECORD_HEADER_BYTES + 3);
    expect(bytes.subarray(0, RECORD_HEADER_BYTES)).toEqual(header(3, 1, maskCrc(crc32c(payload))));
    expect(bytes.subarray(RECORD_HEADER_BYTES)).toEqual(payload);
  });

  it('continues a log at the end of an existing file', () => {
    const fs = new MemoryFs();
    const first = new LogWriter(fs.open(NAME, { create: true }));
    first.add(bytesOf(1));
    first.close();
    const second = new LogWriter(fs.open(NAME));
    expect(second.size).toBe(RECORD_HEADER_BYTES + 1);
    second.add(bytesOf(2, 2));
    expect(second.size).toBe(2 * RECORD_HEADER_BYTES + 3);
    second.close();
    expectRecords(readLog(NAME, readWholeFile(fs, NAME)), [bytesOf(1), bytesOf(2, 2)]);
  });

  it('refuses appends after close', () => {
    const fs = new MemoryFs();
    const w = new LogWriter(fs.open(NAME, { create: true }));
    w.close();
    expect(() => w.add(bytesOf(1))).toThrow(ClosedError);
  });
});

describe('torn tails', () => {
  const earlier = [bytesOf(10, 11, 12), new Uint8Array(0), Uint8Array.from({ length: 30 }, (_, i) => i + 1)];

  for (const last of [Uint8Array.from({ length: 40 }, (_, i) => 200 - i), new Uint8Array(0), bytesOf(0)]) {
    it(`drops the last record (${last.length} payload bytes) cut at every byte`, () => {
      const full = writeLog([...earlier, last]);
      const prefix = full.length - RECORD_HEADER_BYTES - last.length;
      for (let cut = 0; cut < RECORD_HEADER_BYTES + last.length; cut++) {
        const got = readLog(NAME, full.subarray(0, prefix + cut));
        expectRecords(got, earlier);
        expect(got.validBytes).toBe(prefix);
        expect(got.tornBytes).toBe(cut);
      }
      expectRecords(readLog(NAME, full), [...earlier, last]);
    });
  }

  it('drops a zero-filled tail of any length', () => {
    const full = writeLog(earlier);
    for (const zeros of [1, 5, 12, 13, 14, 100, 4096]) {
      const got = readLog(NAME, concat(full, new Uint8Array(zeros)));
      expectRecords(got, earlier);
      expect(got.validBytes).toBe(full.length);
      expect(got.tornBytes).toBe(zeros);
    }
  });

  it('drops a last record whose header landed but whose payload reads as zeros', () => {
    // A file system may extend the file before writing the data: the payload is then zeros.
    const last = Uint8Array.from({ length: 20 }, (_, i) => i + 100);
    const full = writeLog([...earlier, last]);
    const zeroed = full.slice();
    zeroed.fill(0, full.length - last.length);
    const got = readLog(NAME, zeroed);
    expectRecords(got, earlier);
    expect(got.tornBytes).toBe(RECORD_HEADER_BYTES + last.length);
    // ... and the same with more zeros after it.
    expect(readLog(NAME, concat(zeroed, new Uint8Array(50))).tornBytes).toBe(RECORD_HEADER_BYTES + 70);
  });

  it('does not take zeros in the middle of a log for a tail', () => {
    const a = writeLog([bytesOf(1, 2, 3)]);
    const zeroedPayload = a.slice();
    zeroedPayload.fill(0, RECORD_HEADER_BYTES);
    const err = corruptionOf(() => readLog(NAME, concat(zeroedPayload, a)));
    expect(err.offset).toBe(0);
    const err2 = corruptionOf(() => readLog(NAME, concat(a, new Uint8Array(RECORD_HEADER_BYTES), a)));
    expect(err2.offset).toBe(a.length);
  });

  it('treats a short non-zero tail as torn, and a long garbage tail as corruption', () => {
    const full = writeLog(earlier);
    const short = readLog(NAME, concat(full, bytesOf(9, 9, 9)));
    expectRecords(short, earlier);
    expect(short.tornBytes).toBe(3);
    const err = corruptionOf(() => readLog(NAME, concat(full, new Uint8Array(RECORD_HEADER_BYTES).fill(9))));
    expect(err.offset).toBe(full.length);
  });
});

describe('corruption', () => {
  // Every payload has at least two set bits, so no single flip can make one read as zeros.
  const payloads = [
    bytesOf(3),
    new Uint8Array(0),
    bytesOf(0x81, 0, 0x42, 0x10, 0xff),
    bytesOf(0x11, 0x22, 0x33),
  ];

  it('reports a flip of every bit of every record at that record, naming the file', () => {
    const bytes = writeLog(payloads);
    const offsets = offsetsOf(payloads);
    let checked = 0;
    for (let at = 0; at < bytes.length; at++) {
      const record = offsets.filter((o) => o <= at).length - 1;
      for (let bit = 0; bit < 8; bit++) {
        const flipped = bytes.slice();
        flipped[at] = flipped[at]! ^ (1 << bit);
        const err = corruptionOf(() => readLog(NAME, flipped));
        expect(err.file).toBe(NAME);
        expect(err.offset).toBe(offsets[record]);
        expect(err.code).toBe('ARE_CORRUPTION');
        checked++;
      }
    }
    expect(checked).toBe(bytes.length * 8);
  });

  it('reports a flip through MemoryFs.flipBit the same way', () => {
    const fs = new MemoryFs();
    const w = new LogWriter(fs.open(NAME, { create: true }));
    for (const p of payloads) w.add(p);
    w.sync();
    const offsets = offsetsOf(payloads);
    fs.flipBit(NAME, offsets[2]! + RECORD_HEADER_BYTES + 1, 0);
    expect(corruptionOf(() => readLog(NAME, readWholeFile(fs, NAME))).offset).toBe(offsets[2]);
  });

  const popcount = (p: Uint8Array): number =>
    p.reduce((n, b) => n + b.toString(2).replaceAll('0', '').length, 0);

  test.prop([
    fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 8 }),
    fc.nat(),
    fc.nat({ max: 7 }),
  ])('a random flip in a random log is corruption at the containing record', (records, pos, bit) => {
    const bytes = writeLog(records);
    const at = pos % bytes.length;
    const offsets = offsetsOf(records);
    const record = offsets.filter((o) => o <= at).length - 1;
    const last = records.length - 1;
    const inLastPayload = record === last && at >= offsets[last]! + RECORD_HEADER_BYTES;
    // A last payload with a single set bit can flip to all zeros: that is a zero-filled tail.
    fc.pre(!(inLastPayload && popcount(records[last]!) <= 1));
    const flipped = bytes.slice();
    flipped[at] = flipped[at]! ^ (1 << bit);
    expect(corruptionOf(() => readLog(NAME, flipped)).offset).toBe(offsets[record]);
  });

  it('cannot tell a last one-bit payload flipped to zero from a zero-filled tail', () => {
    // Documented limit: the record is dropped as torn. Real WAL and manifest payloads always
    // have many set bits (counts, lengths, tags), so a single flip cannot reach this case.
    const bytes = writeLog([bytesOf(5), bytesOf(0x40)]);
    bytes[bytes.length - 1] = 0;
    const got = readLog(NAME, bytes);
    expectRecords(got, [bytesOf(5)]);
    expect(got.tornBytes).toBe(RECORD_HEADER_BYTES + 1);
  });

  it('rejects a length above MAX_RECORD_BYTES behind a valid header CRC', () => {
    const good = writeLog([bytesOf(1, 2)]);
    for (const length of [MAX_RECORD_BYTES + 1, 0xffffffff]) {
      const err = corruptionOf(() => readLog(NAME, concat(good, header(length, 1), new Uint8Array(100))));
      expect(err.offset).toBe(good.length);
      expect(err.message).toContain('exceeds');
    }
    // At the limit itself the record is merely torn (the file is shorter than it says).
    const atLimit = readLog(NAME, concat(good, header(MAX_RECORD_BYTES, 1), new Uint8Array(100).fill(1)));
    expectRecords(atLimit, [bytesOf(1, 2)]);
    expect(atLimit.tornBytes).toBe(RECORD_HEADER_BYTES + 100);
  });

  it('rejects an unknown record kind behind a valid header CRC', () => {
    for (const kind of [0, 2, 255]) {
      const payload = bytesOf(7, 7);
      const bytes = concat(header(2, kind, maskCrc(crc32c(payload))), payload);
      expect(corruptionOf(() => readLog(NAME, bytes)).offset).toBe(0);
    }
  });

  it('rejects a payload CRC mismatch behind a valid header CRC', () => {
    const payload = bytesOf(7, 7);
    const bytes = concat(header(2, 1, maskCrc(crc32c(payload)) ^ 1), payload);
    expect(corruptionOf(() => readLog(NAME, bytes)).message).toContain('payload CRC');
  });

  it('rejects an unmasked payload CRC (the mask is part of the format)', () => {
    const payload = bytesOf(7, 7);
    const bytes = concat(header(2, 1, crc32c(payload)), payload);
    corruptionOf(() => readLog(NAME, bytes));
  });
});

/** A FileHandle that can fail its next append after writing part of it, and fail truncates. */
class FaultyHandle implements FileHandle {
  /** When set, the next append writes this many bytes and then throws. */
  failNextAppendAfter: number | undefined;
  failTruncate = false;

  constructor(private readonly inner: FileHandle) {}

  get name(): string {
    return this.inner.name;
  }
  size(): number {
    return this.inner.size();
  }
  read(offset: number, length: number): Uint8Array {
    return this.inner.read(offset, length);
  }
  write(offset: number, data: Uint8Array): void {
    this.inner.write(offset, data);
  }
  append(data: Uint8Array): number {
    const part = this.failNextAppendAfter;
    if (part === undefined) return this.inner.append(data);
    this.failNextAppendAfter = undefined;
    this.inner.append(data.subarray(0, part));
    throw new IoError('injected: append failed part-way');
  }
  truncate(size: number): void {
    if (this.failTruncate) throw new IoError('injected: truncate failed');
    this.inner.truncate(size);
  }
  sync(): void {
    this.inner.sync();
  }
  close(): void {
    this.inner.close();
  }
}

describe('LogWriter failures', () => {
  it('leaves nothing behind when the disk is full, and appends cleanly once there is room', () => {
    const fs = new MemoryFs();
    const w = new LogWriter(fs.open(NAME, { create: true }));
    w.add(bytesOf(1, 1, 1));
    const sizeBefore = w.size;
    fs.capacityBytes = fs.totalBytes() + 10;
    expect(() => w.add(new Uint8Array(50).fill(2))).toThrow(NoSpaceError);
    expect(w.size).toBe(sizeBefore);
    expect(fs.totalBytes()).toBe(sizeBefore);
    fs.capacityBytes = undefined;
    w.add(bytesOf(3, 3));
    w.sync();
    const got = readLog(NAME, readWholeFile(fs, NAME));
    expectRecords(got, [bytesOf(1, 1, 1), bytesOf(3, 3)]);
    expect(got.tornBytes).toBe(0);
  });

  for (const part of [0, 1, 12, 13, 20]) {
    it(`cuts back a failed append that wrote ${part} bytes`, () => {
      const fs = new MemoryFs();
      const h = new FaultyHandle(fs.open(NAME, { create: true }));
      const w = new LogWriter(h);
      w.add(bytesOf(1, 1, 1));
      h.failNextAppendAfter = part;
      expect(() => w.add(new Uint8Array(30).fill(2))).toThrow(IoError);
      expect(h.size()).toBe(RECORD_HEADER_BYTES + 3);
      w.add(bytesOf(3, 3));
      const got = readLog(NAME, readWholeFile(fs, NAME));
      expectRecords(got, [bytesOf(1, 1, 1), bytesOf(3, 3)]);
      expect(got.tornBytes).toBe(0);
    });
  }

  it('refuses every later append when the cut-back fails too', () => {
    const fs = new MemoryFs();
    const h = new FaultyHandle(fs.open(NAME, { create: true }));
    const w = new LogWriter(h);
    w.add(bytesOf(1));
    h.failNextAppendAfter = 5;
    h.failTruncate = true;
    expect(() => w.add(bytesOf(2, 2))).toThrow('append failed part-way');
    h.failTruncate = false;
    const err = (() => {
      try {
        w.add(bytesOf(3));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(IoError);
    expect((err as IoError).cause).toBeInstanceOf(IoError);
    expect(h.size()).toBe(RECORD_HEADER_BYTES + 1 + 5);
    // What is on disk is the good record and a torn tail, never a record written after garbage.
    const got = readLog(NAME, readWholeFile(fs, NAME));
    expectRecords(got, [bytesOf(1)]);
    expect(got.tornBytes).toBe(5);
  });
});
