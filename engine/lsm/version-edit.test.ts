/**
 * Version edits (manifest records): encode/decode round trips, every malformed input a
 * DecodeError (unknown tags, truncation, bad key lengths, minSeq > maxSeq, oversized varints),
 * and the store's file names in both directions.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ByteWriter, DecodeError } from './coding.ts';
import { EntryKind, encodeInternalKey, MAX_SEQUENCE, TRAILER_BYTES } from './internal-key.ts';
import { MAX_KEY_BYTES } from './limits.ts';
import {
  decodeVersionEdit,
  encodeVersionEdit,
  logFileName,
  MANIFEST_FORMAT_VERSION,
  manifestFileName,
  parseFileName,
  type TableMeta,
  tableFileName,
  type VersionEdit,
} from './version-edit.ts';

const ik = (user: number[], seq: number): Uint8Array =>
  encodeInternalKey(Uint8Array.from(user), seq, EntryKind.Value);

const table = (number: number, over: Partial<TableMeta> = {}): TableMeta => ({
  number,
  fileBytes: 1000 + number,
  entries: 10,
  minSeq: 1,
  maxSeq: 5,
  smallest: ik([1], 5),
  largest: ik([9], 1),
  ...over,
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function expectDecodeError(payload: Uint8Array, offset?: number): DecodeError {
  const err = thrown(() => decodeVersionEdit(payload));
  expect(err).toBeInstanceOf(DecodeError);
  const e = err as DecodeError;
  if (offset !== undefined) expect(e.offset).toBe(offset);
  expect(e.offset).toBeGreaterThanOrEqual(0);
  expect(e.offset).toBeLessThanOrEqual(payload.length);
  return e;
}

const counter = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat());
const keyArb = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 30 }), fc.maxSafeNat())
  .map(([u, s]) => encodeInternalKey(u, s, EntryKind.Value));
const tableArb: fc.Arbitrary<TableMeta> = fc
  .record({
    number: counter,
    fileBytes: counter,
    entries: counter,
    a: fc.maxSafeNat(),
    b: fc.maxSafeNat(),
    smallest: keyArb,
    largest: keyArb,
  })
  .map(({ a, b, ...t }) => ({ ...t, minSeq: Math.min(a, b), maxSeq: Math.max(a, b) }));
const editArb: fc.Arbitrary<VersionEdit> = fc.record(
  {
    formatVersion: fc.constant(MANIFEST_FORMAT_VERSION),
    logNumber: counter,
    nextFileNumber: counter,
    lastSequence: counter,
    deleted: fc.array(counter, { maxLength: 5 }),
    added: fc.array(tableArb, { maxLength: 5 }),
  },
  { requiredKeys: ['deleted', 'added'] },
);

describe('encodeVersionEdit / decodeVersionEdit', () => {
  test.prop([editArb])('round trip', (edit) => {
    expect(decodeVersionEdit(encodeVersionEdit(edit))).toEqual(edit);
  });

  it('encodes an empty edit as no bytes', () => {
    const bytes = encodeVersionEdit({ deleted: [], added: [] });
    expect(bytes.length).toBe(0);
    expect(decodeVersionEdit(bytes)).toEqual({ deleted: [], added: [] });
  });

  it('round trips the largest values and longest keys', () => {
    const longKey = encodeInternalKey(
      new Uint8Array(MAX_KEY_BYTES).fill(0xfe),
      MAX_SEQUENCE,
      EntryKind.Delete,
    );
    const edit: VersionEdit = {
      formatVersion: MANIFEST_FORMAT_VERSION,
      logNumber: MAX_SEQUENCE,
      nextFileNumber: MAX_SEQUENCE,
      lastSequence: MAX_SEQUENCE,
      deleted: [0, MAX_SEQUENCE],
      added: [
        table(MAX_SEQUENCE, {
          fileBytes: MAX_SEQUENCE,
          entries: MAX_SEQUENCE,
          minSeq: MAX_SEQUENCE,
          maxSeq: MAX_SEQUENCE,
          smallest: longKey,
          largest: longKey,
        }),
      ],
    };
    expect(decodeVersionEdit(encodeVersionEdit(edit))).toEqual(edit);
  });

  it('decodes keys as copies that do not change with the payload', () => {
    const bytes = encodeVersionEdit({ deleted: [], added: [table(3)] });
    const edit = decodeVersionEdit(bytes);
    bytes.fill(0);
    expect(edit.added[0]!.smallest).toEqual(ik([1], 5));
  });

  it('accepts fields in any order; a repeated counter takes the last value', () => {
    const w = new ByteWriter().u8(4).varint(7).u8(2).varint(3).u8(4).varint(9).u8(1).varint(1);
    expect(decodeVersionEdit(w.finish())).toEqual({
      formatVersion: 1,
      logNumber: 3,
      lastSequence: 9,
      deleted: [],
      added: [],
    });
  });
});

describe('decoding malformed edits', () => {
  test.prop([fc.uint8Array({ maxLength: 80 })])('random bytes decode or throw DecodeError', (bytes) => {
    try {
      decodeVersionEdit(bytes);
    } catch (err) {
      expect(err).toBeInstanceOf(DecodeError);
    }
  });

  test.prop([editArb, fc.nat(), fc.nat({ max: 255 })])(
    'a mutated edit decodes or throws DecodeError',
    (edit, at, b) => {
      const bytes = encodeVersionEdit(edit);
      fc.pre(bytes.length > 0);
      bytes[at % bytes.length] = b;
      try {
        decodeVersionEdit(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
      }
    },
  );

  it('rejects every proper prefix of an added-table record', () => {
    const bytes = encodeVersionEdit({ deleted: [], added: [table(12)] });
    for (let n = 1; n < bytes.length; n++) expectDecodeError(bytes.subarray(0, n));
  });

  it('rejects unknown tags at their offset', () => {
    for (const tag of [0, 7, 8, 0x80, 255]) {
      expectDecodeError(Uint8Array.of(tag), 0);
      const after = new ByteWriter().u8(2).varint(300).u8(tag).varint(1).finish();
      expect(expectDecodeError(after).message).toContain(`unknown manifest tag ${tag}`);
      expectDecodeError(after, 3);
    }
  });

  it('rejects a counter whose varint is truncated or too large', () => {
    for (const tag of [1, 2, 3, 4, 5]) {
      expectDecodeError(Uint8Array.of(tag), 1);
      expectDecodeError(Uint8Array.of(tag, 0x80), 1);
      expectDecodeError(Uint8Array.of(tag, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), 1);
    }
  });

  /** An added-table record with the given fields, for shapes the encoder never writes. */
  function added(fields: {
    minSeq: number;
    maxSeq: number;
    smallest: Uint8Array;
    largest: Uint8Array;
  }): Uint8Array {
    return new ByteWriter()
      .u8(6)
      .varint(1)
      .varint(100)
      .varint(2)
      .varint(fields.minSeq)
      .varint(fields.maxSeq)
      .lengthPrefixed(fields.smallest)
      .lengthPrefixed(fields.largest)
      .finish();
  }

  it('rejects minSeq > maxSeq', () => {
    const bad = added({ minSeq: 6, maxSeq: 5, smallest: ik([1], 5), largest: ik([2], 6) });
    expect(expectDecodeError(bad, 0).message).toContain('minSeq');
    expect(
      decodeVersionEdit(added({ minSeq: 5, maxSeq: 5, smallest: ik([1], 5), largest: ik([2], 5) })).added
        .length,
    ).toBe(1);
  });

  it('rejects boundary keys too short to hold a user key or longer than the key limit allows', () => {
    const good = ik([1], 1);
    for (const badLen of [0, 1, TRAILER_BYTES, MAX_KEY_BYTES + TRAILER_BYTES + 1]) {
      const bad = new Uint8Array(badLen);
      expect(
        expectDecodeError(added({ minSeq: 1, maxSeq: 1, smallest: bad, largest: good })).message,
      ).toContain('bad length');
      expectDecodeError(added({ minSeq: 1, maxSeq: 1, smallest: good, largest: bad }));
    }
    for (const okLen of [TRAILER_BYTES + 1, MAX_KEY_BYTES + TRAILER_BYTES]) {
      const ok = new Uint8Array(okLen);
      expect(
        decodeVersionEdit(added({ minSeq: 1, maxSeq: 1, smallest: ok, largest: ok })).added[0]!.smallest
          .length,
      ).toBe(okLen);
    }
  });

  it('rejects a key length that runs past the end', () => {
    const full = added({ minSeq: 1, maxSeq: 1, smallest: ik([1], 1), largest: ik([2], 1) });
    expectDecodeError(full.subarray(0, full.length - 1));
    const huge = new ByteWriter()
      .u8(6)
      .varint(1)
      .varint(1)
      .varint(1)
      .varint(1)
      .varint(1)
      .varint(2 ** 40)
      .finish();
    expectDecodeError(huge);
  });
});

