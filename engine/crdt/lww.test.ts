/**
 * LWW per field. Convergence properties on random histories (puts, patches, unsets, deletes,
 * with HLC ties broken by author and even fully equal stamps): any permutation with duplicates
 * gives byte-identical canonical state; mergeStates is commutative, associative, idempotent and
 * equals applying every op; a deliberately simple reference model (per field, the greatest
 * stamp that touched it against the delete and clear stamps) agrees with materialize. Then the
 * resurrection rules and other semantics by hand, immutability, the canonical JSON and state
 * encodings (pinned bytes, round trips, strict decoding), and every invalid value and op.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { compareBytes } from '../lsm/coding.ts';
import {
  AUTHOR_BYTES,
  applyOp,
  canonicalJson,
  checkJsonValue,
  compareStamp,
  compareUtf8,
  DEFAULT_JSON_LIMITS,
  type DocState,
  EMPTY_DOC_STATE,
  type JsonLimits,
  type JsonObject,
  type JsonValue,
  type LwwOp,
  MAX_FIELD_NAME_BYTES,
  MAX_JSON_DEPTH,
  MAX_JSON_OBJECT_KEYS,
  materialize,
  mergeStates,
  ownedStamp,
  type Stamp,
} from './lww.ts';
import { canonicalEncodeState } from './state-codec.ts';

function author(fill: number, last = fill): Uint8Array {
  const a = new Uint8Array(AUTHOR_BYTES).fill(fill);
  a[AUTHOR_BYTES - 1] = last;
  return a;
}
const A = author(0x01);
const B = author(0x02);
function st(wallMs: number, who: Uint8Array = A, logical = 0): Stamp {
  return { hlc: { wallMs, logical }, author: who };
}
const put = (fields: JsonObject, stamp: Stamp): LwwOp => ({ kind: 'put', fields, stamp });
const patch = (fields: JsonObject, stamp: Stamp): LwwOp => ({ kind: 'patch', fields, stamp });
const unset = (names: string[], stamp: Stamp): LwwOp => ({ kind: 'unset', names, stamp });
const del = (stamp: Stamp): LwwOp => ({ kind: 'delete', stamp });

function fold(ops: readonly LwwOp[], from?: DocState): DocState {
  return ops.reduce<DocState>((s, op) => applyOp(s, op), from ?? EMPTY_DOC_STATE);
}
const view = (ops: readonly LwwOp[]) => materialize(fold(ops));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytesOf = (s: DocState) => hex(canonicalEncodeState(s));

// Random histories: few walls, counters and authors so that HLC ties (broken by author) and
// whole-stamp ties are common; authors 0x01.. and 0x01..02 differ only in their last byte.
const AUTHORS = [author(0x01), author(0x01, 0x02), author(0x02), author(0xff)];
const NAMES = ['a', 'b', 'c', 'é', '\uffff', '😀'];
const arbStamp: fc.Arbitrary<Stamp> = fc.record({
  hlc: fc.record({ wallMs: fc.integer({ min: 0, max: 4 }), logical: fc.integer({ min: 0, max: 1 }) }),
  author: fc.constantFrom(...AUTHORS),
});
const arbValue: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<JsonValue>(0, -0, 1, 1.5, null, true, false, '', 'x', [], {}) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: 'grapheme' }) as fc.Arbitrary<JsonValue> },
);
const arbFields = fc.dictionary(fc.constantFrom(...NAMES), arbValue, {
  maxKeys: 4,
}) as fc.Arbitrary<JsonObject>;
const arbOp: fc.Arbitrary<LwwOp> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('put' as const), fields: arbFields, stamp: arbStamp }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('patch' as const), fields: arbFields, stamp: arbStamp }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('unset' as const),
      names: fc.array(fc.constantFrom(...NAMES), { maxLength: 3 }),
      stamp: arbStamp,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), stamp: arbStamp }) },
);
const arbOps = fc.array(arbOp, { maxLength: 24 });

describe('compareStamp', () => {
  it('orders by HLC, then author bytes', () => {
    expect(compareStamp(st(1, B), st(2, A))).toBeLessThan(0);
    expect(compareStamp(st(2, A, 0), st(2, A, 1))).toBeLessThan(0);
    expect(compareStamp(st(2, A), st(2, B))).toBeLessThan(0);
    expect(compareStamp(st(2, B), st(2, A))).toBeGreaterThan(0);
    expect(compareStamp(st(2, author(1, 2)), st(2, author(1, 1)))).toBeGreaterThan(0);
    expect(compareStamp(st(2, A), st(2, author(1)))).toBe(0);
  });

  test.prop([arbStamp, arbStamp])('is antisymmetric', (x, y) => {
    expect(Math.sign(compareStamp(x, y)) + Math.sign(compareStamp(y, x))).toBe(0);
  });
});

describe('convergence', () => {
  test.prop([arbOps, fc.gen()], { numRuns: 300 })(
    'any permutation, with duplicates, gives byte-identical state and the same view',
    (ops, g) => {
      const withDuplicates = [...ops, ...g(fc.subarray, ops)];
      const n = withDuplicates.length;
      const shuffled = g(fc.shuffledSubarray, withDuplicates, { minLength: n, maxLength: n });
      const x = fold(ops);
      const y = fold(shuffled);
      expect(bytesOf(y)).toBe(bytesOf(x));
      expect(materialize(y)).toEqual(materialize(x));
    },
  );

  test.prop([arbOps, fc.gen()], { numRuns: 200 })('merging two halves equals applying every op', (ops, g) => {
    const sides = ops.map(() => g(fc.boolean));
    const left = fold(ops.filter((_, i) => sides[i]));
    const right = fold(ops.filter((_, i) => !sides[i]));
    expect(bytesOf(mergeStates(left, right))).toBe(bytesOf(fold(ops)));
    expect(materialize(mergeStates(left, right))).toEqual(materialize(fold(ops)));
  });

  test.prop([arbOps, arbOps, arbOps], { numRuns: 150 })(
    'mergeStates is commutative, associative and idempotent',
    (o1, o2, o3) => {
      const [a, b, c] = [fold(o1), fold(o2), fold(o3)];
      expect(bytesOf(mergeStates(a, b))).toBe(bytesOf(mergeStates(b, a)));
      expect(bytesOf(mergeStates(mergeStates(a, b), c))).toBe(bytesOf(mergeStates(a, mergeStates(b, c))));
      expect(bytesOf(mergeStates(a, a))).toBe(bytesOf(a));
      expect(bytesOf(mergeStates(a, EMPTY_DOC_STATE))).toBe(bytesOf(a));
      // Applying a state's own ops again changes nothing.
      expect(bytesOf(fold(o1, a))).toBe(bytesOf(a));
    },
  );
});

/** The order of stamps written out independently of compareStamp: fixed-width text compares in order. */
function stampKey(s: Stamp): string {
  return `${String(s.hlc.wallMs).padStart(16, '0')}.${String(s.hlc.logical).padStart(10, '0')}.${hex(s.author)}`;
}

