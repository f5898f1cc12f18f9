import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { applyOp, type DocState, type JsonObject, type LwwOp, ownedStamp, type Stamp } from '../crdt/lww.ts';
import { canonicalEncodeState, decodeState } from '../crdt/state-codec.ts';
import { bytesToHex } from '../hex.ts';
import { WriteBatch } from '../lsm/write-batch.ts';
import { type DbOp, decodePreparedPayload, encodePreparedPayload, prepareOp } from './payload.ts';
import { TRUSTED, ViewWriter, viewKey } from './views.ts';

const AUTHOR = new Uint8Array(32).fill(7);
const IDS = ['a', 'b', 'c'];

const arbFields = fc.dictionary(
  fc.constantFrom('x', 'y', 'é'),
  fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null)),
  { maxKeys: 3 },
) as fc.Arbitrary<JsonObject>;

const arbOp: fc.Arbitrary<DbOp> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('put' as const, 'patch' as const),
    collection: fc.constant('c'),
    id: fc.constantFrom(...IDS),
    fields: arbFields,
  }),
  fc.record({
    kind: fc.constant('unset' as const),
    collection: fc.constant('c'),
    id: fc.constantFrom(...IDS),
    names: fc.constant(['x']).map((n) => [...n]),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    collection: fc.constant('c'),
    id: fc.constantFrom(...IDS),
  }),
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
    fc.subarray(IDS),
    fc.array(fc.array(arbOp, { minLength: 1, maxLength: 3 }), { maxLength: 4 }),
    fc.boolean(),
    fc.array(fc.constantFrom('prepared', 'encoded', 'decoded'), { minLength: 1, maxLength: 3 }),
  ])(
    'writes the rows and reports the states of folding every operation over the stored ones',
    (stored, groups, askStatesFirst, paths) => {
      const stampAt = (k: number) => ownedStamp({ wallMs: 10 + k, logical: 0 }, AUTHOR);
      const rows = new Map<string, Uint8Array>();
      for (const id of stored)
        rows.set(
          bytesToHex(viewKey('c', id)),
          canonicalEncodeState(
            applyOp(undefined, lwwOf({ kind: 'put', collection: 'c', id, fields: { x: 0 } }, stampAt(0))),
          ),
        );
      const before = new Map<string, DocState | undefined>();
      for (const id of IDS) {
        const row = rows.get(bytesToHex(viewKey('c', id)));
        before.set(id, row === undefined ? undefined : decodeState(row, TRUSTED));
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
        for (const op of group) want.set(op.id, applyOp(want.get(op.id), lwwOf(op, stampAt(k + 1))));
      });
      const states = () => {
        const got = new Map<string, string>();
        for (const s of writer.states()) {
          expect(s.before === undefined ? undefined : canonicalEncodeState(s.before)).toEqual(
            before.get(s.id) === undefined ? undefined : canonicalEncodeState(before.get(s.id)!),
          );
          got.set(s.id, bytesToHex(canonicalEncodeState(s.after)));
        }
        return got;
      };
      const statesFirst = askStatesFirst ? states() : undefined;
      const batch = new WriteBatch();
      writer.writeTo(batch);
      const touched = new Set(groups.flat().map((op) => op.id));
      expect(batch.count).toBe(touched.size);
      const got = new Map(writer.rows().map(([k, v]) => [bytesToHex(k), bytesToHex(v)]));
      const expected = new Map(
        [...touched].map((id) => [
          bytesToHex(viewKey('c', id)),
          bytesToHex(canonicalEncodeState(want.get(id)!)),
        ]),
      );
      expect(got).toEqual(expected);
      const after = states();
      if (statesFirst !== undefined) expect(after).toEqual(statesFirst);
      for (const id of touched) expect(after.get(id)).toBe(expected.get(bytesToHex(viewKey('c', id))));
    },
  );
});
