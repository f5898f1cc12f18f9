/**
 * Secondary indexes: declared per collection on one or more field paths, kept as derived views
 * (engine/db/derived.ts) whose rows are staged in the same atomic LSM batch as the documents and
 * recomputed by `Database.rebuild()` like every view.
 *
 * Row (docs/formats/index-rows.md): `76 69 ‖ text(collection) ‖ text(name) ‖ value(f1) ‖ … ‖
 * value(fk) ‖ UTF-8 id` → empty, where `text` and `value` are index-key.ts encodings. Every
 * document of the collection has exactly one row (a missing field encodes as `missing`), so an
 * index orders the whole collection.
 *
 * Declarations are documents of the collection {@link INDEX_CATALOG_COLLECTION}: they are
 * written to the log, survive reopen and rebuild, and reach other devices through sync. Derived
 * views are registered per open, so documents written while an index was not registered (an
 * open that never called {@link openIndexes}, entries ingested before a declaration arrived)
 * are caught up by refilling the index from the documents whenever it is registered: on
 * {@link createIndex}, on {@link openIndexes}, and when a declaration arrives through sync.
 * A refill compares the recomputed rows with the stored ones and writes only when they differ,
 * so an index that was kept current costs one scan of its collection per open.
 */

import type { JsonObject } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import { DERIVED_VIEW_PREFIX, type DerivedView, type DocChange } from '../db/derived.ts';
import { InvalidArgumentError } from '../errors.ts';
import { bytesEqual } from '../lsm/coding.ts';
import type { WriteBatch } from '../lsm/write-batch.ts';
import { compilePath, ID_FIELD, type PathGetter } from './compare.ts';
import { concatBytes, encodeText, KeyWriter } from './index-key.ts';
import type { FieldPath } from './types.ts';
import { checkPath } from './validate.ts';

/** The collection whose documents declare the indexes (one document per index). */
export const INDEX_CATALOG_COLLECTION = '_aregula.indexes';

/** Second byte of every index row's key ('i'), after {@link DERIVED_VIEW_PREFIX}. */
export const INDEX_VIEW_TAG = 0x69;

/** Most fields one index covers. */
export const INDEX_FIELDS_MAX = 8;

/** Longest index name, in UTF-16 code units. */
export const INDEX_NAME_CHARS_MAX = 128;

/** Most indexes one database maintains (each is a derived view, which costs work on every write). */
export const INDEXES_MAX = 32;

/** Version of the declaration documents' shape. */
export const INDEX_DECLARATION_VERSION = 1;

/** What {@link createIndex} takes. */
export interface IndexSpec {
  readonly collection: string;
  /** Field paths (dotted), in key order. `_id` is not indexable: documents are stored by id. */
  readonly fields: readonly FieldPath[];
  /** Default: the fields joined by `,`. */
  readonly name?: string;
}

/** A registered index. */
export interface IndexInfo {
  readonly name: string;
  readonly collection: string;
  readonly fields: readonly FieldPath[];
  /** The derived view's name (`index:<collection>:<name>`). */
  readonly viewName: string;
  /** First bytes of every row of this index. */
  readonly prefix: Uint8Array;
}

/** A declaration found in the catalog that cannot be registered, and why. */
export interface InvalidDeclaration {
  readonly id: string;
  readonly reason: string;
}

/** The derived view of one index. */
class IndexView implements DerivedView {
  readonly name: string;
  readonly prefix: Uint8Array;
  private readonly getters: PathGetter[];
  /** Set while an index is being dropped: it then stages nothing, so a refill empties it. */
  dropping = false;

  constructor(readonly info: IndexInfo) {
    this.name = info.viewName;
    this.prefix = info.prefix;
    this.getters = info.fields.map(compilePath);
  }

  /** The row key of document `id`. */
  keyOf(doc: JsonObject, id: string): Uint8Array {
    const w = new KeyWriter();
    w.raw(this.prefix);
    for (const get of this.getters) w.value(get(doc, id));
    w.raw(utf8.encode(id));
    return w.finish();
  }