/**
 * The reference model: no state, no merging, no pruning. Per field, the op with the greatest
 * stamp that touched it decides; it shows if it set a value, is after the last delete and is
 * not before the last put. The document exists if its last put or patch is after the last delete.
 */
function referenceView(ops: readonly LwwOp[]): JsonObject | undefined {
  const latest = (kinds: string[]) =>
    ops
      .filter((o) => kinds.includes(o.kind))
      .map((o) => stampKey(o.stamp))
      .sort()
      .pop();
  const lastDelete = latest(['delete']);
  const lastPut = latest(['put']);
  const lastWrite = latest(['put', 'patch']);
  if (lastWrite === undefined || (lastDelete !== undefined && lastWrite <= lastDelete)) return undefined;
  const out: Record<string, JsonValue> = {};
  for (const name of NAMES) {
    let best: { key: string; op: LwwOp } | undefined;
    for (const op of ops) {
      const touches =
        op.kind === 'unset'
          ? op.names.includes(name)
          : (op.kind === 'put' || op.kind === 'patch') && Object.hasOwn(op.fields, name);
      const key = stampKey(op.stamp);
      if (touches && (best === undefined || key > best.key)) best = { key, op };
    }
    if (best === undefined || best.op.kind === 'unset' || best.op.kind === 'delete') continue;
    if (lastDelete !== undefined && best.key <= lastDelete) continue;
    if (lastPut !== undefined && best.key < lastPut) continue;
    out[name] = JSON.parse(JSON.stringify(best.op.fields[name])) as JsonValue;
  }
  return out;
}

