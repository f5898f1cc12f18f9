/**
 * Write batches: every documented limit throws the right typed error with the right code and
 * limit name and leaves the batch unchanged; encode/decodeBatch round trip; decodeBatch on
 * malformed bytes (random, truncated, count 0, bad kinds, bad lengths, trailing bytes, a
 * sequence range past MAX_SEQUENCE) throws DecodeError and nothing else.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AregulaError, InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { ByteWriter, DecodeError } from './coding.ts';
import { EntryKind, MAX_SEQUENCE } from './internal-key.ts';
import { MAX_BATCH_BYTES, MAX_BATCH_OPS, MAX_KEY_BYTES, MAX_VALUE_BYTES } from './limits.ts';
import { BATCH_HEADER_BYTES, checkKey, decodeBatch, WriteBatch } from './write-batch.ts';

const k = (...b: number[]): Uint8Array => Uint8Array.from(b);

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function expectLimit(f: () => unknown, limit: string, max: number, actual?: number): void {
  const err = thrown(f);
  expect(err).toBeInstanceOf(LimitExceededError);
  const e = err as LimitExceededError;
  expect(e.code).toBe('ARE_LIMIT_EXCEEDED');
  expect(e.limit).toBe(limit);
  expect(e.max).toBe(max);
  if (actual !== undefined) expect(e.actual).toBe(actual);
  expect(e.actual).toBeGreaterThan(max);
}

function expectInvalid(f: () => unknown): void {
  const err = thrown(f);
  expect(err).toBeInstanceOf(InvalidArgumentError);
  expect((err as InvalidArgumentError).code).toBe('ARE_INVALID_ARGUMENT');
}

function expectDecodeError(bytes: Uint8Array): DecodeError {
  const err = thrown(() => decodeBatch(bytes));
  expect(err).toBeInstanceOf(DecodeError);
  const at = (err as DecodeError).offset;
  expect(at).toBeGreaterThanOrEqual(0);
  expect(at).toBeLessThanOrEqual(bytes.length);
  return err as DecodeError;
}

/** A copy of the batch's encoding (encode returns a view that later changes overwrite). */
const snapshot = (b: WriteBatch, seq = 1): number[] => [...b.encode(seq)];

/** Hand-built batch bytes, so that decoders can be fed what WriteBatch never writes. */
function rawBatch(firstSeq: number, count: number, ops: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter().u64(firstSeq).u32(count);
  ops(w);
  return w.finish();
}

