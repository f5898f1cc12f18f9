import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  canonicalFields,
  canonicalFieldsOfText,
  fieldJsonLength,
  fieldJsons,
  fieldsTextBytesMax,
  isCanonicalFields,
  writeFieldsText,
  writePrefixedFieldsText,
} from './canonical-fields.ts';
import {
  CanonicalJsonWriter,
  canonicalJson,
  checkFieldName,
  DEFAULT_JSON_LIMITS,
  MAX_FIELD_NAME_BYTES,
  MAX_JSON_STRING_BYTES,
} from './json.ts';
import { prefixedUtf8BytesMax, writePrefixedUtf8 } from './utf8.ts';

/** canonicalFields by the general walk alone: the oracle for its flat fast path. */
function general(fields: object) {
  const { text, names, jsons } = new CanonicalJsonWriter(DEFAULT_JSON_LIMITS).fields(fields);
  for (const n of names) checkFieldName(n, 'field name');
  return { text, names, jsons };
}

function outcome(fn: () => { text: string; names: readonly string[]; jsons: readonly string[] }) {
  try {
    const { text, names, jsons } = fn();
    return { text, names: [...names], jsons: [...jsons] };
  } catch (err) {
    return { error: (err as Error).constructor.name, message: (err as Error).message };
  }
}

// Strings of the characters JSON escapes or treats specially (a quote, a backslash, control
// characters, halves of a surrogate pair) among plain ones: random code points almost never hit them.
const trickyString = fc.string({
  unit: fc.constantFrom(
    'a',
    'Z',
    '"',
    '\\',
    '\n',
    '\u0000',
    '\u001f',
    '\u007f',
    '\u2028',
    '\u00e9',
    '\ud83d',
    '\ude00',
  ),
  maxLength: 6,
});
const key = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  trickyString,
  fc.constantFrom('__proto__', '10', '\ud800', 'x'.repeat(MAX_FIELD_NAME_BYTES + 1), 'é'.repeat(400)),
);
const flatValue = fc.oneof(
  { weight: 10, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 10, arbitrary: trickyString },
  { weight: 10, arbitrary: fc.double() },
  {
    weight: 10,
    arbitrary: fc.constantFrom(
      -0,
      0,
      1e21,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      true,
      false,
      null,
      undefined,
    ),
  },
  { weight: 1, arbitrary: fc.constant('y'.repeat(MAX_JSON_STRING_BYTES / 3 + 1)) },
);
const anyValue = fc.oneof(flatValue, fc.jsonValue({ maxDepth: 2 }), fc.constant([1, [2]]));

