/** Aggregate queries: filter, group by several keys, then count/sum/avg/min/max per group. */

import type { JsonObject } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import type { AggregateQuery, AggregateRow } from './types.ts';

/** Runs `q` over `rows`; groups come out in ascending order of their keys (compareValues). */
export function runAggregate(
  rows: Iterable<readonly [string, JsonObject]>,
  q: AggregateQuery,
): AggregateRow[] {
  throw new Error(`runAggregate: not implemented yet ${String(rows)} ${String(q)}`);
}

/** Runs `q` by a full scan of its collection in `db`. */
export function aggregate(db: Database, q: AggregateQuery): AggregateRow[] {
  throw new Error(`aggregate: not implemented yet ${String(db)} ${String(q)}`);
}