describe('reference model', () => {
  test.prop([fc.uniqueArray(arbOp, { maxLength: 24, selector: (op) => stampKey(op.stamp) })], {
    numRuns: 400,
  })('agrees with materialize on histories with distinct stamps', (ops) => {
    expect(view(ops)).toEqual(referenceView(ops));
  });
});

describe('semantics by hand', () => {
  it('an unwritten document is undefined', () => {
    expect(materialize(undefined)).toBeUndefined();
    expect(materialize(EMPTY_DOC_STATE)).toBeUndefined();
  });

  it('put replaces the whole document; patch sets fields; older writes lose', () => {
    expect(view([put({ a: 1, b: 2 }, st(1)), put({ c: 3 }, st(2))])).toEqual({ c: 3 });
    expect(view([put({ a: 1 }, st(1)), patch({ b: 2 }, st(2))])).toEqual({ a: 1, b: 2 });
    expect(view([put({ a: 1 }, st(2)), patch({ b: 2 }, st(1))])).toEqual({ a: 1 }); // cleared by the put
    expect(view([patch({ a: 1 }, st(2)), patch({ a: 2 }, st(1))])).toEqual({ a: 1 });
    expect(view([put({ a: { x: 1, y: 2 } }, st(1)), patch({ a: { z: 3 } }, st(2))])).toEqual({ a: { z: 3 } });
  });

  it('breaks an HLC tie by author bytes, the same way in both orders', () => {
    const ops = [patch({ a: 'from A' }, st(5, A)), patch({ a: 'from B' }, st(5, B))];
    expect(view(ops)).toEqual({ a: 'from B' });
    expect(view([...ops].reverse())).toEqual({ a: 'from B' });
  });

  it('breaks a whole-stamp tie deterministically (unset < value, then canonical text)', () => {
    const same = st(5);
    for (const ops of [
      [patch({ a: 1 }, same), patch({ a: 2 }, same)],
      [patch({ a: 2 }, same), patch({ a: 1 }, same)],
    ]) {
      expect(view(ops)).toEqual({ a: 2 });
    }
    expect(view([patch({ a: 1 }, same), unset(['a'], same)])).toEqual({ a: 1 });
    expect(view([unset(['a'], same), patch({ a: 1 }, same)])).toEqual({ a: 1 });
  });

  it('unset removes a field; older values do not bring it back; it never creates a document', () => {
    expect(view([patch({ a: 1, b: 2 }, st(1)), unset(['a'], st(2))])).toEqual({ b: 2 });
    expect(view([unset(['a'], st(2)), patch({ a: 1, b: 2 }, st(1))])).toEqual({ b: 2 });
    expect(view([patch({ a: 1 }, st(1)), unset(['a'], st(2))])).toEqual({});
    expect(view([unset(['a'], st(1))])).toBeUndefined();
    expect(view([unset(['a'], st(1)), patch({ a: 2 }, st(2))])).toEqual({ a: 2 });
  });

  it('null is a value, not a removal', () => {
    expect(view([patch({ a: 1 }, st(1)), patch({ a: null }, st(2))])).toEqual({ a: null });
  });

  it('an empty patch or put creates an empty document', () => {
    expect(view([patch({}, st(1))])).toEqual({});
    expect(view([put({}, st(1))])).toEqual({});
    expect(view([patch({ a: 1 }, st(1)), put({}, st(2))])).toEqual({});
  });

  describe('deletes and resurrection', () => {
    it('a delete hides the document, whichever order the ops arrive in', () => {
      const ops = [put({ a: 1 }, st(1)), patch({ b: 2 }, st(2)), del(st(3))];
      expect(view(ops)).toBeUndefined();
      expect(view([...ops].reverse())).toBeUndefined();
    });

    it('a delete at the same HLC from a greater author wins, from a smaller one loses', () => {
      expect(view([patch({ a: 1 }, st(3, A)), del(st(3, B))])).toBeUndefined();
      expect(view([patch({ a: 1 }, st(3, B)), del(st(3, A))])).toEqual({ a: 1 });
    });

    it('a patch after a delete resurrects with only the fields written after it', () => {
      const ops = [put({ a: 1, b: 2 }, st(1)), del(st(2)), patch({ c: 3 }, st(3))];
      expect(view(ops)).toEqual({ c: 3 });
      expect(view([ops[2]!, ops[1]!, ops[0]!])).toEqual({ c: 3 });
      // A write older than the delete arriving late stays dead.
      expect(view([...ops, patch({ a: 9 }, st(1, B))])).toEqual({ c: 3 });
    });

    it('a put after a delete resurrects with exactly its fields (and later writes)', () => {
      const ops = [patch({ a: 1 }, st(1)), del(st(2)), patch({ b: 2 }, st(3)), put({ c: 3 }, st(4))];
      expect(view(ops)).toEqual({ c: 3 });
      expect(view([...ops, patch({ d: 4 }, st(5))])).toEqual({ c: 3, d: 4 });
    });

    it('an unset after a delete does not resurrect, but its tombstone still counts', () => {
      const ops = [patch({ a: 1 }, st(1)), del(st(2)), unset(['a'], st(3))];
      expect(view(ops)).toBeUndefined();
      expect(view([...ops, patch({ b: 2 }, st(4))])).toEqual({ b: 2 });
      expect(view([del(st(2)), patch({ a: 1 }, st(3)), unset(['a'], st(4))])).toEqual({});
    });

    it('an empty patch after a delete resurrects an empty document', () => {
      expect(view([patch({ a: 1 }, st(1)), del(st(2)), patch({}, st(3))])).toEqual({});
    });

    it('a later delete wins over an earlier resurrection', () => {
      expect(view([del(st(2)), patch({ a: 1 }, st(3)), del(st(4))])).toBeUndefined();
    });

    it('a deleted state keeps only the delete stamp and live tombstones', () => {
      const s = fold([put({ a: 1, b: 2 }, st(1)), unset(['c'], st(5)), del(st(3))]);
      expect(s.writtenAt).toBeUndefined();
      expect(s.clearedAt).toBeUndefined();
      expect([...s.fields.keys()]).toEqual(['c']);
    });
  });
});

