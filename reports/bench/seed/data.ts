/**
 * The data set of the `seed` suite: `n` small JSON documents (`{ title, body, n }`, about 100
 * bytes as JSON text) under distinct random ids, and the plan of random primary-key reads. The
 * same seed gives every system the same documents in the same order, so runs are comparable.
 */

import { assert } from '../../../engine/assert.ts';
import { SeededRandom } from '../../../engine/io/random.ts';

/** Reads per sample of the read workloads (fewer when the data set holds fewer documents). */
export const READS_PER_SAMPLE_MAX = 10_000;
/** Seed of the data set; fixed so that every run measures the same documents. */
export const DATA_SEED = 0x53454544; // "SEED"
/** Random characters in an id after its `doc-` prefix. */
export const ID_RANDOM_CHARS = 12;
/** Collection every system's documents live in (the SQL table has the same name). */
export const COLLECTION = 'docs';

/**
 * One document, shaped like a note in a personal app. A type alias rather than an interface so
 * that it is assignable to the engine's `JsonObject` (an index-signature type) without a copy.
 */
export type SeedDoc = {
  readonly title: string;
  readonly body: string;
  readonly n: number;
};

/** The documents and the read plan for one size `n`. */
export interface SeedData {
  /** Number of documents. */
  n: number;
  /** Distinct document ids, in write order. */
  ids: string[];
  /** `docs[i]` is the document stored under `ids[i]`. */
  docs: SeedDoc[];
  /** `texts[i]` is `JSON.stringify(docs[i])`, what the SQL systems store. */
  texts: string[];
  /** Ids to read in one sample, drawn uniformly (with repetition) from `ids`. */
  readIds: string[];
  /** `readIds[k]` is `ids[readIndexes[k]]`, so a read can be checked against its document. */
  readIndexes: number[];
  /** Mean bytes of a document as JSON text. */
  docBytesMean: number;
}

const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const WORDS = [
  'local',
  'first',
  'sync',
  'offline',
  'peer',
  'note',
  'draft',
  'garden',
  'river',
  'ledger',
  'signal',
  'harbor',
  'maple',
  'quiet',
  'copper',
  'orbit',
  'meadow',
  'lantern',
  'thread',
  'summit',
] as const;
/** Words in a title. */
const TITLE_WORDS = 3;
/** Words in a body. */
const BODY_WORDS = 8;

function randomId(random: SeededRandom): string {
  let id = 'doc-';
  for (let i = 0; i < ID_RANDOM_CHARS; i++) id += ID_ALPHABET[random.int(ID_ALPHABET.length)];
  return id;
}

function words(random: SeededRandom, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(WORDS[random.int(WORDS.length)]!);
  return out.join(' ');
}

/** Generates the data set for `n` documents; the same `n` always gives the same documents. */
export function generateSeedData(n: number): SeedData {
  assert(Number.isSafeInteger(n), `n must be an integer, got ${n}`);
  assert(n > 0, `n must be positive, got ${n}`);
  const random = new SeededRandom(DATA_SEED ^ n);
  const seen = new Set<string>();
  const ids: string[] = [];
  const docs: SeedDoc[] = [];
  for (let i = 0; i < n; i++) {
    let id: string;
    do id = randomId(random);
    while (seen.has(id));
    seen.add(id);
    ids.push(id);
    docs.push({
      title: words(random, TITLE_WORDS),
      body: words(random, BODY_WORDS),
      n: random.int(1_000_000),
    });
  }
  const reads = Math.min(n, READS_PER_SAMPLE_MAX);
  return seedDataOf(
    ids,
    docs,
    Array.from({ length: reads }, () => random.int(n)),
  );
}

/**
 * A data set of the given documents and read plan (tests build unusual ones: quotes in ids,
 * non-ASCII text). Ids must be distinct and non-empty, every read index must name a document.
 */
export function seedDataOf(ids: string[], docs: SeedDoc[], readIndexes: number[]): SeedData {
  assert(ids.length > 0, 'a data set needs at least one document');
  assert(ids.length === docs.length, `${ids.length} ids for ${docs.length} documents`);
  assert(new Set(ids).size === ids.length, 'document ids must be distinct');
  assert(
    ids.every((id) => id.length > 0),
    'document ids must be non-empty',
  );
  for (const i of readIndexes)
    assert(Number.isInteger(i) && i >= 0 && i < ids.length, `read index ${i} names no document`);
  const texts = docs.map((doc) => JSON.stringify(doc));
  const bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  return {
    n: ids.length,
    ids,
    docs,
    texts,
    readIds: readIndexes.map((i) => ids[i]!),
    readIndexes,
    docBytesMean: bytes / ids.length,
  };
}

/**
 * A document's JSON text with object keys sorted at every level: equal for equal documents
 * whatever order a system returns their fields in.
 */
export function canonicalDocText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
