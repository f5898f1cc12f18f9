/**
 * Reading a vector field out of a document: what a collection's vector index stores for a
 * document, or why it cannot store one.
 *
 * The checks are the index's own (metric.ts) restated without throwing, because the caller
 * decides what a bad vector means: a local write is refused with the reason, an entry from
 * another device (already signed, so it cannot be refused) is stored but not indexed, and every
 * replica decides the same way because the decision is a function of the document alone.
 */

import type { JsonObject } from '../crdt/lww.ts';
import { MAX_ID_LENGTH } from './limits.ts';
import type { VectorMetric } from './metric.ts';

/** Why a document's vector field could not be indexed. Stable strings (they appear in stats). */
export type VectorProblem =
  | 'not-array'
  | 'dimension'
  | 'not-number'
  | 'overflow'
  | 'zero-vector'
  | 'bad-id'
  | 'capacity';

/** Every problem, in a fixed order (for counters). */
export const VECTOR_PROBLEMS: readonly VectorProblem[] = [
  'not-array',
  'dimension',
  'not-number',
  'overflow',
  'zero-vector',
  'bad-id',
  'capacity',
];

/** What a document's vector field holds. */
export type FieldVector =
  | { readonly kind: 'absent' }
  | { readonly kind: 'vector'; readonly vector: Float32Array }
  | { readonly kind: 'invalid'; readonly problem: VectorProblem; readonly detail: string };

const ABSENT: FieldVector = Object.freeze({ kind: 'absent' });

/** How a field is read. */
export interface FieldSpec {
  readonly field: string;
  readonly dimension: number;
  readonly metric: VectorMetric;
}

/**
 * The vector document `id` holds in `spec.field`. A missing document, a missing field and a
 * `null` field all mean "no vector" (so `patch(id, { embedding: null })` clears it); anything
 * else must be an array of `dimension` finite numbers that fit a 32-bit float, not all zero
 * under cosine.
 */
export function readFieldVector(doc: JsonObject | undefined, id: string, spec: FieldSpec): FieldVector {
  if (doc === undefined) return ABSENT;
  const value = doc[spec.field];
  if (value === undefined || value === null) return ABSENT;
  const idProblem = idProblemOf(id);
  if (idProblem !== undefined) return { kind: 'invalid', problem: 'bad-id', detail: idProblem };
  if (!Array.isArray(value))
    return {
      kind: 'invalid',
      problem: 'not-array',
      detail: `expected an array of numbers, got ${typeOf(value)}`,
    };
  if (value.length !== spec.dimension)
    return {
      kind: 'invalid',
      problem: 'dimension',
      detail: `has ${value.length} components, the index has dimension ${spec.dimension}`,
    };
  const vector = new Float32Array(spec.dimension);
  let normSquared = 0;
  for (let i = 0; i < value.length; i++) {
    const x = value[i];
    // JSON has no NaN or Infinity, but a document built elsewhere could hold a string.
    if (typeof x !== 'number' || !Number.isFinite(x))
      return {
        kind: 'invalid',
        problem: 'not-number',
        detail: `component ${i} is ${typeOf(x)}, not a finite number`,
      };
    vector[i] = x;
    const stored = vector[i]!;
    if (!Number.isFinite(stored))
      return {
        kind: 'invalid',
        problem: 'overflow',
        detail: `component ${i} (${x}) overflows a 32-bit float`,
      };
    normSquared += stored * stored;
  }
  if (spec.metric === 'cosine' && normSquared === 0)
    return {
      kind: 'invalid',
      problem: 'zero-vector',
      detail: 'a zero vector has no direction under the cosine metric',
    };
  return { kind: 'vector', vector };
}

/** Why `id` cannot be an index id (hnsw-index.ts `checkId`), or undefined when it can. */
function idProblemOf(id: string): string | undefined {
  if (id.length === 0) return 'an id must not be empty';
  if (id.length > MAX_ID_LENGTH) return `id longer than ${MAX_ID_LENGTH} code units`;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = id.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    return `id has a lone surrogate at ${i}`;
  }
  return undefined;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 20))}`;
  return typeof value;
}