describe('file names', () => {
  it('formats numbers with at least six digits', () => {
    expect(tableFileName(1)).toBe('000001.sst');
    expect(logFileName(42)).toBe('000042.log');
    expect(manifestFileName(7)).toBe('MANIFEST-000007');
    expect(tableFileName(1234567)).toBe('1234567.sst');
  });

  it('parses every name it formats back to its number', () => {
    for (const n of [0, 1, 999_999, 1_000_000, 123_456_789, 10 ** 15 - 1]) {
      expect(parseFileName(tableFileName(n))).toEqual({ kind: 'table', number: n });
      expect(parseFileName(logFileName(n))).toEqual({ kind: 'log', number: n });
      expect(parseFileName(manifestFileName(n))).toEqual({ kind: 'manifest', number: n });
    }
  });

  it('classifies CURRENT and temporary files', () => {
    expect(parseFileName('CURRENT')).toEqual({ kind: 'current' });
    expect(parseFileName('CURRENT.tmp')).toEqual({ kind: 'temp' });
    expect(parseFileName('000001.sst.tmp')).toEqual({ kind: 'temp' });
  });

  it('classifies everything else as other', () => {
    for (const name of [
      '',
      'LOCK',
      'current',
      'CURRENT2',
      '00001.sst',
      '1234567890123456.sst',
      '000001.SST',
      '000001.sst.bak',
      '000001.sstx',
      'a000001.log',
      '000001.log ',
      '-000001.log',
      '0000-1.log',
      'MANIFEST-1',
      'MANIFEST-000001x',
      'manifest-000001',
      'MANIFEST000001',
      'MANIFEST-',
      '000001',
      '.sst',
      '000001.tmpx',
    ]) {
      expect(parseFileName(name)).toEqual({ kind: 'other' });
    }
  });
});
