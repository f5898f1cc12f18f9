import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../crdt/lww.ts';
import { Database } from '../db/database.ts';
import { LimitExceededError } from '../errors.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { identityFromSeed } from '../log/identity.ts';
import { aggregate } from './aggregate.ts';
import { QueryError } from './errors.ts';
import { find, runQuery } from './execute.ts';
import {
  FILTER_DEPTH_MAX,
  FILTER_NODES_MAX,
  IN_VALUES_MAX,
  PATH_SEGMENTS_MAX,
  SORT_KEYS_MAX,
} from './limits.ts';
import type { Filter, Query } from './types.ts';
import { checkAggregateQuery, checkQuery } from './validate.ts';

const q = (extra: object): unknown => ({ collection: 'c', ...extra });

describe('hostile and malformed queries fail fast with typed errors', () => {
  it('deep nesting', () => {
    let f: Filter = { field: 'a', op: 'eq', value: 1 };
    for (let i = 0; i < 100_000; i++) f = { not: f };
    expect(() => checkQuery(q({ where: f }))).toThrow(/FILTER_DEPTH_MAX/);
    let g: Filter = { field: 'a', op: 'eq', value: 1 };
    for (let i = 1; i < FILTER_DEPTH_MAX; i++) g = { and: [g] };
    expect(() => checkQuery(q({ where: g }))).not.toThrow();
    const cyclic: { and: unknown[] } = { and: [] };
    cyclic.and.push(cyclic);
    expect(() => checkQuery(q({ where: cyclic }))).toThrow(LimitExceededError);
  });

  it('too many nodes, huge in lists, long paths, too many sort keys', () => {
    const wide = {
      or: Array.from({ length: FILTER_NODES_MAX + 1 }, () => ({ field: 'a', op: 'exists', value: true })),
    };
    expect(() => checkQuery(q({ where: wide }))).toThrow(/FILTER_NODES_MAX/);
    const huge = { field: 'a', op: 'in', values: new Array(10_000_000).fill(1) };
    expect(() => checkQuery(q({ where: huge }))).toThrow(/IN_VALUES_MAX/);
    const bulky = {
      field: 'a',
      op: 'in',
      values: Array.from({ length: IN_VALUES_MAX }, (_, i) => `${i}${'x'.repeat(2_000)}`),
    };
    expect(() => checkQuery(q({ where: bulky }))).toThrow(/FILTER_VALUES_CHARS_MAX/);
    expect(() =>
      checkQuery(q({ where: { field: 'a', op: 'in', values: new Array(IN_VALUES_MAX).fill(1) } })),
    ).not.toThrow();
    expect(() =>
      checkQuery(q({ where: { field: 'a.'.repeat(PATH_SEGMENTS_MAX) + 'a', op: 'exists', value: true } })),
    ).toThrow(/PATH_SEGMENTS_MAX/);
    expect(() =>
      checkQuery(q({ where: { field: 'x'.repeat(1_000_000), op: 'exists', value: true } })),
    ).toThrow(/PATH_CHARS_MAX/);
    expect(() => checkQuery(q({ orderBy: new Array(SORT_KEYS_MAX + 1).fill({ field: 'a' }) }))).toThrow(
      /SORT_KEYS_MAX/,
    );
    expect(() => checkQuery(q({ where: { field: 'a', op: 'eq', value: 'x'.repeat(100_000) } }))).toThrow(
      LimitExceededError,
    );
    expect(() =>
      checkQuery(q({ where: { field: 'a', op: 'regex', pattern: '(a+)+$'.repeat(100) } })),
    ).toThrow(/REGEX_PATTERN_CHARS_MAX/);
    expect(() => checkQuery(q({ where: { field: 'a', op: 'like', pattern: '%'.repeat(5_000) } }))).toThrow(
      /LIKE_PATTERN_CHARS_MAX/,
    );
  });

  it('wrong types everywhere are QueryErrors naming the place', () => {
    const bad: unknown[] = [
      null,
      42,
      'c',
      [],
      { collection: '' },
      { collection: 1 },
      q({ extra: 1 }),
      q({ where: null }),
      q({ where: [] }),
      q({ where: {} }),
      q({ where: { and: {} } }),
      q({ where: { not: 1 } }),
      q({ where: { and: [], or: [] } }),
      q({ where: { field: 'a', op: 'eq' } }),
      q({ where: { field: 'a', op: 'eq', value: undefined } }),
      q({ where: { field: 'a', op: 'eq', value: Number.NaN } }),
      q({ where: { field: 'a', op: 'eq', value: () => 1 } }),
      q({ where: { field: 'a', op: 'eq', value: new Date() } }),
      q({ where: { field: 1, op: 'eq', value: 1 } }),
      q({ where: { field: '', op: 'eq', value: 1 } }),
      q({ where: { field: 'a..b', op: 'eq', value: 1 } }),
      q({ where: { field: '_id.x', op: 'eq', value: 1 } }),
      q({ where: { field: 'a', op: 'between', value: 1 } }),
      q({ where: { field: 'a', op: 'in', values: 1 } }),
      q({ where: { field: 'a', op: 'in', value: [1] } }),
      q({ where: { field: 'a', op: 'exists', value: 'yes' } }),
      q({ where: { field: 'a', op: 'like', pattern: 1 } }),
      q({ where: { field: 'a', op: 'like', pattern: 'a!', escape: '!' } }),
      q({ where: { field: 'a', op: 'like', pattern: 'a', escape: 'ab' } }),
      q({ where: { field: 'a', op: 'like', pattern: 'a', caseInsensitive: 'no' } }),
      q({ where: { field: 'a', op: 'regex', pattern: '(a)\\1' } }),
      q({ where: { field: 'a', op: 'regex', pattern: 'a', flags: 'g' } }),
      q({ orderBy: [{ field: 'a', direction: 'up' }] }),
      q({ orderBy: {} }),
      q({ limit: -1 }),
      q({ limit: 1.5 }),
      q({ offset: '1' }),
      q({ after: 5 }),
      q({ select: ['a', 3] }),
      q({ where: { field: 'a\ud800', op: 'exists', value: true } }),
    ];
    for (const b of bad) expect(() => checkQuery(b), JSON.stringify(b) ?? String(b)).toThrow(QueryError);
    const badAgg: unknown[] = [
      q({}),
      q({ aggregates: [] }),
      q({ aggregates: [{ fn: 'sum', as: 's' }] }),
      q({ aggregates: [{ fn: 'median', field: 'a', as: 'm' }] }),
      q({ aggregates: [{ fn: 'count' }] }),
      q({
        aggregates: [
          { fn: 'count', as: 'n' },
          { fn: 'count', as: 'n' },
        ],
      }),
      q({ aggregates: [{ fn: 'count', as: 'n' }], groupBy: 'a' }),
    ];
    for (const b of badAgg) expect(() => checkAggregateQuery(b), JSON.stringify(b)).toThrow(QueryError);
  });

  it('cursors that are forged, malformed or from another ordering', () => {
    const rows: [string, JsonObject][] = [['a', { n: 1 }]];
    const first = runQuery(rows, { collection: 'c', orderBy: [{ field: 'n' }], limit: 1 });
    expect(first.next).toBeDefined();
    for (const after of [
      '',
      'c1',
      'c1{',
      'c2[]',
      'c1[1,2,3]',
      'c1["x",[],"a"]',
      first.next!.replace('asc', 'desc'),
    ]) {
      expect(() => runQuery(rows, { collection: 'c', orderBy: [{ field: 'n' }], after }), after).toThrow(
        QueryError,
      );
    }
    expect(() => runQuery(rows, { collection: 'c', after: first.next! })).toThrow(QueryError);
  });
});