describe('limits', () => {
  it('rejects an empty key for put and delete', () => {
    const b = new WriteBatch();
    expectInvalid(() => b.put(new Uint8Array(0), k(1)));
    expectInvalid(() => b.delete(new Uint8Array(0)));
    expectInvalid(() => checkKey(new Uint8Array(0)));
    expect(b.count).toBe(0);
  });

  it('accepts a key of exactly MAX_KEY_BYTES and rejects one byte more', () => {
    const b = new WriteBatch();
    b.put(new Uint8Array(MAX_KEY_BYTES).fill(1), k());
    b.delete(new Uint8Array(MAX_KEY_BYTES).fill(2));
    const long = new Uint8Array(MAX_KEY_BYTES + 1);
    expectLimit(() => b.put(long, k(1)), 'MAX_KEY_BYTES', MAX_KEY_BYTES, MAX_KEY_BYTES + 1);
    expectLimit(() => b.delete(long), 'MAX_KEY_BYTES', MAX_KEY_BYTES, MAX_KEY_BYTES + 1);
    expect(b.count).toBe(2);
    const ops = decodeBatch(b.encode(1)).ops;
    expect(ops.map((o) => o.key.length)).toEqual([MAX_KEY_BYTES, MAX_KEY_BYTES]);
  });

  it('accepts a value of exactly MAX_VALUE_BYTES and rejects one byte more', () => {
    const b = new WriteBatch();
    b.put(k(1), new Uint8Array(MAX_VALUE_BYTES));
    const before = b.byteLength;
    expectLimit(() => b.put(k(2), new Uint8Array(MAX_VALUE_BYTES + 1)), 'MAX_VALUE_BYTES', MAX_VALUE_BYTES);
    expect(b.byteLength).toBe(before);
    expect(decodeBatch(b.encode(1)).ops[0]!.value.length).toBe(MAX_VALUE_BYTES);
  });

  it('rejects keys and values that are not Uint8Arrays, checking the key first', () => {
    const b = new WriteBatch();
    const notBytes: unknown[] = [
      'key',
      [1, 2],
      null,
      undefined,
      42,
      new ArrayBuffer(2),
      new Uint16Array(2),
      new Uint8ClampedArray(2),
      new DataView(new ArrayBuffer(2)),
      { length: 1, 0: 1 },
    ];
    for (const bad of notBytes) {
      expectInvalid(() => b.put(bad as Uint8Array, k(1)));
      expectInvalid(() => b.delete(bad as Uint8Array));
      expectInvalid(() => b.put(k(1), bad as Uint8Array));
      expectInvalid(() => checkKey(bad));
    }
    // An oversized key with a bad value: the key is reported.
    expectLimit(
      () => b.put(new Uint8Array(MAX_KEY_BYTES + 1), 'x' as unknown as Uint8Array),
      'MAX_KEY_BYTES',
      MAX_KEY_BYTES,
    );
    expect(b.count).toBe(0);
    expect(b.byteLength).toBe(BATCH_HEADER_BYTES);
  });

  it('accepts Uint8Array subclasses and views (Buffer, subarray)', () => {
    const b = new WriteBatch();
    b.put(Buffer.from('key'), Buffer.from('value'));
    const backing = k(9, 8, 7, 6);
    b.delete(backing.subarray(1, 3));
    const ops = decodeBatch(b.encode(5)).ops;
    expect([...ops[0]!.key]).toEqual([...Buffer.from('key')]);
    expect([...ops[0]!.value]).toEqual([...Buffer.from('value')]);
    expect([...ops[1]!.key]).toEqual([8, 7]);
  });

  it(`allows ${MAX_BATCH_OPS} operations and rejects one more`, () => {
    const b = new WriteBatch();
    const key = k(1);
    for (let i = 0; i < MAX_BATCH_OPS; i++) b.delete(key);
    expect(b.count).toBe(MAX_BATCH_OPS);
    const before = b.byteLength;
    expectLimit(() => b.delete(key), 'MAX_BATCH_OPS', MAX_BATCH_OPS, MAX_BATCH_OPS + 1);
    expectLimit(() => b.put(key, k()), 'MAX_BATCH_OPS', MAX_BATCH_OPS, MAX_BATCH_OPS + 1);
    expect(b.count).toBe(MAX_BATCH_OPS);
    expect(b.byteLength).toBe(before);
    const decoded = decodeBatch(b.encode(1));
    expect(decoded.ops.length).toBe(MAX_BATCH_OPS);
    b.clear();
    b.delete(key);
    expect(b.count).toBe(1);
  });

  it('rejects growing past MAX_BATCH_BYTES and stays usable', () => {
    const b = new WriteBatch();
    const big = new Uint8Array(MAX_VALUE_BYTES);
    let puts = 0;
    const err = thrown(() => {
      for (;;) {
        b.put(k(puts & 0xff, 1), big);
        puts++;
      }
    });
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as LimitExceededError).limit).toBe('MAX_BATCH_BYTES');
    expect((err as LimitExceededError).max).toBe(MAX_BATCH_BYTES);
    expect((err as LimitExceededError).actual).toBeGreaterThan(MAX_BATCH_BYTES);
    expect(puts).toBe(Math.floor(MAX_BATCH_BYTES / MAX_VALUE_BYTES) - 1);
    expect(b.count).toBe(puts);
    expect(b.byteLength).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    // A small operation still fits, and the result decodes.
    b.put(k(200), k(1, 2, 3));
    expect(b.byteLength).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    const decoded = decodeBatch(b.encode(1));
    expect(decoded.ops.length).toBe(puts + 1);
    expect([...decoded.ops[puts]!.value]).toEqual([1, 2, 3]);
  });

  it('leaves the encoding unchanged when an operation is refused', () => {
    const b = new WriteBatch().put(k(1), k(2)).delete(k(3));
    const before = snapshot(b);
    expectInvalid(() => b.put(new Uint8Array(0), k()));
    expectLimit(() => b.put(k(1), new Uint8Array(MAX_VALUE_BYTES + 1)), 'MAX_VALUE_BYTES', MAX_VALUE_BYTES);
    expect(snapshot(b)).toEqual(before);
  });

  it('throws only AregulaErrors for bad arguments', () => {
    const b = new WriteBatch();
    for (const f of [() => b.put(undefined as unknown as Uint8Array, k()), () => b.delete(k())]) {
      expect(thrown(f)).toBeInstanceOf(AregulaError);
    }
  });
});

