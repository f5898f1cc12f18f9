/**
 * The planner: for a query, chooses between a full scan of the collection, point lookups by
 * `_id`, and a scan of key ranges of one secondary index. A plan only narrows the candidate
 * documents (every document the query can return lies in the plan's ranges); the query's whole
 * filter is still checked on every candidate, so a plan never changes a result, only its cost.
 *
 * What bounds an index (its fields f1..fk, conjuncts of the top-level `and` only):
 * - `eq` on f1..fj fixes those fields (an equality prefix);
 * - then on f(j+1) one of: `in` (one range per distinct value), `lt/lte/gt/gte` (the tightest
 *   lower and upper bound; several are intersected), `like` with a literal prefix (a prefix
 *   range; a case-insensitive LIKE expands the ASCII letters of the prefix into at most
 *   {@link LIKE_CASE_RANGES_MAX} ranges, the prefix cut short when more would be needed),
 *   `exists`;
 * - and when `orderBy` begins with the index's next fields (one direction), the index gives the
 *   order: with a `limit` the scan stops once enough rows are found.
 * Without statistics the planner prefers, in order: `_id` lookups, more equality fields, then a
 * bounding predicate, then index order under a limit; otherwise a full scan.
 */

import { assert } from '../assert.ts';
import type { JsonValue } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import { compareBytes as compareBytesOf } from '../lsm/coding.ts';
import { ID_FIELD } from './compare.ts';
import { KeyTag, KeyWriter, prefixEnd } from './index-key.ts';
import { type IndexInfo, listIndexes } from './secondary-index.ts';
import type { FieldFilter, Filter, Query } from './types.ts';

/** Most ranges a case-insensitive LIKE prefix expands into (2 per ASCII letter of the prefix). */
export const LIKE_CASE_RANGES_MAX = 32;

/** Half-open key range `[gte, lt)` of index rows. */
export interface KeyRange {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
}

/** How an index plan bounds its scan. */
export type IndexAccess = 'eq' | 'in' | 'range' | 'prefix' | 'order';

/** A chosen plan. */
export type Plan =
  | { readonly kind: 'full-scan'; readonly collection: string }
  | {
      readonly kind: 'id-lookup';
      readonly collection: string;
      readonly ids: readonly string[];
      readonly used: string;
    }
  | IndexPlan;

/** A plan that scans ranges of one secondary index. */
export interface IndexPlan {
  readonly kind: 'index';
  readonly collection: string;
  readonly index: IndexInfo;
  readonly access: IndexAccess;
  /** The predicates that bound the ranges, as `field op` (for explain). */
  readonly used: readonly string[];
  /** Disjoint ranges in ascending key order. */
  readonly ranges: readonly KeyRange[];
  /**
   * How many index fields, starting at `orderFrom`, give the query's leading sort keys (0: the
   * rows are sorted after the scan).
   */
  readonly orderFields: number;
  /** The first index field of the order (the number of fields fixed by equality). */
  readonly orderFrom: number;
  /** Whether the order is the index's reversed (descending keys). */
  readonly descending: boolean;
  /** Whether the scan may stop early: the index gives the order and the query has a limit. */
  readonly earlyStop: boolean;
}

/** One side of a range predicate. */
interface Bound {
  value: JsonValue;
  inclusive: boolean;
  op: string;
}

/** Predicates on one field among the top-level conjuncts. */
interface FieldBounds {
  eq?: JsonValue;
  eqOp?: string;
  in?: readonly JsonValue[];
  lower?: Bound[];
  upper?: Bound[];
  likePrefixes?: string[];
  exists?: boolean;
}

/** The leaves of `where` that must all hold (the flattened top-level `and`). */
export function conjunctsOf(where: Filter | undefined): FieldFilter[] {
  if (where === undefined) return [];
  if ('and' in where) return where.and.flatMap(conjunctsOf);
  if ('or' in where || 'not' in where) return [];
  return [where];
}

