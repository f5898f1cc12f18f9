/** Runs queries: compile once, then filter, sort, cursor/offset/limit and project rows. */

import type { JsonObject } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import type { CompiledQuery, Query, QueryResult } from './types.ts';

/** Checks and compiles `q`. */
export function compileQuery(q: Query): CompiledQuery {
  throw new Error(`compileQuery: not implemented yet ${String(q)}`);
}

/** Runs `q` over `rows` (any order): filter, sort, `after`, `offset`, `limit`, projection. */
export function runQuery(rows: Iterable<readonly [string, JsonObject]>, q: Query): QueryResult {
  throw new Error(`runQuery: not implemented yet ${String(rows)} ${String(q)}`);
}

/** Runs `q` by a full scan of its collection in `db`. */
export function find(db: Database, q: Query): QueryResult {
  throw new Error(`find: not implemented yet ${String(db)} ${String(q)}`);
}
