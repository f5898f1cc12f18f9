/**
 * Live queries: `subscribe(db, q, callback)` delivers the query's result, then a new result
 * after every tick in which a committed change (a local write, entries ingested through sync,
 * a rebuild) changed it.
 *
 * The result is maintained incrementally. The subscription keeps the window of matching rows
 * the page is cut from (the first `offset + limit` rows in the query's order, or every matching
 * row without a limit), sorted. On each change of its collection it removes the document's old
 * row if the window held it and inserts the new one if it matches and belongs in the window.
 * The window knows whether it holds every matching row (`complete`); when it does not, every
 * matching row outside it sorts after its last row, so a new row before that last row belongs
 * in it, and a row that leaves it opens a hole that only a re-query can fill: the window is
 * then refilled through the planner (an index where one helps) at delivery time.
 *
 * Changes are applied synchronously inside the write (cheap: a few comparisons and a splice);
 * delivery is coalesced per tick through `schedule` (default `queueMicrotask`), and reads the
 * state at that moment, so a delivered result always equals re-running the query then: never
 * stale, and no state that held when a callback ran is skipped.
 */

import type { JsonObject } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import type { DocChange } from '../db/derived.ts';
import { ClosedError } from '../errors.ts';
import { compileQuery } from './execute.ts';
import { ROWS_MAX } from './limits.ts';
import { findPlanned } from './plan-run.ts';
import type { CompiledQuery, Query, QueryResult, QueryRow } from './types.ts';

/** Schedules `fn` to run once, later in this tick (the microtask queue by default). */
export type Scheduler = (fn: () => void) => void;

/** Options of {@link subscribe}. */
export interface LiveOptions {
  /** Where deliveries are queued. Default `queueMicrotask`. Tests pass a manual queue. */
  readonly schedule?: Scheduler;
}

/** Receives each new result of a live query. */
export type LiveCallback = (result: QueryResult) => void;

type Row = readonly [string, JsonObject];

/** The state of one live query. */
class LiveQuery {
  private readonly compiled: CompiledQuery;
  /** Rows of the window, in the query's order. */
  private rows: Row[] = [];
  /** Documents of the window's rows, by id. */
  private readonly byId = new Map<string, JsonObject>();
  /** Most rows the window holds (offset + limit, or no bound). */
  private readonly size: number;
  /** Whether the window holds every matching row. */
  private complete = true;
  /** Whether the window must be re-queried before the next delivery. */
  private needsRefill = true;
  /** Whether the result may have changed since the last delivery. */
  private dirty = true;
  private scheduled = false;
  private closed = false;
  /** The query that fills the window: no offset, limit = window size, whole documents. */
  private readonly fillQuery: Query;

  constructor(
    private readonly db: Database,
    private readonly query: Query,
    private readonly callback: LiveCallback,
    private readonly schedule: Scheduler,
  ) {
    this.compiled = compileQuery(query);
    const size = query.limit === undefined ? Infinity : (query.offset ?? 0) + query.limit;
    this.size = size;
    this.fillQuery = {
      collection: query.collection,
      where: query.where,
      orderBy: query.orderBy,
      after: query.after,
      limit: size === Infinity || size > ROWS_MAX ? undefined : size,
    };
  }

  /** Applies committed changes (called inside the write). */
  apply(changes: readonly DocChange[]): void {
    if (this.size === 0) return; // limit 0: the result is always empty.
    for (const c of changes) {
      if (c.collection !== this.query.collection) continue;
      const held = this.byId.get(c.id);
      if (held !== undefined) this.remove([c.id, held]);
      if (
        c.after !== undefined &&
        this.compiled.matches(c.after, c.id) &&
        this.compiled.afterCursor(c.after, c.id)
      )
        this.insert([c.id, c.after]);
    }
    if (this.dirty || this.needsRefill) this.wake();
  }

  private remove(row: Row): void {
    const at = this.position(row);
    this.rows.splice(at, 1);
    this.byId.delete(row[0]);
    this.dirty = true;
    if (!this.complete) this.needsRefill = true;
  }

  private insert(row: Row): void {
    const last = this.rows[this.rows.length - 1];
    if (!this.complete) {
      // Rows outside the window all sort after its last row: a row after it may not belong.
      if (last === undefined || this.compiled.compare(row, last) > 0) {
        this.needsRefill = true;
        return;
      }
    }
    this.rows.splice(this.position(row), 0, row);
    this.byId.set(row[0], row[1]);
    this.dirty = true;
    if (this.rows.length > this.size) {
      const dropped = this.rows.pop()!;
      this.byId.delete(dropped[0]);
      this.complete = false;
    }
  }

  /** Where `row` is (or would be inserted) in the window: the first row not before it. */
  private position(row: Row): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compiled.compare(this.rows[mid]!, row) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Queues a delivery for this tick unless one is queued. */
  wake(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  private refill(): void {
    const result = findPlanned(this.db, this.fillQuery);
    this.rows = result.rows.map((r): Row => [r.id, r.doc]);
    this.byId.clear();
    for (const [id, doc] of this.rows) this.byId.set(id, doc);
    this.complete = this.rows.length < this.size;
    this.needsRefill = false;
    this.dirty = true;
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    if (this.needsRefill) {
      try {
        this.refill();
      } catch (err) {
        // The database closed before this tick's delivery: the subscription ends with it.
        if (!(err instanceof ClosedError)) throw err;
        this.close();
        return;
      }
    }
    if (!this.dirty) return;
    this.dirty = false;
    this.callback(this.result());
  }

  /** The page the window holds now, as `runQuery` would return it. */
  result(): QueryResult {
    const from = this.query.offset ?? 0;
    const limit = this.query.limit;
    const page = this.rows.slice(from, limit === undefined ? undefined : from + limit);
    const rows: QueryRow[] = page.map(([id, doc]) => ({ id, doc: this.compiled.project(doc, id) }));
    const last = page[page.length - 1];
    const full = limit !== undefined && last !== undefined && page.length === limit;
    return { rows, next: full ? this.compiled.cursorOf(last[1], last[0]) : undefined };
  }

  close(): void {
    this.closed = true;
    this.rows = [];
    this.byId.clear();
  }
}

/**
 * Subscribes `callback` to the results of `q` (checked first: a malformed query throws here).
 * The first result is delivered in the first scheduled tick, then one per tick in which the
 * result changed. Returns the function that ends the subscription and frees its state.
 */
export function subscribe(
  db: Database,
  q: Query,
  callback: LiveCallback,
  options: LiveOptions = {},
): () => void {
  const live = new LiveQuery(db, q, callback, options.schedule ?? queueMicrotask);
  const stop = db.onChange((changes) => live.apply(changes));
  live.wake();
  return () => {
    stop();
    live.close();
  };
}
