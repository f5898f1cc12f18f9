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
  if (orderBy.length === 0) return ID_ORDER;
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

const NO_SORT_VALUES: SortValues = Object.freeze([]);

/** The order of a query without sort keys (by id alone), shared by every such query. */
const ID_ORDER: RowOrder = Object.freeze({
  keyOf: () => NO_SORT_VALUES,
  compareKeys: (_ka: SortValues, ida: string, _kb: SortValues, idb: string) =>
    ida === idb ? 0 : compareUtf8(ida, idb),
  signature: JSON.stringify([]),
});

/**
 * Keeps the `k` least items pushed so far by `compare` (a bounded max-heap), so that a query
 * with a small `offset + limit` sorts k items instead of every match.
 */
export class TopK<T> {
  private readonly heap: T[] = [];

  constructor(
    private readonly k: number,
    private readonly compare: (a: T, b: T) => number,
  ) {}

  /** Offers `item`; it is kept if it is among the `k` least so far. */
  push(item: T): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(item);
      this.up(h.length - 1);
    } else if (h.length > 0 && this.compare(item, h[0]!) < 0) {
      h[0] = item;
      this.down(0);
    }
  }

  /** The kept items in ascending order. */
  sorted(): T[] {
    return [...this.heap].sort(this.compare);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(h[i]!, h[parent]!) <= 0) return;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < h.length && this.compare(h[l]!, h[top]!) > 0) top = l;
      if (r < h.length && this.compare(h[r]!, h[top]!) > 0) top = r;
      if (top === i) return;
      [h[i], h[top]] = [h[top]!, h[i]!];
      i = top;
    }
  }
}
