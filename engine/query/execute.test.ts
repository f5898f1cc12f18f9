import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareUtf8, type JsonObject } from '../crdt/lww.ts';
import { compileQuery, runQuery, TOP_K_ROWS_MAX } from './execute.ts';
import { compileProjection } from './project.ts';
import { TopK } from './sort.ts';
import type { Query } from './types.ts';

describe('TopK', () => {
  it('keeps exactly the k least items, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 })), fc.nat(40), (xs, k) => {
        const top = new TopK<number>(k, (a, b) => a - b);
        for (const x of xs) top.push(x);
        expect(top.sorted()).toEqual([...xs].sort((a, b) => a - b).slice(0, k));
      }),
      { numRuns: 500 },
    );
  });
});

describe('runQuery', () => {
  const rows: [string, JsonObject][] = Array.from({ length: 30 }, (_, i) => [
    `r${String(i).padStart(2, '0')}`,
    (i % 5 === 0 ? {} : { g: i % 3, v: i % 7 === 0 ? null : i }) as JsonObject,
  ]);

  it('gives the same page through the heap and through a full sort', () => {
    const q = { collection: 'c', orderBy: [{ field: 'g', direction: 'desc' as const }, { field: 'v' }] };
    const all = runQuery(rows, q).rows.map((r) => r.id);
    expect(all).toHaveLength(30);
    expect(runQuery(rows, { ...q, offset: 4, limit: 7 }).rows.map((r) => r.id)).toEqual(all.slice(4, 11));
    expect(runQuery(rows, { ...q, limit: TOP_K_ROWS_MAX + 1 }).rows.map((r) => r.id)).toEqual(all);
    // Descending puts missing last; ties (the same g) are broken by id ascending.
    expect(all.slice(-6)).toEqual(['r00', 'r05', 'r10', 'r15', 'r20', 'r25']);
  });

  it('pages with cursors over a descending order with ties, with no overlap or gap', () => {
    const q = { collection: 'c', orderBy: [{ field: 'g', direction: 'desc' as const }] };
    const all = runQuery(rows, q).rows.map((r) => r.id);
    const walked: string[] = [];
    let after: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = runQuery(rows, { ...q, limit: 4, ...(after === undefined ? {} : { after }) });
      walked.push(...page.rows.map((r) => r.id));
      if (page.next === undefined) break;
      after = page.next;
    }
    expect(walked).toEqual(all);
    expect(runQuery(rows, { ...q, limit: 0 })).toEqual({ rows: [], next: undefined });
  });

  it('compiles once for many rows (the interface the planner and live queries use)', () => {
    const c = compileQuery({
      collection: 'c',
      where: { field: 'g', op: 'eq', value: 1 },
      orderBy: [{ field: 'v' }],
    });
    const a: [string, JsonObject] = ['x', { g: 1, v: 2 }];
    const b: [string, JsonObject] = ['y', { g: 1, v: 1 }];
    expect(c.matches(a[1], a[0])).toBe(true);
    expect(c.matches({ g: '1' }, 'z')).toBe(false);
    expect(c.compare(a, b)).toBeGreaterThan(0);
    expect(c.compare(a, a)).toBe(0);
    const after = compileQuery({ ...c.query, after: c.cursorOf(b[1], b[0]) });
    expect(after.afterCursor(b[1], b[0])).toBe(false);
    expect(after.afterCursor(a[1], a[0])).toBe(true);
  });
});

