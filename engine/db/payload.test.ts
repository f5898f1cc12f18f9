import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { asciiFieldsText, asciiFieldsTextAt } from '../crdt/canonical-fields.ts';
import { canonicalFieldsOfText, canonicalJson, type JsonObject } from '../crdt/lww.ts';
import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { ByteWriter, DecodeError } from '../lsm/coding.ts';
import { viewKeyOf } from './doc-key.ts';
import {
  collectionNameBytes,
  type DbOp,
  decodePayload,
  decodePreparedPayload,
  docIdBytes,
  docKeyOf,
  encodePayload,
  encodePreparedPayload,
  MAX_COLLECTION_BYTES,
  MAX_ID_BYTES,
  NO_OP_FIELDS,
  PAYLOAD_VERSION,
  prepareOp,
} from './payload.ts';

/** The payload encoder as first written (a growing ByteWriter): the oracle for the in-place one. */
function referenceEncode(ops: readonly DbOp[]): Uint8Array {
  const enc = new TextEncoder();
  const kind = { put: 1, patch: 2, unset: 3, delete: 4 } as const;
  const w = new ByteWriter(64);
  w.u8(PAYLOAD_VERSION).varint(ops.length);
  for (const op of ops) {
    w.u8(kind[op.kind]).lengthPrefixed(enc.encode(op.collection)).lengthPrefixed(enc.encode(op.id));
    if (op.kind === 'put' || op.kind === 'patch') w.lengthPrefixed(enc.encode(canonicalJson(op.fields)));
    else if (op.kind === 'unset') {
      w.varint(op.names.length);
      for (const n of op.names) w.lengthPrefixed(enc.encode(n));
    }
  }
  return w.finish();
}

const name = fc.oneof(
  fc.constantFrom('c', 'é', '\ufeffbom', '😀', 'x'.repeat(100)),
  fc.string({ minLength: 1, maxLength: 8 }),
);
const fields = fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), {
  maxKeys: 4,
}) as fc.Arbitrary<JsonObject>;
const noNul = name.filter((n) => !n.includes('\0') && !/\p{Surrogate}/u.test(n));
const op: fc.Arbitrary<DbOp> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('put' as const, 'patch' as const),
    collection: noNul,
    id: noNul,
    fields,
  }),
  fc.record({
    kind: fc.constant('unset' as const),
    collection: noNul,
    id: noNul,
    names: fc.array(noNul, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), collection: noNul, id: noNul }),
);

