/**
 * THE total order of JSON values, with `undefined` standing for a missing field. Sorting,
 * range predicates, cursors, min/max and group keys all use it, and docs/query.md shows how the
 * differential test reproduces it in SQLite (`json_type` for the rank, `json_extract` within it).
 *
 * Values are ordered first by rank (missing < null < boolean < number < string < array <
 * object), then within a rank: false < true; numbers numerically (-0 equals 0); strings by
 * UTF-8 bytes (SQLite's BINARY collation); arrays and objects by the UTF-8 bytes of their
 * canonical JSON text (keys sorted), so equality within those ranks is deep equality.
 */

import { canonicalJson, compareUtf8, type JsonObject, type JsonValue } from '../crdt/lww.ts';

/** The rank of each kind of value in the total order. */
export const Rank = Object.freeze({
  missing: 0,
  null: 1,
  boolean: 2,
  number: 3,
  string: 4,
  array: 5,
  object: 6,
});

/** The rank of `v` in the total order (see {@link Rank}). */
export function valueRank(v: JsonValue | undefined): number {
  if (v === undefined) return Rank.missing;
  if (v === null) return Rank.null;
  switch (typeof v) {
    case 'boolean':
      return Rank.boolean;
    case 'number':
      return Rank.number;
    case 'string':
      return Rank.string;
    default:
      return Array.isArray(v) ? Rank.array : Rank.object;
  }
}

/** Canonical texts of frozen containers, computed once: documents are deep-frozen and shared. */
const canonicalTexts = new WeakMap<object, string>();

/** The canonical JSON text of an array or object, cached when the value is frozen. */
export function containerText(v: readonly JsonValue[] | JsonObject): string {
  let text = canonicalTexts.get(v);
  if (text === undefined) {
    text = canonicalJson(v);
    if (Object.isFrozen(v)) canonicalTexts.set(v, text);
  }
  return text;
}

/** Orders `a` and `b` (negative, 0, positive) by the total order described above. */
export function compareValues(a: JsonValue | undefined, b: JsonValue | undefined): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case Rank.boolean:
      return (a === true ? 1 : 0) - (b === true ? 1 : 0);
    case Rank.number:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case Rank.string:
      return a === b ? 0 : compareUtf8(a as string, b as string);
    case Rank.array:
    case Rank.object:
      return a === b ? 0 : compareUtf8(containerText(a as JsonObject), containerText(b as JsonObject));
    default:
      return 0; // missing or null: one value each.
  }
}

/** Whether `a` and `b` are equal in the total order (deep equality for arrays and objects). */
export function valuesEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return compareValues(a, b) === 0;
}

/** Reads a value from a document: the function a compiled {@link FieldPath} becomes. */
export type PathGetter = (doc: JsonObject, id: string) => JsonValue | undefined;

/** The pseudo-field that names a document's id. */
export const ID_FIELD = '_id';

/**
 * The reader of a (checked) dotted path: object keys only, own properties only; anything else
 * on the way (an array, a scalar, an absent key) makes the value missing (`undefined`).
 */
export function compilePath(path: string): PathGetter {
  if (path === ID_FIELD) return (_doc, id) => id;
  const segments = path.split('.');
  if (segments.length === 1) {
    const key = segments[0]!;
    // A name Object.prototype does not have reads as missing exactly when the document lacks
    // it (JSON holds no undefined), so one property load does; other names need the own check.
    if (!(key in Object.prototype)) return (doc) => doc[key];
    return (doc) => (Object.hasOwn(doc, key) ? doc[key] : undefined);
  }
  return (doc) => {
    let v: JsonValue | undefined = doc;
    for (const key of segments) {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
      v = (v as JsonObject)[key];
    }
    return v;
  };
}
