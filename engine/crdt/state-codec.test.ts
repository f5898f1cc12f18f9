import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ByteWriter, DecodeError } from '../lsm/coding.ts';
import {
  asciiFieldsText,
  type CanonicalFields,
  canonicalFields,
  canonicalFieldsOfText,
  fieldJsons,
  fieldNames,
  fieldValues,
  isCanonicalFields,
  noteFieldsTextBytes,
  writeFieldsText,
} from './canonical-fields.ts';
import { encodeHlcInto, HLC_BYTES } from './hlc.ts';
import { canonicalJson } from './json.ts';
import {
  AUTHOR_BYTES,
  applyOp,
  compareUtf8,
  type DocState,
  EMPTY_DOC_STATE,
  type JsonObject,
  type JsonValue,
  type LwwOp,
  materialize,
  mergeStates,
  STAMP_BYTES,
  type Stamp,
} from './lww.ts';
import {
  canonicalEncodeState,
  decodeState,
  encodeFreshState,
  materializeEncoded,
  STATE_FORMAT_VERSION,
} from './state-codec.ts';

/**
 * An independent, plain encoder of the version 2 layout (through a growing ByteWriter, tables
 * built with strings as keys): the oracle for the in-place one.
 */
function referenceEncode(state: DocState): Uint8Array {
  const enc = new TextEncoder();
  const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const hlcHex = (s: Stamp) => {
    const h = new Uint8Array(HLC_BYTES);
    encodeHlcInto(s.hlc, h, 0);
    return hexOf(h);
  };
  const { writtenAt, clearedAt, deleted } = state;
  const all = [writtenAt, clearedAt, deleted, ...[...state.fields.values()].map((r) => r.stamp)].filter(
    (s): s is Stamp => s !== undefined,
  );
  // Hex strings of equal length sort like the bytes they spell.
  const authors = [...new Set(all.map((s) => hexOf(s.author)))].sort();
  const stampKey = (s: Stamp) => `${hlcHex(s)}${hexOf(s.author)}`;
  const stamps = [...new Set(all.map(stampKey))].sort();
  const w = new ByteWriter(64);
  w.u8(STATE_FORMAT_VERSION).varint(authors.length);
  for (const a of authors) w.bytes(Buffer.from(a, 'hex'));
  w.varint(stamps.length);
  for (const k of stamps)
    w.bytes(Buffer.from(k.slice(0, 2 * HLC_BYTES), 'hex')).varint(authors.indexOf(k.slice(2 * HLC_BYTES)));
  w.u8((writtenAt ? 1 : 0) | (clearedAt ? 2 : 0) | (deleted ? 4 : 0));
  for (const s of [writtenAt, clearedAt, deleted]) if (s) w.varint(stamps.indexOf(stampKey(s)));
  const names = [...state.fields.keys()].sort(compareUtf8);
  w.varint(names.length);
  for (const name of names) {
    const reg = state.fields.get(name)!;
    w.lengthPrefixed(enc.encode(name)).varint(stamps.indexOf(stampKey(reg.stamp)));
    if (reg.kind === 'unset') w.u8(0);
    else w.u8(1).lengthPrefixed(enc.encode(reg.json));
  }
  return w.finish();
}