describe('payload', () => {
  test.prop([fc.array(op, { minLength: 1, maxLength: 5 })], { numRuns: 300 })(
    'encodes exactly as the reference encoder and decodes back to the same operations',
    (ops) => {
      const bytes = encodePayload(ops);
      expect(bytes).toEqual(referenceEncode(ops));
      expect(encodePreparedPayload(ops.map((o) => prepareOp(o)))).toEqual(bytes);
      const back = decodePayload(bytes);
      expect(back.map((o) => [o.kind, o.collection, o.id])).toEqual(
        ops.map((o) => [o.kind, o.collection, o.id]),
      );
      expect(encodePayload(back)).toEqual(bytes);
      for (const p of decodePreparedPayload(bytes))
        if (p.op.kind === 'put' || p.op.kind === 'patch')
          expect(p.fields!.text).toBe(canonicalJson(p.op.fields));
      // Without op field objects (the views' ingest): the same prepared fields, and op.fields
      // is the frozen placeholder exactly where those fields came from canonical text.
      const full = decodePreparedPayload(bytes);
      const lean = decodePreparedPayload(bytes, false);
      expect(lean.map((p) => [p.op.kind, p.op.collection, p.op.id, p.fields?.text])).toEqual(
        full.map((p) => [p.op.kind, p.op.collection, p.op.id, p.fields?.text]),
      );
      for (const [i, p] of lean.entries()) {
        if (p.op.kind !== 'put' && p.op.kind !== 'patch') continue;
        const fromText = canonicalFieldsOfText(p.fields!.text) !== undefined;
        if (fromText) expect(p.op.fields).toBe(NO_OP_FIELDS);
        else expect(p.op.fields).toEqual((full[i]!.op as { fields: unknown }).fields);
      }
    },
  );

  it('keeps a leading U+FEFF in names and ids through a round trip', () => {
    const ops: DbOp[] = [{ kind: 'put', collection: '\ufeffc', id: '\ufeffid', fields: { '\ufeffk': 1 } }];
    expect(decodePayload(encodePayload(ops))).toEqual(ops);
  });

  it('checks names and ids before encoding them', () => {
    expect(collectionNameBytes('é')).toEqual(Uint8Array.of(0xc3, 0xa9));
    expect(() => collectionNameBytes('')).toThrow(InvalidArgumentError);
    expect(() => collectionNameBytes(7)).toThrow(InvalidArgumentError);
    expect(() => collectionNameBytes('a\0b')).toThrow(/NUL/);
    expect(collectionNameBytes('x'.repeat(MAX_COLLECTION_BYTES)).length).toBe(MAX_COLLECTION_BYTES);
    expect(() => collectionNameBytes('é'.repeat(MAX_COLLECTION_BYTES / 2 + 1))).toThrow(LimitExceededError);
    expect(docIdBytes('x'.repeat(MAX_ID_BYTES)).length).toBe(MAX_ID_BYTES);
    expect(() => docIdBytes('€'.repeat(MAX_ID_BYTES / 3 + 1))).toThrow(LimitExceededError);
    expect(() => docIdBytes('')).toThrow(InvalidArgumentError);
    expect(() => docIdBytes(null)).toThrow(InvalidArgumentError);
  });

  it('refuses bad operations with typed errors, and malformed payloads as DecodeError', () => {
    expect(() => encodePayload([])).toThrow(InvalidArgumentError);
    expect(() =>
      prepareOp({ kind: 'put', collection: 'c', id: 'i', fields: [] as unknown as JsonObject }),
    ).toThrow(/plain JSON object/);
    expect(() => prepareOp({ kind: 'patch', collection: 'c', id: 'i', fields: { a: Number.NaN } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => prepareOp({ kind: 'unset', collection: 'c', id: 'i', names: [''] })).toThrow(
      InvalidArgumentError,
    );
    expect(() => prepareOp({ kind: 'unset', collection: 'c', id: 'i', names: ['x'.repeat(1025)] })).toThrow(
      LimitExceededError,
    );
    expect(() => prepareOp({ kind: 'nope', collection: 'c', id: 'i' } as unknown as DbOp)).toThrow(
      InvalidArgumentError,
    );
    const good = encodePayload([{ kind: 'put', collection: 'c', id: 'i', fields: { a: 1 } }]);
    for (let n = 0; n < good.length; n++)
      expect(() => decodePayload(good.subarray(0, n))).toThrow(DecodeError);
    expect(() => decodePayload(Uint8Array.of(...good, 0))).toThrow(DecodeError);
    const badUtf8 = good.slice();
    badUtf8[4] = 0xff; // the collection name's only byte
    expect(() => decodePayload(badUtf8)).toThrow(DecodeError);
    // Non-canonical JSON in a remote payload still decodes; the views use its canonical form.
    const json = new TextEncoder().encode('{"b": 1, "a": 2}');
    const spaced = Uint8Array.of(PAYLOAD_VERSION, 1, 1, 1, 0x63, 1, 0x69, json.length, ...json);
    const [decoded] = decodePreparedPayload(spaced);
    expect(decoded!.fields!.text).toBe('{"a":2,"b":1}');
  });

  // A local write's key is built straight from an ASCII id; any other goes the general way.
  test.prop(
    [
      fc.oneof(
        fc.string({ maxLength: 8 }),
        fc.string({ unit: 'binary', maxLength: 8 }),
        fc.nat({ max: 3 }).map((k) => 'x'.repeat(MAX_ID_BYTES - 1 + k)),
        fc.nat({ max: 3 }).map((k) => `${'x'.repeat(MAX_ID_BYTES - 2)}${'é'.repeat(k)}`),
        fc.constantFrom(7, null, undefined, ['a']),
      ),
      fc.constantFrom('c', 'docs', 'é'),
    ],
    { numRuns: 300 },
  )(
    'builds the key of an id exactly as viewKeyOf of its checked bytes, or throws the same error',
    (id, name) => {
      const collection = collectionNameBytes(name);
      const outcome = (fn: () => Uint8Array) => {
        try {
          return { key: Array.from(fn()) };
        } catch (err) {
          return { error: (err as Error).constructor.name, message: (err as Error).message };
        }
      };
      expect(outcome(() => docKeyOf(collection, id))).toEqual(
        outcome(() => viewKeyOf(collection, docIdBytes(id))),
      );
    },
  );

  it('checks a decoded name and id as bytes, exactly as the encoder checks the strings', () => {
    // u8 version, 1 op, delete (4), then the collection and the id as given.
    const payloadOf = (collection: number[], id: number[]) =>
      Uint8Array.of(PAYLOAD_VERSION, 1, 4, collection.length, ...collection, id.length, ...id);
    const [ok] = decodePreparedPayload(payloadOf([0x63], [0x69]));
    expect(ok!.collectionBytes).toEqual(collectionNameBytes('c'));
    expect(ok!.key).toEqual(viewKeyOf(collectionNameBytes('c'), docIdBytes('i')));
    expect(() => decodePreparedPayload(payloadOf([], [0x69]))).toThrow(/invalid op: collection name/);
    expect(() => decodePreparedPayload(payloadOf([0x61, 0, 0x62], [0x69]))).toThrow(/NUL/);
    expect(() => decodePreparedPayload(payloadOf([0x63], []))).toThrow(/invalid op: document id/);
    const longId = new Uint8Array(MAX_ID_BYTES + 1).fill(0x78);
    const long = Uint8Array.of(PAYLOAD_VERSION, 1, 4, 1, 0x63, ...[0x81, 0x04], ...longId);
    expect(() => decodePreparedPayload(long)).toThrow(/MAX_ID_BYTES|at most/);
    for (const bad of [payloadOf([], [0x69]), payloadOf([0x63], []), long])
      expect(() => decodePreparedPayload(bad)).toThrow(DecodeError);
  });
});

describe('the fields text bytes a payload records', () => {
  // The document state copies names and values from these bytes (encodeFreshState), so they
  // must be recorded exactly where the text lies, and only for ASCII text.
  test.prop([
    fc.dictionary(
      fc.string({ unit: fc.constantFrom('a', 'é', '"', '\n'), minLength: 1, maxLength: 3 }),
      fc.oneof(fc.string({ unit: fc.constantFrom('b', '😀', '\\'), maxLength: 200 }), fc.integer()),
      { maxKeys: 4 },
    ) as fc.Arbitrary<JsonObject>,
    fc.boolean(),
    fc.constantFrom(0, 1, 87),
  ])(
    'are recorded where the text lies when it is ASCII, by the encoder and the decoder',
    (fields, decoded, headBytes) => {
      const op = { kind: 'put' as const, collection: 'c', id: 'x', fields };
      let prepared = prepareOp(op);
      // With head room, the payload follows it in the same array (an entry body's layout).
      const withHead = encodePreparedPayload([prepared], headBytes);
      const payload = withHead.subarray(headBytes);
      expect(Array.from(payload)).toEqual(Array.from(encodePayload([op])));
      if (decoded) prepared = decodePreparedPayload(payload, false)[0]!;
      const text = canonicalJson(fields);
      const bytes = asciiFieldsText(prepared.fields!);
      // The decoder records only texts it read as canonical in one pass (others are parsed, and
      // their canonical text need not be the payload's bytes).
      const readAsIs = !decoded || canonicalFieldsOfText(text) !== undefined;
      const ascii = Array.from(text).every((c) => c.charCodeAt(0) < 0x80);
      if (!ascii || !readAsIs) {
        expect(bytes).toBeUndefined();
        return;
      }
      expect(bytes).toBeDefined();
      const at = asciiFieldsTextAt(prepared.fields!);
      expect(new TextDecoder().decode(bytes!.subarray(at, at + text.length))).toBe(text);
    },
  );
});
