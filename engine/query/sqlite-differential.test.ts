/**
 * Differential test: random documents and random queries run through Aregula's query core and
 * through SQLite (the SQL twin in sqlite-twin.ts over the same canonical JSON), and the results
 * must be equal: ids in order, projections, cursor walks, and aggregates with group by.
 *
 * Numbers are mostly integers and quarters (exact sums in any order), plus a few decimals and
 * extremes whose sums still agree with SQLite's compensated summation (docs/query.md).
 * Strings avoid U+0000 (SQLite's LIKE stops at it) and keys avoid `"` and `\` (JSON paths).
 */

import Sqlite from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, type JsonObject, type JsonValue } from '../crdt/lww.ts';
import { runAggregate } from './aggregate.ts';
import { runQuery } from './execute.ts';
import { aggregateToSql, queryToSql, SQLITE_TWIN_SCHEMA } from './sqlite-twin.ts';
import type { Aggregate, AggregateQuery, Filter, Query, SortKey } from './types.ts';

/** Multiplies every property's run count (e.g. QUERY_DIFF_SCALE=20 for a long local soak). */
const SCALE = Number(process.env.QUERY_DIFF_SCALE ?? 1);

const sqlite = new Sqlite(':memory:');
sqlite.exec(SQLITE_TWIN_SCHEMA);
sqlite.function('regexp_js', { deterministic: true }, (pattern, flags, text) =>
  new RegExp(String(pattern), String(flags)).test(String(text)) ? 1 : 0,
);
const insert = sqlite.prepare('INSERT INTO docs (id, doc) VALUES (?, ?)');
const load = sqlite.transaction((rows: readonly [string, JsonObject][]) => {
  sqlite.exec('DELETE FROM docs');
  for (const [id, doc] of rows) insert.run(id, canonicalJson(doc));
});
afterAll(() => sqlite.close());

// ---- generators ----

const CHARS = [
  'a',
  'b',
  'A',
  'B',
  'k',
  'K',
  '%',
  '_',
  '!',
  '\\',
  ' ',
  'é',
  'É',
  'ß',
  'ſ',
  '\u212a',
  '😀',
  '\n',
  '1',
  'x',
];
const str = fc.array(fc.constantFrom(...CHARS), { maxLength: 5 }).map((cs) => cs.join(''));
const num = fc.oneof(
  fc.integer({ min: -20, max: 20 }),
  fc.integer({ min: -80, max: 80 }).map((n) => n / 4),
  fc.constantFrom(2 ** 40, -(2 ** 40), 0.5, 1e15, 0.1, 0.3, 1e21, -1.5e-7, 2.5e300, 123456.789),
);
const scalar: fc.Arbitrary<JsonValue> = fc.oneof(fc.constant(null), fc.boolean(), num, str);
const KEYS = ['a', 'b', 'c'];
const value: fc.Arbitrary<JsonValue> = fc.letrec<{ v: JsonValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    scalar,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 3 }),
  ),
})).v;
const doc: fc.Arbitrary<JsonObject> = fc.dictionary(fc.constantFrom(...KEYS, 'd'), value, { maxKeys: 4 });
const ID_CHARS = ['a', 'b', 'B', '0', 'é', '😀', '~'];
const rows = fc
  .uniqueArray(
    fc.tuple(
      fc.array(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 3 }).map((c) => c.join('')),
      doc,
    ),
    { selector: (r) => r[0], maxLength: 20 },
  )
  // As stored: canonical (−0 becomes 0) and deep-frozen.
  .map((rs) => rs.map(([id, d]): [string, JsonObject] => [id, JSON.parse(canonicalJson(d)) as JsonObject]));

const PATHS = ['a', 'b', 'c', 'd', 'a.a', 'a.b', 'b.c', 'c.a.b', '_id'];
const path = fc.constantFrom(...PATHS);

/** Every value (and nested value) in the data, so that literals often equal stored values. */
function valuePool(data: readonly [string, JsonObject][]): JsonValue[] {
  const pool: JsonValue[] = [];
  const walk = (v: JsonValue) => {
    pool.push(v);
    if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) walk(x);
  };
  for (const [id, d] of data) {
    pool.push(id);
    walk(d);
  }
  return pool;
}

