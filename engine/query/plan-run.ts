/**
 * Runs a query through the plan the planner chose: gathers candidate documents (from the whole
 * collection, from `_id` lookups, or from index ranges), then hands them to `runQuery`, the
 * reference semantics, which checks the filter and the cursor, sorts, pages and projects. So a
 * plan decides only which documents are looked at, never what the result is.
 *
 * An index plan that gives the query's order and has a limit stops early: rows come out of the
 * index in runs of equal sort values (by key bytes), each run sorted by the full order (which
 * breaks ties by id), and the scan ends after the run in which `offset + limit` matching rows
 * have been gathered. Descending plans read the ranges' keys first (the LSM scans forwards
 * only), then fetch documents from the end.
 */

import type { JsonObject } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import { CorruptionError } from '../errors.ts';
import { visitScanKeys } from '../lsm/scan.ts';
import { collectionRows, documentReader } from './collection-snapshot.ts';
import { compileChecked, compiledOf, type QueryParts, runCompiled } from './execute.ts';
import { decodeUtf8Range, skipValue } from './index-key.ts';
import { type IndexPlan, type Plan, planQuery } from './planner.ts';
import type { CompiledQuery, Query, QueryResult } from './types.ts';
import { checkQuery } from './validate.ts';

type Row = readonly [string, JsonObject];

/** Runs `q` over `db`, using a secondary index or `_id` lookups where the planner finds one. */
export function findPlanned(db: Database, q: Query): QueryResult {
  checkQuery(q);
  return runPlan(db, q, planQuery(db, q));
}

/** Runs checked query `q` by `plan`. */
export function runPlan(db: Database, q: Query, plan: Plan): QueryResult {
  const parts = compileChecked(q);
  // Documents come in id order: a query ordered by id stops after `offset + limit` matches.
  // Through the collection's in-memory snapshot when one is held (collection-snapshot.ts).
  if (plan.kind === 'full-scan')
    return runCompiled(collectionRows(db, q.collection), q, parts, { rowsInIdOrder: true });
  if (plan.kind === 'id-lookup') {
    const rows: Row[] = [];
    const read = documentReader(db, q.collection);
    for (const id of plan.ids) {
      const doc = read(id);
      if (doc !== undefined) rows.push([id, doc]);
    }
    return runCompiled(rows, q, parts);
  }
  if (plan.earlyStop) return runCompiled(orderedCandidates(db, q, plan, parts), q, parts);
  return runCompiled(indexCandidates(db, plan), q, parts);
}

/** Where the id starts in a row key of `plan`'s index (after the prefix and every field value). */
function idOffset(plan: IndexPlan, key: Uint8Array): number {
  let at = plan.index.prefix.length;
  for (let i = 0; i < plan.index.fields.length; i++) at = skipValue(key, at);
  return at;
}

/** The document an index row names; a row without its document is corruption. */
function docOf(read: (id: string) => JsonObject | undefined, plan: IndexPlan, id: string): JsonObject {
  const doc = read(id);
  if (doc === undefined)
    throw new CorruptionError({
      file: plan.index.viewName,
      offset: 0,
      detail: `index row names missing document ${id}`,
    });
  return doc;
}

/** Every document in `plan`'s ranges. */
function indexCandidates(db: Database, plan: IndexPlan): Row[] {
  const rows: Row[] = [];
  const read = documentReader(db, plan.collection);
  // Keys are views valid during the visit only: the id is decoded from them at once.
  const visit = (key: Uint8Array) => {
    const id = decodeUtf8Range(key, idOffset(plan, key), key.length);
    rows.push([id, docOf(read, plan, id)]);
  };
  for (const range of plan.ranges)
    visitScanKeys(db.derivedRows(plan.index.viewName, { gte: range.gte, lt: range.lt }), visit);
  return rows;
}

/** The bytes of a key's sort fields (its run: rows in one run have equal sort values). */
function runOf(plan: IndexPlan, key: Uint8Array): string {
  let at = plan.index.prefix.length;
  for (let i = 0; i < plan.orderFrom; i++) at = skipValue(key, at);
  const start = at;
  for (let i = 0; i < plan.orderFields; i++) at = skipValue(key, at);
  let s = '';
  for (let i = start; i < at; i++) s += String.fromCharCode(key[i]!);
  return s;
}

/** The keys of `plan`'s ranges in scan order: ascending, or all read then reversed. */
function* keysInOrder(db: Database, plan: IndexPlan): Generator<Uint8Array> {
  if (!plan.descending) {
    for (const range of plan.ranges)
      for (const [key] of db.derivedRows(plan.index.viewName, { gte: range.gte, lt: range.lt })) yield key;
    return;
  }
  const keys: Uint8Array[] = [];
  for (const range of plan.ranges)
    for (const [key] of db.derivedRows(plan.index.viewName, { gte: range.gte, lt: range.lt })) keys.push(key);
  for (let i = keys.length - 1; i >= 0; i--) yield keys[i]!;
}

/**
 * The matching rows after the cursor, in the query's order, up to the end of the run that
 * brings them to `offset + limit` (a superset of the page that `runQuery` then cuts).
 */
function orderedCandidates(db: Database, q: Query, plan: IndexPlan, parts: QueryParts): Row[] {
  const compiled: CompiledQuery = compiledOf(q, parts);
  const read = documentReader(db, plan.collection);
  const want = (q.offset ?? 0) + (q.limit ?? 0);
  const out: Row[] = [];
  let run: Row[] = [];
  let runKey: string | undefined;
  const endRun = (): boolean => {
    run.sort(compiled.compare);
    for (const row of run) out.push(row);
    run = [];
    return out.length >= want;
  };
  for (const key of keysInOrder(db, plan)) {
    const name = runOf(plan, key);
    if (runKey !== undefined && name !== runKey && endRun()) return out;
    runKey = name;
    const id = decodeUtf8Range(key, idOffset(plan, key), key.length);
    const doc = docOf(read, plan, id);
    if (compiled.matches(doc, id) && compiled.afterCursor(doc, id)) run.push([id, doc]);
  }
  endRun();
  return out;
}
