/**
 * Checks queries before they run: shape, types, operators, paths and every limit in limits.ts.
 * Checking is bounded by the limits themselves (lengths are read before elements are visited,
 * depth before descending), so a hostile query fails fast with a `QueryError` or a
 * `LimitExceededError` instead of costing time in proportion to its size.
 */

import { canonicalJson, DEFAULT_JSON_LIMITS } from '../crdt/lww.ts';
import { AregulaError, LimitExceededError } from '../errors.ts';
import { ID_FIELD } from './compare.ts';
import { QueryError } from './errors.ts';
import { checkLikePattern } from './like.ts';
import {
  AGGREGATES_MAX,
  CURSOR_CHARS_MAX,
  FILTER_DEPTH_MAX,
  FILTER_NODES_MAX,
  FILTER_VALUE_BYTES_MAX,
  FILTER_VALUES_CHARS_MAX,
  GROUP_KEYS_MAX,
  IN_VALUES_MAX,
  LIKE_PATTERN_CHARS_MAX,
  PATH_CHARS_MAX,
  PATH_SEGMENTS_MAX,
  ROWS_MAX,
  SELECT_PATHS_MAX,
  SORT_KEYS_MAX,
} from './limits.ts';
import { compileRegex } from './regex.ts';
import type { AggregateQuery, Filter, Query } from './types.ts';

/** Longest aggregate output name (`as`), in UTF-16 code units. */
export const AGGREGATE_NAME_CHARS_MAX = 256;

