/**
 * The query language's abstract syntax: plain JSON-shaped objects, so that a query can be
 * built by code, stored, or sent between a page and the engine's worker unchanged.
 *
 * Where things live (for code built on top, such as indexes, the planner and live queries):
 * - `validate.ts`: `checkQuery` / `checkAggregateQuery` throw a `QueryError`
 *   (code `ARE_QUERY_INVALID`, errors.ts) or a `LimitExceededError`; the limits are named
 *   constants in `limits.ts`.
 * - `compare.ts`: `compareValues(a, b)`, THE total order of JSON values with `undefined`
 *   standing for a missing field; `valueRank(v)`; `getPath(doc, id, path)`.
 * - `filter.ts`: `compileFilter(filter)` gives `(doc, id) => boolean`.
 * - `execute.ts`: `compileQuery(q)` gives a {@link CompiledQuery}; `runQuery(rows, q)`,
 *   `runAggregate(rows, q)` (in aggregate.ts), and the full-scan entries `find(db, q)` and
 *   `aggregate(db, q)`.
 * - `cursor.ts`: opaque {@link Cursor}s encoding the last row's sort values and id.
 *
 * docs/query.md states every rule (order of types, missing fields, LIKE, regex, aggregates)
 * and how the differential test maps each one onto SQLite.
 */

import type { JsonObject, JsonValue } from '../crdt/lww.ts';

export type { JsonObject, JsonValue };

/**
 * A dotted path `a.b.c` into a document: each segment names an object key (arrays are not
 * entered; a path through an array or a scalar reaches nothing, i.e. a missing value). The
 * document's id is the pseudo-field `_id` (a whole path of its own; it shadows a stored
 * top-level field of that name).
 */
export type FieldPath = string;

/** The comparison operators, each over the total order of `compareValues`. */
export type CompareOp = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte';

/**
 * A predicate over one document. A missing field matches no leaf predicate except
 * `exists: false`; `not` negates its operand plainly (two-valued logic), so `not(eq)` matches
 * missing fields while `ne` does not.
 */
export type Filter =
  | { readonly and: readonly Filter[] }
  | { readonly or: readonly Filter[] }
  | { readonly not: Filter }
  | { readonly field: FieldPath; readonly op: CompareOp; readonly value: JsonValue }
  | { readonly field: FieldPath; readonly op: 'in' | 'nin'; readonly values: readonly JsonValue[] }
  | { readonly field: FieldPath; readonly op: 'exists'; readonly value: boolean }
  | {
      readonly field: FieldPath;
      readonly op: 'like';
      /** SQL LIKE pattern: `%` any run of characters, `_` one character (code point). */
      readonly pattern: string;
      /** One character that makes the next pattern character literal. */
      readonly escape?: string;
      /** ASCII letters fold case, as SQLite's default LIKE. Default true. */
      readonly caseInsensitive?: boolean;
    }
  /** A substring of a string field, or an element (deep-equal) of an array field. */
  | { readonly field: FieldPath; readonly op: 'contains'; readonly value: JsonValue }
  /** A JavaScript regular expression subset run by a linear-time matcher (regex.ts). */
  | { readonly field: FieldPath; readonly op: 'regex'; readonly pattern: string; readonly flags?: string };

/** A leaf predicate (a filter on one field). */
export type FieldFilter = Extract<Filter, { readonly field: FieldPath }>;

/** One key of an ordering. Ties on every key are broken by `_id` ascending, so order is total. */
export interface SortKey {
  readonly field: FieldPath;
  /** Default `'asc'`. Missing and null come first ascending, last descending. */
  readonly direction?: 'asc' | 'desc';
}

/**
 * An opaque continuation token (cursor.ts): the last row's sort values and id, so the next
 * page starts strictly after that row, stable under ties and under concurrent deletes.
 */
export type Cursor = string;

/** A query over one collection: filter, then order, then cursor, offset and limit, then projection. */
export interface Query {
  readonly collection: string;
  readonly where?: Filter;
  /** Default: by `_id` ascending. */
  readonly orderBy?: readonly SortKey[];
  readonly limit?: number;
  readonly offset?: number;
  /** Start strictly after the row this cursor names (applied before `offset`). */
  readonly after?: Cursor;
  /** Keep only these paths (nested objects rebuilt; missing paths left out). */
  readonly select?: readonly FieldPath[];
}

/** The aggregate functions. */
export type AggregateFn = 'count' | 'sum' | 'avg' | 'min' | 'max';

/** One aggregate output column. */
export interface Aggregate {
  /** The output name, unique in the query. */
  readonly as: string;
  readonly fn: AggregateFn;
  /** Required except for `count`, which without a field counts rows. */
  readonly field?: FieldPath;
}

/** Filter, then group by the keys (each distinct value, missing and null included, is a group), then aggregate. */
export interface AggregateQuery {
  readonly collection: string;
  readonly where?: Filter;
  readonly groupBy?: readonly FieldPath[];
  readonly aggregates: readonly Aggregate[];
}

/** One result row of a {@link Query}. */
export interface QueryRow {
  readonly id: string;
  /** The document, or its projection when the query has `select`. */
  readonly doc: JsonObject;
}

/** The result of a {@link Query}. */
export interface QueryResult {
  readonly rows: readonly QueryRow[];
  /**
   * A cursor after the last row when the query has a `limit` and the page is full (more rows
   * may follow); undefined otherwise.
   */
  readonly next: Cursor | undefined;
}

/** One group of an {@link AggregateQuery}'s result. */
export interface AggregateRow {
  /** The group's key values in `groupBy` order; `undefined` is a missing field. */
  readonly group: readonly (JsonValue | undefined)[];
  /** Each aggregate's value by its `as` name; null where no value qualified (sum/avg/min/max). */
  readonly values: Readonly<Record<string, JsonValue>>;
}

/**
 * A query compiled once for many rows (execute.ts `compileQuery`). Rows are `[id, doc]` pairs
 * as `Database.documents` yields them.
 */
export interface CompiledQuery {
  readonly query: Query;
  /** Whether a document passes `where`. */
  matches(doc: JsonObject, id: string): boolean;
  /** Orders two rows by `orderBy` then `_id` ascending: negative, 0 (same id) or positive. */
  compare(a: readonly [string, JsonObject], b: readonly [string, JsonObject]): number;
  /** Whether a row lies strictly after the query's `after` cursor (true when there is none). */
  afterCursor(doc: JsonObject, id: string): boolean;
  /** The row as returned: the projection of `select`, or the document itself. */
  project(doc: JsonObject, id: string): JsonObject;
  /** The cursor naming this row in this query's order. */
  cursorOf(doc: JsonObject, id: string): Cursor;
}