function boundsByField(leaves: readonly FieldFilter[]): Map<string, FieldBounds> {
  const out = new Map<string, FieldBounds>();
  for (const f of leaves) {
    let b = out.get(f.field);
    if (b === undefined) {
      b = {};
      out.set(f.field, b);
    }
    switch (f.op) {
      case 'eq':
        if (b.eq === undefined) b.eq = f.value;
        break;
      case 'in':
        if (b.in === undefined || f.values.length < b.in.length) b.in = f.values;
        break;
      case 'gt':
      case 'gte':
        pushTo(b, 'lower', { value: f.value, inclusive: f.op === 'gte', op: f.op });
        break;
      case 'lt':
      case 'lte':
        pushTo(b, 'upper', { value: f.value, inclusive: f.op === 'lte', op: f.op });
        break;
      case 'like': {
        const prefixes = likePrefixes(f.pattern, f.escape, f.caseInsensitive !== false);
        if (
          prefixes !== undefined &&
          (b.likePrefixes === undefined || prefixes[0]!.length > b.likePrefixes[0]!.length)
        )
          b.likePrefixes = prefixes;
        break;
      }
      case 'exists':
        b.exists = f.value;
        break;
    }
  }
  return out;
}

function pushTo(b: FieldBounds, side: 'lower' | 'upper', bound: Bound): void {
  const list = b[side] ?? [];
  list.push(bound);
  b[side] = list;
}

/**
 * The literal prefixes a LIKE pattern's matches start with (one per case variant when case
 * folds), or undefined when the pattern starts with a wildcard.
 */
export function likePrefixes(
  pattern: string,
  escapeChar: string | undefined,
  fold: boolean,
): string[] | undefined {
  let literal = '';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (escapeChar !== undefined && ch === escapeChar) {
      literal += chars[++i] ?? '';
      continue;
    }
    if (ch === '%' || ch === '_') break;
    literal += ch;
  }
  let variants = [''];
  for (const ch of literal) {
    const lower = ch.toLowerCase();
    const isLetter = fold && ch.length === 1 && /[A-Za-z]/.test(ch);
    if (isLetter && variants.length * 2 > LIKE_CASE_RANGES_MAX) break;
    variants = isLetter
      ? variants.flatMap((v) => [v + lower.toUpperCase(), v + lower])
      : variants.map((v) => v + ch);
  }
  if (variants[0] === '') return undefined;
  return variants;
}

/** A key: `base` followed by the encoding of `v`. */
function withValue(base: Uint8Array, v: JsonValue | undefined): Uint8Array {
  const w = new KeyWriter();
  w.raw(base);
  w.value(v);
  return w.finish();
}

/** The end of every key that starts with `prefix` (an index prefix never ends in `FF` bytes only). */
function endOf(prefix: Uint8Array): Uint8Array {
  const end = prefixEnd(prefix);
  assert(end !== undefined, 'an index key prefix is never FF bytes only (it starts with 76 69)');
  return end;
}

interface Candidate {
  plan: IndexPlan;
  score: number;
}

/** The plan of `index` for `q`, with its score (0: the index bounds nothing). */
function planIndex(q: Query, index: IndexInfo, bounds: Map<string, FieldBounds>): Candidate {
  let base = index.prefix;
  const used: string[] = [];
  let fixed = 0;
  for (const field of index.fields) {
    const b = bounds.get(field);
    if (b?.eq === undefined) break;
    base = withValue(base, b.eq);
    used.push(`${field} eq`);
    fixed++;
  }
  let access: IndexAccess = fixed > 0 ? 'eq' : 'order';
  let ranges: KeyRange[] = [{ gte: base, lt: endOf(base) }];
  let score = fixed * 10;
  const next = index.fields[fixed];
  const b = next === undefined ? undefined : bounds.get(next);
  if (b !== undefined && next !== undefined) {
    if (b.in !== undefined) {
      const keys = [...new Map(b.in.map((v) => [keyName(withValue(base, v)), withValue(base, v)])).values()];
      keys.sort(compareBytesOf);
      ranges = keys.map((k) => ({ gte: k, lt: endOf(k) }));
      access = 'in';
      used.push(`${next} in`);
      score += 6;
    } else if (b.lower !== undefined || b.upper !== undefined) {
      ranges = [boundedRange(base, b)];
      access = 'range';
      for (const x of [...(b.lower ?? []), ...(b.upper ?? [])]) used.push(`${next} ${x.op}`);
      score += 4;
    } else if (b.likePrefixes !== undefined) {
      ranges = prefixRanges(base, b.likePrefixes);
      access = 'prefix';
      used.push(`${next} like`);
      score += 3;
    } else if (b.exists !== undefined) {
      const missing = withValue(base, undefined);
      ranges = [b.exists ? { gte: endOf(missing), lt: endOf(base) } : { gte: missing, lt: endOf(missing) }];
      access = 'range';
      used.push(`${next} exists`);
      score += b.exists ? 1 : 3;
    }
  }
  const order = orderOf(q, index, fixed);
  const earlyStop = order.fields > 0 && q.limit !== undefined;
  if (earlyStop) score += 2;
  ranges = ranges.filter((r) => compareBytesOf(r.gte, r.lt) < 0);
  const plan: IndexPlan = {
    kind: 'index',
    collection: q.collection,
    index,
    access,
    used,
    ranges,
    orderFields: order.fields,
    orderFrom: fixed,
    descending: order.descending,
    earlyStop,
  };
  return { plan, score };
}