const author = (fill: number) => new Uint8Array(AUTHOR_BYTES).fill(fill);
const AUTHORS = [author(1), author(2), author(0xff)];
// Names past the inline limit and non-ASCII ones exercise both UTF-8 paths.
const NAMES = ['a', 'b', 'é', '\uffff', '😀', '\ufeffbom', 'n'.repeat(70), '__proto__', '10'];
const arbStamp: fc.Arbitrary<Stamp> = fc.record({
  hlc: fc.record({
    wallMs: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(2 ** 48 - 1)),
    logical: fc.oneof(fc.integer({ min: 0, max: 1 }), fc.constant(2 ** 32 - 1)),
  }),
  author: fc.constantFrom(...AUTHORS),
});
const arbValue: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(0, -0, 1.5, 1e21, null, true, '', 'x'.repeat(200), [], {}),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>,
);
const arbFields = fc.dictionary(fc.constantFrom(...NAMES), arbValue, {
  maxKeys: 4,
}) as fc.Arbitrary<JsonObject>;
const arbOp: fc.Arbitrary<LwwOp> = fc.oneof(
  fc.record({ kind: fc.constantFrom('put' as const, 'patch' as const), fields: arbFields, stamp: arbStamp }),
  fc.record({
    kind: fc.constant('unset' as const),
    names: fc.array(fc.constantFrom(...NAMES), { maxLength: 3 }),
    stamp: arbStamp,
  }),
  fc.record({ kind: fc.constant('delete' as const), stamp: arbStamp }),
);
// ASCII names and values, among them names JSON escapes (a quote, a backslash, a control
// character), whose quoted form is longer than the name.
const arbAsciiFields = fc.dictionary(
  fc.string({ unit: fc.constantFrom('a', 'b', 'z', '"', '\\', '\n', ':', ','), minLength: 1, maxLength: 4 }),
  fc.oneof(
    fc.string({ unit: fc.constantFrom('a', '"', '\\', ':', ',', '}', '\u0001'), maxLength: 80 }),
    fc.integer(),
    fc.constantFrom(null, true, 'x'.repeat(300)),
  ),
  { maxKeys: 4 },
) as fc.Arbitrary<JsonObject>;

/** `f` with its text written at `pad` into a buffer of its own and recorded there. */
function withTextBytes(f: CanonicalFields, pad: number): CanonicalFields {
  const bytes = new Uint8Array(pad + 3 * f.text.length + 2).fill(0x7b);
  const end = writeFieldsText(f, bytes, pad);
  noteFieldsTextBytes(f, bytes, pad, end - pad);
  return f;
}

const fold = (ops: readonly LwwOp[]) => ops.reduce<DocState>((s, op) => applyOp(s, op), EMPTY_DOC_STATE);

function expectDeepFrozen(v: unknown): void {
  if (typeof v !== 'object' || v === null) return;
  expect(Object.isFrozen(v)).toBe(true);
  for (const child of Object.values(v)) expectDeepFrozen(child);
}

