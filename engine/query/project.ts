/**
 * Projections: the selected paths of a document, nested objects rebuilt, missing paths left
 * out, `_id` as a top-level field. When one selected path lies inside another (`a` and `a.b`),
 * the shorter one's whole value is kept.
 */

import type { JsonObject, JsonValue } from '../crdt/lww.ts';
import { compilePath } from './compare.ts';
import type { FieldPath } from './types.ts';

/** The projection of a row. */
export type Projector = (doc: JsonObject, id: string) => JsonObject;

/** The projection of a query without `select`: the document itself. */
const WHOLE_DOCUMENT: Projector = (doc) => doc;

/** Compiles `select` (checked): without it, rows are returned whole. */
export function compileProjection(select: readonly FieldPath[] | undefined): Projector {
  if (select === undefined) return WHOLE_DOCUMENT;
  // Shorter paths first, so a path inside an already selected one is seen to be covered.
  const paths = [...select].sort((a, b) => a.split('.').length - b.split('.').length);
  const readers = paths.map((p) => ({ segments: p.split('.'), get: compilePath(p) }));
  return (doc, id) => {
    const out: Record<string, JsonValue> = {};
    const built = new Set<object>([out]);
    for (const { segments, get } of readers) {
      const v = get(doc, id);
      if (v !== undefined) place(out, built, segments, v);
    }
    for (const o of built) Object.freeze(o);
    return out;
  };
}

/** Sets `segments` of `out` to `v`, unless a shorter selected path already holds the place. */
function place(
  out: Record<string, JsonValue>,
  built: Set<object>,
  segments: readonly string[],
  v: JsonValue,
): void {
  let node = out;
  for (let i = 0; i < segments.length - 1; i++) {
    const key = segments[i]!;
    if (!Object.hasOwn(node, key)) {
      const child: Record<string, JsonValue> = {};
      built.add(child);
      setOwn(node, key, child);
    }
    const next = node[key]!;
    if (!built.has(next as object)) return; // Covered by a shorter path's whole value.
    node = next as Record<string, JsonValue>;
  }
  const last = segments[segments.length - 1]!;
  if (!Object.hasOwn(node, last)) setOwn(node, last, v);
}

/** Defines an own property, so that a key such as `__proto__` is data, not a prototype change. */
function setOwn(o: Record<string, JsonValue>, key: string, v: JsonValue): void {
  Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
}