describe('canonicalFields', () => {
  test.prop([fc.dictionary(key, flatValue, { maxKeys: 5 })], { numRuns: 500 })(
    'gives, for flat documents, exactly what the general walk gives, or the same error',
    (fields) => {
      expect(outcome(() => canonicalFields(fields))).toEqual(outcome(() => general(fields)));
      const r = outcome(() => canonicalFields(fields));
      if ('text' in r) expect(r.text).toBe(canonicalJson(fields));
    },
  );

  // Documents of one shape in a row share the flat path's sorted names: every one must still
  // give what the general walk gives, whatever came before (another shape, the same keys in
  // another order, a shape with a name the flat path refuses, a symbol key).
  test.prop(
    [
      fc.array(
        fc.tuple(
          fc.constantFrom(
            ['b', 'a'],
            ['a', 'b'],
            ['a'],
            ['a', 'b', 'c'],
            ['é', 'z'],
            ['__proto__', 'a'],
            ['x'],
            [],
          ),
          fc.array(
            fc.oneof(
              { weight: 8, arbitrary: fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean()) },
              { weight: 1, arbitrary: flatValue },
            ),
            { minLength: 3, maxLength: 3 },
          ),
          fc.boolean(),
        ),
        { minLength: 1, maxLength: 12 },
      ),
    ],
    { numRuns: 200 },
  )('gives what the general walk gives for documents of repeated shapes in a row', (docs) => {
    for (const [names, values, symbol] of docs) {
      const fields: Record<string | symbol, unknown> = {};
      names.forEach((name, i) => {
        Object.defineProperty(fields, name, { value: values[i], enumerable: true, writable: true });
      });
      if (symbol) fields[Symbol('s')] = 1;
      const got = outcome(() => canonicalFields(fields));
      expect(got).toEqual(outcome(() => general(fields)));
      if ('error' in got) continue;
      const made = canonicalFields(fields);
      expect(made.values).toEqual(got.names.map((n) => JSON.parse(JSON.stringify(fields[n]))));
      expect(Object.isFrozen(made.names)).toBe(true);
    }
  });

  // Plain string values are kept unquoted (one bit each, for the first 31 fields) until their
  // JSON is asked for: the text written, each value's JSON length, the JSON texts and the text
  // string must be those of the general walk, on both sides of the 31 fields and in any order
  // of asking.
  test.prop(
    [
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 3 }),
        fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null), trickyString),
        { minKeys: 25, maxKeys: 40 },
      ),
      fc.constantFrom('write-first', 'text-first', 'jsons-first', 'public-first'),
    ],
    { numRuns: 200 },
  )('gives the general texts for many plain string fields, whatever is asked first', (fields, order) => {
    const want = outcome(() => general(fields));
    if ('error' in want) return;
    const f = canonicalFields(fields);
    const textBytes = () => {
      const out = new Uint8Array(3 * want.text.length);
      return out.subarray(0, writeFieldsText(f, out, 0));
    };
    if (order === 'text-first') expect(f.text).toBe(want.text);
    if (order === 'jsons-first') expect([...fieldJsons(f)]).toEqual(want.jsons);
    if (order === 'public-first') expect([...f.jsons]).toEqual(want.jsons);
    expect(want.jsons.map((_, i) => fieldJsonLength(f, i))).toEqual(want.jsons.map((j) => j.length));
    expect(textBytes()).toEqual(new TextEncoder().encode(want.text));
    expect([...fieldJsons(f)]).toEqual(want.jsons);
    expect(f.text).toBe(want.text);
    expect(textBytes()).toEqual(new TextEncoder().encode(want.text));
    expect([...f.jsons]).toEqual(want.jsons);
  });

  test.prop([fc.dictionary(key, anyValue, { maxKeys: 5 })], { numRuns: 300 })(
    'gives, for any document, exactly what the general walk gives, or the same error',
    (fields) => {
      expect(outcome(() => canonicalFields(fields))).toEqual(outcome(() => general(fields)));
    },
  );

  // A local write's fields write their text from the parts; a received payload's from the text.
  // Both must give the bytes of the text itself, around every varint length boundary.
  test.prop(
    [
      fc.dictionary(
        key,
        fc.oneof(flatValue, fc.string({ unit: 'binary', minLength: 100, maxLength: 9000 })),
        { maxKeys: 5 },
      ),
      fc.nat({ max: 7 }),
    ],
    { numRuns: 300 },
  )(
    'writes the prefixed text as writePrefixedUtf8 of the text writes it, from parts or from text',
    (fields, pad) => {
      let parts: ReturnType<typeof canonicalFields>;
      try {
        parts = canonicalFields(fields);
      } catch {
        return;
      }
      const text = canonicalJson(fields);
      const fromText = canonicalFieldsOfText(text);
      const want = new Uint8Array(pad + prefixedUtf8BytesMax(text));
      const wantEnd = writePrefixedUtf8(text, want, pad);
      for (const f of fromText === undefined ? [parts] : [parts, fromText]) {
        expect(fieldsTextBytesMax(f)).toBe(prefixedUtf8BytesMax(text));
        const got = new Uint8Array(pad + fieldsTextBytesMax(f));
        const end = writePrefixedFieldsText(f, got, pad);
        expect(end).toBe(wantEnd);
        expect(got.subarray(0, end)).toEqual(want.subarray(0, wantEnd));
        expect(f.text).toBe(text);
      }
    },
  );

  test('refuses to write fields it did not make', () => {
    const forged = { text: '{}', names: [], jsons: [], values: [] };
    expect(() => writePrefixedFieldsText(forged, new Uint8Array(8), 0)).toThrow(/canonicalFields/);
    expect(() => fieldsTextBytesMax(forged)).toThrow(/canonicalFields/);
  });

  test.prop([fc.dictionary(fc.string({ maxLength: 4 }), flatValue, { maxKeys: 4 })])(
    'keeps a field named __proto__ as a field, and its values frozen copies',
    (fields) => {
      const withProto = JSON.parse(`{"__proto__":[1],${JSON.stringify(fields).slice(1)}`.replace(',}', '}'));
      const r = outcome(() => canonicalFields(withProto));
      if (!('text' in r)) return;
      const c = canonicalFields(withProto);
      const at = c.names.indexOf('__proto__');
      expect(at).toBeGreaterThanOrEqual(0);
      expect(Object.isFrozen(c.values[at])).toBe(true);
      expect(c.values[at]).not.toBe(Object.getOwnPropertyDescriptor(withProto, '__proto__')?.value);
    },
  );
});

/** The fields as plain data, to compare two results (or undefined). */
function plain(c: ReturnType<typeof canonicalFieldsOfText>) {
  return c === undefined
    ? undefined
    : { text: c.text, names: [...c.names], jsons: [...c.jsons], values: [...c.values] };
}

/** What the general path makes of `text`: canonicalFields of its parse, or undefined if either throws. */
function parsedThenCanonical(text: string) {
  try {
    return plain(canonicalFields(JSON.parse(text) as object));
  } catch {
    return undefined;
  }
}