describe('immutability and values', () => {
  it('never mutates the input state or keeps references to caller objects', () => {
    const nested = { x: [1, 2] };
    const s1 = applyOp(undefined, patch({ a: nested }, st(1)));
    const before = bytesOf(s1);
    const s2 = applyOp(s1, patch({ a: 5, b: 1 }, st(2)));
    applyOp(s1, del(st(3)));
    mergeStates(s1, s2);
    expect(bytesOf(s1)).toBe(before);
    nested.x.push(3);
    expect(materialize(s1)).toEqual({ a: { x: [1, 2] } });
    expect(materialize(s2)).toEqual({ a: 5, b: 1 });
  });

  it('materializes fresh top-level objects with frozen values', () => {
    const s = applyOp(undefined, patch({ a: { x: [1] } }, st(1)));
    const m1 = materialize(s)! as Record<string, JsonValue>;
    const m2 = materialize(s)!;
    expect(m1).not.toBe(m2);
    m1.b = 2;
    expect(materialize(s)).toEqual({ a: { x: [1] } });
    expect(Object.isFrozen(m2.a)).toBe(true);
    expect(Object.isFrozen((m2.a as { x: JsonValue[] }).x)).toBe(true);
  });

  it('copies the stamp, so changing the author array afterwards changes nothing', () => {
    const who = author(7);
    const s = applyOp(undefined, patch({ a: 1 }, st(1, who)));
    const before = bytesOf(s);
    who.fill(0);
    expect(bytesOf(s)).toBe(before);
  });

  it('stores -0 as 0', () => {
    const m = view([patch({ a: -0, b: [-0], c: { d: -0 } }, st(1))])!;
    expect(Object.is(m.a, 0)).toBe(true);
    expect(Object.is((m.b as number[])[0], 0)).toBe(true);
    expect(Object.is((m.c as { d: number }).d, 0)).toBe(true);
  });

  it('keeps a "__proto__" field as an own property, without touching the prototype', () => {
    const fields = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as JsonObject;
    const m = view([patch(fields, st(1))])!;
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
    expect(Object.keys(m).sort()).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(canonicalJson(m)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });

  it('accepts null-prototype objects', () => {
    const fields = Object.assign(Object.create(null) as Record<string, JsonValue>, { a: 1 });
    expect(view([patch(fields, st(1))])).toEqual({ a: 1 });
  });
});

describe('canonicalJson', () => {
  it('sorts keys by UTF-8 bytes, drops whitespace, normalizes numbers', () => {
    const v = { b: 1, a: [1e21, 1e-7, -0, 0.1, 'q"\\\n\u0001'], '😀': 1, '\uffff': 2, é: 3 };
    expect(canonicalJson(v)).toBe(
      '{"a":[1e+21,1e-7,0,0.1,"q\\"\\\\\\n\\u0001"],"b":1,"é":3,"\uffff":2,"😀":1}',
    );
    expect(canonicalJson({ y: { b: 1, a: 2 } })).toBe('{"y":{"a":2,"b":1}}');
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson(null)).toBe('null');
  });

  test.prop([fc.jsonValue({ stringUnit: 'grapheme' })])('round-trips and is a fixed point', (v) => {
    const text = canonicalJson(v);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
    expect(canonicalJson(JSON.parse(text))).toBe(text);
    expect(text).not.toMatch(/^\s|\s$/);
  });

  test.prop([fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 4 }), fc.integer())])(
    'does not depend on key insertion order',
    (o) => {
      const reversed = Object.fromEntries(Object.entries(o).reverse());
      expect(canonicalJson(reversed)).toBe(canonicalJson(o));
    },
  );
});

