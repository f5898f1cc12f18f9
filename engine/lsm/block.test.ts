import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import {
  Block,
  BlockBuilder,
  compareInternalKeyAt,
  decodeBlockHandle,
  encodeBlockHandle,
  indexSeparator,
  indexSuccessor,
} from './block.ts';
import { ByteWriter, bytesEqual, DecodeError } from './coding.ts';
import {
  compareInternalKeys,
  EntryKind,
  encodeInternalKey,
  MAX_SEQUENCE,
  TRAILER_BYTES,
  userKeyOf,
} from './internal-key.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const ik = (user: string, seq: number, kind: EntryKind = EntryKind.Value): Uint8Array =>
  encodeInternalKey(utf8(user), seq, kind);

/** User keys over a small alphabet, so neighbours share prefixes and 0x00/0xff edges appear. */
const userKeyArb = fc
  .array(fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0xfe, 0xff), { maxLength: 8 })
  .map((a) => Uint8Array.from(a));
const seqArb = fc.oneof(
  fc.integer({ min: 0, max: 20 }),
  fc.constant(MAX_SEQUENCE),
  fc.nat({ max: MAX_SEQUENCE }),
);
const ikeyArb = fc
  .record({ user: userKeyArb, seq: seqArb, kind: fc.constantFrom(EntryKind.Delete, EntryKind.Value) })
  .map((r) => encodeInternalKey(r.user, r.seq, r.kind));

/** Sorts internal keys and drops duplicates. */
function sortedUnique(keys: Uint8Array[]): Uint8Array[] {
  const sorted = [...keys].sort(compareInternalKeys);
  return sorted.filter((k, i) => i === 0 || compareInternalKeys(sorted[i - 1]!, k) !== 0);
}

const entriesArb = fc
  .array(fc.tuple(ikeyArb, fc.uint8Array({ maxLength: 40 })), { maxLength: 120 })
  .map((pairs) => {
    const keys = sortedUnique(pairs.map((p) => p[0]));
    return keys.map((k, i) => ({ key: k, value: pairs[i % Math.max(1, pairs.length)]![1] }));
  });

function build(entries: { key: Uint8Array; value: Uint8Array }[], restartInterval: number): Uint8Array {
  const b = new BlockBuilder(restartInterval);
  for (const e of entries) b.add(e.key, e.value);
  return b.finish();
}

function scan(block: Block): { key: Uint8Array; value: Uint8Array }[] {
  const out: { key: Uint8Array; value: Uint8Array }[] = [];
  const c = block.cursor();
  for (c.seekToFirst(); c.valid(); c.next()) out.push({ key: c.key().slice(), value: c.value().slice() });
  return out;
}

