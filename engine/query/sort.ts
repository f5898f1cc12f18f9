/**
 * Row order: the query's sort keys by the total order of compareValues (each ascending or
 * descending), then the document id ascending by UTF-8 bytes, whatever the keys' directions,
 * so that the order is total and pages never overlap or skip.
 */

import { compareUtf8, type JsonObject, type JsonValue } from '../crdt/lww.ts';
import { compareValues, compilePath, type PathGetter } from './compare.ts';
import type { SortKey } from './types.ts';

/** A row's values of the sort keys, in key order (`undefined`: missing). */
export type SortValues = readonly (JsonValue | undefined)[];

/** A compiled ordering. */
export interface RowOrder {
  /** The row's sort values. */
  keyOf(doc: JsonObject, id: string): SortValues;
  /** Orders two rows given their sort values and ids. */
  compareKeys(ka: SortValues, ida: string, kb: SortValues, idb: string): number;
  /** A string that names the ordering, stored in cursors to refuse one from another ordering. */
  readonly signature: string;
}

/** Compiles `orderBy` (checked). */
export function compileOrder(orderBy: readonly SortKey[] = []): RowOrder {
  const getters: PathGetter[] = orderBy.map((k) => compilePath(k.field));
  const signs = orderBy.map((k) => (k.direction === 'desc' ? -1 : 1));
  return {
    keyOf: (doc, id) => getters.map((g) => g(doc, id)),
    compareKeys(ka, ida, kb, idb) {
      for (let i = 0; i < signs.length; i++) {
        const c = compareValues(ka[i], kb[i]);
        if (c !== 0) return c * signs[i]!;
      }
      return ida === idb ? 0 : compareUtf8(ida, idb);
    },
    signature: JSON.stringify(orderBy.map((k) => [k.field, k.direction === 'desc' ? 'desc' : 'asc'])),
  };
}
