import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../crdt/lww.ts';
import { Database } from '../db/database.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { identityFromSeed } from '../log/identity.ts';
import { runAggregate } from './aggregate.ts';
import { runQuery } from './execute.ts';
import { subscribe } from './live.ts';
import { subscribeAggregate } from './live-aggregate.ts';
import { createIndex } from './secondary-index.ts';
import type { AggregateQuery, AggregateRow, Filter, Query, QueryResult } from './types.ts';

const clock = () => {
  const c = { t: 1_700_000_000_000, nowMs: () => c.t++ };
  return c;
};
const open = (n: number) =>
  Database.open({
    fs: new MemoryFs(),
    identity: identityFromSeed(new Uint8Array(32).fill(n + 1)),
    clock: clock(),
    groupCommitEntries: 2,
  });

/** A scheduler the test drains by hand: one "tick" runs everything queued. */
function manualScheduler() {
  const queue: (() => void)[] = [];
  return {
    schedule: (fn: () => void) => {
      queue.push(fn);
    },
    tick() {
      while (queue.length > 0) queue.shift()!();
    },
    get pending() {
      return queue.length;
    },
  };
}

const syncInto = (to: Database, from: Database) => {
  from.commit();
  for (const [author, seq] of from.replica.stateVector())
    if (seq > 0) to.replica.ingest(from.replica.readFeed(author, 1, { limit: 1e6, maxBytes: 1e9 }));
};

const value = fc.oneof(
  fc.integer({ min: -3, max: 5 }),
  fc.constantFrom<JsonValue>(null, 'x', 'y', 0.1, 0.25, 2 ** 52, true),
);
const doc: fc.Arbitrary<JsonObject> = fc.record(
  { g: fc.constantFrom('a', 'b', 'c'), n: value, s: fc.constantFrom('p', 'q', 'pq') },
  { requiredKeys: [] },
);
const where: fc.Arbitrary<Filter | undefined> = fc.constantFrom<Filter | undefined>(
  undefined,
  { field: 'n', op: 'gte', value: 0 },
  { field: 'g', op: 'eq', value: 'a' },
  {
    or: [
      { field: 's', op: 'like', pattern: 'p%' },
      { field: 'n', op: 'lt', value: 1 },
    ],
  },
  { field: 'n', op: 'exists', value: false },
);
const query: fc.Arbitrary<Query> = fc.record(
  {
    collection: fc.constant('c'),
    where,
    orderBy: fc.constantFrom(
      [],
      [{ field: 'n' }],
      [{ field: 'n', direction: 'desc' as const }, { field: 'g' }],
      [{ field: 'g' }],
    ),
    limit: fc.integer({ min: 0, max: 4 }),
    offset: fc.integer({ min: 0, max: 2 }),
    select: fc.constantFrom(['n'], ['g', 's']),
  },
  { requiredKeys: ['collection'] },
);
const aggQuery: fc.Arbitrary<AggregateQuery> = fc.record(
  {
    collection: fc.constant('c'),
    where,
    groupBy: fc.constantFrom(['g'], ['s', 'g'], ['n']),
    aggregates: fc.constant([
      { as: 'rows', fn: 'count' as const },
      { as: 'ns', fn: 'count' as const, field: 'n' },
      { as: 'sum', fn: 'sum' as const, field: 'n' },
      { as: 'avg', fn: 'avg' as const, field: 'n' },
      { as: 'min', fn: 'min' as const, field: 'n' },
      { as: 'max', fn: 'max' as const, field: 's' },
    ]),
  },
  { requiredKeys: ['collection', 'aggregates'] },
);

type Op =
  | { kind: 'local' | 'remote'; id: string; doc: JsonObject; del: boolean; patch: boolean }
  | { kind: 'sync' | 'tick' | 'unsubscribe' }
  | { kind: 'subscribe'; q: Query }
  | { kind: 'subscribe-agg'; q: AggregateQuery };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('local' as const, 'remote' as const),
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      doc,
      del: fc.boolean(),
      patch: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Op>(
      { kind: 'sync' },
      { kind: 'tick' },
      { kind: 'tick' },
      { kind: 'unsubscribe' },
    ),
  },
  { weight: 1, arbitrary: query.map((q): Op => ({ kind: 'subscribe', q })) },
  { weight: 2, arbitrary: aggQuery.map((q): Op => ({ kind: 'subscribe-agg', q })) },
);

