/**
 * `explain(db, q)`: the plan the planner chooses for a query, in a stable, documented shape
 * (docs/query.md, "Indexes and the planner"), without running it.
 */

import type { Database } from '../db/database.ts';
import { type IndexAccess, type Plan, planQuery } from './planner.ts';
import type { Query } from './types.ts';
import { checkQuery } from './validate.ts';

/** What {@link explain} returns. */
export interface Explanation {
  readonly collection: string;
  /** `full-scan`: every document; `id-lookup`: point reads by `_id`; `index`: ranges of one index. */
  readonly strategy: 'full-scan' | 'id-lookup' | 'index';
  /** The index's name (strategy `index`). */
  readonly index?: string;
  /** The index's fields (strategy `index`). */
  readonly fields?: readonly string[];
  /** How the index is bounded: by equality, an `in` list, a range, a LIKE prefix, or only its order. */
  readonly access?: IndexAccess;
  /** The predicates the plan bounds its reads by, as `field op`, e.g. `["tag eq", "n gte"]`. */
  readonly used: readonly string[];
  /** Key ranges scanned (strategy `index`) or ids looked up (`id-lookup`). */
  readonly ranges: number;
  /** `index`: rows are read in the query's order (under a limit); `sort`: sorted after reading. */
  readonly order: 'index' | 'sort';
  /** Whether reading stops once the limit is reached (index order and a limit). */
  readonly earlyStop: boolean;
  /** Always true: the whole filter is checked on every candidate, whatever the plan. */
  readonly recheck: true;
}

/** The plan for `q` over `db` (checks `q` first; throws QueryError when it is malformed). */
export function explain(db: Database, q: Query): Explanation {
  checkQuery(q);
  return explainPlan(planQuery(db, q));
}

/** The explanation of a plan. */
export function explainPlan(plan: Plan): Explanation {
  const base = { collection: plan.collection, recheck: true as const };
  if (plan.kind === 'full-scan')
    return { ...base, strategy: 'full-scan', used: [], ranges: 0, order: 'sort', earlyStop: false };
  if (plan.kind === 'id-lookup')
    return {
      ...base,
      strategy: 'id-lookup',
      used: [plan.used],
      ranges: plan.ids.length,
      order: 'sort',
      earlyStop: false,
    };
  return {
    ...base,
    strategy: 'index',
    index: plan.index.name,
    fields: plan.index.fields,
    access: plan.access,
    used: plan.used,
    ranges: plan.ranges.length,
    order: plan.earlyStop ? 'index' : 'sort',
    earlyStop: plan.earlyStop,
  };
}
