/**
 * The SQL twin of the query language: each query translated into one SQLite statement over a
 * table `docs(id TEXT PRIMARY KEY, doc TEXT)` that holds every document's canonical JSON text.
 * The differential test runs both and requires equal results; the query benchmark may use it
 * to give SQLite the same work. Nothing here imports SQLite: it only builds SQL text and its
 * parameters, for any driver with named `@name` parameters.
 *
 * The mapping (docs/query.md, "The SQLite twin"):
 * - a value's rank (missing 0 … object 6) is a CASE over `json_type(doc, path)`, its value
 *   within the rank is `json_extract(doc, path)` (booleans come back as 0/1, arrays and objects
 *   as their JSON text, which is canonical because the stored text is), and comparisons compare
 *   (rank, value) pairs, so SQLite's own cross-class order never decides anything;
 * - LIKE is SQLite's LIKE (ASCII case folding); a case-sensitive LIKE becomes GLOB;
 * - `contains` on arrays is EXISTS over `json_each`; regex calls a `regexp_js(pattern, flags,
 *   text)` function the caller registers (JavaScript's RegExp);
 * - ORDER BY (rank, value) per key, then `id`; sum/avg over `json_type IN ('integer','real')`;
 *   min/max are correlated subqueries ordered by (rank, value).
 *
 * Paths must be made of keys without `"` or `\` (JSON path quoting in SQLite has no escapes).
 */

import { canonicalJson, type JsonValue } from '../crdt/lww.ts';
import { Rank, valueRank } from './compare.ts';
import type { AggregateQuery, CompareOp, FieldFilter, Filter, Query } from './types.ts';

/** A SQL statement and its named parameters (`@p0`, `@p1`, ...). */
export interface SqlStatement {
  readonly sql: string;
  readonly params: Readonly<Record<string, string | number | null>>;
}

/** The statement that creates the table the twin queries. */
export const SQLITE_TWIN_SCHEMA = 'CREATE TABLE docs (id TEXT PRIMARY KEY, doc TEXT NOT NULL)';