describe('live queries', () => {
  it('deliver, after every tick, exactly what re-running the query gives at that moment', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.boolean(), (ops, indexed) => {
        const db = open(0);
        const remote = open(1);
        if (indexed) {
          createIndex(db, { collection: 'c', fields: ['n'] });
          createIndex(db, { collection: 'c', fields: ['g', 'n'] });
        }
        const clockwork = manualScheduler();
        type Sub = { stop: () => void; last: () => unknown; now: () => unknown; deliveries: number };
        const subs: Sub[] = [];
        const check = (s: Sub) => expect(s.last()).toEqual(s.now());
        for (const o of ops) {
          if (o.kind === 'local' || o.kind === 'remote') {
            const target = o.kind === 'local' ? db : remote;
            const c = target.collection('c');
            if (o.del) c.delete(o.id);
            else if (o.patch) c.patch(o.id, o.doc);
            else c.put(o.id, o.doc);
          } else if (o.kind === 'sync') syncInto(db, remote);
          else if (o.kind === 'tick') {
            clockwork.tick();
            for (const s of subs) check(s);
          } else if (o.kind === 'unsubscribe') subs.shift()?.stop();
          else if (o.kind === 'subscribe') {
            let last: QueryResult | undefined;
            const sub: Sub = {
              stop: () => {},
              last: () => last,
              now: () => runQuery(db.documents('c'), o.q),
              deliveries: 0,
            };
            sub.stop = subscribe(
              db,
              o.q,
              (r) => {
                // Every delivery equals the query re-run at the moment it is delivered.
                expect(r).toEqual(sub.now());
                last = r;
                sub.deliveries++;
              },
              { schedule: clockwork.schedule },
            );
            subs.push(sub);
          } else if (o.kind === 'subscribe-agg') {
            let last: AggregateRow[] | undefined;
            const sub: Sub = {
              stop: () => {},
              last: () => last,
              now: () => runAggregate(db.documents('c'), o.q),
              deliveries: 0,
            };
            sub.stop = subscribeAggregate(
              db,
              o.q,
              (r) => {
                expect(r).toEqual(sub.now());
                last = r;
                sub.deliveries++;
              },
              { schedule: clockwork.schedule },
            );
            subs.push(sub);
          }
        }
        clockwork.tick();
        for (const s of subs) {
          check(s);
          expect(s.deliveries).toBeGreaterThan(0);
        }
        for (const s of subs) s.stop();
        db.collection('c').put('z', { n: 1 });
        expect(clockwork.pending).toBe(0);
        db.close();
        remote.close();
      }),
      { numRuns: 150 },
    );
  });

  it('recompute min and max when the extreme leaves, and float sums in id order', () => {
    const db = open(0);
    const clockwork = manualScheduler();
    const q: AggregateQuery = {
      collection: 'c',
      groupBy: ['g'],
      aggregates: [
        { as: 'min', fn: 'min', field: 'n' },
        { as: 'max', fn: 'max', field: 'n' },
        { as: 'sum', fn: 'sum', field: 'n' },
      ],
    };
    const seen: AggregateRow[][] = [];
    subscribeAggregate(db, q, (r) => seen.push(r), { schedule: clockwork.schedule });
    const c = db.collection('c');
    for (const [id, n] of [
      ['a', 0.1],
      ['b', 0.2],
      ['c', 0.3],
      ['d', 1e16],
      ['e', -1e16],
    ] as const)
      c.put(id, { g: 1, n });
    clockwork.tick();
    c.delete('a');
    c.patch('d', { n: 2 });
    c.delete('e');
    clockwork.tick();
    expect(seen.at(-1)).toEqual(runAggregate(db.documents('c'), q));
    expect(seen.at(-1)![0]!.values).toMatchObject({ min: 0.2, max: 2 });
    db.close();
  });

  it('coalesce the writes of one tick into one delivery, and stay silent when nothing changed', async () => {
    const db = open(0);
    const seen: QueryResult[] = [];
    const stop = subscribe(db, { collection: 'c', where: { field: 'n', op: 'gt', value: 1 } }, (r) =>
      seen.push(r),
    );
    await Promise.resolve();
    expect(seen).toEqual([{ rows: [], next: undefined }]);
    db.collection('c').put('a', { n: 2 });
    db.collection('c').put('b', { n: 3 });
    db.collection('c').put('x', { n: 0 });
    await Promise.resolve();
    expect(seen).toHaveLength(2);
    expect(seen[1]!.rows.map((r) => r.id)).toEqual(['a', 'b']);
    db.collection('c').put('y', { n: -1 }); // does not match: no delivery
    db.collection('other').put('a', { n: 5 });
    await Promise.resolve();
    expect(seen).toHaveLength(2);
    stop();
    db.collection('c').put('d', { n: 9 });
    await Promise.resolve();
    expect(seen).toHaveLength(2);
    db.close();
  });

  it('unsubscribing frees the listener: many more subscriptions than listeners allowed at once', () => {
    const db = open(0);
    for (let i = 0; i < 5000; i++) {
      subscribe(db, { collection: 'c' }, () => {}, { schedule: () => {} })();
      subscribeAggregate(db, { collection: 'c', aggregates: [{ as: 'n', fn: 'count' }] }, () => {}, {
        schedule: () => {},
      })();
    }
    db.close();
  });

  it('reject malformed queries when subscribing, and end quietly when the database closes', () => {
    const db = open(0);
    expect(() => subscribe(db, { collection: 'c', limit: -1 }, () => {})).toThrow(/invalid query/);
    expect(() => subscribeAggregate(db, { collection: 'c', aggregates: [] }, () => {})).toThrow();
    const clockwork = manualScheduler();
    const seen: unknown[] = [];
    subscribe(db, { collection: 'c', limit: 1 }, (r) => seen.push(r), { schedule: clockwork.schedule });
    db.close();
    clockwork.tick();
    expect(seen).toEqual([]);
  });
});
