/**
 * The reference LWW model: every example of docs/crdt.md by hand (resurrection, ties by
 * author, put after patch, unset semantics, touches, equal stamps inside one transaction), then
 * a differential property against the engine (engine/crdt/lww.ts applyOp + materialize) on
 * random histories with many HLC ties, several authors and multi-op transactions.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  applyOp,
  canonicalJson,
  type DocState,
  type JsonObject,
  type LwwOp,
  materialize,
} from '../engine/crdt/lww.ts';
import type { DbOp } from '../engine/db/payload.ts';
import { compareModelStamps, docKey, expectedDocuments, type ModelWrite, stampOf } from './lww-model.ts';

const A = '01'.repeat(32);
const B = '02'.repeat(32);
const AB = `${'01'.repeat(31)}02`; // differs from A only in its last byte

let nextSeq = 1;
/** A one-transaction write by `author` at wall time `wallMs`. */
function w(wallMs: number, ops: DbOp[], author = A, logical = 0): ModelWrite {
  return { author, seq: nextSeq++, hlc: { wallMs, logical }, ops };
}
const put = (fields: JsonObject, id = 'd'): DbOp => ({ kind: 'put', collection: 'c', id, fields });
const patch = (fields: JsonObject, id = 'd'): DbOp => ({ kind: 'patch', collection: 'c', id, fields });
const unset = (names: string[], id = 'd'): DbOp => ({ kind: 'unset', collection: 'c', id, names });
const del = (id = 'd'): DbOp => ({ kind: 'delete', collection: 'c', id });

/** The model's view of document c/d, as canonical JSON (or undefined). */
function doc(...writes: ModelWrite[]): string | undefined {
  const d = expectedDocuments(writes).get(docKey('c', 'd'));
  return d === undefined ? undefined : canonicalJson(d);
}
const j = (o: JsonObject) => canonicalJson(o);

describe('stamps', () => {
  it('order by wall time, then logical counter, then author bytes', () => {
    const s = (wallMs: number, logical: number, author: string) =>
      stampOf({ author, hlc: { wallMs, logical } });
    expect(compareModelStamps(s(5, 0, A), s(5, 0, B))).toBeLessThan(0);
    expect(compareModelStamps(s(5, 0, B), s(5, 1, A))).toBeLessThan(0);
    expect(compareModelStamps(s(4, 9, B), s(5, 0, A))).toBeLessThan(0);
    expect(compareModelStamps(s(5, 0, A), s(5, 0, AB))).toBeLessThan(0);
    expect(compareModelStamps(s(5, 0, B.toUpperCase()), s(5, 0, B))).toBe(0);
  });

  it('break an HLC tie by author: the greater key wins the field', () => {
    expect(doc(w(5, [patch({ a: 'fromB' })], B), w(5, [patch({ a: 'fromA' })], A))).toBe(j({ a: 'fromB' }));
    expect(doc(w(5, [patch({ a: 'fromA' })], A), w(5, [patch({ a: 'fromB' })], B))).toBe(j({ a: 'fromB' }));
    expect(doc(w(5, [patch({ a: 'AB' })], AB), w(5, [patch({ a: 'A' })], A))).toBe(j({ a: 'AB' }));
    // The logical counter outranks the author.
    expect(doc(w(5, [patch({ a: 'A' })], A, 1), w(5, [patch({ a: 'B' })], B, 0))).toBe(j({ a: 'A' }));
  });
});