const COMPARE_OPS = new Set(['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'contains']);
const AGGREGATE_FNS = new Set(['count', 'sum', 'avg', 'min', 'max']);
const LONE_SURROGATE = /\p{Surrogate}/u;

function limit(name: string, max: number, actual: number, what: string): LimitExceededError {
  return new LimitExceededError({ limit: name, max, actual, what });
}

/** `v` as a plain object whose keys are all in `allowed`; throws otherwise. */
function plainObject(v: unknown, at: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new QueryError(at, 'must be an object');
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw new QueryError(at, 'must be a plain object');
  for (const key of Object.keys(v)) {
    if (!allowed.includes(key)) throw new QueryError(at, `unknown property '${key.slice(0, 64)}'`);
  }
  return v as Record<string, unknown>;
}

/** `v` as an array of at most `max` elements (named by `limitName`); throws otherwise. */
function boundedArray(v: unknown, at: string, max: number, limitName: string): readonly unknown[] {
  if (!Array.isArray(v)) throw new QueryError(at, 'must be an array');
  if (v.length > max) throw limit(limitName, max, v.length, `${at} length`);
  return v;
}

/** Throws unless `v` is a dotted field path within the limits. */
export function checkPath(v: unknown, at: string): asserts v is string {
  if (typeof v !== 'string') throw new QueryError(at, 'a field path must be a string');
  if (v.length > PATH_CHARS_MAX) throw limit('PATH_CHARS_MAX', PATH_CHARS_MAX, v.length, `${at} length`);
  if (LONE_SURROGATE.test(v)) throw new QueryError(at, 'a field path must not hold lone surrogates');
  const segments = v.split('.');
  if (segments.length > PATH_SEGMENTS_MAX)
    throw limit('PATH_SEGMENTS_MAX', PATH_SEGMENTS_MAX, segments.length, `${at} segments`);
  if (segments.some((s) => s === '')) throw new QueryError(at, `empty segment in path '${v.slice(0, 64)}'`);
  if (segments[0] === ID_FIELD && segments.length > 1)
    throw new QueryError(at, `${ID_FIELD} is a whole path (the document id), not an object`);
}

/** Throws unless `v` is a JSON value whose canonical text fits `FILTER_VALUE_BYTES_MAX`; returns that text's length. */
function checkValue(v: unknown, at: string): number {
  if (v === undefined) throw new QueryError(at, 'a value is required');
  try {
    return canonicalJson(v, {
      ...DEFAULT_JSON_LIMITS,
      totalBytesMax: FILTER_VALUE_BYTES_MAX,
      stringBytesMax: FILTER_VALUE_BYTES_MAX,
    }).length;
  } catch (err) {
    if (err instanceof LimitExceededError) throw err;
    if (err instanceof AregulaError) throw new QueryError(at, err.message);
    throw err;
  }
}

function optionalBoolean(v: unknown, at: string): void {
  if (v !== undefined && typeof v !== 'boolean') throw new QueryError(at, 'must be a boolean');
}

/** Walks a filter, counting nodes against `FILTER_NODES_MAX` and depth against `FILTER_DEPTH_MAX`. */
class FilterChecker {
  private nodes = 0;
  private valueChars = 0;

  /** Checks one literal and counts its text against `FILTER_VALUES_CHARS_MAX`. */
  private value(v: unknown, at: string): void {
    this.valueChars += checkValue(v, at);
    if (this.valueChars > FILTER_VALUES_CHARS_MAX)
      throw limit(
        'FILTER_VALUES_CHARS_MAX',
        FILTER_VALUES_CHARS_MAX,
        this.valueChars,
        'literal values of the filter',
      );
  }

  check(v: unknown, at: string, depth: number): void {
    if (depth > FILTER_DEPTH_MAX) throw limit('FILTER_DEPTH_MAX', FILTER_DEPTH_MAX, depth, `${at} nesting`);
    if (++this.nodes > FILTER_NODES_MAX)
      throw limit('FILTER_NODES_MAX', FILTER_NODES_MAX, this.nodes, 'filter nodes');
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new QueryError(at, 'a filter must be an object');
    if ('and' in v || 'or' in v) {
      const key = 'and' in v ? 'and' : 'or';
      const o = plainObject(v, at, [key]);
      const list = boundedArray(o[key], `${at}.${key}`, FILTER_NODES_MAX, 'FILTER_NODES_MAX');
      list.forEach((f, i) => {
        this.check(f, `${at}.${key}[${i}]`, depth + 1);
      });
      return;
    }
    if ('not' in v) {
      const o = plainObject(v, at, ['not']);
      this.check(o.not, `${at}.not`, depth + 1);
      return;
    }
    this.leaf(v, at);
  }

  private leaf(v: object, at: string): void {
    const op = (v as { op?: unknown }).op;
    if (typeof op !== 'string')
      throw new QueryError(at, "a filter needs 'and', 'or', 'not', or 'field' and 'op'");
    const allowed =
      op === 'in' || op === 'nin'
        ? ['field', 'op', 'values']
        : op === 'like'
          ? ['field', 'op', 'pattern', 'escape', 'caseInsensitive']
          : op === 'regex'
            ? ['field', 'op', 'pattern', 'flags']
            : ['field', 'op', 'value'];
    const o = plainObject(v, at, allowed);
    checkPath(o.field, `${at}.field`);
    if (COMPARE_OPS.has(op)) {
      this.value(o.value, `${at}.value`);
    } else if (op === 'exists') {
      if (typeof o.value !== 'boolean') throw new QueryError(`${at}.value`, 'must be a boolean');
    } else if (op === 'in' || op === 'nin') {
      const values = boundedArray(o.values, `${at}.values`, IN_VALUES_MAX, 'IN_VALUES_MAX');
      values.forEach((x, i) => {
        this.value(x, `${at}.values[${i}]`);
      });
    } else if (op === 'like') {
      checkLike(o, at);
    } else if (op === 'regex') {
      if (typeof o.pattern !== 'string') throw new QueryError(`${at}.pattern`, 'must be a string');
      if (o.flags !== undefined && typeof o.flags !== 'string')
        throw new QueryError(`${at}.flags`, 'must be a string');
      compileRegex(o.pattern, o.flags, at);
    } else {
      throw new QueryError(`${at}.op`, `unknown operator '${op.slice(0, 32)}'`);
    }
  }
}

function checkLike(o: Record<string, unknown>, at: string): void {
  const { pattern, escape: esc } = o;
  if (typeof pattern !== 'string') throw new QueryError(`${at}.pattern`, 'must be a string');
  if (pattern.length > LIKE_PATTERN_CHARS_MAX)
    throw limit('LIKE_PATTERN_CHARS_MAX', LIKE_PATTERN_CHARS_MAX, pattern.length, `${at}.pattern length`);
  if (esc !== undefined && typeof esc !== 'string') throw new QueryError(`${at}.escape`, 'must be a string');
  optionalBoolean(o.caseInsensitive, `${at}.caseInsensitive`);
  checkLikePattern(pattern, esc, at);
}

/** Throws unless `v` is a well-formed filter within the limits. */
export function checkFilter(v: unknown, at = 'where'): asserts v is Filter {
  new FilterChecker().check(v, at, 1);
}

function checkCollection(v: unknown): void {
  if (typeof v !== 'string' || v === '') throw new QueryError('collection', 'must be a non-empty string');
}

function checkCount(v: unknown, at: string): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new QueryError(at, 'must be a non-negative integer');
  if (v > ROWS_MAX) throw limit('ROWS_MAX', ROWS_MAX, v, at);
}

/** Throws a `QueryError` or `LimitExceededError` unless `q` is a well-formed {@link Query}. */
export function checkQuery(q: unknown): asserts q is Query {
  const o = plainObject(q, 'query', ['collection', 'where', 'orderBy', 'limit', 'offset', 'after', 'select']);
  checkCollection(o.collection);
  if (o.where !== undefined) checkFilter(o.where);
  if (o.orderBy !== undefined) {
    const keys = boundedArray(o.orderBy, 'orderBy', SORT_KEYS_MAX, 'SORT_KEYS_MAX');
    keys.forEach((k, i) => {
      const key = plainObject(k, `orderBy[${i}]`, ['field', 'direction']);
      checkPath(key.field, `orderBy[${i}].field`);
      if (key.direction !== undefined && key.direction !== 'asc' && key.direction !== 'desc')
        throw new QueryError(`orderBy[${i}].direction`, "must be 'asc' or 'desc'");
    });
  }
  checkCount(o.limit, 'limit');
  checkCount(o.offset, 'offset');
  if (o.after !== undefined) {
    if (typeof o.after !== 'string') throw new QueryError('after', 'a cursor must be a string');
    if (o.after.length > CURSOR_CHARS_MAX)
      throw limit('CURSOR_CHARS_MAX', CURSOR_CHARS_MAX, o.after.length, 'cursor length');
  }
  if (o.select !== undefined) {
    const paths = boundedArray(o.select, 'select', SELECT_PATHS_MAX, 'SELECT_PATHS_MAX');
    paths.forEach((p, i) => {
      checkPath(p, `select[${i}]`);
    });
  }
}

/** Throws a `QueryError` or `LimitExceededError` unless `q` is a well-formed {@link AggregateQuery}. */
export function checkAggregateQuery(q: unknown): asserts q is AggregateQuery {
  const o = plainObject(q, 'query', ['collection', 'where', 'groupBy', 'aggregates']);
  checkCollection(o.collection);
  if (o.where !== undefined) checkFilter(o.where);
  if (o.groupBy !== undefined) {
    const keys = boundedArray(o.groupBy, 'groupBy', GROUP_KEYS_MAX, 'GROUP_KEYS_MAX');
    keys.forEach((p, i) => {
      checkPath(p, `groupBy[${i}]`);
    });
  }
  const aggs = boundedArray(o.aggregates, 'aggregates', AGGREGATES_MAX, 'AGGREGATES_MAX');
  if (aggs.length === 0) throw new QueryError('aggregates', 'needs at least one aggregate');
  const names = new Set<string>();
  aggs.forEach((a, i) => {
    const at = `aggregates[${i}]`;
    const agg = plainObject(a, at, ['as', 'fn', 'field']);
    if (typeof agg.as !== 'string' || agg.as === '' || agg.as.length > AGGREGATE_NAME_CHARS_MAX)
      throw new QueryError(`${at}.as`, `must be a string of 1 to ${AGGREGATE_NAME_CHARS_MAX} characters`);
    if (names.has(agg.as)) throw new QueryError(`${at}.as`, `duplicate output name '${agg.as}'`);
    names.add(agg.as);
    if (typeof agg.fn !== 'string' || !AGGREGATE_FNS.has(agg.fn))
      throw new QueryError(`${at}.fn`, 'must be one of count, sum, avg, min, max');
    if (agg.field === undefined) {
      if (agg.fn !== 'count') throw new QueryError(`${at}.field`, `${agg.fn} needs a field`);
    } else {
      checkPath(agg.field, `${at}.field`);
    }
  });
}