describe('BlockBuilder + Block', () => {
  it('lays out entries, restarts and count byte for byte', () => {
    const b = new BlockBuilder(2);
    b.add(ik('apple', 1), utf8('A'));
    b.add(ik('apply', 2), utf8(''));
    b.add(ik('b', 3), utf8('xy'));
    const bytes = b.finish();
    const expected = new ByteWriter()
      // entry 0: restart, full key
      .varint(0)
      .varint(13)
      .varint(1)
      .bytes(ik('apple', 1))
      .bytes(utf8('A'))
      // entry 1: shares "appl", stores "y" + trailer
      .varint(4)
      .varint(9)
      .varint(0)
      .bytes(ik('apply', 2).subarray(4))
      // entry 2: restart (interval 2), full key
      .varint(0)
      .varint(9)
      .varint(2)
      .bytes(ik('b', 3))
      .bytes(utf8('xy'));
    const entriesEnd = expected.length;
    expected
      .u32(0)
      .u32(entriesEnd - 3 - 9 - 2)
      .u32(2);
    expect(bytes).toEqual(expected.finish());
    const block = Block.decode(bytes);
    expect(block.entries).toBe(3);
    expect(block.restartCount).toBe(2);
    expect(block.firstKey).toEqual(ik('apple', 1));
    expect(block.lastKey).toEqual(ik('b', 3));
  });

  it('estimates exactly the size finish() returns', () => {
    const b = new BlockBuilder(3);
    for (let i = 0; i < 10; i++) {
      b.add(ik(`key${i.toString().padStart(3, '0')}`, i), utf8('v'.repeat(i)));
    }
    const estimate = b.estimatedBytes();
    expect(b.finish().length).toBe(estimate);
    expect(b.entries).toBe(0);
  });

  it('decodes an empty block to a cursor that is never valid', () => {
    const bytes = new BlockBuilder(16).finish();
    expect(bytes).toEqual(Uint8Array.of(0, 0, 0, 0));
    const c = Block.decode(bytes).cursor();
    c.seekToFirst();
    expect(c.valid()).toBe(false);
    c.seek(ik('a', 1));
    expect(c.valid()).toBe(false);
  });

  it('asserts keys are internal keys in strictly increasing order', () => {
    const b = new BlockBuilder(16);
    b.add(ik('b', 5), new Uint8Array(0));
    expect(() => b.add(ik('b', 5), new Uint8Array(0))).toThrow(AssertionError);
    expect(() => b.add(ik('b', 6), new Uint8Array(0))).toThrow(AssertionError);
    expect(() => b.add(ik('a', 1), new Uint8Array(0))).toThrow(AssertionError);
    expect(() => b.add(utf8('short'), new Uint8Array(0))).toThrow(AssertionError);
    expect(() => new BlockBuilder(0)).toThrow(AssertionError);
  });

  test.prop([entriesArb, fc.integer({ min: 1, max: 20 })])('round-trips every entry', (entries, interval) => {
    const block = Block.decode(build(entries, interval));
    expect(block.entries).toBe(entries.length);
    expect(scan(block)).toEqual(entries);
  });

  test.prop([entriesArb, fc.integer({ min: 1, max: 20 }), fc.array(ikeyArb, { maxLength: 30 })])(
    'seek lands on the first key >= target',
    (entries, interval, targets) => {
      const c = Block.decode(build(entries, interval)).cursor();
      for (const t of [...targets, ...entries.map((e) => e.key)]) {
        c.seek(t);
        const want = entries.find((e) => compareInternalKeys(e.key, t) >= 0);
        if (want === undefined) {
          expect(c.valid()).toBe(false);
        } else {
          expect(c.valid()).toBe(true);
          expect(c.key()).toEqual(want.key);
          expect(c.value()).toEqual(want.value);
        }
      }
    },
  );
});

/** Block bytes from raw entries, bypassing the builder's checks. */
function rawBlock(entries: [number, Uint8Array, Uint8Array][], restarts: number[], count = restarts.length) {
  const out = new ByteWriter();
  for (const [shared, suffix, value] of entries) {
    out.varint(shared).varint(suffix.length).varint(value.length).bytes(suffix).bytes(value);
  }
  for (const r of restarts) out.u32(r);
  out.u32(count);
  return out.finish();
}

