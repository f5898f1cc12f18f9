/**
 * Runs queries by scanning: compile once, then filter, sort, cursor, offset, limit and project.
 * This is the reference semantics that any index-backed plan must reproduce row for row.
 */

import type { JsonObject } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { compileFilter } from './filter.ts';
import { compileProjection } from './project.ts';
import { compileOrder, type SortValues } from './sort.ts';
import type { CompiledQuery, Query, QueryResult, QueryRow } from './types.ts';
import { checkQuery } from './validate.ts';

/** Checks and compiles `q` (throws `QueryError` / `LimitExceededError`, see validate.ts). */
export function compileQuery(q: Query): CompiledQuery {
  checkQuery(q);
  const matches = q.where === undefined ? () => true : compileFilter(q.where);
  const order = compileOrder(q.orderBy);
  const keyCount = q.orderBy?.length ?? 0;
  const start = q.after === undefined ? undefined : decodeCursor(q.after, order.signature, keyCount);
  return {
    query: q,
    matches,
    compare: (a, b) => order.compareKeys(order.keyOf(a[1], a[0]), a[0], order.keyOf(b[1], b[0]), b[0]),
    afterCursor: (doc, id) =>
      start === undefined || order.compareKeys(order.keyOf(doc, id), id, start.values, start.id) > 0,
    project: compileProjection(q.select),
    cursorOf: (doc, id) => encodeCursor(order.signature, order.keyOf(doc, id), id),
  };
}

interface Candidate {
  readonly id: string;
  readonly doc: JsonObject;
  readonly key: SortValues;
}

/** Runs `q` over `rows` (any order): filter, sort, `after`, `offset`, `limit`, projection. */
export function runQuery(rows: Iterable<readonly [string, JsonObject]>, q: Query): QueryResult {
  const compiled = compileQuery(q);
  const order = compileOrder(q.orderBy);
  const start =
    q.after === undefined ? undefined : decodeCursor(q.after, order.signature, q.orderBy?.length ?? 0);
  const found: Candidate[] = [];
  for (const [id, doc] of rows) {
    if (!compiled.matches(doc, id)) continue;
    const key = order.keyOf(doc, id);
    if (start !== undefined && order.compareKeys(key, id, start.values, start.id) <= 0) continue;
    found.push({ id, doc, key });
  }
  found.sort((a, b) => order.compareKeys(a.key, a.id, b.key, b.id));
  const from = q.offset ?? 0;
  const page = found.slice(from, q.limit === undefined ? undefined : from + q.limit);
  const out: QueryRow[] = page.map((c) => ({ id: c.id, doc: compiled.project(c.doc, c.id) }));
  const last = page[page.length - 1];
  const full = q.limit !== undefined && last !== undefined && page.length === q.limit;
  return { rows: out, next: full ? encodeCursor(order.signature, last.key, last.id) : undefined };
}

/** Runs `q` by a full scan of its collection in `db`. */
export function find(db: Database, q: Query): QueryResult {
  checkQuery(q);
  return runQuery(db.documents(q.collection), q);
}
