/** Compiles a (checked) filter into a predicate over documents. */

import type { JsonObject } from '../crdt/lww.ts';
import type { Filter } from './types.ts';

/** A compiled filter: whether document `doc` with id `id` matches. */
export type DocPredicate = (doc: JsonObject, id: string) => boolean;

/** The predicate of a checked filter (see docs/query.md for each operator's rule). */
export function compileFilter(filter: Filter): DocPredicate {
  throw new Error(`compileFilter: not implemented yet ${String(filter)}`);
}