describe('Block.decode rejects malformed blocks with DecodeError', () => {
  const v = new Uint8Array(0);
  const a = ik('a', 1);
  const b = ik('b', 1);
  const cases: [string, Uint8Array][] = [
    ['shorter than the count', Uint8Array.of(0, 0, 0)],
    ['restart count too large', Uint8Array.of(1, 0, 0, 0)],
    ['restart count huge', Uint8Array.of(0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff)],
    ['entries without restarts', rawBlock([[0, a, v]], [])],
    ['restarts without entries', rawBlock([], [0])],
    ['restart inside an entry', rawBlock([[0, a, v]], [0, 3])],
    ['restart past the entries', rawBlock([[0, a, v]], [0, 16])],
    ['first entry not a restart', rawBlock([[0, a, v]], [5])],
    [
      'first restart at the second entry',
      rawBlock(
        [
          [0, a, v],
          [0, b, v],
        ],
        [12],
      ),
    ],
    [
      'restart entry shares a prefix',
      rawBlock(
        [
          [0, a, v],
          [1, b.subarray(1), v],
        ],
        [0, 12],
      ),
    ],
    [
      'shares more than the previous key',
      rawBlock(
        [
          [0, a, v],
          [20, b, v],
        ],
        [0],
      ),
    ],
    [
      'keys out of order',
      rawBlock(
        [
          [0, b, v],
          [0, a, v],
        ],
        [0],
      ),
    ],
    [
      'duplicate keys',
      rawBlock(
        [
          [0, a, v],
          [0, a, v],
        ],
        [0],
      ),
    ],
    ['key shorter than a trailer', rawBlock([[0, utf8('abc'), v]], [0])],
    ['unknown entry kind', rawBlock([[0, Uint8Array.of(0x61, 2, 1, 0, 0, 0, 0, 0, 0), v]], [0])],
    ['sequence above 2^53 - 1', rawBlock([[0, Uint8Array.of(0x61, 1, 0, 0, 0, 0, 0, 0, 0x20), v]], [0])],
    [
      'entry runs past the entries area',
      (() => {
        const ok = rawBlock([[0, a, utf8('value')]], [0]);
        ok[2] = 50; // value length
        return ok;
      })(),
    ],
    ['varint runs past the entries area', Uint8Array.of(0x80, 0x80, 0, 0, 0, 0, 1, 0, 0, 0)],
    [
      'varint longer than 8 bytes',
      Uint8Array.of(...new Array<number>(10).fill(0x80), 0, 0, 0, 0, 1, 0, 0, 0),
    ],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      expect(() => Block.decode(bytes)).toThrow(DecodeError);
    });
  }

  it('accepts the well-formed neighbour of those cases', () => {
    expect(
      Block.decode(
        rawBlock(
          [
            [0, a, v],
            [0, b, v],
          ],
          [0],
        ),
      ).entries,
    ).toBe(2);
    expect(
      Block.decode(
        rawBlock(
          [
            [0, a, v],
            [0, b, v],
          ],
          [0, 12],
        ),
      ).entries,
    ).toBe(2);
  });

  /** Either DecodeError, or a block whose whole walk succeeds in strictly increasing order. */
  function decodeOrReject(bytes: Uint8Array): void {
    let block: Block;
    try {
      block = Block.decode(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      return;
    }
    const got = scan(block);
    expect(got.length).toBe(block.entries);
    for (let i = 1; i < got.length; i++) {
      expect(compareInternalKeys(got[i - 1]!.key, got[i]!.key)).toBeLessThan(0);
    }
    for (const e of got) expect(e.key.length).toBeGreaterThanOrEqual(TRAILER_BYTES);
    const c = block.cursor();
    for (const e of got) {
      c.seek(e.key);
      expect(c.key()).toEqual(e.key);
    }
  }

  test.prop([fc.uint8Array({ maxLength: 80 })])('arbitrary bytes never break the decoder', (bytes) => {
    decodeOrReject(bytes);
  });

  test.prop([entriesArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 })])(
    'a mutated valid block decodes to ordered entries or is rejected',
    (entries, edits) => {
      const bytes = build(entries, 3);
      for (const [at, byte] of edits) bytes[at % bytes.length] = byte;
      decodeOrReject(bytes);
    },
  );
});

