/**
 * Internal keys: trailer round trips up to the largest sequence, the byte layout, and the
 * ordering (user key ascending, sequence descending, kind descending) against a reference
 * sort that works on the decoded parts rather than the bytes.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { compareBytes } from './coding.ts';
import {
  compareInternalKeys,
  compareUserKeys,
  compareUserKeysOf,
  EntryKind,
  encodeInternalKey,
  kindOf,
  MAX_SEQUENCE,
  seekKey,
  seqOf,
  TRAILER_BYTES,
  userKeyOf,
  writeTrailer,
} from './internal-key.ts';

interface Parts {
  user: Uint8Array;
  seq: number;
  kind: EntryKind;
}

const kindArb = fc.constantFrom(EntryKind.Delete, EntryKind.Value);
const seqArb = fc.oneof(
  fc.nat({ max: 20 }),
  fc.maxSafeNat(),
  fc.constantFrom(0, 255, 256, 2 ** 32, MAX_SEQUENCE),
);
// Small user keys over a small alphabet so that equal keys, prefixes and equal seqs are common.
const userArb = fc.uint8Array({ maxLength: 4, min: 0, max: 2 });
const partsArb: fc.Arbitrary<Parts> = fc.record({ user: userArb, seq: seqArb, kind: kindArb });

/** The documented order, on decoded parts. */
function referenceCompare(a: Parts, b: Parts): number {
  const c = compareBytes(a.user, b.user);
  if (c !== 0) return c;
  if (a.seq !== b.seq) return a.seq > b.seq ? -1 : 1;
  return b.kind - a.kind;
}

describe('encodeInternalKey and its accessors', () => {
  test.prop([fc.uint8Array({ maxLength: 40 }), seqArb, kindArb])('round trip', (user, seq, kind) => {
    const ikey = encodeInternalKey(user, seq, kind);
    expect(ikey.length).toBe(user.length + TRAILER_BYTES);
    expect(userKeyOf(ikey)).toEqual(user);
    expect(seqOf(ikey)).toBe(seq);
    expect(kindOf(ikey)).toBe(kind);
  });

  it('round trips the extreme sequences', () => {
    for (const seq of [0, 1, 255, 256, 2 ** 48 - 1, 2 ** 48, 2 ** 52 + 1, MAX_SEQUENCE - 1, MAX_SEQUENCE]) {
      for (const kind of [EntryKind.Delete, EntryKind.Value]) {
        const ikey = encodeInternalKey(Uint8Array.of(7), seq, kind);
        expect(seqOf(ikey)).toBe(seq);
        expect(kindOf(ikey)).toBe(kind);
      }
    }
  });

  it('lays out the trailer as kind, then 7 little-endian sequence bytes', () => {
    const ikey = encodeInternalKey(Uint8Array.of(0xaa, 0xbb), 0x0102030405, EntryKind.Value);
    expect([...ikey]).toEqual([0xaa, 0xbb, 1, 0x05, 0x04, 0x03, 0x02, 0x01, 0, 0]);
    const max = encodeInternalKey(new Uint8Array(0), MAX_SEQUENCE, EntryKind.Delete);
    expect([...max]).toEqual([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]);
  });

  it('writeTrailer writes in place at an offset', () => {
    const out = new Uint8Array(12).fill(0xee);
    writeTrailer(out, 2, 300, EntryKind.Delete);
    expect([...out]).toEqual([0xee, 0xee, 0, 44, 1, 0, 0, 0, 0, 0, 0xee, 0xee]);
  });

  it('userKeyOf is a view, not a copy', () => {
    const ikey = encodeInternalKey(Uint8Array.of(1, 2, 3), 9, EntryKind.Value);
    const view = userKeyOf(ikey);
    ikey[0] = 42;
    expect(view[0]).toBe(42);
  });

  it('asserts on sequences out of range', () => {
    expect(() => encodeInternalKey(Uint8Array.of(1), -1, EntryKind.Value)).toThrow(AssertionError);
    expect(() => encodeInternalKey(Uint8Array.of(1), MAX_SEQUENCE + 1, EntryKind.Value)).toThrow(
      AssertionError,
    );
    expect(() => seekKey(Uint8Array.of(1), 2 ** 60)).toThrow(AssertionError);
  });
});