describe('compareUtf8', () => {
  const edgeUnits = fc.constantFrom(
    'a',
    '\u007f',
    '\u0080',
    '\u07ff',
    '\u0800',
    '\ud7ff',
    '\ue000',
    '\uffff',
    '😀',
    '\u{10000}',
    '\u{10ffff}',
  );
  const wellFormed = fc.oneof(
    fc.string({ unit: edgeUnits, maxLength: 5 }),
    fc.string({ unit: 'grapheme', maxLength: 6 }),
  );
  test.prop([wellFormed, wellFormed])('orders like the UTF-8 bytes', (x, y) => {
    const enc = new TextEncoder();
    expect(Math.sign(compareUtf8(x, y))).toBe(Math.sign(compareBytes(enc.encode(x), enc.encode(y))));
  });
});

const invalidArgument = expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' });
const limitExceeded = (limit: string) => expect.objectContaining({ code: 'ARE_LIMIT_EXCEEDED', limit });

function nested(depth: number): JsonValue {
  let v: JsonValue = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

describe('invalid JSON values', () => {
  const cyclicObject: Record<string, unknown> = { a: 1 };
  cyclicObject.self = { back: cyclicObject };
  const cyclicArray: unknown[] = [1];
  cyclicArray.push([cyclicArray]);
  // biome-ignore lint/suspicious/noSparseArray: testing that holes are rejected
  const sparse = [1, , 3];
  const withSymbolKey = { a: 1, [Symbol('s')]: 2 };
  class Point {
    x = 1;
  }
  const INVALID: [string, unknown][] = [
    ['undefined', undefined],
    ['function', () => 1],
    ['symbol', Symbol('x')],
    ['bigint', 1n],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['nested undefined', { a: { b: undefined } }],
    ['undefined in an array', [1, undefined]],
    ['nested NaN', [[Number.NaN]]],
    ['cyclic object', cyclicObject],
    ['cyclic array', cyclicArray],
    ['sparse array', sparse],
    ['Date', new Date(0)],
    ['Map', new Map()],
    ['Set', new Set()],
    ['class instance', new Point()],
    ['Uint8Array', new Uint8Array(2)],
    ['boxed string', new String('x')],
    ['RegExp', /x/],
    ['object with a symbol key', withSymbolKey],
    ['lone high surrogate', 'a\ud800'],
    ['lone low surrogate', '\udc00b'],
    ['lone surrogate in a key', { '\ud800': 1 }],
    ['array subclass', new (class extends Array {})()],
  ];

  it.each(INVALID)('rejects %s with InvalidArgumentError, also inside an op', (_, v) => {
    expect(() => checkJsonValue(v)).toThrow(invalidArgument);
    expect(() => canonicalJson(v)).toThrow(invalidArgument);
    expect(() => applyOp(undefined, patch({ f: v as JsonValue }, st(1)))).toThrow(invalidArgument);
  });

  it('allows shared (acyclic) subvalues', () => {
    const shared = { x: 1 };
    expect(canonicalJson([shared, shared])).toBe('[{"x":1},{"x":1}]');
  });

  it('enforces the depth limit at exactly MAX_JSON_DEPTH', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(() => checkJsonValue(nested(64))).not.toThrow();
    expect(() => checkJsonValue(nested(65))).toThrow(limitExceeded('MAX_JSON_DEPTH'));
    expect(() => applyOp(undefined, patch({ f: nested(65) }, st(1)))).toThrow(
      limitExceeded('MAX_JSON_DEPTH'),
    );
  });

  it('enforces each named limit, just past it and not at it', () => {
    const limits: JsonLimits = {
      depthMax: 3,
      stringBytesMax: 4,
      arrayLengthMax: 2,
      objectKeysMax: 2,
      totalBytesMax: 40,
    };
    const ok = (v: unknown) => expect(() => checkJsonValue(v, limits)).not.toThrow();
    const over = (v: unknown, limit: string) =>
      expect(() => checkJsonValue(v, limits)).toThrow(limitExceeded(limit));
    ok([[[1]]]);
    over([[[[1]]]], 'MAX_JSON_DEPTH');
    ok('éé'); // 4 UTF-8 bytes
    over('ééa', 'MAX_JSON_STRING_BYTES');
    over('😀a', 'MAX_JSON_STRING_BYTES');
    over({ abcde: 1 }, 'MAX_JSON_STRING_BYTES');
    ok([1, 2]);
    over([1, 2, 3], 'MAX_JSON_ARRAY_LENGTH');
    ok({ a: 1, b: 2 });
    over({ a: 1, b: 2, c: 3 }, 'MAX_JSON_OBJECT_KEYS');
    ok([
      [1234567890, 1234567890],
      [1234567890, 1],
    ]); // exactly 40 bytes
    over(
      [
        [1234567890, 1234567890],
        [1234567890, 12],
      ],
      'MAX_JSON_BYTES',
    );
    over([['\u0001\u0001', '\u0001\u0001'], '\u0001'], 'MAX_JSON_BYTES'); // 42 bytes: escapes count
    expect(DEFAULT_JSON_LIMITS.objectKeysMax).toBe(MAX_JSON_OBJECT_KEYS);
  });

  it('bounds the total size of one op and the work on shared subvalues', () => {
    const big = 'x'.repeat(1024 * 1024 - 10);
    const fields = { a: big, b: big, c: big, d: big, e: big };
    expect(() => applyOp(undefined, patch(fields, st(1)))).toThrow(limitExceeded('MAX_JSON_BYTES'));
    let v: unknown = 'x'.repeat(1000);
    for (let i = 0; i < 60; i++) v = [v, v]; // 2^60 leaves by sharing: must stop early
    expect(() => checkJsonValue(v)).toThrow(limitExceeded('MAX_JSON_BYTES'));
  });
});

