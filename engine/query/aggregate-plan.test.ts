import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../crdt/lww.ts';
import { runAggregate } from './aggregate.ts';
import { aggregatePlanned, coveringIndex } from './aggregate-plan.ts';
import { createIndex } from './secondary-index.ts';
import { openTestDatabase, queryValueArb } from './test-support.ts';
import type { AggregateQuery, Filter } from './types.ts';

const open = () => openTestDatabase(9);

const value = queryValueArb;
const doc: fc.Arbitrary<JsonObject> = fc
  .record({
    g: fc.option(value, { nil: undefined }),
    v: fc.option(value, { nil: undefined }),
    d: fc.option(value, { nil: undefined }),
  })
  .map(({ g, v, d }) => {
    const out: Record<string, JsonValue> = {};
    if (g !== undefined) out.g = g;
    if (v !== undefined) out.v = v;
    if (d !== undefined) out.c = { d };
    return out;
  });
const where = fc.constantFrom<Filter | undefined>(
  undefined,
  { field: 'v', op: 'gt', value: 0 },
  { or: [{ field: 'g', op: 'eq', value: 'a' }, { not: { field: 'c.d', op: 'exists', value: true } }] },
  { field: '_id', op: 'like', pattern: 'k1%' },
);
const query: fc.Arbitrary<AggregateQuery> = fc.record({
  collection: fc.constant('c'),
  where,
  groupBy: fc.constantFrom(['g'], ['c.d'], ['g', 'c.d'], []),
  aggregates: fc.constant([
    { as: 'n', fn: 'count' as const },
    { as: 'nv', fn: 'count' as const, field: 'v' },
    { as: 's', fn: 'sum' as const, field: 'v' },
    { as: 'a', fn: 'avg' as const, field: 'v' },
    { as: 'lo', fn: 'min' as const, field: 'v' },
    { as: 'hi', fn: 'max' as const, field: 'g' },
  ]),
});

describe('aggregations from a covering index', () => {
  it('equal the full-scan reference for random documents, indexes and queries', () => {
    fc.assert(
      fc.property(
        fc.array(doc, { maxLength: 40 }),
        fc.subarray([['g', 'v', 'c.d'], ['c.d', 'g', 'v'], ['g', 'v'], ['v']]),
        fc.array(query, { minLength: 1, maxLength: 5 }),
        (docs, indexes, queries) => {
          const db = open();
          for (const [i, d] of docs.entries()) db.collection('c').put(`k${i}`, d);
          for (const fields of indexes) createIndex(db, { collection: 'c', fields });
          for (const q of queries)
            expect(aggregatePlanned(db, q)).toEqual(runAggregate(db.documents('c'), q));
          db.close();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('add floating-point inputs in id order, as the reference does (index order would round differently)', () => {
    const db = open();
    // Four values whose compensated sum depends on the order they are added in.
    const xs = [-7024196096241.563, 4463410852227.085, -23808563535012.566, 1.6895833665922177e-19];
    for (const [i, v] of xs.entries()) db.collection('c').put(`k${i}`, { g: 1, v });
    createIndex(db, { collection: 'c', fields: ['g', 'v'] });
    const q: AggregateQuery = {
      collection: 'c',
      groupBy: ['g'],
      aggregates: [{ as: 's', fn: 'sum', field: 'v' }],
    };
    expect(aggregatePlanned(db, q)).toEqual(runAggregate(db.documents('c'), q));
    expect(aggregatePlanned(db, q)[0]!.values.s).toBe(-26369348779027.047);
    db.close();
  });

  it('use the smallest covering index, and none when a read field is not indexed', () => {
    const db = open();
    createIndex(db, { collection: 'c', fields: ['g', 'v', 'w'] });
    createIndex(db, { collection: 'c', fields: ['g', 'v'] });
    createIndex(db, { collection: 'c', fields: ['a', 'a.b'] });
    const q = (groupBy: string[], field: string): AggregateQuery => ({
      collection: 'c',
      groupBy,
      aggregates: [{ as: 's', fn: 'sum', field }],
    });
    expect(coveringIndex(db, q(['g'], 'v'))?.name).toBe('g,v');
    expect(coveringIndex(db, q(['g'], 'w'))?.name).toBe('g,v,w');
    expect(coveringIndex(db, q(['g'], 'x'))).toBeUndefined();
    expect(coveringIndex(db, q(['a'], 'a.b'))).toBeUndefined();
    expect(() => aggregatePlanned(db, { collection: 'c', aggregates: [] })).toThrow();
    db.close();
  });
});