describe('find and aggregate over a database', () => {
  it('scan the collection; cursors stay exact under ties and deletes', () => {
    const db = Database.open({
      fs: new MemoryFs(),
      identity: identityFromSeed(new Uint8Array(32).fill(1)),
      clock: { nowMs: () => 1_700_000_000_000 },
    });
    const c = db.collection('items');
    for (let i = 0; i < 10; i++) c.put(`id${i}`, { group: i % 2, n: 10 - i });
    const query: Query = { collection: 'items', orderBy: [{ field: 'group' }], limit: 3 };
    const page1 = find(db, query);
    expect(page1.rows.map((r) => r.id)).toEqual(['id0', 'id2', 'id4']);
    c.delete('id4'); // the cursor's own row goes away: the next page still starts right after it
    c.put('id3a', { group: 0 }); // a tie inserted before the cursor position is not repeated
    const page2 = find(db, { ...query, after: page1.next! });
    expect(page2.rows.map((r) => r.id)).toEqual(['id6', 'id8', 'id1']);
    expect(
      aggregate(db, {
        collection: 'items',
        groupBy: ['group'],
        aggregates: [
          { fn: 'count', as: 'n' },
          { fn: 'sum', field: 'n', as: 's' },
        ],
      }),
    ).toEqual([
      { group: [0], values: { n: 5, s: 10 + 8 + 4 + 2 } },
      { group: [1], values: { n: 5, s: 9 + 7 + 5 + 3 + 1 } },
    ]);
    expect(() =>
      find(db, { collection: 'items', where: { field: 'x', op: 'eq' } as unknown as Filter }),
    ).toThrow(QueryError);
    db.close();
  });
});