describe('invalid ops', () => {
  const good = st(1);
  const BAD: [string, unknown][] = [
    ['null op', null],
    ['string op', 'put'],
    ['unknown kind', { kind: 'merge', fields: {}, stamp: good }],
    ['missing stamp', { kind: 'delete' }],
    ['stamp without hlc', { kind: 'delete', stamp: { author: A } }],
    ['bad hlc', { kind: 'delete', stamp: { hlc: { wallMs: -1, logical: 0 }, author: A } }],
    [
      'short author',
      { kind: 'delete', stamp: { hlc: { wallMs: 1, logical: 0 }, author: new Uint8Array(31) } },
    ],
    [
      'long author',
      { kind: 'delete', stamp: { hlc: { wallMs: 1, logical: 0 }, author: new Uint8Array(33) } },
    ],
    ['array author', { kind: 'delete', stamp: { hlc: { wallMs: 1, logical: 0 }, author: [...A] } }],
    ['put of an array', { kind: 'put', fields: [1], stamp: good }],
    ['patch of null', { kind: 'patch', fields: null, stamp: good }],
    ['patch of a string', { kind: 'patch', fields: 'a', stamp: good }],
    ['patch of a Map', { kind: 'patch', fields: new Map([['a', 1]]), stamp: good }],
    ['patch with an undefined field', { kind: 'patch', fields: { a: undefined }, stamp: good }],
    ['field name with a lone surrogate', { kind: 'patch', fields: { '\udfff': 1 }, stamp: good }],
    ['unset without names', { kind: 'unset', stamp: good }],
    ['unset of a string', { kind: 'unset', names: 'a', stamp: good }],
    ['unset of a number name', { kind: 'unset', names: [1], stamp: good }],
    ['unset of a lone surrogate', { kind: 'unset', names: ['\ud800'], stamp: good }],
  ];

  it.each(BAD)('rejects %s with InvalidArgumentError, leaving the state alone', (_, op) => {
    const s = applyOp(undefined, patch({ a: 1 }, st(0)));
    const before = bytesOf(s);
    expect(() => applyOp(s, op as LwwOp)).toThrow(invalidArgument);
    expect(bytesOf(s)).toBe(before);
  });

  it('limits field names and field counts', () => {
    const longName = 'n'.repeat(MAX_FIELD_NAME_BYTES + 1);
    expect(() => applyOp(undefined, patch({ [longName]: 1 }, st(1)))).toThrow(
      limitExceeded('MAX_FIELD_NAME_BYTES'),
    );
    expect(() => applyOp(undefined, unset([longName], st(1)))).toThrow(limitExceeded('MAX_FIELD_NAME_BYTES'));
    expect(() =>
      applyOp(undefined, patch({ ['é'.repeat(MAX_FIELD_NAME_BYTES / 2)]: 1 }, st(1))),
    ).not.toThrow();
    const many = Object.fromEntries(Array.from({ length: MAX_JSON_OBJECT_KEYS + 1 }, (_, i) => [`f${i}`, i]));
    expect(() => applyOp(undefined, put(many, st(1)))).toThrow(limitExceeded('MAX_JSON_OBJECT_KEYS'));
    const names = Array.from({ length: MAX_JSON_OBJECT_KEYS + 1 }, (_, i) => `f${i}`);
    expect(() => applyOp(undefined, unset(names, st(1)))).toThrow(limitExceeded('MAX_JSON_OBJECT_KEYS'));
  });
});

