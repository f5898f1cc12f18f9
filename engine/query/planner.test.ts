import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../crdt/lww.ts';
import { runQuery } from './execute.ts';
import { explain } from './explain.ts';
import { findPlanned } from './plan-run.ts';
import { likePrefixes } from './planner.ts';
import { createIndex } from './secondary-index.ts';
import { openTestDatabase } from './test-support.ts';
import type { Filter, Query, SortKey } from './types.ts';

const open = () => openTestDatabase(7);

const FIELDS = ['a', 'b', 'c.d'] as const;
const value: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(null, true, false, 0, -1, 2, 0.5, -0.25, 'a', 'ab', 'B', 'b', 'abc', 'Ab', ''),
  fc.constantFrom<JsonValue>([1], [], { x: 1 }),
);
const maybe = fc.option(value, { nil: undefined });
const doc: fc.Arbitrary<JsonObject> = fc.record({ a: maybe, b: maybe, d: maybe }).map(({ a, b, d }) => {
  const out: Record<string, JsonValue> = {};
  if (a !== undefined) out.a = a;
  if (b !== undefined) out.b = b;
  if (d !== undefined) out.c = { d };
  return out;
});

const field = fc.constantFrom<string>(...FIELDS);
const idLeaf: fc.Arbitrary<Filter> = fc
  .record({ op: fc.constantFrom('eq', 'in'), value: fc.constantFrom('k1', 'k2', 3) })
  .map(
    (f): Filter =>
      f.op === 'eq'
        ? { field: '_id', op: 'eq', value: f.value }
        : { field: '_id', op: 'in', values: ['k1', f.value] },
  );
const leaf: fc.Arbitrary<Filter> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      field,
      op: fc.constantFrom('eq', 'ne', 'lt', 'lte', 'gt', 'gte'),
      value,
    }) as fc.Arbitrary<Filter>,
  },
  { weight: 2, arbitrary: fc.record({ field, op: fc.constant('eq'), value }) as fc.Arbitrary<Filter> },
  {
    weight: 2,
    arbitrary: fc.record({
      field,
      op: fc.constantFrom('in', 'nin'),
      values: fc.array(value, { maxLength: 4 }),
    }) as fc.Arbitrary<Filter>,
  },
  {
    weight: 1,
    arbitrary: fc.record({ field, op: fc.constant('exists'), value: fc.boolean() }) as fc.Arbitrary<Filter>,
  },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        field,
        op: fc.constant('like'),
        pattern: fc.constantFrom('a%', 'A%', 'ab%', '%b', 'a_', '', 'b', '_%', 'Ab%'),
        caseInsensitive: fc.boolean(),
      },
      { requiredKeys: ['field', 'op', 'pattern'] },
    ) as fc.Arbitrary<Filter>,
  },
  { weight: 1, arbitrary: idLeaf },
);
const filter: fc.Arbitrary<Filter> = fc.oneof(
  { weight: 2, arbitrary: leaf },
  { weight: 3, arbitrary: fc.array(leaf, { minLength: 1, maxLength: 3 }).map((and): Filter => ({ and })) },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 2 }).map((or): Filter => ({ or })) },
  { weight: 1, arbitrary: leaf.map((not): Filter => ({ and: [{ not }, not] })) },
);
const sortKey: fc.Arbitrary<SortKey> = fc.record({
  field,
  direction: fc.constantFrom('asc' as const, 'desc' as const),
});
const query: fc.Arbitrary<Query> = fc.record(
  {
    collection: fc.constant('c'),
    where: filter,
    orderBy: fc.array(sortKey, { maxLength: 2 }),
    limit: fc.integer({ min: 0, max: 6 }),
    offset: fc.integer({ min: 0, max: 3 }),
    select: fc.constantFrom(['a'], ['c.d', 'b']),
  },
  { requiredKeys: ['collection'] },
);
const indexSets = fc.subarray([['a'], ['a', 'b'], ['b', 'c.d'], ['c.d'], ['b']], { minLength: 1 });

