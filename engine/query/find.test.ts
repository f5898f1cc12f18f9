import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, type JsonObject } from '../crdt/lww.ts';
import { Database } from '../db/database.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { identityFromSeed } from '../log/identity.ts';
import { aggregate, runAggregate } from './aggregate.ts';
import { find, runQuery } from './execute.ts';
import type { Query } from './types.ts';

const ID_CHARS = ['a', 'B', '0', 'é', '\uff61', '😀', '~', ' '];
const id = fc.array(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 4 }).map((c) => c.join(''));
const docs = fc.uniqueArray(
  fc.tuple(
    id,
    fc.record({
      g: fc.integer({ min: 0, max: 3 }),
      s: fc.string({ maxLength: 3 }),
      n: fc.double({ noNaN: true, noDefaultInfinity: true }),
    }),
  ),
  { selector: (r) => r[0], maxLength: 25 },
);
const query: fc.Arbitrary<Query> = fc
  .record({
    g: fc.integer({ min: 0, max: 3 }),
    orderBy: fc.constantFrom(
      undefined,
      [{ field: '_id' }],
      [{ field: 'n', direction: 'desc' as const }],
      [{ field: 's' }],
    ),
    limit: fc.option(fc.nat(6), { nil: undefined }),
    offset: fc.option(fc.nat(4), { nil: undefined }),
  })
  .map(({ g, orderBy, limit, offset }) => ({
    collection: 'items',
    where: { field: 'g', op: 'ne', value: g },
    ...(orderBy === undefined ? {} : { orderBy }),
    ...(limit === undefined ? {} : { limit }),
    ...(offset === undefined ? {} : { offset }),
  }));

describe('find over a Database equals runQuery over the same documents', () => {
  it('including id order across Unicode ids (the early exit relies on it)', () => {
    fc.assert(
      fc.property(docs, fc.array(query, { minLength: 1, maxLength: 5 }), (rows, queries) => {
        const db = Database.open({
          fs: new MemoryFs(),
          identity: identityFromSeed(new Uint8Array(32).fill(7)),
          clock: { nowMs: () => 1_700_000_000_000 },
        });
        try {
          db.transaction((tx) => {
            for (const [k, d] of rows) tx.put('items', k, d);
          });
          // As stored: canonical text (−0 becomes 0), any input order.
          const stored = rows
            .map(([k, d]): [string, JsonObject] => [k, JSON.parse(canonicalJson(d)) as JsonObject])
            .reverse();
          for (const q of queries) expect(find(db, q)).toEqual(runQuery(stored, q));
          const agg = {
            collection: 'items',
            groupBy: ['g'],
            aggregates: [{ fn: 'max' as const, field: 'n', as: 'm' }],
          };
          expect(aggregate(db, agg)).toEqual(runAggregate(stored, agg));
        } finally {
          db.close();
        }
      }),
      { numRuns: 200 },
    );
  });
});
