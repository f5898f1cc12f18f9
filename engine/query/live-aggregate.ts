/**
 * Live aggregations: `subscribeAggregate(db, q, callback)` delivers `runAggregate`'s result
 * for `q`, then a new one after every tick in which a committed change altered it.
 *
 * Each group keeps its member documents' aggregate inputs (by id) and, per aggregate, a running
 * state updated as rows join and leave:
 * - `count`: a counter;
 * - `sum` / `avg`: an exact (BigInt) sum of the safe-integer inputs. While every input is a
 *   safe integer and the sum of their magnitudes is within 2^53, every partial sum is exact in
 *   any order, so that sum equals the reference's compensated sum in id order; otherwise the
 *   group's sum is recomputed from its members in id order at delivery (floating-point
 *   addition depends on order);
 * - `min` / `max`: the extreme is kept; when a row holding it leaves, it is recomputed from the
 *   group's members at delivery.
 * Deliveries are coalesced per tick as in live.ts.
 */

import { compareUtf8, type JsonObject, type JsonValue } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import type { DocChange } from '../db/derived.ts';
import { LimitExceededError } from '../errors.ts';
import { compareTuples, groupKeyText, newAccumulator } from './aggregate.ts';
import { collectionRows } from './collection-snapshot.ts';
import { compareValues, compilePath, type PathGetter } from './compare.ts';
import { compileFilter } from './filter.ts';
import { GROUPS_MAX } from './limits.ts';
import type { LiveOptions } from './live.ts';
import type { AggregateQuery, AggregateRow } from './types.ts';
import { checkAggregateQuery } from './validate.ts';

/** Largest sum of magnitudes for which integer sums are exact in every order. */
const EXACT_SUM_MAX = 2n ** 53n;

/** Receives each new result of a live aggregation. */
export type LiveAggregateCallback = (rows: AggregateRow[]) => void;

/** The running state of one aggregate in one group. */
interface AggState {
  /** count: rows counted; sum/avg: number of numeric inputs. */
  n: number;
  /** sum/avg: the exact sum of the safe-integer inputs. */
  sum: bigint;
  /** sum/avg: Σ|x| of the safe-integer inputs, to know that every partial sum is exact. */
  magnitude: bigint;
  /** sum/avg: inputs that are not safe integers. */
  fractional: number;
  /** min/max: the extreme (undefined: none, or unknown when `stale`). */
  best: JsonValue | undefined;
  /** Whether the value must be recomputed from the members before delivery. */
  stale: boolean;
}

interface Group {
  readonly keys: (JsonValue | undefined)[];
  /** Each member's inputs, one per aggregate (undefined: the field is missing). */
  readonly members: Map<string, (JsonValue | undefined)[]>;
  readonly states: AggState[];
}

class LiveAggregate {
  private readonly matches: (doc: JsonObject, id: string) => boolean;
  private readonly keyGetters: PathGetter[];
  private readonly fieldGetters: (PathGetter | undefined)[];
  private readonly groups = new Map<string, Group>();
  /** The group text of every matching document. */
  private readonly groupOf = new Map<string, string>();
  private dirty = true;
  private scheduled = false;
  private closed = false;

  constructor(
    db: Database,
    private readonly q: AggregateQuery,
    private readonly callback: LiveAggregateCallback,
    private readonly schedule: (fn: () => void) => void,
  ) {
    this.matches = q.where === undefined ? () => true : compileFilter(q.where);
    this.keyGetters = (q.groupBy ?? []).map(compilePath);
    this.fieldGetters = q.aggregates.map((a) => (a.field === undefined ? undefined : compilePath(a.field)));
    if (this.keyGetters.length === 0) this.groups.set('', this.newGroup([]));
    for (const [id, doc] of collectionRows(db, q.collection)) this.add(id, doc);
  }

  private newGroup(keys: (JsonValue | undefined)[]): Group {
    const states = this.q.aggregates.map(
      (): AggState => ({ n: 0, sum: 0n, magnitude: 0n, fractional: 0, best: undefined, stale: false }),
    );
    return { keys, members: new Map(), states };
  }

  apply(changes: readonly DocChange[]): void {
    for (const c of changes) {
      if (c.collection !== this.q.collection) continue;
      if (this.groupOf.has(c.id)) this.remove(c.id);
      if (c.after !== undefined) this.add(c.id, c.after);
    }
    if (this.dirty) this.wake();
  }

