/**
 * The flat path's helpers for `canonicalFields` (canonical-fields.ts): a document's shape (its
 * names sorted in UTF-8 order and their JSON, the last one kept for documents of the same
 * keys), the JSON of checked names (a bounded cache), and the check that a string needs no
 * escape. Nothing here makes checked fields; it only answers questions about names and strings.
 */

import { compareUtf8, LONE_SURROGATE, MAX_FIELD_NAME_BYTES, MAX_JSON_OBJECT_KEYS } from './json.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A document's field names as the flat path writes them (see {@link flatShapeOf}). */
export interface FlatShape {
  /** `Object.keys` of the documents of this shape, in their order. */
  readonly keys: readonly string[];
  /** The names in UTF-8 byte order. */
  readonly names: readonly string[];
  /** `nameJsons[i]` is the JSON text of `names[i]`. */
  readonly nameJsons: readonly string[];
  /** The text's length without the values: braces, names, colons and commas. */
  readonly namesTextLength: number;
}

/**
 * The last shape {@link flatShapeOf} made. Documents written one after another mostly have
 * the same keys in the same order (objects of one hidden class), and then their sorted names
 * and the names' JSON are this one's: shared, never changed (SealedFields only freezes them).
 */
let lastShape: FlatShape | undefined;

/**
 * The sorted names and their JSON for a document whose `Object.keys` are `keys`, or undefined
 * when the flat path cannot take them (too many, a name too long or with a lone surrogate).
 * Takes ownership of `keys`.
 */
export function flatShapeOf(keys: string[]): FlatShape | undefined {
  const last = lastShape;
  if (last !== undefined && sameStrings(last.keys, keys)) return last;
  if (keys.length > MAX_JSON_OBJECT_KEYS) return undefined;
  const names = keys.slice();
  sortNames(names);
  const nameJsons = new Array<string>(names.length);
  let namesTextLength = names.length > 0 ? 1 + names.length : 2;
  for (let i = 0; i < names.length; i++) {
    const nameJson = fieldNameJson(names[i]!);
    if (nameJson === undefined) return undefined;
    nameJsons[i] = nameJson;
    namesTextLength += nameJson.length + 1;
  }
  lastShape = { keys, names, nameJsons, namesTextLength };
  return lastShape;
}

/** True when `a` and `b` hold the same strings in the same order. */
function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Names sorted in place by UTF-8 bytes; a document's few are insertion-sorted, with no allocation. */
function sortNames(names: string[]): void {
  if (names.length > NAMES_INSERTION_SORT_MAX) {
    names.sort(compareUtf8);
    return;
  }
  for (let i = 1; i < names.length; i++) {
    const name = names[i]!;
    let j = i - 1;
    for (; j >= 0 && compareUtf8(names[j]!, name) > 0; j--) names[j + 1] = names[j]!;
    names[j + 1] = name;
  }
}

/** Longest name list {@link sortNames} sorts by insertion. */
const NAMES_INSERTION_SORT_MAX = 8;

/**
 * Field names recently checked, to their JSON text: documents of one kind repeat the same few
 * names, and a hit skips the lone-surrogate test and `JSON.stringify`. Bounded: emptied when
 * it reaches {@link FIELD_NAMES_CACHED_MAX}.
 */
const fieldNameJsons = new Map<string, string>();
/** Most names {@link fieldNameJsons} holds. */
const FIELD_NAMES_CACHED_MAX = 1024;

/** The JSON text of `name` if the flat path can take it as a field name, else undefined. */
function fieldNameJson(name: string): string | undefined {
  const known = fieldNameJsons.get(name);
  if (known !== undefined) return known;
  if (3 * name.length > MAX_FIELD_NAME_BYTES || LONE_SURROGATE.test(name)) return undefined;
  const json = JSON.stringify(name);
  if (fieldNameJsons.size >= FIELD_NAMES_CACHED_MAX) fieldNameJsons.clear();
  fieldNameJsons.set(name, json);
  return json;
}

/** True when `JSON.stringify(s)` is `s` in quotes: no quote, backslash, control character or surrogate. */
export function needsNoEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === QUOTE || c === BACKSLASH || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}