describe('state encoding', () => {
  test.prop([fc.array(arbOp, { maxLength: 16 })], { numRuns: 300 })(
    'writes exactly the bytes of the reference encoder',
    (ops) => {
      const s = fold(ops);
      expect(canonicalEncodeState(s)).toEqual(referenceEncode(s));
    },
  );

  // A state one op made holds one stamp object throughout, which the encoder writes without a
  // stamp table; these cases go through that path (names in any order, up to 300 of them).
  const manyNames = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 300 });
  test.prop([arbOp, manyNames, arbStamp, fc.boolean()], { numRuns: 300 })(
    'writes the reference bytes for a state stamped by one write',
    (op, names, stamp, asPut) => {
      const one = fold([op]);
      expect(canonicalEncodeState(one)).toEqual(referenceEncode(one));
      const wide = fold([
        asPut
          ? { kind: 'put', fields: Object.fromEntries(names.map((n, i) => [n, i])), stamp }
          : unset(names, stamp),
      ]);
      expect(canonicalEncodeState(wide)).toEqual(referenceEncode(wide));
      // The same state with every stamp a separate (equal) object takes the general path.
      const copy = (st: Stamp | undefined) => (st === undefined ? undefined : { ...st });
      const apart: DocState = {
        fields: new Map([...wide.fields].map(([n, r]) => [n, { ...r, stamp: copy(r.stamp)! }])),
        ...(wide.writtenAt ? { writtenAt: copy(wide.writtenAt) } : {}),
        ...(wide.clearedAt ? { clearedAt: copy(wide.clearedAt) } : {}),
      };
      expect(canonicalEncodeState(apart)).toEqual(canonicalEncodeState(wide));
    },
  );

  test.prop([fc.array(arbOp, { maxLength: 16 })], { numRuns: 300 })(
    'materializeEncoded gives materialize of the decoded state, deep-frozen',
    (ops) => {
      const s = fold(ops);
      const bytes = canonicalEncodeState(s);
      const doc = materializeEncoded(bytes);
      expect(doc).toEqual(materialize(s));
      if (doc !== undefined) {
        expect(Object.keys(doc)).toEqual(Object.keys(materialize(s)!));
        expectDeepFrozen(doc);
      }
      // The trusted decoder gives the same state as the strict one.
      expect(canonicalEncodeState(decodeState(bytes, { verifyCanonical: false }))).toEqual(bytes);
      expect(decodeState(bytes, { verifyCanonical: false })).toEqual(decodeState(bytes));
    },
  );

  test.prop([fc.array(arbOp, { minLength: 1, maxLength: 16 })])(
    'a truncated visible document is a DecodeError',
    (ops) => {
      const bytes = canonicalEncodeState(fold(ops));
      if (materializeEncoded(bytes) === undefined) return;
      for (let n = 0; n < bytes.length; n++)
        expect(() => materializeEncoded(bytes.subarray(0, n)), `length ${n}`).toThrow(DecodeError);
      expect(() => materializeEncoded(Uint8Array.of(...bytes, 0))).toThrow(DecodeError);
    },
  );

  it('materializeEncoded reads value texts exactly as JSON.parse, and refuses malformed ones', () => {
    const s = applyOp(undefined, {
      kind: 'put',
      fields: { a: 'xxxx' },
      stamp: { hlc: { wallMs: 1, logical: 0 }, author: author(1) },
    });
    const bytes = canonicalEncodeState(s);
    const valueAt = bytes.length - 6; // the canonical text "xxxx", six bytes, ends the state
    expect(new TextDecoder().decode(bytes.subarray(valueAt))).toBe('"xxxx"');
    const withText = (text: string) => {
      const b = bytes.slice();
      b.set(new TextEncoder().encode(text), valueAt);
      return materializeEncoded(b);
    };
    for (const text of ['"a\\"b"', '-1e+10', '123456', '0.0001', '[1,23]', '{"":1}', '"éab"', 'null  ']) {
      const doc = withText(text);
      expect(doc, text).toEqual({ a: JSON.parse(text) });
      expectDeepFrozen(doc);
    }
    for (const text of ['"ab"c"', '012345', '-.5000', '0x1234', '1.e+10', '"ab\tc"', 'nullxx', 'tru e ']) {
      expect(new TextEncoder().encode(text)).toHaveLength(6);
      expect(() => withText(text), text).toThrow(DecodeError);
    }
  });

  it('refuses an unknown version, unknown flags and an unknown register kind', () => {
    const s = applyOp(undefined, {
      kind: 'put',
      fields: { a: 1 },
      stamp: { hlc: { wallMs: 1, logical: 0 }, author: author(1) },
    });
    const bytes = canonicalEncodeState(s);
    const at = (i: number, v: number) => {
      const b = bytes.slice();
      b[i] = v;
      return b;
    };
    expect(() => materializeEncoded(at(0, 1))).toThrow(DecodeError);
    expect(() => materializeEncoded(at(2 + 32 + 1 + 11, 8 | 3))).toThrow(DecodeError);
    // version 2, one author (32 bytes), one stamp (HLC, author 0), flags 3 with two indexes,
    // one register: name "a", stamp 0, then its kind.
    expect(bytes.subarray(0, 2)).toEqual(Uint8Array.of(2, 1));
    const kindAt = 2 + 32 + 1 + 11 + 1 + 2 + 1 + 2 + 1;
    expect(bytes[kindAt]).toBe(1);
    expect(bytes[kindAt - 2]).toBe(0x61);
    expect(() => materializeEncoded(at(kindAt, 7))).toThrow(DecodeError);
    // Invalid UTF-8 in a name is a DecodeError too, not a TypeError.
    expect(() => materializeEncoded(at(kindAt - 2, 0xff))).toThrow(DecodeError);
    // Indexes past the tables.
    expect(() => materializeEncoded(at(kindAt - 1, 1))).toThrow(DecodeError);
    expect(() => materializeEncoded(at(2 + 32 + 1 + 10, 1))).toThrow(DecodeError);
    expect(() => decodeState(at(kindAt - 1, 1))).toThrow(DecodeError);
  });
});

