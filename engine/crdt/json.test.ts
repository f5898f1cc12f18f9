import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  CanonicalJsonWriter,
  canonicalFields,
  canonicalJson,
  checkFieldName,
  DEFAULT_JSON_LIMITS,
  MAX_FIELD_NAME_BYTES,
  MAX_JSON_STRING_BYTES,
} from './json.ts';

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

const key = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('__proto__', '10', '\ud800', 'x'.repeat(MAX_FIELD_NAME_BYTES + 1), 'é'.repeat(400)),
);
const flatValue = fc.oneof(
  { weight: 10, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
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

  test.prop([fc.dictionary(key, anyValue, { maxKeys: 5 })], { numRuns: 300 })(
    'gives, for any document, exactly what the general walk gives, or the same error',
    (fields) => {
      expect(outcome(() => canonicalFields(fields))).toEqual(outcome(() => general(fields)));
    },
  );

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