type Op = { kind: 'put'; key: Uint8Array; value: Uint8Array } | { kind: 'delete'; key: Uint8Array };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('put' as const),
    key: fc.uint8Array({ minLength: 1, maxLength: 20 }),
    value: fc.uint8Array({ maxLength: 200 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.uint8Array({ minLength: 1, maxLength: 20 }) }),
);

function build(ops: readonly Op[]): WriteBatch {
  const b = new WriteBatch();
  for (const op of ops) {
    if (op.kind === 'put') b.put(op.key, op.value);
    else b.delete(op.key);
  }
  return b;
}

describe('encode and decodeBatch', () => {
  test.prop([fc.array(opArb, { minLength: 1, maxLength: 30 }), fc.maxSafeNat()])(
    'round trip ops and first sequence',
    (ops, seq) => {
      const firstSeq = Math.max(0, seq - ops.length);
      const b = build(ops);
      expect(b.count).toBe(ops.length);
      const bytes = b.encode(firstSeq);
      expect(bytes.length).toBe(b.byteLength);
      const decoded = decodeBatch(bytes);
      expect(decoded.firstSeq).toBe(firstSeq);
      expect(decoded.ops.length).toBe(ops.length);
      for (let i = 0; i < ops.length; i++) {
        const want = ops[i]!;
        const got = decoded.ops[i]!;
        expect(got.kind).toBe(want.kind === 'put' ? EntryKind.Value : EntryKind.Delete);
        expect([...got.key]).toEqual([...want.key]);
        expect([...got.value]).toEqual(want.kind === 'put' ? [...want.value] : []);
      }
    },
  );

  it('stamps a new first sequence on each encode', () => {
    const b = new WriteBatch().put(k(1), k(1));
    expect(decodeBatch(b.encode(7)).firstSeq).toBe(7);
    expect(decodeBatch(b.encode(2 ** 40 + 3)).firstSeq).toBe(2 ** 40 + 3);
    expect(decodeBatch(b.encode(MAX_SEQUENCE)).firstSeq).toBe(MAX_SEQUENCE);
  });

  it('copies keys and values as they are added', () => {
    const key = k(1, 2);
    const value = k(3, 4);
    const b = new WriteBatch().put(key, value);
    key[0] = 99;
    value[0] = 99;
    const op = decodeBatch(b.encode(1)).ops[0]!;
    expect([...op.key]).toEqual([1, 2]);
    expect([...op.value]).toEqual([3, 4]);
  });

  it('clear() resets to an empty batch that can be refilled', () => {
    const b = build([
      { kind: 'put', key: k(1), value: k(2) },
      { kind: 'delete', key: k(3) },
    ]);
    b.clear();
    expect(b.count).toBe(0);
    expect(b.byteLength).toBe(BATCH_HEADER_BYTES);
    expect(b.encode(5).length).toBe(BATCH_HEADER_BYTES);
    expectDecodeError(b.encode(5)); // An empty batch never reaches the WAL.
    b.put(k(4), k(5));
    const decoded = decodeBatch(b.encode(9));
    expect(decoded.ops.length).toBe(1);
    expect([...decoded.ops[0]!.key]).toEqual([4]);
    expect(b.byteLength).toBe(BATCH_HEADER_BYTES + 5);
  });
});