describe('ops with canonical fields', () => {
  test.prop([
    fc.array(arbOp, { maxLength: 12 }),
    fc.constantFrom('put' as const, 'patch' as const),
    arbFields,
    arbStamp,
  ])('merge exactly as the same op without them', (history, kind, fields, stamp) => {
    const before = fold(history);
    const canonical = canonicalFields(fields);
    expect(isCanonicalFields(canonical)).toBe(true);
    const plain = applyOp(before, { kind, fields, stamp });
    const fast = applyOp(before, { kind, fields, canonical, stamp });
    expect(canonicalEncodeState(fast)).toEqual(canonicalEncodeState(plain));
    expect(materialize(fast)).toEqual(materialize(plain));
  });

  test.prop([fc.constantFrom('put' as const, 'patch' as const), arbFields, arbStamp])(
    "encode a new document's state straight from the fields as the state itself encodes",
    (kind, fields, stamp) => {
      const want = canonicalEncodeState(applyOp(undefined, { kind, fields, stamp }));
      expect(encodeFreshState(kind, canonicalFields(fields), stamp)).toEqual(want);
      // Fields read from a received payload's text too.
      const received = canonicalFieldsOfText(canonicalJson(fields));
      if (received !== undefined) expect(encodeFreshState(kind, received, stamp)).toEqual(want);
      // And both again with their text's bytes recorded, as a payload's encoder and decoder do
      // (copied from there when the text is ASCII).
      for (const f of [canonicalFields(fields), canonicalFieldsOfText(canonicalJson(fields))]) {
        if (f !== undefined) expect(encodeFreshState(kind, withTextBytes(f, 3), stamp)).toEqual(want);
      }
    },
  );

  test.prop([
    fc.constantFrom('put' as const, 'patch' as const),
    arbAsciiFields,
    arbStamp,
    fc.nat({ max: 9 }),
  ])(
    "copy an ASCII text's names and values from its bytes, names that need escaping included",
    (kind, fields, stamp, pad) => {
      const want = canonicalEncodeState(applyOp(undefined, { kind, fields, stamp }));
      const f = withTextBytes(canonicalFields(fields), pad);
      expect(asciiFieldsText(f)).toBeDefined();
      expect(encodeFreshState(kind, f, stamp)).toEqual(want);
    },
  );

  it("records a text's bytes only when they are as many as its characters (all ASCII)", () => {
    expect(asciiFieldsText(withTextBytes(canonicalFields({ a: 'é' }), 0))).toBeUndefined();
    expect(asciiFieldsText(withTextBytes(canonicalFields({ a: '😀' }), 0))).toBeUndefined();
    expect(asciiFieldsText(canonicalFields({ a: 'x' }))).toBeUndefined();
    expect(asciiFieldsText(withTextBytes(canonicalFields({ a: 'x' }), 0))).toBeDefined();
  });

  it('refuses to encode a fresh state from forged fields or a malformed stamp', () => {
    const stamp = { hlc: { wallMs: 1, logical: 0 }, author: author(1) };
    const forged = { text: '{"a":2}', names: ['a'], jsons: ['2'], values: [2] };
    expect(() => encodeFreshState('put', forged, stamp)).toThrow(/canonicalFields/);
    const fields = canonicalFields({ a: 2 });
    expect(() => encodeFreshState('put', fields, { ...stamp, author: new Uint8Array(3) })).toThrow(/author/);
    expect(() => encodeFreshState('put', fields, { ...stamp, hlc: { wallMs: -1, logical: 0 } })).toThrow();
  });

  it('ignores a canonical form that canonicalFields did not make', () => {
    const stamp = { hlc: { wallMs: 1, logical: 0 }, author: author(1) };
    const forged = { text: '{"a":2}', names: ['a'], jsons: ['2'], values: [2] };
    expect(isCanonicalFields(forged)).toBe(false);
    // Copies of a real one (spread, prototype chain, structured clone) do not pass either.
    const made = canonicalFields({ a: 2 });
    expect(isCanonicalFields({ ...made })).toBe(false);
    expect(isCanonicalFields(Object.create(made))).toBe(false);
    expect(isCanonicalFields(structuredClone(made))).toBe(false);
    const s = applyOp(undefined, { kind: 'put', fields: { a: 1 }, canonical: forged, stamp });
    expect(materialize(s)).toEqual({ a: 1 });
    // The real thing cannot be changed after the check either: its parts are frozen when
    // read, cannot be assigned, and a property shadowing them changes nothing the engine reads.
    const real = canonicalFields({ a: 1 });
    expect(Object.isFrozen(real.values)).toBe(true);
    expect(Object.isFrozen(real.names)).toBe(true);
    expect(Object.isFrozen(real.jsons)).toBe(true);
    expect(() => {
      (real as { values: unknown }).values = [2];
    }).toThrow(TypeError);
    const shadowed = canonicalFields({ a: 1 });
    Object.defineProperty(shadowed, 'names', { value: ['b'] });
    Object.defineProperty(shadowed, 'jsons', { value: ['2'] });
    Object.defineProperty(shadowed, 'values', { value: [2] });
    const state = applyOp(undefined, { kind: 'put', fields: { a: 1 }, canonical: shadowed, stamp });
    expect(materialize(state)).toEqual({ a: 1 });
    expect(encodeFreshState('put', shadowed, stamp)).toEqual(canonicalEncodeState(state));
  });

  it('hands out the parts the engine reads unfrozen, and frozen to everyone else', () => {
    const fields = canonicalFields({ b: 'x', a: 1 });
    expect(fieldNames(fields)).toEqual(['a', 'b']);
    expect(fieldJsons(fields)).toEqual(['1', '"x"']);
    expect(fieldValues(fields)).toEqual([1, 'x']);
    expect(Object.isFrozen(fieldNames(fields))).toBe(false);
    expect(fields.names).toBe(fieldNames(fields));
    expect(Object.isFrozen(fieldNames(fields))).toBe(true);
    const forged = { text: '{"a":2}', names: ['a'], jsons: ['2'], values: [2] };
    expect(() => fieldNames(forged)).toThrow(/canonicalFields/);
    expect(() => fieldJsons(Object.create(fields))).toThrow(/canonicalFields/);
    expect(() => fieldValues(structuredClone(fields))).toThrow(/canonicalFields/);
  });

  it('checks the fields as canonicalJson checks the whole object', () => {
    expect(canonicalFields({ b: 1, a: [true, null], é: { z: 1, y: -0 } })).toMatchObject({
      text: '{"a":[true,null],"b":1,"é":{"y":0,"z":1}}',
      names: ['a', 'b', 'é'],
      jsons: ['[true,null]', '1', '{"y":0,"z":1}'],
    });
    expect(() => canonicalFields({ a: Number.NaN })).toThrow(/not a JSON number/);
    expect(() => canonicalFields({ a: undefined })).toThrow(/not a JSON value/);
    expect(() => canonicalFields({ ['x'.repeat(1025)]: 1 })).toThrow(/MAX_FIELD_NAME_BYTES|field name/);
    let deep: JsonValue = 1;
    for (let i = 0; i < 64; i++) deep = [deep];
    // 64 levels inside a field are 65 counting the document itself: over MAX_JSON_DEPTH.
    expect(() => canonicalFields({ a: deep })).toThrow(/MAX_JSON_DEPTH|nesting/);
  });
});

