/**
 * Cursors: an opaque string that names one row of one ordering, so that the next page starts
 * strictly after it. It holds the ordering's signature, the row's sort values and its id; since
 * the order is total (ids break ties), "after" is exact under ties and still meaningful when
 * that row has since changed or been deleted.
 *
 * Format (version 1; callers must treat it as opaque): `c1` followed by the JSON text of
 * `[signature, values, id]`, where each sort value is `[]` when missing or `[value]`.
 */

import type { JsonValue } from '../crdt/lww.ts';
import { QueryError } from './errors.ts';
import type { SortValues } from './sort.ts';
import type { Cursor } from './types.ts';

const PREFIX = 'c1';

/** A decoded cursor. */
export interface CursorPosition {
  readonly values: SortValues;
  readonly id: string;
}

/** The cursor of the row with sort values `values` and id `id` in the ordering `signature`. */
export function encodeCursor(signature: string, values: SortValues, id: string): Cursor {
  return PREFIX + JSON.stringify([signature, values.map((v) => (v === undefined ? [] : [v])), id]);
}

function bad(detail: string): QueryError {
  return new QueryError('after', `not a cursor of this query (${detail})`);
}

/**
 * Decodes `cursor` for the ordering `signature` with `keys` sort keys; throws a
 * {@link QueryError} for anything that is not such a cursor (length is checked by checkQuery).
 */
export function decodeCursor(cursor: Cursor, signature: string, keys: number): CursorPosition {
  if (!cursor.startsWith(PREFIX)) throw bad('unknown format');
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor.slice(PREFIX.length));
  } catch {
    throw bad('malformed');
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw bad('malformed');
  const [sig, values, id] = parsed as unknown[];
  if (sig !== signature) throw bad('made for another orderBy');
  if (typeof id !== 'string') throw bad('malformed id');
  if (!Array.isArray(values) || values.length !== keys) throw bad('wrong number of sort values');
  const out: (JsonValue | undefined)[] = [];
  for (const v of values) {
    if (!Array.isArray(v) || v.length > 1) throw bad('malformed sort value');
    out.push(v.length === 0 ? undefined : (v[0] as JsonValue));
  }
  return { values: out, id };
}
