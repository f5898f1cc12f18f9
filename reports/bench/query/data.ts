/**
 * The data and the planned queries of the `query` suite, generated from a fixed seed so that
 * every system and every run works on the same documents and asks the same questions.
 *
 * Document `i` (id `d` + i, zero-padded): `{ tag, score, grp, name, i }` where `tag` is one of
 * n/10 strings (10 documents each, for indexed equality), `score` a float in [0, 1000) (for
 * indexed ranges), `grp` one of {@link GROUPS} strings (for group by), and `name` a random
 * lower-case word of 6 letters (not indexed: the full scan's predicate).
 */

import { SeededRandom } from '../../../engine/io/random.ts';

/** Documents per `tag` value. */
export const DOCS_PER_TAG = 10;
/** Distinct `grp` values. */
export const GROUPS = 20;
/** Width of a range query, as the expected number of documents it selects. */
export const RANGE_DOCS = 50;
/** Queries per sample of the indexed workloads (each its own planned value). */
export const QUERIES_PER_SAMPLE = 500;
/** Writes per sample of the live-update workload. */
export const LIVE_WRITES_PER_SAMPLE = 200;
/** The substring the full scan looks for in `name` (LIKE `%ab%`). */
export const SCAN_SUBSTRING = 'ab';

/** One document of the suite. */
export interface QueryDoc {
  tag: string;
  score: number;
  grp: string;
  name: string;
  i: number;
  [key: string]: string | number;
}

/** The data of one size. */
export interface QueryData {
  readonly n: number;
  readonly ids: readonly string[];
  readonly docs: readonly QueryDoc[];
  /** Tags asked by the equality workload, one per query of a sample. */
  readonly eqTags: readonly string[];
  /** Lower bounds of the range workload (upper = lower + rangeWidth). */
  readonly rangeStarts: readonly number[];
  readonly rangeWidth: number;
  /** The tag the live query follows, and the ids of its documents (the writes' targets). */
  readonly liveTag: string;
  readonly liveIds: readonly string[];
}

/** Generates the data of size `n` (a positive multiple of {@link DOCS_PER_TAG}). */
export function generateQueryData(n: number): QueryData {
  if (!Number.isInteger(n) || n <= 0 || n % DOCS_PER_TAG !== 0)
    throw new Error(`query data: n must be a positive multiple of ${DOCS_PER_TAG}, got ${n}`);
  const rng = new SeededRandom(0x9e3 + n);
  const tags = n / DOCS_PER_TAG;
  const width = String(n - 1).length;
  const ids: string[] = [];
  const docs: QueryDoc[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(`d${String(i).padStart(width, '0')}`);
    let name = '';
    for (let k = 0; k < 6; k++) name += String.fromCharCode(97 + rng.int(26));
    docs.push({ tag: `t${i % tags}`, score: rng.next() * 1000, grp: `g${rng.int(GROUPS)}`, name, i });
  }
  const eqTags = Array.from({ length: QUERIES_PER_SAMPLE }, () => `t${rng.int(tags)}`);
  const rangeWidth = (1000 * RANGE_DOCS) / n;
  const rangeStarts = Array.from({ length: QUERIES_PER_SAMPLE }, () => rng.next() * (1000 - rangeWidth));
  const liveTag = 't0';
  const liveIds = ids.filter((_, i) => docs[i]!.tag === liveTag);
  return { n, ids, docs, eqTags, rangeStarts, rangeWidth, liveTag, liveIds };
}