describe('index entries', () => {
  it('shortens a separator when a shorter user key fits between', () => {
    const sep = indexSeparator(ik('abcdef', 3), ik('abzz', 9));
    expect(userKeyOf(sep)).toEqual(utf8('abd'));
    expect(compareInternalKeys(ik('abcdef', 3), sep)).toBeLessThan(0);
    expect(compareInternalKeys(sep, ik('abzz', 9))).toBeLessThan(0);
  });

  it('bumps a later byte of the last key when the first differing byte cannot be bumped', () => {
    const sep = indexSeparator(ik('user:000122:name', 3), ik('user:000123:name', 9));
    expect(userKeyOf(sep)).toEqual(utf8('user:000122;'));
    const ff = encodeInternalKey(Uint8Array.of(0x61, 0xff, 0xff, 0x10, 0x20), 1, EntryKind.Value);
    const next = encodeInternalKey(Uint8Array.of(0x62), 1, EntryKind.Value);
    expect(userKeyOf(indexSeparator(ff, next))).toEqual(Uint8Array.of(0x61, 0xff, 0xff, 0x11));
  });

  it('keeps the last key when nothing shorter fits', () => {
    expect(indexSeparator(ik('abc', 3), ik('abd', 1))).toEqual(ik('abc', 3));
    expect(indexSeparator(ik('ab', 3), ik('abc', 1))).toEqual(ik('ab', 3));
    expect(indexSeparator(ik('k', 5), ik('k', 4))).toEqual(ik('k', 5));
    const allFf = encodeInternalKey(Uint8Array.of(0xff, 0xff), 1, EntryKind.Value);
    expect(indexSuccessor(allFf)).toEqual(allFf);
    const ffThenA = encodeInternalKey(Uint8Array.of(0xff, 0x61, 0x62), 1, EntryKind.Value);
    expect(userKeyOf(indexSuccessor(ffThenA))).toEqual(Uint8Array.of(0xff, 0x62));
    expect(userKeyOf(indexSuccessor(ik('abc', 1)))).toEqual(utf8('b'));
  });

  test.prop([ikeyArb, ikeyArb])('a separator lies in [last, next) and is no longer than last', (x, y) => {
    const c = compareInternalKeys(x, y);
    fc.pre(c !== 0);
    const [last, next] = c < 0 ? [x, y] : [y, x];
    const sep = indexSeparator(last, next);
    expect(compareInternalKeys(last, sep)).toBeLessThanOrEqual(0);
    expect(compareInternalKeys(sep, next)).toBeLessThan(0);
    expect(sep.length).toBeLessThanOrEqual(last.length);
  });

  test.prop([ikeyArb])('a successor is >= last and no longer', (last) => {
    const s = indexSuccessor(last);
    expect(compareInternalKeys(last, s)).toBeLessThanOrEqual(0);
    expect(s.length).toBeLessThanOrEqual(last.length);
    if (!bytesEqual(s, last)) expect(s.length).toBeLessThan(last.length);
  });

  test.prop([fc.nat({ max: MAX_SEQUENCE }), fc.nat({ max: MAX_SEQUENCE })])(
    'block handles round-trip',
    (o, s) => {
      expect(decodeBlockHandle(encodeBlockHandle({ offset: o, size: s }))).toEqual({ offset: o, size: s });
    },
  );

  it('rejects handles with trailing bytes or cut short', () => {
    expect(() => decodeBlockHandle(Uint8Array.of(1, 2, 3))).toThrow(DecodeError);
    expect(() => decodeBlockHandle(Uint8Array.of(1))).toThrow(DecodeError);
    expect(() => decodeBlockHandle(Uint8Array.of(1, 0x80))).toThrow(DecodeError);
  });
});

describe('compareInternalKeyAt', () => {
  const ikeyArb = fc
    .tuple(
      fc.uint8Array({ maxLength: 6, max: 3 }),
      fc.oneof(fc.nat({ max: 3 }), fc.constant(MAX_SEQUENCE), fc.nat({ max: 2 ** 40 })),
      fc.constantFrom(EntryKind.Value, EntryKind.Delete),
    )
    .map(([user, seq, kind]) => encodeInternalKey(user, seq, kind));

  test.prop([ikeyArb, ikeyArb, fc.nat({ max: 5 }), fc.nat({ max: 5 })])(
    'orders a key read in place exactly as compareInternalKeys orders the key',
    (a, b, before, after) => {
      const data = new Uint8Array(before + a.length + after).fill(0xee);
      data.set(a, before);
      expect(Math.sign(compareInternalKeyAt(data, before, a.length, b))).toBe(
        Math.sign(compareInternalKeys(a, b)),
      );
    },
  );
});

describe('Block.decode checks key order from the shared prefix on', () => {
  /** An internal key over the small alphabet, with a small sequence so that equal user keys meet. */
  const keyArb = fc
    .tuple(userKeyArb, fc.integer({ min: 0, max: 3 }), fc.constantFrom(EntryKind.Delete, EntryKind.Value))
    .map(([user, seq, kind]) => encodeInternalKey(user, seq, kind));

  test.prop([keyArb, keyArb, fc.nat()])(
    'accepts two keys exactly when the first sorts before the second, whatever prefix they share',
    (first, second, pick) => {
      let common = 0;
      while (common < first.length && common < second.length && first[common] === second[common]) common++;
      // Any shared length up to the true common prefix is a valid encoding of the second key.
      const shared = pick % (common + 1);
      const bytes = rawBlock(
        [
          [0, first, new Uint8Array(0)],
          [shared, second.subarray(shared), new Uint8Array(0)],
        ],
        [0],
      );
      if (compareInternalKeys(first, second) < 0) {
        const block = Block.decode(bytes);
        expect(block.entries).toBe(2);
        expect(block.lastKey).toEqual(second);
      } else expect(() => Block.decode(bytes)).toThrow(/keys out of order/);
    },
  );
});
