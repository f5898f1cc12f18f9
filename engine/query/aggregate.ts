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

import type { JsonObject, JsonValue } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import { LimitExceededError } from '../errors.ts';
import { collectionRows } from './collection-snapshot.ts';
import { compareValues, compilePath, containerText, type PathGetter } from './compare.ts';
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
          if (typeof v === 'number' && typeof best === 'number') {
            if (sign * (v - best) < 0) best = v; // The common case, without the general comparison.
          } else if (best === undefined || sign * compareValues(v, best) < 0) {
            best = v;
          }
        },
        result: () => best ?? null,
      };
    }
  }
}

/** A group of an aggregation: its key values and its number. */
export interface Group {
  readonly keys: (JsonValue | undefined)[];
  /** The group's number: its slot in every {@link AggregateColumn}. */
  readonly index: number;
}

/** What an {@link AggregateColumn} computes. */
enum Fold {
  CountRows,
  CountField,
  Sum,
  Avg,
  Min,
  Max,
}

/**
 * One aggregate of every group, in arrays indexed by group number: the same arithmetic as
 * {@link newAccumulator} (so the same results, bit for bit), without an object and a closure
 * call per group and aggregate on every row.
 */
export class AggregateColumn {
  private readonly fold: Fold;
  private readonly n: number[] = [];
  private readonly sum: number[] = [];
  private readonly comp: number[] = [];
  private readonly best: (JsonValue | undefined)[] = [];

  constructor(agg: Aggregate) {
    const folds: Record<Aggregate['fn'], Fold> = {
      count: agg.field === undefined ? Fold.CountRows : Fold.CountField,
      sum: Fold.Sum,
      avg: Fold.Avg,
      min: Fold.Min,
      max: Fold.Max,
    };
    this.fold = folds[agg.fn];
  }

  /** Makes room for one more group. */
  addGroup(): void {
    this.n.push(0);
    this.sum.push(0);
    this.comp.push(0);
    this.best.push(undefined);
  }

  /** Adds a row of group `g` whose aggregated field is `v`. */
  add(g: number, v: JsonValue | undefined): void {
    switch (this.fold) {
      case Fold.CountRows:
        this.n[g]!++;
        return;
      case Fold.CountField:
        if (v !== undefined && v !== null) this.n[g]!++;
        return;
      case Fold.Sum:
      case Fold.Avg: {
        if (typeof v !== 'number') return;
        const sum = this.sum[g]!;
        const t = sum + v; // Neumaier's compensated sum, as NumericSum.
        this.comp[g]! += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
        this.sum[g] = t;
        this.n[g]!++;
        return;
      }
      default: {
        if (v === undefined || v === null) return;
        const sign = this.fold === Fold.Min ? 1 : -1;
        const best = this.best[g];
        if (typeof v === 'number' && typeof best === 'number') {
          if (sign * (v - best) < 0) this.best[g] = v;
        } else if (best === undefined || sign * compareValues(v, best) < 0) {
          this.best[g] = v;
        }
      }
    }
  }

  /** The aggregate's value for group `g`. */
  result(g: number): JsonValue {
    switch (this.fold) {
      case Fold.CountRows:
      case Fold.CountField:
        return this.n[g]!;
      case Fold.Sum:
      case Fold.Avg: {
        const n = this.n[g]!;
        if (n === 0) return null;
        const total = this.sum[g]! + this.comp[g]!;
        return this.fold === Fold.Sum ? total : total / n;
      }
      default:
        return this.best[g] ?? null;
    }
  }
}

/**
 * A string equal for two tuples exactly when they are equal in the total order: a type tag
 * and a text per value (`String` of a number maps -0 to 0 like the order; strings and
 * containers as JSON text, which escapes U+0000, the separator). Stable within one process
 * only: not a persisted format.
 */
export function groupKeyText(values: readonly (JsonValue | undefined)[]): string {
  if (values.length === 1) return valueKeyText(values[0]);
  let out = '';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : '\u0000') + valueKeyText(values[i]);
  return out;
}

function valueKeyText(v: JsonValue | undefined): string {
  if (v === undefined) return '~';
  if (v === null) return 'n';
  switch (typeof v) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'number':
      return `d${v}`;
    case 'string':
      return `s${JSON.stringify(v)}`;
    default:
      return `c${containerText(v)}`;
  }
}

