/**
 * Nearest-neighbour search combined with a filter on documents: the choice between walking
 * the graph with the filter applied inside the walk (post-filtering with an `ef` that adapts
 * to the filter) and scanning exactly the documents the filter accepts (pre-filtering).
 *
 * The choice rests on an estimate of the filter's selectivity from a fixed, evenly spread
 * sample of the index's ids (no random draw, so every replica and every rerun plans alike).
 * A walk that must gather `ef` accepted nodes visits about `ef / p` nodes when the filter
 * accepts a fraction `p`; the graph search already gives up and scans once it has visited
 * {@link FILTER_VISIT_FRACTION_MAX} of the nodes, so when `ef / p` is past that budget the walk
 * would be wasted work and the plan scans at once. See docs/vector.md, "Filtered search".
 */

import type { JsonObject } from '../crdt/lww.ts';
import { InvalidArgumentError } from '../errors.ts';
import { compileFilter } from '../query/filter.ts';
import type { Filter } from '../query/types.ts';
import { checkFilter } from '../query/validate.ts';
import type { HnswIndex, VectorHit } from './hnsw-index.ts';
import { FILTER_VISIT_FRACTION_MAX } from './limits.ts';

/** A filter on documents as a function: true keeps document `id` in the results. */
export type DocFilter = (doc: JsonObject, id: string) => boolean;

/** A filter of a vector search: the query layer's `Filter` (engine/query/types.ts), or a function. */
export type VectorFilter = Filter | DocFilter;

/**
 * The function form of `filter`: a query-layer `Filter` is checked (its typed error, code
 * `ARE_QUERY_INVALID`, when malformed) and compiled; a function is used as it is.
 */
export function toDocFilter(filter: VectorFilter): DocFilter {
  if (typeof filter === 'function') return filter;
  if (filter === null || typeof filter !== 'object')
    throw new InvalidArgumentError('filter must be a query Filter or a function');
  checkFilter(filter);
  return compileFilter(filter);
}

/** Ids sampled to estimate a filter's selectivity. */
export const FILTER_SAMPLE_IDS_MAX = 64;

/** Indexes this small are scanned exactly under any filter (a walk saves nothing there). */
export const FILTER_SCAN_LIVE_MAX = 256;

/** How a filtered search ran. */
export type FilterPlan = 'graph' | 'scan';

/** What {@link planFilteredSearch} decided and why. */
export interface FilterPlanInfo {
  readonly plan: FilterPlan;
  /** Sampled ids the filter accepted, and how many were sampled. */
  readonly accepted: number;
  readonly sampled: number;
}

/**
 * Decides how to search `index` for `k` results at beam width `ef` under `accepts` (see the
 * module comment).
 */
export function planFilteredSearch(
  index: HnswIndex,
  accepts: (id: string) => boolean,
  options: { k: number; ef: number },
): FilterPlanInfo {
  const live = index.size;
  if (live <= FILTER_SCAN_LIVE_MAX) return { plan: 'scan', accepted: 0, sampled: 0 };
  const sample = index.sampleIds(FILTER_SAMPLE_IDS_MAX);
  let accepted = 0;
  for (const id of sample) if (accepts(id)) accepted++;
  if (accepted === 0) return { plan: 'scan', accepted, sampled: sample.length };
  const fraction = accepted / sample.length;
  const expectedVisits = Math.max(options.k, options.ef) / fraction;
  const plan: FilterPlan = expectedVisits > FILTER_VISIT_FRACTION_MAX * live ? 'scan' : 'graph';
  return { plan, accepted, sampled: sample.length };
}

/**
 * The `k` nearest documents to `query` that `filter` accepts, best first (equal scores in id
 * order), reading each candidate document through `getDoc`. Returns the hits and the plan used.
 */
export function filteredSearch(
  index: HnswIndex,
  query: ArrayLike<number>,
  options: { k: number; ef: number; filter: DocFilter; getDoc: (id: string) => JsonObject | undefined },
): { hits: VectorHit[]; plan: FilterPlanInfo } {
  const { k, ef, filter, getDoc } = options;
  const accepts = (id: string): boolean => {
    const doc = getDoc(id);
    return doc !== undefined && filter(doc, id) === true;
  };
  const plan = planFilteredSearch(index, accepts, { k, ef });
  const hits =
    plan.plan === 'scan'
      ? index.searchExact(query, { k, filter: accepts })
      : index.search(query, { k, ef, filter: accepts });
  return { hits, plan };
}