describe('ownedStamp', () => {
  test.prop([arbOps], { numRuns: 200 })(
    'gives the same states as a plain stamp of the same time and author',
    (ops) => {
      const owned = ops.map(
        (op) => ({ ...op, stamp: ownedStamp(op.stamp.hlc, op.stamp.author.slice()) }) as LwwOp,
      );
      expect(bytesOf(fold(owned))).toBe(bytesOf(fold(ops)));
      expect(view(owned)).toEqual(view(ops));
    },
  );

  it('is checked when made, and frozen', () => {
    const s = ownedStamp({ wallMs: 5, logical: 1 }, author(7));
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.hlc)).toBe(true);
    expect(() => ownedStamp({ wallMs: -1, logical: 0 }, author(7))).toThrow(invalidArgument);
    expect(() => ownedStamp({ wallMs: 1, logical: 0.5 }, author(7))).toThrow(invalidArgument);
    expect(() => ownedStamp({ wallMs: 1, logical: 0 }, new Uint8Array(AUTHOR_BYTES - 1))).toThrow(
      invalidArgument,
    );
    expect(() => ownedStamp({ wallMs: 1, logical: 0 }, [1, 2] as unknown as Uint8Array)).toThrow(
      invalidArgument,
    );
  });

  it('keeps the author it was handed (shared by every operation), and copies the time', () => {
    const who = author(9);
    const hlc = { wallMs: 3, logical: 0 };
    const s = ownedStamp(hlc, who);
    hlc.wallMs = 99;
    expect(s.hlc.wallMs).toBe(3);
    const state = applyOp(undefined, put({ a: 1 }, s));
    expect(state.fields.get('a')!.stamp.author).toBe(who);
  });

  it('is not forged by a look-alike: a plain stamp is still checked and copied', () => {
    const who = author(4);
    const state = applyOp(undefined, put({ a: 1 }, { hlc: { wallMs: 1, logical: 0 }, author: who }));
    expect(state.fields.get('a')!.stamp.author).not.toBe(who);
    const bad = { hlc: { wallMs: 1, logical: 0 }, author: new Uint8Array(3) };
    expect(() =>
      applyOp(
        undefined,
        put({ a: 1 }, Object.setPrototypeOf(bad, Object.getPrototypeOf(ownedStamp(bad.hlc, who)))),
      ),
    ).toThrow(invalidArgument);
  });
});