describe('decodeBatch on malformed bytes', () => {
  test.prop([fc.uint8Array({ maxLength: 64 })])('random bytes decode or throw DecodeError', (bytes) => {
    try {
      decodeBatch(bytes);
    } catch (err) {
      expect(err).toBeInstanceOf(DecodeError);
    }
  });

  test.prop([fc.array(opArb, { minLength: 1, maxLength: 10 }), fc.nat(), fc.nat({ max: 255 })])(
    'a mutated valid batch decodes or throws DecodeError',
    (ops, at, byte) => {
      const bytes = build(ops).encode(1).slice();
      bytes[at % bytes.length] = byte;
      try {
        decodeBatch(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
      }
    },
  );

  test.prop([fc.array(opArb, { minLength: 1, maxLength: 10 })])('every proper prefix is rejected', (ops) => {
    const bytes = build(ops).encode(1).slice();
    for (let n = 0; n < bytes.length; n++) expectDecodeError(bytes.subarray(0, n));
  });

  it('rejects a count of 0 and a count above MAX_BATCH_OPS', () => {
    expect(expectDecodeError(rawBatch(1, 0, () => {})).offset).toBe(8);
    const one = (w: ByteWriter) => w.u8(EntryKind.Delete).lengthPrefixed(k(1));
    expect(expectDecodeError(rawBatch(1, MAX_BATCH_OPS + 1, one)).offset).toBe(8);
    expectDecodeError(rawBatch(1, 0xffffffff, one));
  });

  it('rejects a count larger or smaller than the ops present', () => {
    const two = (w: ByteWriter) => {
      w.u8(EntryKind.Delete).lengthPrefixed(k(1));
      w.u8(EntryKind.Value).lengthPrefixed(k(2)).lengthPrefixed(k(3));
    };
    expect(decodeBatch(rawBatch(1, 2, two)).ops.length).toBe(2);
    expectDecodeError(rawBatch(1, 3, two));
    expect(expectDecodeError(rawBatch(1, 1, two)).message).toContain('trailing');
  });

  it('rejects trailing bytes', () => {
    const bytes = new WriteBatch().put(k(1), k(2)).encode(1);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(expectDecodeError(longer).offset).toBe(bytes.length);
  });

  it('rejects an unknown op kind at its offset', () => {
    for (const kind of [2, 3, 0x80, 0xff]) {
      const bytes = rawBatch(1, 1, (w) => w.u8(kind).lengthPrefixed(k(1)).lengthPrefixed(k(2)));
      expect(expectDecodeError(bytes).offset).toBe(BATCH_HEADER_BYTES);
    }
  });

  it('rejects an empty key and a key over MAX_KEY_BYTES', () => {
    expectDecodeError(rawBatch(1, 1, (w) => w.u8(EntryKind.Delete).lengthPrefixed(new Uint8Array(0))));
    expectDecodeError(
      rawBatch(1, 1, (w) => w.u8(EntryKind.Value).lengthPrefixed(new Uint8Array(0)).lengthPrefixed(k(1))),
    );
    const long = new Uint8Array(MAX_KEY_BYTES + 1);
    expectDecodeError(rawBatch(1, 1, (w) => w.u8(EntryKind.Delete).lengthPrefixed(long)));
    const max = new Uint8Array(MAX_KEY_BYTES);
    expect(decodeBatch(rawBatch(1, 1, (w) => w.u8(EntryKind.Delete).lengthPrefixed(max))).ops.length).toBe(1);
  });

  it('rejects a value over MAX_VALUE_BYTES, which no WriteBatch can hold', () => {
    const long = new Uint8Array(MAX_VALUE_BYTES + 1);
    expectDecodeError(rawBatch(1, 1, (w) => w.u8(EntryKind.Value).lengthPrefixed(k(1)).lengthPrefixed(long)));
  });

  it('rejects a length prefix that runs past the end', () => {
    expectDecodeError(rawBatch(1, 1, (w) => w.u8(EntryKind.Delete).varint(5).bytes(k(1, 2))));
    expectDecodeError(
      rawBatch(1, 1, (w) =>
        w
          .u8(EntryKind.Value)
          .lengthPrefixed(k(1))
          .varint(2 ** 40),
      ),
    );
    expectDecodeError(rawBatch(1, 1, (w) => w.u8(EntryKind.Value).lengthPrefixed(k(1)).u8(0x80)));
  });

  it('rejects a first sequence above 2^53 - 1', () => {
    const bytes = rawBatch(0, 1, (w) => w.u8(EntryKind.Delete).lengthPrefixed(k(1)));
    bytes.fill(0xff, 0, 8);
    expect(expectDecodeError(bytes).offset).toBe(0);
  });

  it('rejects a batch whose sequence range runs past MAX_SEQUENCE', () => {
    const ops = (n: number) => (w: ByteWriter) => {
      for (let i = 0; i < n; i++) w.u8(EntryKind.Delete).lengthPrefixed(k(1));
    };
    expect(decodeBatch(rawBatch(MAX_SEQUENCE, 1, ops(1))).firstSeq).toBe(MAX_SEQUENCE);
    expect(decodeBatch(rawBatch(MAX_SEQUENCE - 2, 3, ops(3))).ops.length).toBe(3);
    expectDecodeError(rawBatch(MAX_SEQUENCE, 2, ops(2)));
    expectDecodeError(rawBatch(MAX_SEQUENCE - 2, 4, ops(4)));
  });

  it('returns views into the record, not copies', () => {
    const bytes = new WriteBatch().put(k(1), k(2)).encode(1).slice();
    const op = decodeBatch(bytes).ops[0]!;
    expect(op.key.buffer).toBe(bytes.buffer);
    expect(op.value.buffer).toBe(bytes.buffer);
  });
});