/** The query generators for a dataset: literals and LIKE patterns drawn from its values half the time. */
function generators(data: readonly [string, JsonObject][]) {
  const pool = valuePool(data);
  const strings = pool.filter((v): v is string => typeof v === 'string');
  const literal: fc.Arbitrary<JsonValue> =
    pool.length === 0
      ? fc.oneof(scalar, value)
      : fc.oneof(scalar, value, fc.constantFrom(...pool), fc.constantFrom(...pool));

  const randomPattern = fc
    .array(
      fc.oneof(
        fc.constantFrom('%', '_', '%', '!%', '!_', '!!'),
        fc.constantFrom(...CHARS.filter((c) => c !== '!')),
      ),
      {
        maxLength: 5,
      },
    )
    .map((parts) => parts.join(''));
  /** A stored string with characters turned into wildcards, escapes or the other ASCII case. */
  const likePattern =
    strings.length === 0
      ? randomPattern
      : fc.oneof(
          randomPattern,
          fc
            .tuple(
              fc.constantFrom(...strings),
              fc.array(fc.constantFrom('keep', 'keep', 'one', 'any', 'case', 'esc'), {
                minLength: 8,
                maxLength: 8,
              }),
            )
            .map(([text, edits]) =>
              [...text]
                .map((c, i) => {
                  const e = edits[i % edits.length];
                  if (c === '!' || e === 'esc') return `!${c}`;
                  if (e === 'one') return '_';
                  if (e === 'any') return '%';
                  if (e === 'case') return c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
                  return c;
                })
                .join(''),
            ),
        );
  const REGEXES = [
    '^a',
    'a.b',
    '[a-c]+$',
    'é',
    '\\d',
    '^$',
    '(a|b)k*',
    'x?y',
    'K',
    '\\w\\W',
    '\\bk',
    '[^ab]',
    'ß|ſ',
    '^.{2}$',
  ];

  const leaf: fc.Arbitrary<Filter> = fc.oneof(
    fc.record({ field: path, op: fc.constantFrom('eq', 'ne', 'lt', 'lte', 'gt', 'gte'), value: literal }),
    fc.record({ field: path, op: fc.constantFrom('in', 'nin'), values: fc.array(literal, { maxLength: 4 }) }),
    fc.record({ field: path, op: fc.constant('exists'), value: fc.boolean() }),
    fc
      .record({
        field: path,
        pattern: likePattern,
        esc: fc.boolean(),
        ci: fc.option(fc.boolean(), { nil: undefined }),
      })
      .map(({ field, pattern, esc, ci }): Filter => {
        const base = { field, op: 'like' as const, pattern: esc ? pattern : pattern.replaceAll('!', 'x') };
        return {
          ...base,
          ...(esc ? { escape: '!' } : {}),
          ...(ci === undefined ? {} : { caseInsensitive: ci }),
        };
      }),
    fc.record({ field: path, op: fc.constant('contains'), value: fc.oneof(literal, str) }),
    fc.record({
      field: path,
      op: fc.constant('regex'),
      pattern: fc.constantFrom(...REGEXES),
      flags: fc.constantFrom('', 'i', 'm', 's', 'is'),
    }),
  ) as fc.Arbitrary<Filter>;

  const filter: fc.Arbitrary<Filter> = fc.letrec<{ f: Filter }>((tie) => ({
    f: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      leaf,
      fc.record({ and: fc.array(tie('f'), { maxLength: 3 }) }),
      fc.record({ or: fc.array(tie('f'), { maxLength: 3 }) }),
      fc.record({ not: tie('f') }),
    ),
  })).f;

  const sortKeys: fc.Arbitrary<SortKey[]> = fc.array(
    fc.record({
      field: path,
      direction: fc.option(fc.constantFrom('asc' as const, 'desc' as const), { nil: undefined }),
    }),
    { maxLength: 3 },
  );

  const query: fc.Arbitrary<Query> = fc
    .record({
      where: fc.option(filter, { nil: undefined }),
      orderBy: fc.option(sortKeys, { nil: undefined }),
      limit: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
      offset: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
      select: fc.option(fc.uniqueArray(fc.constantFrom('a', 'b.c', 'c.a.b', '_id', 'd'), { maxLength: 3 }), {
        nil: undefined,
      }),
    })
    .map((r) => clean({ collection: 'docs', ...r }) as Query);

  return { filter, sortKeys, query, path };
}

/** The object without its undefined properties (queries reject nothing else, but say no more than given). */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// ---- SQLite side ----

interface SqlRow {
  [column: string]: string | number | null;
}

