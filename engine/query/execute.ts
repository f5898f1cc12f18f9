/**
 * Runs queries by scanning: compile once, then filter, sort, cursor, offset, limit and project.
 * This is the reference semantics that any index-backed plan must reproduce row for row.
 */

import { compareUtf8 } from '../crdt/json.ts';
import type { JsonObject } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import { collectionRows } from './collection-snapshot.ts';
import { ID_FIELD } from './compare.ts';
import { type CursorPosition, decodeCursor, encodeCursor } from './cursor.ts';
import { compileFilter } from './filter.ts';
import { compileProjection } from './project.ts';
import { compileOrder, type RowOrder, type SortValues, TopK } from './sort.ts';
import type { CompiledQuery, Query, QueryResult, QueryRow } from './types.ts';
import { checkQuery } from './validate.ts';

/** Above this many rows (`offset + limit`), a query sorts every match instead of keeping a heap. */
export const TOP_K_ROWS_MAX = 4_096;

/** A compiled query with the parts `runQuery` uses directly. */
export interface QueryParts {
  readonly matches: CompiledQuery['matches'];
  readonly order: RowOrder;
  readonly start: CursorPosition | undefined;
  readonly project: CompiledQuery['project'];
}

/** Compiles checked query `q` into the parts a run needs (no closure it does not use). */
export function compileChecked(q: Query): QueryParts {
  const order = compileOrder(q.orderBy);
  return {
    matches: q.where === undefined ? MATCH_ALL : compileFilter(q.where),
    order,
    start: q.after === undefined ? undefined : decodeCursor(q.after, order.signature, q.orderBy?.length ?? 0),
    project: compileProjection(q.select),
  };
}

const MATCH_ALL = (): boolean => true;

/** Checks and compiles `q` (throws `QueryError` / `LimitExceededError`, see validate.ts). */
export function compileQuery(q: Query): CompiledQuery {
  checkQuery(q);
  return compiledOf(q, compileChecked(q));
}

/** The {@link CompiledQuery} of `q` from its parts. */
export function compiledOf(q: Query, parts: QueryParts): CompiledQuery {
  const { order, start } = parts;
  return {
    query: q,
    matches: parts.matches,
    compare: (a, b) => order.compareKeys(order.keyOf(a[1], a[0]), a[0], order.keyOf(b[1], b[0]), b[0]),
    afterCursor: (doc, id) =>
      start === undefined || order.compareKeys(order.keyOf(doc, id), id, start.values, start.id) > 0,
    project: parts.project,
    cursorOf: (doc, id) => encodeCursor(order.signature, order.keyOf(doc, id), id),
  };
}

interface Candidate {
  readonly id: string;
  readonly doc: JsonObject;
  readonly key: SortValues;
}

/** Options of {@link runQuery}. */
export interface RunQueryOptions {
  /**
   * The rows come in ascending id order (UTF-8 bytes), as `Database.documents` yields them:
   * a query ordered by id alone then stops reading after `offset + limit` matches.
   */
  readonly rowsInIdOrder?: boolean;
}

/** Whether `q` orders by id ascending only (no keys, or `_id` ascending first). */
function isIdOrder(q: Query): boolean {
  const first = q.orderBy?.[0];
  return first === undefined || (first.field === ID_FIELD && first.direction !== 'desc');
}

/**
 * Runs `q` over `rows` (any order): filter, sort, `after`, `offset`, `limit`, projection.
 * With a small `offset + limit` only that many candidates are kept (a bounded heap).
 */
export function runQuery(
  rows: Iterable<readonly [string, JsonObject]>,
  q: Query,
  options: RunQueryOptions = {},
): QueryResult {
  checkQuery(q);
  return runCompiled(rows, q, compileChecked(q), options);
}

/** Orders candidates by `order` (made here so that the comparator is not a named closure per run). */
function candidateOrder(order: RowOrder): (a: Candidate, b: Candidate) => number {
  return (a, b) => order.compareKeys(a.key, a.id, b.key, b.id);
}

/** Whether `items` are already in ascending order by `cmp`. */
function inOrderBy<T>(items: readonly T[], cmp: (a: T, b: T) => number): boolean {
  for (let i = 1; i < items.length; i++) if (cmp(items[i - 1]!, items[i]!) > 0) return false;
  return true;
}

