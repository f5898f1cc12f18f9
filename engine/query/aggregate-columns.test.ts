import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../crdt/lww.ts';
import { runAggregate } from './aggregate.ts';
import { aggregateFromSnapshot, GROUP_COLUMNS_MAX } from './aggregate-columns.ts';
import { aggregatePlanned } from './aggregate-plan.ts';
import { find } from './execute.ts';
import { openTestDatabase, queryValueArb } from './test-support.ts';
import type { AggregateQuery } from './types.ts';

const open = () => openTestDatabase(7);

const value = queryValueArb;
const doc: fc.Arbitrary<JsonObject> = fc
  .record({ g: value, v: value, d: value }, { requiredKeys: [] })
  .map(({ g, v, d }) => {
    const out: Record<string, JsonValue> = {};
    if (g !== undefined) out.g = g;
    if (v !== undefined) out.v = v;
    if (d !== undefined) out.c = { d };
    return out;
  });

const query: fc.Arbitrary<AggregateQuery> = fc.record({
  collection: fc.constant('c'),
  groupBy: fc.constantFrom(['g'], ['c.d'], ['g', 'c.d'], [], ['_id']),
  aggregates: fc.subarray(
    [
      { as: 'n', fn: 'count' as const },
      { as: 'nv', fn: 'count' as const, field: 'v' },
      { as: 's', fn: 'sum' as const, field: 'v' },
      { as: 'a', fn: 'avg' as const, field: 'v' },
      { as: 'lo', fn: 'min' as const, field: 'v' },
      { as: 'hi', fn: 'max' as const, field: 'g' },
      { as: 'sd', fn: 'sum' as const, field: 'c.d' },
    ],
    { minLength: 1 },
  ),
});

/** A step: a write of document `k<id>` (or its deletion), or an aggregation. */
type Step = { put: number; doc: JsonObject | undefined } | { q: AggregateQuery };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ put: fc.nat({ max: 12 }), doc: fc.option(doc, { nil: undefined }) }),
  fc.record({ q: query }),
);

describe('aggregations from snapshot columns', () => {
  it('equal the reference over the stored documents under random writes', () => {
    fc.assert(
      fc.property(fc.array(doc, { maxLength: 30 }), fc.array(step, { maxLength: 25 }), (docs, steps) => {
        const db = open();
        const c = db.collection('c');
        for (const [i, d] of docs.entries()) c.put(`k${i}`, d);
        find(db, { collection: 'c' }); // Holds a snapshot of the collection.
        let answered = 0;
        for (const s of steps) {
          if ('put' in s) {
            if (s.doc === undefined) c.delete(`k${s.put}`);
            else c.put(`k${s.put}`, s.doc);
            continue;
          }
          const want = runAggregate(db.documents('c'), s.q);
          const got = aggregateFromSnapshot(db, s.q);
          expect(got).toEqual(want);
          expect(aggregatePlanned(db, s.q)).toEqual(want);
          answered++;
        }
        db.close();
        return answered >= 0;
      }),
      { numRuns: 200 },
    );
  });

  it('add floating-point inputs in id order, as the reference does', () => {
    const db = open();
    // Four values whose compensated sum depends on the order they are added in.
    const xs = [-7024196096241.563, 4463410852227.085, -23808563535012.566, 1.6895833665922177e-19];
    for (const [i, v] of xs.entries()) db.collection('c').put(`k${i}`, { g: 1, v });
    find(db, { collection: 'c' });
    const q: AggregateQuery = {
      collection: 'c',
      groupBy: ['g'],
      aggregates: [{ as: 's', fn: 'sum', field: 'v' }],
    };
    expect(aggregateFromSnapshot(db, q)).toEqual(runAggregate(db.documents('c'), q));
    expect(aggregateFromSnapshot(db, q)![0]!.values.s).toBe(-26369348779027.047);
    db.close();
  });

  it('serve only unfiltered queries over a held snapshot, and keep a bounded number of groupings', () => {
    const db = open();
    const q: AggregateQuery = { collection: 'c', groupBy: ['g'], aggregates: [{ as: 'n', fn: 'count' }] };
    db.collection('c').put('a', { g: 1 });
    expect(aggregateFromSnapshot(db, q)).toBeUndefined(); // No snapshot held yet.
    find(db, { collection: 'c' });
    expect(aggregateFromSnapshot(db, q)).toEqual([{ group: [1], values: { n: 1 } }]);
    expect(aggregateFromSnapshot(db, { ...q, where: { field: 'g', op: 'eq', value: 1 } })).toBeUndefined();
    // A caller changing a result's group does not change the next result.
    (aggregateFromSnapshot(db, q)![0]!.group as (JsonValue | undefined)[]).push(2);
    expect(aggregateFromSnapshot(db, q)).toEqual([{ group: [1], values: { n: 1 } }]);
    for (let i = 0; i < 2 * GROUP_COLUMNS_MAX; i++) {
      const many: AggregateQuery = { ...q, groupBy: [`f${i}`] };
      expect(aggregateFromSnapshot(db, many)).toEqual(runAggregate(db.documents('c'), many));
    }
    db.close();
  });
});
