/**
 * Checks queries before they run: shape, types, operators, paths and every limit in limits.ts.
 */

import type { AggregateQuery, Query } from './types.ts';

/** Throws a `QueryError` or `LimitExceededError` unless `q` is a well-formed {@link Query}. */
export function checkQuery(q: unknown): asserts q is Query {
  throw new Error(`checkQuery: not implemented yet ${String(q)}`);
}

/** Throws a `QueryError` or `LimitExceededError` unless `q` is a well-formed {@link AggregateQuery}. */
export function checkAggregateQuery(q: unknown): asserts q is AggregateQuery {
  throw new Error(`checkAggregateQuery: not implemented yet ${String(q)}`);
}