  stage(changes: readonly DocChange[], batch: WriteBatch): void {
    if (this.dropping) return;
    for (const c of changes) {
      if (c.collection !== this.info.collection) continue;
      const old = c.before === undefined ? undefined : this.keyOf(c.before, c.id);
      const now = c.after === undefined ? undefined : this.keyOf(c.after, c.id);
      if (old !== undefined && (now === undefined || !bytesEqual(old, now))) batch.delete(old);
      if (now !== undefined) batch.put(now, EMPTY);
    }
  }
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/** One database's registered indexes and the state of its catalog. */
class IndexRegistry {
  readonly views = new Map<string, IndexView>();
  invalid: InvalidDeclaration[] = [];
  /** Set by the catalog listener: a declaration changed (locally or through sync). */
  catalogChanged = true;

  constructor(readonly db: Database) {
    db.onChange((changes) => {
      if (changes.some((c) => c.collection === INDEX_CATALOG_COLLECTION)) this.catalogChanged = true;
    });
  }

  /** Registers every declared index (refilling each) and drops those no longer declared. */
  reconcile(): void {
    if (!this.catalogChanged) return;
    this.catalogChanged = false;
    const declared = new Map<string, IndexInfo>();
    const invalid: InvalidDeclaration[] = [];
    for (const [id, doc] of this.db.documents(INDEX_CATALOG_COLLECTION)) {
      const parsed = parseDeclaration(doc);
      if (typeof parsed === 'string') invalid.push({ id, reason: parsed });
      else if (indexIdOf(parsed.collection, parsed.name) !== id)
        invalid.push({ id, reason: 'the id does not match the declared collection and name' });
      else declared.set(parsed.viewName, parsed);
    }
    for (const [viewName, view] of [...this.views]) {
      const want = declared.get(viewName);
      if (want !== undefined && sameFields(want.fields, view.info.fields)) continue;
      view.dropping = true;
      this.db.refillDerivedView(viewName, { collection: view.info.collection });
      this.db.removeDerivedView(viewName);
      this.views.delete(viewName);
    }
    for (const [viewName, info] of declared) {
      if (this.views.has(viewName)) continue;
      if (this.views.size >= INDEXES_MAX) {
        invalid.push({
          id: indexIdOf(info.collection, info.name),
          reason: `more than ${INDEXES_MAX} indexes`,
        });
        continue;
      }
      const view = new IndexView(info);
      this.db.addDerivedView(view);
      this.views.set(viewName, view);
      this.db.refillDerivedView(viewName, { collection: info.collection });
    }
    this.invalid = invalid;
  }
}

const registries = new WeakMap<Database, IndexRegistry>();

function registryOf(db: Database): IndexRegistry {
  let reg = registries.get(db);
  if (reg === undefined) {
    reg = new IndexRegistry(db);
    registries.set(db, reg);
  }
  reg.reconcile();
  return reg;
}

/** The catalog document id of index `name` on `collection`. */
export function indexIdOf(collection: string, name: string): string {
  return JSON.stringify([collection, name]);
}

/** The derived view prefix of index `name` on `collection`. */
export function indexPrefixOf(collection: string, name: string): Uint8Array {
  return concatBytes(
    Uint8Array.of(DERIVED_VIEW_PREFIX, INDEX_VIEW_TAG),
    concatBytes(encodeText(collection), encodeText(name)),
  );
}

function sameFields(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

/** Checks a spec and returns the index it declares; throws InvalidArgumentError (or a QueryError for a bad path). */
export function checkIndexSpec(spec: IndexSpec): IndexInfo {
  if (typeof spec !== 'object' || spec === null)
    throw new InvalidArgumentError('createIndex: spec must be an object');
  const { collection, fields } = spec;
  if (typeof collection !== 'string' || collection.length === 0)
    throw new InvalidArgumentError('createIndex: collection must be a non-empty string');
  if (collection === INDEX_CATALOG_COLLECTION)
    throw new InvalidArgumentError('createIndex: the index catalog cannot be indexed');
  if (!Array.isArray(fields) || fields.length === 0 || fields.length > INDEX_FIELDS_MAX)
    throw new InvalidArgumentError(`createIndex: fields must list 1..${INDEX_FIELDS_MAX} paths`);
  fields.forEach((f, i) => {
    checkPath(f, `fields[${i}]`);
  });
  if (fields.includes(ID_FIELD)) throw new InvalidArgumentError(`createIndex: ${ID_FIELD} is not indexable`);
  if (new Set(fields).size !== fields.length)
    throw new InvalidArgumentError('createIndex: a field is listed twice');
  const name = spec.name ?? fields.join(',');
  if (typeof name !== 'string' || name.length === 0 || name.length > INDEX_NAME_CHARS_MAX)
    throw new InvalidArgumentError(`createIndex: name must be 1..${INDEX_NAME_CHARS_MAX} characters`);
  return {
    name,
    collection,
    fields: Object.freeze([...fields]),
    viewName: `index:${collection}:${name}`,
    prefix: indexPrefixOf(collection, name),
  };
}

/** The index a catalog document declares, or why it declares none. */
function parseDeclaration(doc: JsonObject): IndexInfo | string {
  if (doc.version !== INDEX_DECLARATION_VERSION) return `unknown declaration version ${String(doc.version)}`;
  try {
    const { collection, fields, name } = doc;
    return checkIndexSpec({ collection, fields, name } as unknown as IndexSpec);
  } catch (err) {
    if (err instanceof Error) return err.message;
    throw err;
  }
}

/**
 * Declares an index (writes its declaration to the catalog, a committed write), registers it
 * and fills it from the documents already stored. Declaring an index that exists with the same
 * fields does nothing; with other fields it is an error (drop it first).
 */
export function createIndex(db: Database, spec: IndexSpec): IndexInfo {
  const info = checkIndexSpec(spec);
  const reg = registryOf(db);
  const existing = reg.views.get(info.viewName);
  if (existing !== undefined) {
    if (sameFields(existing.info.fields, info.fields)) return existing.info;
    throw new InvalidArgumentError(`index ${info.name} on ${info.collection} exists with other fields`);
  }
  if (reg.views.size >= INDEXES_MAX)
    throw new InvalidArgumentError(`at most ${INDEXES_MAX} indexes per database`);
  db.collection(INDEX_CATALOG_COLLECTION).put(
    indexIdOf(info.collection, info.name),
    {
      version: INDEX_DECLARATION_VERSION,
      collection: info.collection,
      fields: [...info.fields],
      name: info.name,
    },
    { commit: true },
  );
  return mustGetIndex(db, info.collection, info.name);
}

/** Removes index `name` of `collection` (its declaration and rows). Returns whether it existed. */
export function dropIndex(db: Database, collection: string, name: string): boolean {
  const reg = registryOf(db);
  if (!reg.views.has(`index:${collection}:${name}`)) return false;
  db.collection(INDEX_CATALOG_COLLECTION).delete(indexIdOf(collection, name), { commit: true });
  registryOf(db);
  return true;
}

/**
 * Registers every index declared in `db`'s catalog, catching each up with the documents
 * (call after every open). Returns the registered indexes.
 */
export function openIndexes(db: Database): IndexInfo[] {
  return listIndexes(db);
}

/** The registered indexes of `db` (of one collection when given), after applying catalog changes. */
export function listIndexes(db: Database, collection?: string): IndexInfo[] {
  const out: IndexInfo[] = [];
  for (const view of registryOf(db).views.values())
    if (collection === undefined || view.info.collection === collection) out.push(view.info);
  return out;
}

/** Declarations in `db`'s catalog that could not be registered (for example from a newer version). */
export function invalidDeclarations(db: Database): readonly InvalidDeclaration[] {
  return registryOf(db).invalid;
}

/** Index `name` of `collection`; throws when it is not registered. */
export function mustGetIndex(db: Database, collection: string, name: string): IndexInfo {
  const view = registryOf(db).views.get(`index:${collection}:${name}`);
  if (view === undefined) throw new InvalidArgumentError(`no index ${name} on ${collection}`);
  return view.info;
}