/** The JSON path of a dotted field path: `a.b` becomes `$."a"."b"`. */
export function jsonPath(field: string): string {
  if (/["\\]/.test(field)) throw new Error(`sqlite twin: unsupported character in path ${field}`);
  return `$${field
    .split('.')
    .map((k) => `."${k}"`)
    .join('')}`;
}

/** The SQL value of a literal within its rank (null has none: it is alone in its rank). */
function sqlValue(v: JsonValue): string | number | null {
  if (v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || typeof v === 'string') return v;
  return canonicalJson(v);
}

const RANK_CASE = (typeExpr: string) =>
  `(CASE ${typeExpr} WHEN 'null' THEN 1 WHEN 'true' THEN 2 WHEN 'false' THEN 2 WHEN 'integer' THEN 3 ` +
  `WHEN 'real' THEN 3 WHEN 'text' THEN 4 WHEN 'array' THEN 5 WHEN 'object' THEN 6 ELSE 0 END)`;

/** Builds one statement, collecting parameters in order. */
class Builder {
  readonly params: Record<string, string | number | null> = {};
  private count = 0;

  /** A named parameter (names, not positions: a fragment may appear twice in the text). */
  p(v: string | number | null): string {
    const name = `p${this.count++}`;
    this.params[name] = v;
    return `@${name}`;
  }

  rank(t: string, field: string): string {
    return field === '_id'
      ? `(${Rank.string} + 0)` // An expression: a bare integer in ORDER BY would name a column.
      : RANK_CASE(`json_type(${t}.doc, ${this.p(jsonPath(field))})`);
  }

  value(t: string, field: string): string {
    return field === '_id' ? `${t}.id` : `json_extract(${t}.doc, ${this.p(jsonPath(field))})`;
  }

  /** The JSON text of the field's value (NULL when missing), for results. */
  json(t: string, field: string): string {
    return field === '_id' ? `json_quote(${t}.id)` : `(${t}.doc -> ${this.p(jsonPath(field))})`;
  }

  filter(f: Filter, t: string): string {
    if ('and' in f)
      return f.and.length === 0 ? '1' : `(${f.and.map((x) => this.filter(x, t)).join(' AND ')})`;
    if ('or' in f) return f.or.length === 0 ? '0' : `(${f.or.map((x) => this.filter(x, t)).join(' OR ')})`;
    if ('not' in f) return `(NOT ${this.filter(f.not, t)})`;
    return this.leaf(f, t);
  }

  /** `(rank, value)` of the field against a literal, per operator. */
  compare(op: CompareOp, t: string, field: string, lit: JsonValue): string {
    const r = valueRank(lit);
    const R = this.rank(t, field);
    const isNull = lit === null;
    const V = isNull ? '' : this.value(t, field);
    const x = isNull ? '' : this.p(sqlValue(lit));
    const eqW = isNull ? '1' : `${V} = ${x}`;
    const ltW = isNull ? '0' : `${V} < ${x}`;
    const gtW = isNull ? '0' : `${V} > ${x}`;
    switch (op) {
      case 'eq':
        return `(${R} = ${r} AND ${eqW})`;
      case 'ne':
        return `(${R} > 0 AND NOT (${R} = ${r} AND ${eqW}))`;
      case 'lt':
        return `(${R} > 0 AND (${R} < ${r} OR (${R} = ${r} AND ${ltW})))`;
      case 'lte':
        return `(${R} > 0 AND (${R} < ${r} OR (${R} = ${r} AND (${ltW} OR ${eqW}))))`;
      case 'gt':
        return `(${R} > ${r} OR (${R} = ${r} AND ${gtW}))`;
      case 'gte':
        return `(${R} > ${r} OR (${R} = ${r} AND (${gtW} OR ${eqW})))`;
    }
  }

  leaf(f: FieldFilter, t: string): string {
    const field = f.field;
    switch (f.op) {
      case 'exists':
        return `(${this.rank(t, field)} ${f.value ? '>' : '='} 0)`;
      case 'in':
        return f.values.length === 0
          ? '0'
          : `(${f.values.map((v) => this.compare('eq', t, field, v)).join(' OR ')})`;
      case 'nin': {
        const any =
          f.values.length === 0 ? '0' : f.values.map((v) => this.compare('eq', t, field, v)).join(' OR ');
        return `(${this.rank(t, field)} > 0 AND NOT (${any}))`;
      }
      case 'like':
        return this.like(f, t);
      case 'contains':
        return this.contains(field, f.value, t);
      case 'regex':
        return `(${this.rank(t, field)} = ${Rank.string} AND regexp_js(${this.p(f.pattern)}, ${this.p(f.flags ?? '')}, ${this.value(t, field)}))`;
      default:
        return this.compare(f.op, t, field, f.value);
    }
  }

  like(f: Extract<FieldFilter, { op: 'like' }>, t: string): string {
    const isText = `${this.rank(t, f.field)} = ${Rank.string}`;
    if (f.caseInsensitive !== false) {
      const V = this.value(t, f.field);
      const pat = this.p(f.pattern);
      const esc = f.escape === undefined ? '' : ` ESCAPE ${this.p(f.escape)}`;
      return `(${isText} AND ${V} LIKE ${pat}${esc})`;
    }
    return `(${isText} AND ${this.value(t, f.field)} GLOB ${this.p(likeToGlob(f.pattern, f.escape))})`;
  }

  contains(field: string, needle: JsonValue, t: string): string {
    const R = this.rank(t, field);
    const inString =
      typeof needle === 'string'
        ? `(${R} = ${Rank.string} AND instr(${this.value(t, field)}, ${this.p(needle)}) > 0)`
        : '0';
    if (field === '_id') return inString;
    const r = valueRank(needle);
    const elemRank = RANK_CASE('je.type');
    const eqW = needle === null ? '1' : `je.value = ${this.p(sqlValue(needle))}`;
    const inArray =
      `(${R} = ${Rank.array} AND EXISTS (SELECT 1 FROM json_each(${t}.doc, ${this.p(jsonPath(field))}) je ` +
      `WHERE ${elemRank} = ${r} AND ${eqW}))`;
    return `(${inString} OR ${inArray})`;
  }

  orderTerms(orderBy: Query['orderBy'], t: string): string[] {
    const terms: string[] = [];
    for (const k of orderBy ?? []) {
      const dir = k.direction === 'desc' ? 'DESC' : 'ASC';
      terms.push(`${this.rank(t, k.field)} ${dir}`, `${this.value(t, k.field)} ${dir}`);
    }
    terms.push(`${t}.id ASC`);
    return terms;
  }
}

/** A case-sensitive LIKE pattern as a GLOB pattern (`%` `*`, `_` `?`, `*?[` bracketed). */
export function likeToGlob(pattern: string, escapeChar: string | undefined): string {
  let out = '';
  const literal = (c: string) => {
    out += c === '*' || c === '?' || c === '[' ? `[${c}]` : c;
  };
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === escapeChar) literal(chars[++i]!);
    else if (c === '%') out += '*';
    else if (c === '_') out += '?';
    else literal(c);
  }
  return out;
}

