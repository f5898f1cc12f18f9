/**
 * Live nearest-neighbour subscriptions: "the k documents nearest to this vector (that pass this
 * filter)", delivered once and again after every change that alters the answer, whichever
 * device the change came from.
 *
 * A subscription keeps its current answer. The index tells it the ids of documents that changed
 * (after the graph has applied them); it queues them and, once per microtask tick, brings the
 * answer up to date:
 * - a changed document that is not in the answer enters when it now passes the filter and
 *   ranks above the current k-th (or the answer holds fewer than k, which means every passing
 *   document is in it);
 * - a member that still passes and still ranks at or above the old k-th stays, re-sorted;
 * - a member that left (deleted, vector removed, filtered out) or fell below the old k-th
 *   forces a fresh search, since a document outside the answer may now belong in it.
 * Scores of single documents come from `HnswIndex.score`, the same arithmetic a search uses,
 * so an incremental answer equals the one a fresh exact search would give. Ranking is by score,
 * highest first, equal scores by id (the index's own order). The callback runs only when the
 * answer differs from the last one delivered. Many writes in one tick cost one update.
 */

import { InvalidArgumentError } from '../errors.ts';
import type { CollectionVectorIndex } from './collection-index.ts';
import { type DocFilter, toDocFilter, type VectorFilter } from './filtered-search.ts';
import type { VectorHit } from './hnsw-index.ts';

/** Changed ids a subscription queues before it gives up on incremental updates and searches afresh. */
export const SUBSCRIPTION_PENDING_IDS_MAX = 1024;

/** What a subscription asks for. */
export interface NearestQuery {
  /** The query vector (copied at subscribe time). */
  vector: ArrayLike<number>;
  /** How many results. */
  k: number;
  /** Beam width of the searches it runs; default the index's. */
  ef?: number;
  /**
   * Only documents this accepts: a query-layer `Filter`, or a function that must be a pure
   * function of the document and its id.
   */
  filter?: VectorFilter;
}

/** Receives the current answer, best first (a fresh frozen array each time). */
export type NearestCallback = (hits: readonly VectorHit[]) => void;

/** Options of a subscription. */
export interface NearestSubscriptionOptions {
  /**
   * Receives an error thrown by the callback or by an update (the subscription stays active).
   * Without it the error is thrown from the microtask, where the runtime reports it.
   */
  onError?: (error: unknown) => void;
}

/**
 * Subscribes `callback` to the `query.k` documents of `index` nearest to `query.vector`. The
 * first answer is delivered in a microtask, then every changed answer, at most once per tick.
 * Returns the function that ends the subscription (after which the callback is never called and
 * the index holds nothing of it). Throws a typed error for a bad query, at once.
 */
export function subscribeNearest(
  index: CollectionVectorIndex,
  query: NearestQuery,
  callback: NearestCallback,
  options: NearestSubscriptionOptions = {},
): () => void {
  if (typeof callback !== 'function') throw new InvalidArgumentError('callback must be a function');
  if (query === null || typeof query !== 'object') throw new InvalidArgumentError('query must be an object');
  const sub = new NearestSubscription(index, query, callback, options);
  return () => sub.stop();
}

class NearestSubscription {
  private readonly vector: number[];
  private readonly filter: DocFilter | undefined;
  private current: VectorHit[];
  private delivered: readonly VectorHit[] | undefined;
  private pending = new Set<string>();
  private full = false;
  private scheduled = false;
  private active = true;
  private readonly unwatch: () => void;

  constructor(
    private readonly index: CollectionVectorIndex,
    private readonly query: NearestQuery,
    private readonly callback: NearestCallback,
    private readonly options: NearestSubscriptionOptions,
  ) {
    this.vector = Array.from(query.vector ?? []);
    this.filter = query.filter === undefined ? undefined : toDocFilter(query.filter);
    this.current = this.search(); // checks the vector, k and ef: a bad query throws here
    this.unwatch = index.watch((ids) => this.heard(ids));
    this.schedule();
  }

  stop(): void {
    if (!this.active) return;
    this.active = false;
    this.unwatch();
    this.pending.clear();
    this.current = [];
  }

  private heard(ids: readonly string[] | 'all'): void {
    if (ids === 'all') this.full = true;
    else if (!this.full) {
      for (const id of ids) this.pending.add(id);
      if (this.pending.size > SUBSCRIPTION_PENDING_IDS_MAX) this.full = true;
    }
    if (this.full) this.pending.clear();
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (!this.active) return;
    try {
      this.update();
      if (this.delivered !== undefined && sameHits(this.delivered, this.current)) return;
      const hits = Object.freeze(this.current.map((h) => Object.freeze({ ...h })));
      this.delivered = hits;
      this.callback(hits);
    } catch (err) {
      if (this.options.onError === undefined) throw err;
      this.options.onError(err);
    }
  }

  /** Brings `current` up to date with the queued changes (see the module comment). */
  private update(): void {
    const ids = [...this.pending].sort();
    this.pending.clear();
    if (this.full) {
      this.full = false;
      this.current = this.search();
      return;
    }
    for (const id of ids) {
      if (!this.applyOne(id)) {
        this.current = this.search();
        return;
      }
    }
  }

  /** Updates `current` for one changed id; false when only a fresh search can tell. */
  private applyOne(id: string): boolean {
    const k = this.query.k;
    const list = this.current;
    const at = list.findIndex((h) => h.id === id);
    const wasFull = list.length >= k;
    // The old k-th: every document outside the answer ranks below it.
    const worst = wasFull ? list[list.length - 1]! : undefined;
    if (at >= 0) list.splice(at, 1);
    const hit = this.hitOf(id);
    if (hit === undefined) return at < 0 || !wasFull;
    if (worst !== undefined && ranksBefore(worst, hit)) return at < 0;
    let i = list.length;
    while (i > 0 && ranksBefore(hit, list[i - 1]!)) i--;
    list.splice(i, 0, hit);
    if (list.length > k) list.pop();
    return true;
  }

  /** Document `id`'s hit now, or undefined when it has no indexed vector or fails the filter. */
  private hitOf(id: string): VectorHit | undefined {
    const score = this.index.hnsw.score(this.vector, id);
    if (score === undefined) return undefined;
    const filter = this.filter;
    if (filter !== undefined) {
      const doc = this.index.getDocument(id);
      if (doc === undefined || filter(doc, id) !== true) return undefined;
    }
    return { id, score };
  }

  private search(): VectorHit[] {
    const { k, ef } = this.query;
    return this.index.search(this.vector, { k, ef, filter: this.filter });
  }
}

/** True when `a` ranks strictly before `b`: a higher score, or an equal score and a smaller id. */
function ranksBefore(a: VectorHit, b: VectorHit): boolean {
  if (a.score !== b.score) return a.score > b.score;
  return a.id < b.id;
}

function sameHits(a: readonly VectorHit[], b: readonly VectorHit[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.id !== b[i]!.id || a[i]!.score !== b[i]!.score) return false;
  return true;
}