/** {@link runQuery} for a checked query `q` compiled into `parts`. */
export function runCompiled(
  rows: Iterable<readonly [string, JsonObject]>,
  q: Query,
  parts: QueryParts,
  options: RunQueryOptions = {},
): QueryResult {
  const { matches, order, start, project } = parts;
  const from = q.offset ?? 0;
  const wanted = q.limit === undefined ? undefined : from + q.limit;
  if (
    start === undefined &&
    (wanted === undefined || wanted > TOP_K_ROWS_MAX) &&
    (q.orderBy?.length ?? 0) === 0
  )
    return runById(rows, q, parts, options.rowsInIdOrder === true);
  const cmp = candidateOrder(order);
  const top = wanted !== undefined && wanted <= TOP_K_ROWS_MAX ? new TopK(wanted, cmp) : undefined;
  const all: Candidate[] = [];
  const inOrder = options.rowsInIdOrder === true && isIdOrder(q);
  let kept = 0;
  for (const [id, doc] of rows) {
    if (!matches(doc, id)) continue;
    const key = order.keyOf(doc, id);
    if (start !== undefined && order.compareKeys(key, id, start.values, start.id) <= 0) continue;
    if (top === undefined) all.push({ id, doc, key });
    else top.push({ id, doc, key });
    // Rows already in the query's order: the first `wanted` matches are the answer.
    if (inOrder && wanted !== undefined && ++kept >= wanted) break;
  }
  // Rows often come in the query's order already (an index range by id): checked in n - 1
  // comparisons instead of sorting (a stable sort of sorted rows changes nothing).
  const sorted = top === undefined ? (inOrderBy(all, cmp) ? all : all.sort(cmp)) : top.sorted();
  const page = wanted === undefined && from === 0 ? sorted : sorted.slice(from, wanted);
  const out: QueryRow[] = new Array(page.length);
  for (let i = 0; i < page.length; i++) out[i] = { id: page[i]!.id, doc: project(page[i]!.doc, page[i]!.id) };
  const last = page[page.length - 1];
  const full = q.limit !== undefined && last !== undefined && page.length === q.limit;
  return { rows: out, next: full ? encodeCursor(order.signature, last.key, last.id) : undefined };
}

/** Orders rows by id (UTF-8 bytes); ids within one result are distinct. */
const byRowId = (a: readonly [string, JsonObject], b: readonly [string, JsonObject]): number =>
  compareUtf8(a[0], b[0]);

/**
 * {@link runCompiled} for a query ordered by id alone, without a cursor or a bounded heap: the
 * matching rows are kept as they come (no sort values to carry per row) and sorted only when
 * they are not in id order already. Same result as the general path.
 */
function runById(
  rows: Iterable<readonly [string, JsonObject]>,
  q: Query,
  parts: QueryParts,
  rowsInIdOrder: boolean,
): QueryResult {
  const { matches, order, project } = parts;
  const from = q.offset ?? 0;
  const wanted = q.limit === undefined ? undefined : from + q.limit;
  const all: (readonly [string, JsonObject])[] = [];
  for (const row of rows) {
    if (!matches(row[1], row[0])) continue;
    all.push(row);
    // Rows already in id order: the first `wanted` matches are the answer.
    if (rowsInIdOrder && wanted !== undefined && all.length >= wanted) break;
  }
  if (!inOrderBy(all, byRowId)) all.sort(byRowId);
  const end = wanted === undefined ? all.length : Math.min(wanted, all.length);
  const out: QueryRow[] = new Array(Math.max(0, end - from));
  for (let i = from; i < end; i++) out[i - from] = { id: all[i]![0], doc: project(all[i]![1], all[i]![0]) };
  // The cursor names the last row of a full page by its stored document, not its projection.
  const last = end > from ? all[end - 1] : undefined;
  const full = q.limit !== undefined && last !== undefined && out.length === q.limit;
  return {
    rows: out,
    next: full ? encodeCursor(order.signature, order.keyOf(last[1], last[0]), last[0]) : undefined,
  };
}

/**
 * Runs `q` by a full scan of its collection in `db`: of the collection's in-memory snapshot
 * when one is held, else of the store (collection-snapshot.ts).
 */
export function find(db: Database, q: Query): QueryResult {
  checkQuery(q); // Before touching the database: the collection name is checked there too.
  return runQuery(collectionRows(db, q.collection), q, { rowsInIdOrder: true });
}