/**
 * Finds each row's group. One key (the common case) maps scalars directly in a `Map`
 * (SameValueZero: distinct types stay distinct, -0 is 0, as the order wants) and containers
 * by canonical text; several keys go through {@link groupKeyText}.
 */
export class GroupTable {
  private readonly scalars = new Map<JsonValue | undefined, Group>();
  private readonly texts = new Map<string, Group>();
  private count = 0;

  constructor(
    private readonly getters: readonly PathGetter[],
    private readonly make: (keys: (JsonValue | undefined)[]) => Group,
  ) {
    if (getters.length === 0) this.add(this.texts, '', []);
  }

  /** The group of the row (created on first sight). */
  groupOf(doc: JsonObject, id: string): Group {
    if (this.getters.length === 1) {
      const v = this.getters[0]!(doc, id);
      if (typeof v !== 'object' || v === null) return this.scalars.get(v) ?? this.add(this.scalars, v, [v]);
      const text = containerText(v);
      return this.texts.get(text) ?? this.add(this.texts, text, [v]);
    }
    const keys = this.getters.map((g) => g(doc, id));
    const text = groupKeyText(keys);
    return this.texts.get(text) ?? this.add(this.texts, text, keys);
  }

  private add<K>(map: Map<K, Group>, key: K, keys: (JsonValue | undefined)[]): Group {
    if (this.count >= GROUPS_MAX)
      throw new LimitExceededError({
        limit: 'GROUPS_MAX',
        max: GROUPS_MAX,
        actual: this.count + 1,
        what: 'groups',
      });
    this.count++;
    const group = this.make(keys);
    map.set(key, group);
    return group;
  }

  /** Every group, in ascending order of the keys. */
  sorted(): Group[] {
    return [...this.scalars.values(), ...this.texts.values()].sort((a, b) => compareTuples(a.keys, b.keys));
  }
}

/** Runs `q` over `rows`; groups come out in ascending order of their keys (compareValues). */
export function runAggregate(
  rows: Iterable<readonly [string, JsonObject]>,
  q: AggregateQuery,
): AggregateRow[] {
  checkAggregateQuery(q);
  const matches = q.where === undefined ? undefined : compileFilter(q.where);
  // Each distinct field is read once per row, however many aggregates take it (sum and avg).
  const paths: string[] = [];
  const slotOf = q.aggregates.map((a) => {
    if (a.field === undefined) return -1;
    const at = paths.indexOf(a.field);
    return at >= 0 ? at : paths.push(a.field) - 1;
  });
  const getters = paths.map(compilePath);
  const values: (JsonValue | undefined)[] = paths.map(() => undefined);
  const columns = q.aggregates.map((a) => new AggregateColumn(a));
  let groups = 0;
  const table = new GroupTable((q.groupBy ?? []).map(compilePath), (keys) => {
    for (const c of columns) c.addGroup();
    return { keys, index: groups++ };
  });
  const addRow = (id: string, doc: JsonObject) => {
    if (matches !== undefined && !matches(doc, id)) return;
    const g = table.groupOf(doc, id).index;
    for (let p = 0; p < getters.length; p++) values[p] = getters[p]!(doc, id);
    for (let i = 0; i < columns.length; i++) {
      const slot = slotOf[i]!;
      columns[i]!.add(g, slot < 0 ? undefined : values[slot]);
    }
  };
  // An array (a collection snapshot) is walked by index, without the iterator protocol.
  if (Array.isArray(rows)) {
    const list = rows as readonly (readonly [string, JsonObject])[];
    for (let k = 0; k < list.length; k++) addRow(list[k]![0], list[k]![1]);
  } else {
    for (const [id, doc] of rows) addRow(id, doc);
  }
  return table.sorted().map((g) => ({
    group: g.keys,
    values: Object.fromEntries(q.aggregates.map((a, i) => [a.as, columns[i]!.result(g.index)])),
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

/**
 * Runs `q` by a full scan of its collection in `db`: of the collection's in-memory snapshot
 * when one is held, else of the store (collection-snapshot.ts).
 */
export function aggregate(db: Database, q: AggregateQuery): AggregateRow[] {
  checkAggregateQuery(q);
  return runAggregate(collectionRows(db, q.collection), q);
}