describe('compareInternalKeys', () => {
  test.prop([fc.array(partsArb, { maxLength: 30 })])('sorts like the reference order on parts', (parts) => {
    const encoded = parts.map((p) => encodeInternalKey(p.user, p.seq, p.kind));
    const byBytes = encoded.sort(compareInternalKeys).map((k) => Buffer.from(k).toString('hex'));
    const byParts = [...parts]
      .sort(referenceCompare)
      .map((p) => Buffer.from(encodeInternalKey(p.user, p.seq, p.kind)).toString('hex'));
    expect(byBytes).toEqual(byParts);
  });

  test.prop([partsArb, partsArb])('agrees in sign with the reference, antisymmetric', (a, b) => {
    const ka = encodeInternalKey(a.user, a.seq, a.kind);
    const kb = encodeInternalKey(b.user, b.seq, b.kind);
    expect(Math.sign(compareInternalKeys(ka, kb))).toBe(Math.sign(referenceCompare(a, b)));
    expect(Math.sign(compareInternalKeys(kb, ka))).toBe(Math.sign(referenceCompare(b, a)));
    expect(compareInternalKeys(ka, ka)).toBe(0);
  });

  it('orders by user key first, even when a longer key has a smaller trailer', () => {
    // "a" ‖ trailer must sort before "a\0" ‖ trailer although the trailer's bytes would not.
    const short = encodeInternalKey(Uint8Array.of(0x61), MAX_SEQUENCE, EntryKind.Value);
    const long = encodeInternalKey(Uint8Array.of(0x61, 0x00), 0, EntryKind.Delete);
    expect(compareInternalKeys(short, long)).toBeLessThan(0);
    expect(compareInternalKeys(long, short)).toBeGreaterThan(0);
  });

  it('puts newer sequences first, and a value before a tombstone at the same sequence', () => {
    const k = Uint8Array.of(5);
    const newer = encodeInternalKey(k, 10, EntryKind.Delete);
    const older = encodeInternalKey(k, 9, EntryKind.Value);
    expect(compareInternalKeys(newer, older)).toBeLessThan(0);
    const value = encodeInternalKey(k, 9, EntryKind.Value);
    const tomb = encodeInternalKey(k, 9, EntryKind.Delete);
    expect(compareInternalKeys(value, tomb)).toBeLessThan(0);
  });

  it('compares sequences above 2^32 exactly', () => {
    const k = Uint8Array.of(1);
    const a = encodeInternalKey(k, MAX_SEQUENCE, EntryKind.Value);
    const b = encodeInternalKey(k, MAX_SEQUENCE - 1, EntryKind.Value);
    expect(compareInternalKeys(a, b)).toBeLessThan(0);
    expect(compareInternalKeys(b, a)).toBeGreaterThan(0);
  });
});

describe('compareUserKeysOf and compareUserKeys', () => {
  test.prop([partsArb, partsArb])('compare only the user-key parts', (a, b) => {
    const ka = encodeInternalKey(a.user, a.seq, a.kind);
    const kb = encodeInternalKey(b.user, b.seq, b.kind);
    const expected = Math.sign(compareBytes(a.user, b.user));
    expect(Math.sign(compareUserKeysOf(ka, kb))).toBe(expected);
    expect(Math.sign(compareUserKeys(a.user, b.user))).toBe(expected);
  });
});

describe('seekKey', () => {
  test.prop([fc.array(partsArb, { minLength: 1, maxLength: 30 }), userArb, seqArb])(
    'the first key >= seekKey(user, seq) is the newest version of user at or below seq',
    (parts, user, seq) => {
      // Unique (user, seq) pairs, as a store has.
      const seen = new Set<string>();
      const unique = parts.filter((p) => {
        const id = `${Buffer.from(p.user).toString('hex')}/${p.seq}`;
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      });
      const keys = unique.map((p) => encodeInternalKey(p.user, p.seq, p.kind)).sort(compareInternalKeys);
      const target = seekKey(user, seq);
      const first = keys.find((k) => compareInternalKeys(k, target) >= 0);
      const visible = unique
        .filter((p) => compareBytes(p.user, user) === 0 && p.seq <= seq)
        .sort((a, b) => b.seq - a.seq)[0];
      if (visible === undefined) {
        if (first !== undefined) expect(compareUserKeysOf(first, target)).not.toBe(0);
      } else {
        expect(first).toBeDefined();
        expect(userKeyOf(first!)).toEqual(user);
        expect(seqOf(first!)).toBe(visible.seq);
        expect(kindOf(first!)).toBe(visible.kind);
      }
    },
  );
});