describe('the documented examples (docs/crdt.md section 3), in every order', () => {
  const cases: { name: string; writes: () => ModelWrite[]; expected: JsonObject | undefined }[] = [
    {
      name: 'put then put',
      writes: () => [w(1, [put({ a: 1, b: 2 })]), w(2, [put({ c: 3 })])],
      expected: { c: 3 },
    },
    {
      name: 'a patch older than a put loses',
      writes: () => [w(2, [put({ a: 1 })]), w(1, [patch({ b: 2 })])],
      expected: { a: 1 },
    },
    {
      name: 'a patch newer than a put adds to it',
      writes: () => [w(1, [put({ a: 1 })]), w(2, [patch({ b: 2 })])],
      expected: { a: 1, b: 2 },
    },
    {
      name: 'unset removes a field',
      writes: () => [w(1, [patch({ a: 1, b: 2 })]), w(2, [unset(['a'])])],
      expected: { b: 2 },
    },
    { name: 'an unset alone creates nothing', writes: () => [w(1, [unset(['a'])])], expected: undefined },
    {
      name: 'a patch after a delete resurrects with only its fields',
      writes: () => [w(1, [put({ a: 1, b: 2 })]), w(2, [del()]), w(3, [patch({ c: 3 })])],
      expected: { c: 3 },
    },
    {
      name: '... and a late older patch from another author stays dead',
      writes: () => [
        w(1, [put({ a: 1, b: 2 })]),
        w(2, [del()]),
        w(3, [patch({ c: 3 })]),
        w(1, [patch({ a: 9 })], B),
      ],
      expected: { c: 3 },
    },
    {
      name: 'a put after a delete resurrects with exactly its fields',
      writes: () => [w(1, [patch({ a: 1 })]), w(2, [del()]), w(3, [patch({ b: 2 })]), w(4, [put({ c: 3 })])],
      expected: { c: 3 },
    },
    {
      name: 'an unset never resurrects',
      writes: () => [w(1, [patch({ a: 1 })]), w(2, [del()]), w(3, [unset(['a'])])],
      expected: undefined,
    },
    {
      name: 'a delete after a resurrection deletes again',
      writes: () => [w(2, [del()]), w(3, [patch({ a: 1 })]), w(4, [del()])],
      expected: undefined,
    },
    { name: 'an empty patch creates an empty document', writes: () => [w(1, [patch({})])], expected: {} },
    {
      name: 'an empty patch after a delete resurrects an empty document',
      writes: () => [w(1, [put({ a: 1 })]), w(2, [del()]), w(3, [patch({})])],
      expected: {},
    },
    {
      name: 'an empty put clears every older field',
      writes: () => [w(1, [patch({ a: 1, b: 2 })]), w(2, [put({})])],
      expected: {},
    },
    {
      name: 'an unset tombstone beats an older value but not a newer one',
      writes: () => [
        w(1, [patch({ a: 1 })]),
        w(2, [unset(['a'])]),
        w(3, [patch({ b: 2 })]),
        w(4, [patch({ a: 4 })]),
      ],
      expected: { a: 4, b: 2 },
    },
    {
      name: 'a write at the delete stamp from another author with a smaller key dies',
      writes: () => [w(2, [del()], B), w(2, [patch({ a: 1 })], A)],
      expected: undefined,
    },
    {
      name: 'a write at the delete wall time from a greater author lives',
      writes: () => [w(2, [del()], A), w(2, [patch({ a: 1 })], B)],
      expected: { a: 1 },
    },
    { name: 'null is a value', writes: () => [w(1, [patch({ a: null })])], expected: { a: null } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const writes = c.writes();
      const expected = c.expected === undefined ? undefined : j(c.expected);
      expect(doc(...writes)).toBe(expected);
      expect(doc(...[...writes].reverse())).toBe(expected);
      expect(doc(...writes, ...writes)).toBe(expected); // duplicates change nothing
    });
  }
});

describe('equal stamps (one transaction, or a faulty author)', () => {
  it('a delete and a write in one transaction: the document is deleted, whatever the op order', () => {
    expect(doc(w(1, [patch({ a: 1 }), del()]))).toBeUndefined();
    expect(doc(w(1, [del(), put({ a: 1 })]))).toBeUndefined();
  });

  it('two puts in one transaction both live (a field at the put stamp lives)', () => {
    expect(doc(w(1, [put({ a: 1 }), put({ b: 2 })]))).toBe(j({ a: 1, b: 2 }));
    expect(doc(w(1, [put({ a: 1 }), patch({ b: 2 })]))).toBe(j({ a: 1, b: 2 }));
  });

  it('a value beats an unset at the same stamp, whatever the op order', () => {
    expect(doc(w(1, [patch({ a: 1 }), unset(['a'])]))).toBe(j({ a: 1 }));
    expect(doc(w(1, [unset(['a']), patch({ a: 1 })]))).toBe(j({ a: 1 }));
  });

  it('values at the same stamp: the greater canonical JSON text wins', () => {
    expect(doc(w(1, [patch({ a: 1 }), patch({ a: 2 })]))).toBe(j({ a: 2 }));
    expect(doc(w(1, [patch({ a: 2 }), patch({ a: 1 })]))).toBe(j({ a: 2 }));
    // '"x"' starts with 0x22, below '1' (0x31).
    expect(doc(w(1, [patch({ a: 'x' }), patch({ a: 1 })]))).toBe(j({ a: 1 }));
    // A faulty author signing two writes with one HLC is decided the same way.
    expect(doc(w(1, [patch({ a: 'é' })]), w(1, [patch({ a: 'z' })]))).toBe(j({ a: 'é' }));
  });
});

