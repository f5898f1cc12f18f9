/**
 * Aggregate queries: filter, group by several keys, then count/sum/avg/min/max per group.
 *
 * - Each distinct tuple of group values is a group; values are distinct by the total order
 *   (so 1 and 1.0 are one group, true and 1 two), and missing and null each form their own
 *   group. Groups come out in ascending order of their keys.
 * - `count` without a field counts rows; with one, rows where the field is present and not
 *   null (SQL's COUNT(x)).
 * - `sum` and `avg` take numbers only (other types are skipped); null when no number was
 *   seen. Sums use Neumaier's compensated summation, as SQLite does for reals.
 * - `min` / `max` take every present, non-null value by the total order; null when none.
 * - Without `groupBy` there is exactly one row, even over no documents.
 */

import { canonicalJson, type JsonObject, type JsonValue } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import { LimitExceededError } from '../errors.ts';
import { compareValues, compilePath, type PathGetter } from './compare.ts';
import { compileFilter } from './filter.ts';
import { GROUPS_MAX } from './limits.ts';
import type { Aggregate, AggregateQuery, AggregateRow } from './types.ts';
import { checkAggregateQuery } from './validate.ts';

/** A running aggregate of one group. */
export interface Accumulator {
  /** Adds a row's value of the aggregate's field (or of nothing, for `count` of rows). */
  add(v: JsonValue | undefined): void;
  /** The aggregate's value now. */
  result(): JsonValue;
}

/** Neumaier's compensated sum with the count of terms. */
class NumericSum {
  sum = 0;
  comp = 0;
  n = 0;
  add(x: number): void {
    const t = this.sum + x;
    this.comp += Math.abs(this.sum) >= Math.abs(x) ? this.sum - t + x : x - t + this.sum;
    this.sum = t;
    this.n++;
  }
  total(): number {
    return this.sum + this.comp;
  }
}

/** A fresh accumulator for `agg`. */
export function newAccumulator(agg: Aggregate): Accumulator {
  switch (agg.fn) {
    case 'count': {
      let n = 0;
      const counts =
        agg.field === undefined ? () => true : (v: JsonValue | undefined) => v !== undefined && v !== null;
      return { add: (v) => void (counts(v) && n++), result: () => n };
    }
    case 'sum':
    case 'avg': {
      const s = new NumericSum();
      return {
        add: (v) => void (typeof v === 'number' && s.add(v)),
        result: () => (s.n === 0 ? null : agg.fn === 'sum' ? s.total() : s.total() / s.n),
      };
    }
    case 'min':
    case 'max': {
      const sign = agg.fn === 'min' ? 1 : -1;
      let best: JsonValue | undefined;
      return {
        add: (v) => {
          if (v === undefined || v === null) return;
          if (best === undefined || sign * compareValues(v, best) < 0) best = v;
        },
        result: () => best ?? null,
      };
    }
  }
}

interface Group {
  readonly keys: (JsonValue | undefined)[];
  readonly accs: Accumulator[];
}

/** A string equal for two tuples exactly when they are equal in the total order. */
export function groupKeyText(values: readonly (JsonValue | undefined)[]): string {
  return values.map((v) => (v === undefined ? '~' : canonicalJson(v))).join('\u0000');
}

/** Runs `q` over `rows`; groups come out in ascending order of their keys (compareValues). */
export function runAggregate(
  rows: Iterable<readonly [string, JsonObject]>,
  q: AggregateQuery,
): AggregateRow[] {
  checkAggregateQuery(q);
  const matches = q.where === undefined ? () => true : compileFilter(q.where);
  const keyGetters = (q.groupBy ?? []).map(compilePath);
  const fieldGetters: (PathGetter | undefined)[] = q.aggregates.map((a) =>
    a.field === undefined ? undefined : compilePath(a.field),
  );
  const groups = new Map<string, Group>();
  const newGroup = (keys: (JsonValue | undefined)[]): Group => ({
    keys,
    accs: q.aggregates.map(newAccumulator),
  });
  if (keyGetters.length === 0) groups.set('', newGroup([]));
  for (const [id, doc] of rows) {
    if (!matches(doc, id)) continue;
    const keys = keyGetters.map((g) => g(doc, id));
    const text = groupKeyText(keys);
    let group = groups.get(text);
    if (group === undefined) {
      if (groups.size >= GROUPS_MAX)
        throw new LimitExceededError({
          limit: 'GROUPS_MAX',
          max: GROUPS_MAX,
          actual: groups.size + 1,
          what: 'groups',
        });
      group = newGroup(keys);
      groups.set(text, group);
    }
    for (let i = 0; i < group.accs.length; i++) group.accs[i]!.add(fieldGetters[i]?.(doc, id));
  }
  const out = [...groups.values()].sort((a, b) => compareTuples(a.keys, b.keys));
  return out.map((g) => ({
    group: g.keys,
    values: Object.fromEntries(q.aggregates.map((a, i) => [a.as, g.accs[i]!.result()])),
  }));
}

/** Orders group tuples key by key. */
export function compareTuples(
  a: readonly (JsonValue | undefined)[],
  b: readonly (JsonValue | undefined)[],
): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/** Runs `q` by a full scan of its collection in `db`. */
export function aggregate(db: Database, q: AggregateQuery): AggregateRow[] {
  checkAggregateQuery(q);
  return runAggregate(db.documents(q.collection), q);
}
