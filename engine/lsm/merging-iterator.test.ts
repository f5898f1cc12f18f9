/**
 * The merging iterator: random sorted children (plain arrays and memtables) merge to the sorted
 * union; seek lands on the union's first key >= the target and iteration goes on from there;
 * no children or empty children give an empty cursor; equal keys come out child by child.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import {
  compareInternalKeys,
  EntryKind,
  encodeInternalKey,
  kindOf,
  seqOf,
  userKeyOf,
} from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';
import { Memtable } from './memtable.ts';
import { MergingIterator } from './merging-iterator.ts';

interface Entry {
  key: Uint8Array;
  value: Uint8Array;
}

/** A cursor over a sorted array: the simplest correct InternalIterator. */
class ArrayIterator implements InternalIterator {
  private i: number;

  constructor(private readonly entries: readonly Entry[]) {
    this.i = entries.length;
  }
  valid(): boolean {
    return this.i < this.entries.length;
  }
  seekToFirst(): void {
    this.i = 0;
  }
  seek(target: Uint8Array): void {
    this.i = this.entries.findIndex((e) => compareInternalKeys(e.key, target) >= 0);
    if (this.i < 0) this.i = this.entries.length;
  }
  next(): void {
    expect(this.valid()).toBe(true);
    this.i++;
  }
  key(): Uint8Array {
    return this.entries[this.i]!.key;
  }
  value(): Uint8Array {
    return this.entries[this.i]!.value;
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sortEntries = (es: Entry[]): Entry[] => [...es].sort((a, b) => compareInternalKeys(a.key, b.key));

function drain(it: InternalIterator): string[] {
  const out: string[] = [];
  for (; it.valid(); it.next()) out.push(`${hex(it.key())}=${hex(it.value())}`);
  return out;
}

const show = (es: readonly Entry[]): string[] => es.map((e) => `${hex(e.key)}=${hex(e.value)}`);

/**
 * Children with globally unique internal keys (each entry gets its own sequence number), split
 * at random among 0..5 children, each child sorted.
 */
const childrenArb: fc.Arbitrary<Entry[][]> = fc
  .array(
    fc.record({
      user: fc.uint8Array({ minLength: 1, maxLength: 3, min: 0, max: 3 }),
      kind: fc.constantFrom(EntryKind.Delete, EntryKind.Value),
      child: fc.nat({ max: 4 }),
      value: fc.uint8Array({ maxLength: 3 }),
    }),
    { maxLength: 60 },
  )
  .chain((raw) =>
    fc.integer({ min: 0, max: 5 }).map((n) => {
      const children: Entry[][] = Array.from({ length: n }, () => []);
      if (n === 0) return children;
      raw.forEach((r, i) => {
        children[r.child % n]!.push({ key: encodeInternalKey(r.user, i + 1, r.kind), value: r.value });
      });
      return children.map(sortEntries);
    }),
  );

const targetArb = fc
  .record({
    user: fc.uint8Array({ maxLength: 4, min: 0, max: 3 }),
    seq: fc.nat({ max: 70 }),
    kind: fc.constantFrom(EntryKind.Delete, EntryKind.Value),
  })
  .map((t) => encodeInternalKey(t.user, t.seq, t.kind));

describe('MergingIterator', () => {
  test.prop([childrenArb])('yields the sorted union of its children', (children) => {
    const merged = new MergingIterator(children.map((c) => new ArrayIterator(c)));
    merged.seekToFirst();
    expect(drain(merged)).toEqual(show(sortEntries(children.flat())));
  });

  test.prop([childrenArb, targetArb])(
    'seek lands on the first key >= target and continues',
    (children, target) => {
      const merged = new MergingIterator(children.map((c) => new ArrayIterator(c)));
      merged.seek(target);
      const union = sortEntries(children.flat());
      expect(drain(merged)).toEqual(show(union.filter((e) => compareInternalKeys(e.key, target) >= 0)));
    },
  );

  test.prop([childrenArb, targetArb, fc.uint8Array({ maxLength: 4, min: 0, max: 3 })])(
    'with an upper bound, yields the union from the target up to the first user key >= the bound',
    (children, target, lt) => {
      const merged = new MergingIterator(children.map((c) => new ArrayIterator(c)));
      merged.setUpperBound(lt);
      merged.seek(target);
      const union = sortEntries(children.flat()).filter((e) => compareInternalKeys(e.key, target) >= 0);
      const end = union.findIndex((e) => Buffer.compare(Buffer.from(userKeyOf(e.key)), Buffer.from(lt)) >= 0);
      expect(drain(merged)).toEqual(show(end < 0 ? union : union.slice(0, end)));
    },
  );

  test.prop([childrenArb, fc.array(targetArb, { maxLength: 5 })])(
    'can be re-positioned any number of times',
    (children, targets) => {
      const merged = new MergingIterator(children.map((c) => new ArrayIterator(c)));
      const union = sortEntries(children.flat());
      for (const t of targets) {
        merged.seek(t);
        // Step only once or twice, then move elsewhere: positions must not leak between seeks.
        const want = union.filter((e) => compareInternalKeys(e.key, t) >= 0).slice(0, 2);
        const got: string[] = [];
        for (let i = 0; i < 2 && merged.valid(); i++, merged.next())
          got.push(`${hex(merged.key())}=${hex(merged.value())}`);
        expect(got).toEqual(show(want));
      }
      merged.seekToFirst();
      expect(drain(merged)).toEqual(show(union));
    },
  );

  test.prop([childrenArb])('merges memtables like one memtable holding everything', (children) => {
    const tables = children.map((c) => {
      const m = new Memtable();
      for (const e of c) m.add(seqOf(e.key), kindOf(e.key), userKeyOf(e.key), e.value);
      return m;
    });
    const merged = new MergingIterator(tables.map((t) => t.iterator()));
    merged.seekToFirst();
    expect(drain(merged)).toEqual(show(sortEntries(children.flat())));
  });

  it('is empty with no children, or only empty ones', () => {
    for (const children of [[], [[]], [[], [], []]] as Entry[][][]) {
      const merged = new MergingIterator(children.map((c) => new ArrayIterator(c)));
      expect(merged.valid()).toBe(false);
      merged.seekToFirst();
      expect(merged.valid()).toBe(false);
      merged.seek(encodeInternalKey(Uint8Array.of(0), 0, EntryKind.Value));
      expect(merged.valid()).toBe(false);
      expect(() => merged.next()).toThrow(AssertionError);
      expect(() => merged.key()).toThrow(AssertionError);
      expect(() => merged.value()).toThrow(AssertionError);
    }
  });

  it('becomes invalid after the last entry', () => {
    const e = { key: encodeInternalKey(Uint8Array.of(1), 1, EntryKind.Value), value: Uint8Array.of(1) };
    const merged = new MergingIterator([new ArrayIterator([]), new ArrayIterator([e])]);
    merged.seekToFirst();
    expect(merged.valid()).toBe(true);
    merged.next();
    expect(merged.valid()).toBe(false);
    expect(() => merged.next()).toThrow(AssertionError);
  });

  it('yields equal keys from every child, the earlier child first', () => {
    const key = encodeInternalKey(Uint8Array.of(5), 3, EntryKind.Value);
    const before = encodeInternalKey(Uint8Array.of(4), 1, EntryKind.Value);
    const merged = new MergingIterator([
      new ArrayIterator([{ key, value: Uint8Array.of(1) }]),
      new ArrayIterator([
        { key: before, value: Uint8Array.of(0) },
        { key, value: Uint8Array.of(2) },
      ]),
    ]);
    merged.seekToFirst();
    expect(drain(merged)).toEqual([`${hex(before)}=00`, `${hex(key)}=01`, `${hex(key)}=02`]);
  });

  it('puts a newer version from a later child before an older one from an earlier child', () => {
    const user = Uint8Array.of(7);
    const older = { key: encodeInternalKey(user, 1, EntryKind.Value), value: Uint8Array.of(1) };
    const newer = { key: encodeInternalKey(user, 2, EntryKind.Delete), value: new Uint8Array(0) };
    const merged = new MergingIterator([new ArrayIterator([older]), new ArrayIterator([newer])]);
    merged.seekToFirst();
    expect(drain(merged)).toEqual(show([newer, older]));
  });
});