  private add(id: string, doc: JsonObject): void {
    if (!this.matches(doc, id)) return;
    const keys = this.keyGetters.map((g) => g(doc, id));
    const text = groupKeyText(keys);
    let group = this.groups.get(text);
    if (group === undefined) {
      if (this.groups.size >= GROUPS_MAX)
        throw new LimitExceededError({
          limit: 'GROUPS_MAX',
          max: GROUPS_MAX,
          actual: this.groups.size + 1,
          what: 'groups',
        });
      group = this.newGroup(keys);
      this.groups.set(text, group);
    }
    const inputs = this.fieldGetters.map((g) => g?.(doc, id));
    group.members.set(id, inputs);
    this.groupOf.set(id, text);
    this.q.aggregates.forEach((agg, i) => {
      const s = group.states[i]!;
      const v = inputs[i];
      if (agg.fn === 'count') {
        if (agg.field === undefined || (v !== undefined && v !== null)) s.n++;
      } else if (agg.fn === 'sum' || agg.fn === 'avg') {
        if (typeof v === 'number') {
          s.n++;
          if (Number.isSafeInteger(v)) {
            s.sum += BigInt(v);
            s.magnitude += BigInt(Math.abs(v));
          } else s.fractional++;
        }
      } else if (v !== undefined && v !== null && !s.stale) {
        const sign = agg.fn === 'min' ? 1 : -1;
        if (s.best === undefined || sign * compareValues(v, s.best) < 0) s.best = v;
      }
    });
    this.dirty = true;
  }

  private remove(id: string): void {
    const text = this.groupOf.get(id)!;
    const group = this.groups.get(text)!;
    const inputs = group.members.get(id)!;
    group.members.delete(id);
    this.groupOf.delete(id);
    this.q.aggregates.forEach((agg, i) => {
      const s = group.states[i]!;
      const v = inputs[i];
      if (agg.fn === 'count') {
        if (agg.field === undefined || (v !== undefined && v !== null)) s.n--;
      } else if (agg.fn === 'sum' || agg.fn === 'avg') {
        if (typeof v === 'number') {
          s.n--;
          if (Number.isSafeInteger(v)) {
            s.sum -= BigInt(v);
            s.magnitude -= BigInt(Math.abs(v));
          } else s.fractional--;
        }
      } else if (v !== undefined && v !== null && s.best !== undefined && compareValues(v, s.best) === 0) {
        s.stale = true;
      }
    });
    if (group.members.size === 0 && this.keyGetters.length > 0) this.groups.delete(text);
    this.dirty = true;
  }

  /** The value of aggregate `i` of `group`, recomputing from the members where needed. */
  private aggregateValue(group: Group, i: number): JsonValue {
    const agg = this.q.aggregates[i]!;
    const s = group.states[i]!;
    if (agg.fn === 'count') return s.n;
    if (agg.fn === 'sum' || agg.fn === 'avg') {
      if (s.n === 0) return null;
      if (s.fractional === 0 && s.magnitude <= EXACT_SUM_MAX) {
        const sum = Number(s.sum);
        return agg.fn === 'sum' ? sum : sum / s.n;
      }
      return this.recompute(group, i);
    }
    if (s.stale) {
      s.stale = false;
      const best = this.recompute(group, i);
      s.best = best === null ? undefined : best;
    }
    return s.best ?? null;
  }

  /** Aggregate `i` of `group` from its members in id order, as the reference computes it. */
  private recompute(group: Group, i: number): JsonValue {
    const acc = newAccumulator(this.q.aggregates[i]!);
    const ids = [...group.members.keys()].sort(compareUtf8);
    for (const id of ids) acc.add(group.members.get(id)![i]);
    return acc.result();
  }

  wake(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || !this.dirty) return;
    this.dirty = false;
    this.callback(this.result());
  }

  /** The result now, as `runAggregate` would return it. */
  result(): AggregateRow[] {
    const groups = [...this.groups.values()].sort((a, b) => compareTuples(a.keys, b.keys));
    return groups.map((g) => ({
      group: g.keys,
      values: Object.fromEntries(this.q.aggregates.map((a, i) => [a.as, this.aggregateValue(g, i)])),
    }));
  }

  close(): void {
    this.closed = true;
    this.groups.clear();
    this.groupOf.clear();
  }
}

/**
 * Subscribes `callback` to the results of aggregate query `q` (checked first). Reads the
 * collection once to start, then follows every committed change. Returns the function that
 * ends the subscription and frees its state.
 */
export function subscribeAggregate(
  db: Database,
  q: AggregateQuery,
  callback: LiveAggregateCallback,
  options: LiveOptions = {},
): () => void {
  checkAggregateQuery(q);
  const live = new LiveAggregate(db, q, callback, options.schedule ?? queueMicrotask);
  const stop = db.onChange((changes) => live.apply(changes));
  live.wake();
  return () => {
    stop();
    live.close();
  };
}