/**
 * The statement of `q` without cursor (the test walks cursors in Aregula and compares the
 * concatenated pages): columns `id`, then one JSON text column `s0, s1, ...` per `select` path.
 */
export function queryToSql(q: Query): SqlStatement {
  const b = new Builder();
  const cols = ['t.id AS id', ...(q.select ?? []).map((p, i) => `${b.json('t', p)} AS s${i}`)];
  const where = q.where === undefined ? '1' : b.filter(q.where, 't');
  const order = b.orderTerms(q.orderBy, 't');
  let sql = `SELECT ${cols.join(', ')} FROM docs t WHERE ${where} ORDER BY ${order.join(', ')}`;
  if (q.limit !== undefined || q.offset !== undefined) {
    sql += ` LIMIT ${b.p(q.limit ?? -1)} OFFSET ${b.p(q.offset ?? 0)}`;
  }
  return { sql, params: b.params };
}

/**
 * The statement of an aggregate query: per group key `gK` its JSON text (NULL when missing),
 * then one column per aggregate named `aK` (min/max as JSON text), groups in key order.
 */
export function aggregateToSql(q: AggregateQuery): SqlStatement {
  const b = new Builder();
  const keys = q.groupBy ?? [];
  const cols = keys.map((g, i) => `${b.json('t', g)} AS g${i}`);
  q.aggregates.forEach((a, i) => {
    cols.push(`${aggregateColumn(b, q, a.fn, a.field)} AS a${i}`);
  });
  const where = q.where === undefined ? '1' : b.filter(q.where, 't');
  // COUNT(*) makes it an aggregate query even when every column is a subquery (min/max).
  let sql = `SELECT ${cols.join(', ')}, COUNT(*) AS n FROM docs t WHERE ${where}`;
  if (keys.length > 0) {
    const groupTerms = keys.flatMap((g) => [b.rank('t', g), b.value('t', g)]);
    sql += ` GROUP BY ${groupTerms.join(', ')} ORDER BY ${keys.flatMap((g) => [b.rank('t', g), b.value('t', g)]).join(', ')}`;
  }
  return { sql, params: b.params };
}

function aggregateColumn(b: Builder, q: AggregateQuery, fn: string, field: string | undefined): string {
  if (field === undefined) return 'COUNT(*)';
  if (fn === 'count') return `COUNT(${b.value('t', field)})`;
  if (fn === 'sum' || fn === 'avg') {
    const numeric = `${b.rank('t', field)} = ${Rank.number}`;
    return `${fn.toUpperCase()}(CASE WHEN ${numeric} THEN ${b.value('t', field)} END)`;
  }
  // min / max: the first present, non-null value of the group in (rank, value) order.
  const dir = fn === 'min' ? 'ASC' : 'DESC';
  const json = b.json('u', field);
  const where = q.where === undefined ? '1' : b.filter(q.where, 'u');
  const sameGroup = (q.groupBy ?? []).map(
    (g) => `${b.rank('u', g)} = ${b.rank('t', g)} AND ${b.value('u', g)} IS ${b.value('t', g)}`,
  );
  const present = `${b.rank('u', field)} > ${Rank.null}`;
  const order = `${b.rank('u', field)} ${dir}, ${b.value('u', field)} ${dir}`;
  return `(SELECT ${json} FROM docs u WHERE ${[where, ...sameGroup, present].join(' AND ')} ORDER BY ${order} LIMIT 1)`;
}
