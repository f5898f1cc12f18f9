/**
 * Compiles a (checked) filter into a predicate over documents. The rules, which docs/query.md
 * states with their SQLite twins:
 * - a missing field matches no leaf except `exists: false`;
 * - `eq ne lt lte gt gte` compare by the total order of compareValues (across types by rank,
 *   arrays and objects by deep equality and canonical text);
 * - `in` / `nin`: equal / equal to none of the values (`nin` still needs the field present);
 * - `like` and `regex` match strings only; `contains` is a substring of a string field (the
 *   value a string) or an element deep-equal to the value in an array field;
 * - `and` of nothing is true, `or` of nothing is false, `not` negates plainly.
 */

import type { JsonObject, JsonValue } from '../crdt/lww.ts';
import { compareValues, compilePath, containerText, valuesEqual } from './compare.ts';
import { compileLike } from './like.ts';
import { compileRegex } from './regex.ts';
import type { CompareOp, FieldFilter, Filter } from './types.ts';

/** A compiled filter: whether document `doc` with id `id` matches. */
export type DocPredicate = (doc: JsonObject, id: string) => boolean;

/** The predicate of a checked filter. */
export function compileFilter(filter: Filter): DocPredicate {
  // Loops rather than every/some: no closure made per document tested.
  if ('and' in filter) {
    const parts = filter.and.map(compileFilter);
    return (doc, id) => {
      for (let i = 0; i < parts.length; i++) if (!parts[i]!(doc, id)) return false;
      return true;
    };
  }
  if ('or' in filter) {
    const parts = filter.or.map(compileFilter);
    return (doc, id) => {
      for (let i = 0; i < parts.length; i++) if (parts[i]!(doc, id)) return true;
      return false;
    };
  }
  if ('not' in filter) {
    const inner = compileFilter(filter.not);
    return (doc, id) => !inner(doc, id);
  }
  const get = compilePath(filter.field);
  const test = compileLeaf(filter);
  return (doc, id) => test(get(doc, id));
}

/** The test a leaf applies to the field's value (`undefined` when missing). */
function compileLeaf(f: FieldFilter): (v: JsonValue | undefined) => boolean {
  switch (f.op) {
    case 'exists':
      return f.value ? (v) => v !== undefined : (v) => v === undefined;
    case 'in':
    case 'nin': {
      const member = membership(f.values);
      return f.op === 'in' ? (v) => v !== undefined && member(v) : (v) => v !== undefined && !member(v);
    }
    case 'like': {
      const m = compileLike(f.pattern, { escape: f.escape, caseInsensitive: f.caseInsensitive });
      return (v) => typeof v === 'string' && m(v);
    }
    case 'regex': {
      const m = compileRegex(f.pattern, f.flags ?? '');
      return (v) => typeof v === 'string' && m(v);
    }
    case 'contains': {
      const needle = f.value;
      return (v) =>
        typeof v === 'string'
          ? typeof needle === 'string' && v.includes(needle)
          : Array.isArray(v) && v.some((e) => valuesEqual(e, needle));
    }
    default:
      return comparison(f.op, f.value);
  }
}

function comparison(op: CompareOp, value: JsonValue): (v: JsonValue | undefined) => boolean {
  // A scalar literal equals exactly the values that are === to it (no NaN in JSON; -0 === 0).
  if (typeof value !== 'object' || value === null) {
    if (op === 'eq') return (v) => v === value;
    if (op === 'ne') return (v) => v !== undefined && v !== value;
  }
  if (typeof value === 'number') {
    // A number against a number literal compares numerically; anything else goes by rank.
    const n = value;
    // NaN for a missing field: every comparison with it is false.
    const rest = (v: JsonValue | undefined) => (v === undefined ? Number.NaN : compareValues(v, n));
    switch (op) {
      case 'lt':
        return (v) => (typeof v === 'number' ? v < n : rest(v) < 0);
      case 'lte':
        return (v) => (typeof v === 'number' ? v <= n : rest(v) <= 0);
      case 'gt':
        return (v) => (typeof v === 'number' ? v > n : rest(v) > 0);
      case 'gte':
        return (v) => (typeof v === 'number' ? v >= n : rest(v) >= 0);
    }
  }
  switch (op) {
    case 'eq':
      return (v) => v !== undefined && compareValues(v, value) === 0;
    case 'ne':
      return (v) => v !== undefined && compareValues(v, value) !== 0;
    case 'lt':
      return (v) => v !== undefined && compareValues(v, value) < 0;
    case 'lte':
      return (v) => v !== undefined && compareValues(v, value) <= 0;
    case 'gt':
      return (v) => v !== undefined && compareValues(v, value) > 0;
    case 'gte':
      return (v) => v !== undefined && compareValues(v, value) >= 0;
  }
}

/**
 * Membership in a list of values: scalars in a `Set` (SameValueZero treats -0 as 0, as the
 * total order does), arrays and objects by canonical text.
 */
function membership(values: readonly JsonValue[]): (v: JsonValue) => boolean {
  const scalars = new Set<JsonValue>();
  const containers = new Set<string>();
  for (const x of values) {
    if (typeof x === 'object' && x !== null) containers.add(containerText(x));
    else scalars.add(x);
  }
  return (v) => (typeof v === 'object' && v !== null ? containers.has(containerText(v)) : scalars.has(v));
}