// Edits of canonical texts: each makes something non-canonical that JSON.parse may still accept.
const EDITS: ((t: string) => string)[] = [
  (t) => t.replace(':', ': '),
  (t) => t.replace(',', ' ,'),
  (t) => ` ${t}`,
  (t) => `${t} `,
  (t) => t.replace(/"([a-z])/, '"\\u0061$1'),
  (t) => t.replace(/:(\d+)/, ':$1.0'),
  (t) => t.replace(/:(\d+)/, ':0$1'),
  (t) => t.replace(/:(\d+)/, ':$1e0'),
  (t) => t.replace(/:(\d+)/, ':-0'),
  (t) => t.replace(/:(\d+)/, ':+$1'),
  (t) => t.replace('{', '{"zz":1,'),
  (t) => t.replace('{', '{"__proto__":1,'),
  (t) => t.replace('}', ',"a":{}}'),
  (t) => t.replace('}', ',"~":[1]}'),
  (t) => t.replace('true', 'tru'),
  (t) => t.replace('null', 'nul'),
  (t) => t.slice(0, -1),
  (t) => `${t}}`,
  (t) => t.replace(/"$/, ''),
  (t) => t.replace(/:"/, ':"\u0001'),
  (t) => t.replace(/:"/, ':"\\ud800'),
  (t) => t.replace(/:"/, ':"\udc00'),
  (t) => t.replace(/:"/, ':"\ud800x'),
];

describe('canonicalFieldsOfText', () => {
  test.prop([fc.dictionary(key, flatValue, { maxKeys: 6 })], { numRuns: 500 })(
    'reads the canonical text of any flat document as canonicalFields made it',
    (fields) => {
      let made: ReturnType<typeof canonicalFields>;
      try {
        made = canonicalFields(fields);
      } catch {
        return;
      }
      const read = canonicalFieldsOfText(made.text);
      if (read === undefined) {
        // Only a field named __proto__, text with an escape, or a value past the flat path's
        // size bounds is left to the general path.
        const big = made.names.some((n) => 3 * n.length > MAX_FIELD_NAME_BYTES);
        const huge = made.values.some((v) => typeof v === 'string' && 3 * v.length > MAX_JSON_STRING_BYTES);
        expect(made.names.includes('__proto__') || made.text.includes('\\') || big || huge).toBe(true);
        return;
      }
      expect(isCanonicalFields(read)).toBe(true);
      expect(plain(read)).toEqual(plain(made));
    },
  );

  test.prop(
    [
      fc.dictionary(fc.string({ unit: 'binary', maxLength: 5 }), flatValue, { minKeys: 1, maxKeys: 4 }),
      fc.nat(EDITS.length - 1),
    ],
    { numRuns: 1000 },
  )('returns fields only for canonical text, and then what parsing and canonicalising gives', (fields, k) => {
    let text: string;
    try {
      text = canonicalFields(fields).text;
    } catch {
      return;
    }
    const edited = EDITS[k]!(text);
    const read = canonicalFieldsOfText(edited);
    if (read === undefined) return;
    expect(read.text).toBe(edited);
    expect(plain(read)).toEqual(parsedThenCanonical(edited));
  });

  test.prop([fc.json({ maxDepth: 2 })], { numRuns: 500 })(
    'agrees with parsing and canonicalising on any JSON text',
    (text) => {
      const read = canonicalFieldsOfText(text);
      if (read !== undefined) expect(plain(read)).toEqual(parsedThenCanonical(text));
    },
  );

  test.prop([fc.string({ unit: 'binary', maxLength: 40 })], { numRuns: 500 })(
    'never throws on any string',
    (text) => {
      const read = canonicalFieldsOfText(text);
      if (read !== undefined) expect(plain(read)).toEqual(parsedThenCanonical(text));
    },
  );

  test.each([
    ['{}', { names: [], values: [] }],
    [
      '{"a":0,"b":-1.5,"c":1e+21,"d":"x\u00e9","e":true,"f":false,"g":null}',
      { names: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], values: [0, -1.5, 1e21, 'x\u00e9', true, false, null] },
    ],
    [
      '{"a":123456789012345,"b":12345678901234567000}',
      { names: ['a', 'b'], values: [123456789012345, 12345678901234567000] },
    ],
    ['{"d":"x\\u00e9"}', undefined],
    ['{"b":1,"a":2}', undefined],
    ['{"a":1,"a":2}', undefined],
    ['{"a":-0}', undefined],
    ['{"a":01}', undefined],
    ['{"a":1E+21}', undefined],
    ['{"a":12345678901234567890}', undefined],
    ['{"\ud83d\ude00":"\ud83d\ude00"}', { names: ['\ud83d\ude00'], values: ['\ud83d\ude00'] }],
    ['{"\ud83d":1}', undefined],
    ['{"a":"\ude00"}', undefined],
    ['{"a":1', undefined],
    ['{"a"}', undefined],
    ['{"a":}', undefined],
    ['{', undefined],
    ['', undefined],
    ['[]', undefined],
  ])('reads %j as %j', (text, want) => {
    const read = canonicalFieldsOfText(text);
    if (want === undefined) expect(read).toBeUndefined();
    else {
      expect({ names: [...read!.names], values: [...read!.values] }).toEqual(want);
      expect(plain(read)).toEqual(parsedThenCanonical(text));
    }
  });
});