describe('documents are separate', () => {
  it('keys by collection and id; deleted and unset-only documents are absent', () => {
    const docs = expectedDocuments([
      w(1, [patch({ a: 1 }, 'x'), patch({ b: 2 }, 'y'), unset(['a'], 'z')]),
      {
        author: B,
        seq: 1,
        hlc: { wallMs: 1, logical: 0 },
        ops: [{ kind: 'put', collection: 'o', id: 'x', fields: {} }],
      },
      w(2, [del('y')]),
    ]);
    expect([...docs.keys()].sort()).toEqual([docKey('c', 'x'), docKey('o', 'x')]);
    expect(docs.get(docKey('c', 'x'))).toEqual({ a: 1 });
  });

  it('keeps a field named __proto__ as a field', () => {
    const d = expectedDocuments([w(1, [patch(JSON.parse('{"__proto__": 1, "a": 2}') as JsonObject)])]);
    const got = d.get(docKey('c', 'd'))!;
    expect(Object.keys(got).sort()).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
  });

  it('is empty without writes', () => {
    expect(expectedDocuments([]).size).toBe(0);
  });
});

// Differential property: the model against the engine on random histories. Few walls,
// counters and authors make HLC ties (broken by author) common; equal stamps come from
// multi-op transactions and from one author reusing an HLC.
const AUTHORS = [A, AB, B, 'ff'.repeat(32)];
const NAMES = ['a', 'b', 'c', 'é', '😀', '__proto__'];
const IDS = ['x', 'y'];
const arbValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(0, -0, 1, 2, null, true, false, '', 'x', [], {}) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const arbFields = fc
  .array(fc.tuple(fc.constantFrom(...NAMES), arbValue), { maxLength: 4 })
  .map((entries) => Object.fromEntries(entries) as JsonObject);
const arbTarget = fc.record({ collection: fc.constantFrom('c', 'o'), id: fc.constantFrom(...IDS) });
const arbDbOp: fc.Arbitrary<DbOp> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.tuple(arbTarget, arbFields).map(([t, fields]): DbOp => ({ kind: 'put', ...t, fields })),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(arbTarget, arbFields).map(([t, fields]): DbOp => ({ kind: 'patch', ...t, fields })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(arbTarget, fc.array(fc.constantFrom(...NAMES), { maxLength: 3 }))
      .map(([t, names]): DbOp => ({ kind: 'unset', ...t, names })),
  },
  { weight: 1, arbitrary: arbTarget.map((t): DbOp => ({ kind: 'delete', ...t })) },
);
const arbWrite: fc.Arbitrary<ModelWrite> = fc.record({
  author: fc.constantFrom(...AUTHORS),
  seq: fc.nat(),
  hlc: fc.record({ wallMs: fc.integer({ min: 0, max: 4 }), logical: fc.integer({ min: 0, max: 1 }) }),
  ops: fc.array(arbDbOp, { minLength: 1, maxLength: 3 }),
});

/** The engine's visible documents after applying every write's ops in the given order. */
function engineDocuments(writes: readonly ModelWrite[]): Map<string, string> {
  const states = new Map<string, DocState>();
  for (const write of writes) {
    const stamp = { hlc: write.hlc, author: Uint8Array.from(Buffer.from(write.author, 'hex')) };
    for (const op of write.ops) {
      const key = docKey(op.collection, op.id);
      const lww: LwwOp =
        op.kind === 'delete'
          ? { kind: 'delete', stamp }
          : op.kind === 'unset'
            ? { kind: 'unset', names: op.names, stamp }
            : { kind: op.kind, fields: op.fields, stamp };
      states.set(key, applyOp(states.get(key), lww));
    }
  }
  const out = new Map<string, string>();
  for (const [key, state] of states) {
    const d = materialize(state);
    if (d !== undefined) out.set(key, canonicalJson(d));
  }
  return out;
}

function modelDocuments(writes: readonly ModelWrite[]): Map<string, string> {
  return new Map([...expectedDocuments(writes)].map(([k, d]) => [k, canonicalJson(d)]));
}

describe('the model agrees with the engine', () => {
  test.prop([fc.array(arbWrite, { maxLength: 20 }), fc.gen()], { numRuns: 400 })(
    'on random histories, in any order',
    (writes, g) => {
      const shuffled = g(fc.shuffledSubarray, writes, { minLength: writes.length, maxLength: writes.length });
      const model = modelDocuments(writes);
      expect(modelDocuments(shuffled)).toEqual(model);
      expect(engineDocuments(shuffled)).toEqual(model);
    },
  );

  it('and the property can fail: a wrong model is caught', () => {
    // Sanity check of the comparison itself: dropping the delete changes the outcome.
    const writes = [w(1, [patch({ a: 1 })]), w(2, [del()])];
    expect(engineDocuments(writes)).not.toEqual(modelDocuments(writes.slice(0, 1)));
  });
});