describe('runQuery over rows in id order', () => {
  it('gives the same result with rowsInIdOrder, and stops reading early when ordered by id', () => {
    const sorted = fc
      .uniqueArray(fc.tuple(fc.string({ maxLength: 3 }), fc.integer({ min: 0, max: 3 })), {
        selector: (r) => r[0],
        maxLength: 30,
      })
      .map((rs) =>
        rs.map(([id, g]): [string, JsonObject] => [id, { g }]).sort((a, b) => compareUtf8(a[0], b[0])),
      );
    const orders = fc.constantFrom(
      undefined,
      [{ field: '_id' }],
      [{ field: '_id', direction: 'desc' as const }],
      [{ field: 'g' }],
    );
    fc.assert(
      fc.property(
        sorted,
        orders,
        fc.option(fc.nat(5), { nil: undefined }),
        fc.option(fc.nat(5), { nil: undefined }),
        (rows, orderBy, limit, offset) => {
          const q: Query = {
            collection: 'c',
            where: { field: 'g', op: 'ne', value: 0 },
            ...(orderBy === undefined ? {} : { orderBy }),
            ...(limit === undefined ? {} : { limit }),
            ...(offset === undefined ? {} : { offset }),
          };
          expect(runQuery(rows, q, { rowsInIdOrder: true })).toEqual(runQuery(rows, q));
        },
      ),
      { numRuns: 500 },
    );
    let pulled = 0;
    function* many(): Generator<[string, JsonObject]> {
      for (let i = 0; i < 1_000; i++) {
        pulled++;
        yield [`k${String(i).padStart(4, '0')}`, { i }];
      }
    }
    expect(
      runQuery(many(), { collection: 'c', limit: 3 }, { rowsInIdOrder: true }).rows.map((r) => r.id),
    ).toEqual(['k0000', 'k0001', 'k0002']);
    expect(pulled).toBe(3);
  });
});

describe('projections', () => {
  it('rebuild nested objects, leave missing paths out, keep the shorter of nested paths', () => {
    const doc = { a: { b: 1, c: { d: 2 } }, e: [1], f: null };
    const p = compileProjection(['a.c.d', 'a.b', 'f', 'g.h', '_id']);
    expect(p(doc, 'id1')).toEqual({ a: { b: 1, c: { d: 2 } }, f: null, _id: 'id1' });
    expect(compileProjection(['a.c.d', 'a'])(doc, 'x')).toEqual({ a: doc.a });
    expect(compileProjection(['e.0'])(doc, 'x')).toEqual({});
    const odd = JSON.parse('{"__proto__": {"x": 1}}') as JsonObject;
    const out = compileProjection(['__proto__.x'])(odd, 'x');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(Object.isFrozen(out)).toBe(true);
  });
});

describe('runQuery ordered by id alone (no cursor, no bounded heap)', () => {
  it('equals the general path, which an explicit _id order takes', () => {
    const idArb = fc.string({ minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        fc.uniqueArray(idArb, { maxLength: 40 }),
        fc.option(fc.nat(45), { nil: undefined }),
        fc.option(fc.constantFrom(TOP_K_ROWS_MAX + 1, TOP_K_ROWS_MAX + 7), { nil: undefined }),
        fc.boolean(),
        (ids, offset, limit, sorted) => {
          const rows: [string, JsonObject][] = ids.map((id, i) => [id, { v: i % 3 }]);
          if (sorted) rows.sort((a, b) => compareUtf8(a[0], b[0]));
          const base: Query = {
            collection: 'c',
            where: { field: 'v', op: 'ne', value: 1 },
            offset,
            limit,
            select: ['v'],
          };
          const fast = runQuery(rows, base, { rowsInIdOrder: sorted });
          const general = runQuery(rows, { ...base, orderBy: [{ field: '_id' }] }, { rowsInIdOrder: sorted });
          expect(fast.rows).toEqual(general.rows);
          expect(fast.next === undefined).toBe(general.next === undefined);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives a cursor after a full page that continues where the page ended', () => {
    const rows: [string, JsonObject][] = Array.from({ length: TOP_K_ROWS_MAX + 3 }, (_, i) => [
      `d${String(i).padStart(5, '0')}`,
      { i },
    ]);
    const page = runQuery(rows, { collection: 'c', limit: TOP_K_ROWS_MAX + 1 });
    expect(page.rows.length).toBe(TOP_K_ROWS_MAX + 1);
    expect(page.next).toBeDefined();
    const rest = runQuery(rows, { collection: 'c', after: page.next });
    expect(rest.rows.map((r) => r.id)).toEqual(rows.slice(TOP_K_ROWS_MAX + 1).map(([id]) => id));
  });
});
