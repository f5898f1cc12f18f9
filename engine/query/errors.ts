/**
 * The query layer's typed error. A query that breaks a rule of the language (wrong type, unknown
 * operator, bad path, bad cursor) is a `QueryError`; one that exceeds a size limit is a
 * `LimitExceededError` (engine/errors.ts) naming the constant from limits.ts.
 */

import { AregulaError } from '../errors.ts';

/** A query (or aggregate query, or cursor) that is not well formed. */
export class QueryError extends AregulaError {
  /** Where in the query the problem is, e.g. `where.and[2].value`. */
  readonly at: string;
  constructor(at: string, detail: string) {
    super('ARE_QUERY_INVALID', `invalid query at ${at}: ${detail}`);
    this.at = at;
  }
}
