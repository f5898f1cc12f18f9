import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { applyOp, type DocState, type JsonObject, type LwwOp, ownedStamp, type Stamp } from '../crdt/lww.ts';
import { canonicalEncodeState, decodeState } from '../crdt/state-codec.ts';
import { bytesToHex } from '../hex.ts';
import { WriteBatch } from '../lsm/write-batch.ts';
import { type DbOp, decodePreparedPayload, encodePreparedPayload, prepareOp } from './payload.ts';
import { TRUSTED, ViewWriter, viewKey } from './views.ts';

const AUTHOR = new Uint8Array(32).fill(7);
/** Documents as [collection, id]: two share an id, and two a collection. */
const DOCS: readonly (readonly [string, string])[] = [
  ['c', 'a'],
  ['c', 'b'],
  ['d', 'a'],
];
const arbDoc = fc.constantFrom(...DOCS).map(([collection, id]) => ({ collection, id }));
/** A document's name in the test's maps. */
const nameOf = (doc: { collection: string; id: string }) => `${doc.collection}/${doc.id}`;

const arbFields = fc.dictionary(
  fc.constantFrom('x', 'y', 'é'),
  fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null)),
  { maxKeys: 3 },
) as fc.Arbitrary<JsonObject>;

const arbOp: fc.Arbitrary<DbOp> = fc.oneof(
  fc
    .record({ kind: fc.constantFrom('put' as const, 'patch' as const), doc: arbDoc, fields: arbFields })
    .map(({ kind, doc, fields }) => ({ kind, ...doc, fields })),
  fc
    .record({ doc: arbDoc, names: fc.constant(['x']).map((n) => [...n]) })
    .map(({ doc, names }) => ({ kind: 'unset' as const, ...doc, names })),
  arbDoc.map((doc) => ({ kind: 'delete' as const, ...doc })),
);

/** The same op as the LWW layer takes it, without the prepared canonical fields. */
function lwwOf(op: DbOp, stamp: Stamp): LwwOp {
  if (op.kind === 'put' || op.kind === 'patch') return { kind: op.kind, fields: op.fields, stamp };
  if (op.kind === 'unset') return { kind: 'unset', names: op.names, stamp };
  return { kind: 'delete', stamp };
}

describe('ViewWriter', () => {
  // Documents with no row take the fresh path (their row encoded straight from the fields,
  // their state built only when asked); every other case the general one. Both must give
  // exactly the rows and states of folding the ops over the stored states.
  test.prop([
    fc.subarray([...DOCS]),
    fc.array(fc.array(arbOp, { minLength: 1, maxLength: 3 }), { maxLength: 4 }),
    fc.boolean(),
    fc.array(fc.constantFrom('prepared', 'encoded', 'decoded'), { minLength: 1, maxLength: 3 }),
  ])(
    'writes the rows and reports the states of folding every operation over the stored ones',
    (stored, groups, askStatesFirst, paths) => {
      const stampAt = (k: number) => ownedStamp({ wallMs: 10 + k, logical: 0 }, AUTHOR);
      const rows = new Map<string, Uint8Array>();
      for (const [collection, id] of stored)
        rows.set(
          bytesToHex(viewKey(collection, id)),
          canonicalEncodeState(
            applyOp(undefined, lwwOf({ kind: 'put', collection, id, fields: { x: 0 } }, stampAt(0))),
          ),
        );
      const before = new Map<string, DocState | undefined>();
      for (const [collection, id] of DOCS) {
        const row = rows.get(bytesToHex(viewKey(collection, id)));
        before.set(nameOf({ collection, id }), row === undefined ? undefined : decodeState(row, TRUSTED));
      }
      const writer = new ViewWriter((key) => rows.get(bytesToHex(key)));
      const want = new Map(before);
      groups.forEach((group, k) => {
        // As a local write prepares them (and encodes its payload first), or as ingest decodes them.
        const path = paths[k % paths.length];
        let prepared = group.map((op) => prepareOp(op));
        const payload = path === 'prepared' ? undefined : encodePreparedPayload(prepared);
        if (payload !== undefined && path === 'decoded') prepared = decodePreparedPayload(payload, false);
        writer.applyPrepared(prepared, stampAt(k + 1));
        for (const op of group)
          want.set(nameOf(op), applyOp(want.get(nameOf(op)), lwwOf(op, stampAt(k + 1))));
      });
      const states = () => {
        const got = new Map<string, string>();
        for (const s of writer.states()) {
          const was = before.get(nameOf(s));
          expect(s.before === undefined ? undefined : canonicalEncodeState(s.before)).toEqual(
            was === undefined ? undefined : canonicalEncodeState(was),
          );
          got.set(nameOf(s), bytesToHex(canonicalEncodeState(s.after)));
        }
        return got;
      };
      const statesFirst = askStatesFirst ? states() : undefined;
      const batch = new WriteBatch();
      writer.writeTo(batch);
      const touched = new Map(groups.flat().map((op) => [nameOf(op), op]));
      expect(batch.count).toBe(touched.size);
      expect([...writer.touched()].map(([collection, id]) => nameOf({ collection, id }))).toEqual([
        ...touched.keys(),
      ]);
      const got = new Map(writer.rows().map(([k, v]) => [bytesToHex(k), bytesToHex(v)]));
      const expected = new Map(
        [...touched].map(([name, op]) => [
          bytesToHex(viewKey(op.collection, op.id)),
          bytesToHex(canonicalEncodeState(want.get(name)!)),
        ]),
      );
      expect(got).toEqual(expected);
      const after = states();
      if (statesFirst !== undefined) expect(after).toEqual(statesFirst);
      for (const [name, op] of touched)
        expect(after.get(name)).toBe(expected.get(bytesToHex(viewKey(op.collection, op.id))));
    },
  );
});