/** The ranges of string values after `base` that start with one of `prefixes`, in key order. */
function prefixRanges(base: Uint8Array, prefixes: readonly string[]): KeyRange[] {
  const ranges = prefixes.map((p) => {
    const w = new KeyWriter();
    w.raw(base);
    w.byte(KeyTag.string);
    const text = new KeyWriter();
    text.escaped(new TextEncoder().encode(p));
    const escaped = text.finish();
    w.raw(escaped.subarray(0, escaped.length - 2)); // the prefix, without the terminator
    const start = w.finish();
    return { gte: start, lt: endOf(start) };
  });
  return ranges.sort((x, y) => compareBytesOf(x.gte, y.gte));
}

/** The range of keys after `base` within a field's lower and upper bounds (missing excluded). */
function boundedRange(base: Uint8Array, b: FieldBounds): KeyRange {
  // A comparison never matches a missing field, so the range starts after `missing`.
  let gte = endOf(withValue(base, undefined));
  let lt = endOf(base);
  for (const x of b.lower ?? []) {
    const k = withValue(base, x.value);
    const start = x.inclusive ? k : endOf(k);
    if (compareBytesOf(start, gte) > 0) gte = start;
  }
  for (const x of b.upper ?? []) {
    const k = withValue(base, x.value);
    const end = x.inclusive ? endOf(k) : k;
    if (compareBytesOf(end, lt) < 0) lt = end;
  }
  return { gte, lt };
}

/** How many leading sort keys of `q` the index fields from `from` give, and in which direction. */
function orderOf(q: Query, index: IndexInfo, from: number): { fields: number; descending: boolean } {
  const keys = q.orderBy ?? [];
  if (keys.length === 0) return { fields: 0, descending: false };
  const descending = keys[0]!.direction === 'desc';
  let n = 0;
  while (n < keys.length && from + n < index.fields.length) {
    const key = keys[n]!;
    if (key.field !== index.fields[from + n] || (key.direction === 'desc') !== descending) break;
    n++;
  }
  return { fields: n, descending };
}

function keyName(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** The ids an `_id` equality or `in` among the conjuncts names, or undefined when none does. */
function idLookup(leaves: readonly FieldFilter[]): { ids: string[]; used: string } | undefined {
  for (const f of leaves) {
    if (f.field !== ID_FIELD) continue;
    if (f.op === 'eq') return { ids: typeof f.value === 'string' ? [f.value] : [], used: `${ID_FIELD} eq` };
    if (f.op === 'in') {
      const ids = [...new Set(f.values.filter((v): v is string => typeof v === 'string'))];
      return { ids, used: `${ID_FIELD} in` };
    }
  }
  return undefined;
}

/**
 * False when `index` certainly scores 0 for `q` (so planning it, which encodes its keys, can be
 * skipped): no predicate on its first field, and no `limit` with an order that starts there.
 */
function mayBound(q: Query, index: IndexInfo, bounds: Map<string, FieldBounds>): boolean {
  const first = index.fields[0];
  if (first === undefined || bounds.has(first)) return true;
  return q.limit !== undefined && q.orderBy?.[0]?.field === first;
}

/** Chooses the plan for a checked query `q` over `db`'s registered indexes. */
export function planQuery(db: Database, q: Query): Plan {
  const leaves = conjunctsOf(q.where);
  const byId = idLookup(leaves);
  if (byId !== undefined) return { kind: 'id-lookup', collection: q.collection, ...byId };
  const bounds = boundsByField(leaves);
  let best: Candidate | undefined;
  for (const index of listIndexes(db, q.collection)) {
    if (!mayBound(q, index, bounds)) continue;
    const c = planIndex(q, index, bounds);
    if (c.score > 0 && (best === undefined || c.score > best.score)) best = c;
  }
  if (best === undefined) return { kind: 'full-scan', collection: q.collection };
  return best.plan;
}