// Helpers for the example and strictness tests (as in lww.test.ts).
const A = author(0x01);
const B = author(0x02);
const st = (wallMs: number, who: Uint8Array = A, logical = 0): Stamp => ({
  hlc: { wallMs, logical },
  author: who,
});
const patch = (fields: JsonObject, stamp: Stamp): LwwOp => ({ kind: 'patch', fields, stamp });
const unset = (names: string[], stamp: Stamp): LwwOp => ({ kind: 'unset', names, stamp });
const del = (stamp: Stamp): LwwOp => ({ kind: 'delete', stamp });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytesOf = (s: DocState) => hex(canonicalEncodeState(s));
const arbOps = fc.array(arbOp, { maxLength: 24 });

describe('state encoding: the documented example and strict decoding', () => {
  it('matches the documented example byte for byte', () => {
    const s = fold([
      patch({ title: 'hi', n: 1 }, st(0x0102, A)),
      del(st(0x0103, A)),
      patch({ done: true }, st(0x0104, B, 1)),
      unset(['n'], st(0x0105, A)),
    ]);
    const hlcHex = (w: number, l = 0) =>
      `${w.toString(16).padStart(12, '0')}${l.toString(16).padStart(8, '0')}`;
    const expected = [
      '02', // version
      '02', // two authors, ascending
      '01'.repeat(32), // author 0: A
      '02'.repeat(32), // author 1: B
      '03', // three stamps, ascending by (HLC, author)
      `${hlcHex(0x0103)}00`, // stamp 0: A's delete
      `${hlcHex(0x0104, 1)}01`, // stamp 1: B's patch
      `${hlcHex(0x0105)}00`, // stamp 2: A's unset
      '05', // flags: writtenAt, deleted
      '01', // writtenAt: stamp 1
      '00', // deleted: stamp 0
      '02', // two registers
      '04',
      '646f6e65', // "done"
      '01', // stamp 1
      '01',
      '04',
      '74727565', // value true
      '01',
      '6e', // "n"
      '02', // stamp 2
      '00', // unset
    ].join('');
    expect(hex(canonicalEncodeState(s))).toBe(expected);
    expect(materialize(s)).toEqual({ done: true });
    expect(STAMP_BYTES).toBe(HLC_BYTES + AUTHOR_BYTES);
    expect(hex(canonicalEncodeState(EMPTY_DOC_STATE))).toBe('0200000000');
  });

  test.prop([arbOps])('decodeState round-trips', (ops) => {
    const s = fold(ops);
    const bytes = canonicalEncodeState(s);
    const back = decodeState(bytes);
    expect(canonicalEncodeState(back)).toEqual(bytes);
    expect(materialize(back)).toEqual(materialize(s));
    // The decoded state merges like the original.
    expect(bytesOf(mergeStates(back, fold(ops.slice(0, 3))))).toBe(bytesOf(s));
  });

  test.prop([arbOps, fc.nat(), fc.integer({ min: 1, max: 255 })], { numRuns: 300 })(
    'a changed byte is a DecodeError or decodes to a state that encodes to exactly those bytes',
    (ops, at, xor) => {
      const bytes = canonicalEncodeState(fold(ops));
      const bad = bytes.slice();
      bad[at % bad.length]! ^= xor;
      let decoded: DocState | undefined;
      try {
        decoded = decodeState(bad);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        return;
      }
      expect(canonicalEncodeState(decoded)).toEqual(bad);
    },
  );

  test.prop([arbOps])('every truncation is a DecodeError', (ops) => {
    const bytes = canonicalEncodeState(fold(ops));
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeState(bytes.subarray(0, n))).toThrow(DecodeError);
    }
    expect(() => decodeState(Uint8Array.of(...bytes, 0))).toThrow(DecodeError);
  });

  it('rejects non-canonical encodings', () => {
    const enc = new TextEncoder();
    const hlcHex = (w: number) => `${w.toString(16).padStart(12, '0')}00000000`;
    const byte = (n: number) => n.toString(16).padStart(2, '0');
    const authors = (...fills: number[]) =>
      `${byte(fills.length)}${fills.map((f) => byte(f).repeat(32)).join('')}`;
    const stamps = (...s: [number, number][]) =>
      `${byte(s.length)}${s.map(([w, a]) => `${hlcHex(w)}${byte(a)}`).join('')}`;
    const reg = (name: string, ref: number, json: string) => {
      const n = enc.encode(name);
      const j = enc.encode(json);
      return `${byte(n.length)}${hex(n)}${byte(ref)}01${byte(j.length)}${hex(j)}`;
    };
    /** One author (0x01), one stamp at wall 1; flags 01 pointing at it; the registers. */
    const doc = (regs: string[], head = `${authors(1)}${stamps([1, 0])}0100`) =>
      Uint8Array.from(Buffer.from(`02${head}${byte(regs.length)}${regs.join('')}`, 'hex'));
    expect(materialize(decodeState(doc([reg('a', 0, '1'), reg('b', 0, '2')])))).toEqual({ a: 1, b: 2 });
    const cases: [string, Uint8Array][] = [
      ['unsorted', doc([reg('b', 0, '2'), reg('a', 0, '1')])],
      ['duplicate', doc([reg('a', 0, '1'), reg('a', 0, '1')])],
      ['whitespace in JSON', doc([reg('a', 0, ' 1')])],
      ['unsorted JSON keys', doc([reg('a', 0, '{"y":1,"x":2}')])],
      ['-0', doc([reg('a', 0, '-0')])],
      ['bad JSON', doc([reg('a', 0, '{')])],
      ['non-finite JSON', doc([reg('a', 0, '1e400')])],
      [
        'dead register (before a delete)',
        doc([reg('a', 0, '1')], `${authors(1)}${stamps([1, 0], [2, 0])}050100`),
      ],
      ['writtenAt before delete', doc([], `${authors(1)}${stamps([1, 0], [2, 0])}050001`)],
      ['unknown flag', doc([], `${authors(1)}${stamps([1, 0])}0900`)],
      ['unsorted stamps', doc([reg('a', 1, '1')], `${authors(1)}${stamps([2, 0], [1, 0])}0101`)],
      ['duplicate stamps', doc([reg('a', 1, '1')], `${authors(1)}${stamps([1, 0], [1, 0])}0100`)],
      ['unused stamp', doc([reg('a', 0, '1')], `${authors(1)}${stamps([1, 0], [2, 0])}0100`)],
      ['unsorted authors', doc([reg('a', 1, '1')], `${authors(2, 1)}${stamps([1, 1], [1, 0])}0100`)],
      ['unused author', doc([reg('a', 0, '1')], `${authors(1, 2)}${stamps([1, 0])}0100`)],
      ['stamp index out of range', doc([reg('a', 1, '1')])],
      ['author index out of range', doc([reg('a', 0, '1')], `${authors(1)}${stamps([1, 1])}0100`)],
      ['unknown version', Uint8Array.of(1, 0, 0, 0, 0)],
      [
        'unknown register kind',
        Uint8Array.from(Buffer.from(`02${authors(1)}${stamps([1, 0])}000101610002`, 'hex')),
      ],
      [
        'invalid UTF-8 name',
        Uint8Array.from(Buffer.from(`02${authors(1)}${stamps([1, 0])}000101ff0000`, 'hex')),
      ],
      ['huge field count', Uint8Array.from(Buffer.from('02000000ffffffff0f', 'hex'))],
      ['huge author count', Uint8Array.from(Buffer.from('02ffffffff0f', 'hex'))],
      ['trailing byte', Uint8Array.from([...doc([reg('a', 0, '1')]), 0])],
    ];
    for (const [what, bytes] of cases) {
      expect(() => decodeState(bytes), what).toThrow(DecodeError);
    }
    expect(() => decodeState('0100' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }),
    );
  });
});