describe('the planner', () => {
  it('returns exactly what a full scan returns, for random documents, indexes and queries', () => {
    fc.assert(
      fc.property(
        fc.array(doc, { maxLength: 30 }),
        indexSets,
        fc.array(query, { minLength: 1, maxLength: 8 }),
        (docs, indexes, queries) => {
          const db = open();
          for (const [i, d] of docs.entries()) db.collection('c').put(`k${i}`, d);
          for (const fields of indexes) createIndex(db, { collection: 'c', fields });
          db.collection('c').delete('k3');
          for (const q of queries) {
            const want = runQuery(db.documents('c'), q);
            expect(findPlanned(db, q)).toEqual(want);
            if (want.next !== undefined) {
              const page2 = { ...q, after: want.next, offset: undefined };
              expect(findPlanned(db, page2)).toEqual(runQuery(db.documents('c'), page2));
            }
          }
          db.close();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('explain names the plan for typical queries', () => {
    const db = open();
    for (let i = 0; i < 20; i++) db.collection('c').put(`k${i}`, { a: i % 4, b: `s${i}`, c: { d: i } });
    createIndex(db, { collection: 'c', fields: ['a', 'b'] });
    createIndex(db, { collection: 'c', fields: ['c.d'] });
    createIndex(db, { collection: 'c', fields: ['b'] });
    const ex = (q: Omit<Query, 'collection'>) => explain(db, { collection: 'c', ...q });
    expect(ex({})).toMatchObject({ strategy: 'full-scan', used: [], earlyStop: false, recheck: true });
    expect(ex({ where: { field: 'a', op: 'eq', value: 1 } })).toMatchObject({
      strategy: 'index',
      index: 'a,b',
      access: 'eq',
      used: ['a eq'],
      ranges: 1,
    });
    expect(
      ex({
        where: {
          and: [
            { field: 'a', op: 'eq', value: 1 },
            { field: 'b', op: 'gt', value: 's1' },
          ],
        },
      }),
    ).toMatchObject({
      index: 'a,b',
      access: 'range',
      used: ['a eq', 'b gt'],
    });
    expect(
      ex({
        where: {
          and: [
            { field: 'c.d', op: 'gte', value: 3 },
            { field: 'c.d', op: 'lt', value: 9 },
          ],
        },
      }),
    ).toMatchObject({
      index: 'c.d',
      access: 'range',
      used: ['c.d gte', 'c.d lt'],
      ranges: 1,
    });
    expect(ex({ where: { field: 'c.d', op: 'in', values: [3, 1, 3, 'x'] } })).toMatchObject({
      access: 'in',
      ranges: 3,
    });
    expect(ex({ where: { field: 'b', op: 'like', pattern: 's1%', caseInsensitive: false } })).toMatchObject({
      index: 'b',
      access: 'prefix',
      ranges: 1,
    });
    expect(ex({ where: { field: 'b', op: 'like', pattern: 's1%' } })).toMatchObject({
      access: 'prefix',
      ranges: 2,
    });
    expect(ex({ where: { field: 'b', op: 'like', pattern: '%1' } })).toMatchObject({ strategy: 'full-scan' });
    expect(ex({ where: { field: 'b', op: 'ne', value: 's1' } })).toMatchObject({ strategy: 'full-scan' });
    expect(ex({ where: { or: [{ field: 'b', op: 'eq', value: 's1' }] } })).toMatchObject({
      strategy: 'full-scan',
    });
    expect(ex({ orderBy: [{ field: 'c.d', direction: 'desc' }], limit: 3 })).toMatchObject({
      index: 'c.d',
      access: 'order',
      order: 'index',
      earlyStop: true,
    });
    expect(ex({ orderBy: [{ field: 'c.d' }] })).toMatchObject({ strategy: 'full-scan' });
    expect(
      ex({ where: { field: 'a', op: 'eq', value: 1 }, orderBy: [{ field: 'b' }], limit: 2 }),
    ).toMatchObject({
      index: 'a,b',
      order: 'index',
      earlyStop: true,
    });
    expect(ex({ where: { field: '_id', op: 'in', values: ['k1', 'k2'] } })).toMatchObject({
      strategy: 'id-lookup',
      ranges: 2,
    });
    expect(() => ex({ where: { field: 'a', op: 'nope' } as unknown as Filter })).toThrow(/invalid query/);
    db.close();
  });

  it('expands case-insensitive LIKE prefixes into bounded case variants', () => {
    expect(likePrefixes('ab%', undefined, false)).toEqual(['ab']);
    expect(likePrefixes('a1%', undefined, true)).toEqual(['A1', 'a1']);
    expect(likePrefixes('%x', undefined, true)).toBeUndefined();
    expect(likePrefixes('x\\%y%', '\\', false)).toEqual(['x%y']);
    const many = likePrefixes('abcdefgh%', undefined, true)!;
    expect(many).toHaveLength(32);
    expect(many.every((p) => p.length === 5)).toBe(true);
  });
});