function sqliteQuery(q: Query): { id: string; doc: JsonObject }[] {
  const { sql, params } = queryToSql(q);
  const out = sqlite.prepare(sql).all(params) as SqlRow[];
  return out.map((r) => ({ id: String(r.id), doc: q.select === undefined ? {} : projection(q.select, r) }));
}

/** The projection an SQLite row describes (select paths do not nest inside each other here). */
function projection(select: readonly string[], r: SqlRow): JsonObject {
  const out: Record<string, JsonValue> = {};
  select.forEach((p, i) => {
    const text = r[`s${i}`];
    if (text === null || text === undefined) return;
    const segments = p.split('.');
    let node = out;
    for (const key of segments.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, JsonValue>;
    }
    node[segments[segments.length - 1]!] = JSON.parse(String(text)) as JsonValue;
  });
  return out;
}

type Generators = ReturnType<typeof generators>;
type Rows = [string, JsonObject][];

/** A dataset and something generated from it. */
function withData<T>(make: (g: Generators) => fc.Arbitrary<T>): fc.Arbitrary<[Rows, T]> {
  return rows.chain((data) => fc.tuple(fc.constant(data), make(generators(data))));
}

describe('queries agree with SQLite', () => {
  it('filter, order, offset, limit and projection', () => {
    fc.assert(
      fc.property(
        withData((g) => g.query),
        ([data, q]) => {
          load(data);
          const ours = runQuery(data, q).rows.map((r) => ({
            id: r.id,
            doc: q.select === undefined ? {} : r.doc,
          }));
          expect(ours).toEqual(sqliteQuery(q));
        },
      ),
      { numRuns: 700 * SCALE },
    );
  });

  it('walking cursors page by page gives the whole ordered result once', () => {
    fc.assert(
      fc.property(
        withData((g) =>
          fc.tuple(fc.option(g.filter, { nil: undefined }), g.sortKeys, fc.integer({ min: 1, max: 4 })),
        ),
        ([data, [where, orderBy, size]]) => {
          load(data);
          const base = clean({ collection: 'docs', where, orderBy }) as Query;
          const expected = sqliteQuery(base).map((r) => r.id);
          const walked: string[] = [];
          let after: string | undefined;
          for (let page = 0; page <= data.length + 1; page++) {
            const res = runQuery(data, clean({ ...base, limit: size, after }));
            walked.push(...res.rows.map((r) => r.id));
            if (res.next === undefined) break;
            after = res.next;
          }
          expect(walked).toEqual(expected);
        },
      ),
      { numRuns: 300 * SCALE },
    );
  });

  const aggregateArb: fc.Arbitrary<Aggregate> = fc.oneof(
    fc.record({ fn: fc.constant('count' as const) }),
    fc.record({
      fn: fc.constantFrom('count' as const, 'sum' as const, 'avg' as const, 'min' as const, 'max' as const),
      field: path,
    }),
  ) as fc.Arbitrary<Aggregate>;

  it('aggregates with group by', () => {
    const aggQuery = (g: Generators): fc.Arbitrary<AggregateQuery> =>
      fc
        .record({
          where: fc.option(g.filter, { nil: undefined }),
          groupBy: fc.option(fc.uniqueArray(path, { maxLength: 2 }), { nil: undefined }),
          aggregates: fc.array(aggregateArb, { minLength: 1, maxLength: 4 }),
        })
        .map((r) =>
          clean({
            collection: 'docs',
            ...r,
            aggregates: r.aggregates.map((a, i) => ({ ...a, as: `x${i}` })),
          }),
        );
    fc.assert(
      fc.property(withData(aggQuery), ([data, q]) => {
        load(data);
        const ours = runAggregate(data, q);
        const { sql, params } = aggregateToSql(q);
        const theirs = (sqlite.prepare(sql).all(params) as SqlRow[]).map((r) => ({
          group: (q.groupBy ?? []).map((_, i) => {
            const text = r[`g${i}`];
            return text === null ? undefined : (JSON.parse(String(text)) as JsonValue);
          }),
          values: Object.fromEntries(
            q.aggregates.map((a, i) => {
              const v = r[`a${i}`] ?? null;
              return [
                a.as,
                (a.fn === 'min' || a.fn === 'max') && v !== null ? (JSON.parse(String(v)) as JsonValue) : v,
              ];
            }),
          ),
        }));
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 500 * SCALE },
    );
  });
});
