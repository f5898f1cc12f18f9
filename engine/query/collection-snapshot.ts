/**
 * In-memory snapshots of whole collections for full scans and aggregations: the query layer's
 * answer to SQLite's hot page cache.
 *
 * A full scan through the LSM costs an iterator merge, a copy of every key and value, and a
 * materialization (decode, JSON parse, freeze) per document, some 40 times the cost of the
 * query's own work on documents already in memory. So the first full scan of a collection
 * keeps the deep-frozen documents it materialized, in id order, and later scans and
 * aggregations of that collection read them instead of the store.
 *
 * Exactness: a snapshot is filled by one uninterrupted scan and then follows every committed
 * change through `db.onChange` (local writes and entries ingested through sync: each change
 * carries the document's new visible form). A rebuild drops every snapshot of the database
 * (it rewrites all rows and is rare). A scan cut short (a query that stops early) or during
 * which a change was committed keeps nothing. So a snapshot always equals a scan of the
 * stored documents; the property test `collection-snapshot.test.ts` checks this under random
 * local and remote writes. One window is left: listeners run in registration order, so a
 * change listener registered before a collection's first snapshot that runs a full scan of
 * that collection synchronously inside its callback would read the snapshot before this
 * change reached it (live queries do not: they re-query at delivery, after every listener).
 *
 * Costs: memory (bounded by {@link SNAPSHOT_ENTRIES_MAX_DEFAULT} documents and
 * {@link SNAPSHOT_BYTES_MAX_DEFAULT} estimated bytes per database, see {@link SnapshotLimits});
 * and, while a database holds any snapshot, every write computes its visible changes for the
 * listener (a materialization of each written document before and after), as it does for a
 * live query. A collection that would exceed the bounds is not kept (or is dropped when writes
 * make it grow past them) and is scanned from the store every time. Snapshots of a closed
 * database are dropped at its next use; their memory is freed with the database object.
 */

import { compareUtf8, deepFreeze } from '../crdt/json.ts';
import type { JsonObject } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import type { ChangeOrigin, DocChange } from '../db/derived.ts';
import { InvalidArgumentError } from '../errors.ts';

/** Default most documents held in snapshots, over all collections of one database. */
export const SNAPSHOT_ENTRIES_MAX_DEFAULT = 1_000_000;
/** Default most estimated bytes held in snapshots of one database (see {@link documentBytes}). */
export const SNAPSHOT_BYTES_MAX_DEFAULT = 256 * 1024 * 1024;
/**
 * Estimated fixed cost of one held document in bytes (the row object, the tuple, the entries
 * of the two maps by id, the document object's header). With
 * {@link SNAPSHOT_FIELD_OVERHEAD_BYTES}, set so the estimate of the query bench's 100K
 * documents (39.9 MB) meets their measured heap (39.5 MB).
 */
export const SNAPSHOT_ROW_OVERHEAD_BYTES = 192;
/** Estimated cost of one field beyond its text (a property slot, string or number headers). */
export const SNAPSHOT_FIELD_OVERHEAD_BYTES = 24;

/** Bounds of one database's snapshots. Zero entries disables them. */
export interface SnapshotLimits {
  /** Most documents held. Default {@link SNAPSHOT_ENTRIES_MAX_DEFAULT}. */
  readonly entriesMax?: number;
  /** Most estimated bytes held. Default {@link SNAPSHOT_BYTES_MAX_DEFAULT}. */
  readonly bytesMax?: number;
}

/** What one database's snapshots hold now. */
export interface SnapshotStats {
  /** Names of the collections held, ascending. */
  readonly collections: readonly string[];
  /** Documents held. */
  readonly entries: number;
  /** Estimated bytes held. */
  readonly bytes: number;
}

/** A held document: the tuple scans yield (its document replaced in place on update) and its size. */
interface Row {
  readonly entry: [string, JsonObject];
  bytes: number;
}

/** One collection's documents. */
interface CollectionSnapshot {
  readonly byId: Map<string, Row>;
  /**
   * The same documents by id, for lookups: an index query fetches documents scattered over a
   * large collection, and a map to the document itself saves a cache miss per document over
   * going through its `Row` (about 170 ns of 600 at 100K documents).
   */
  readonly docs: Map<string, JsonObject>;
  /** Tuples in id order; a tuple is live exactly when `byId` maps its id to it. */
  sorted: [string, JsonObject][];
  /** Tuples of ids added since `sorted` was last rebuilt. */
  pending: [string, JsonObject][];
  /** Whether `sorted` holds dead tuples or `pending` is not empty. */
  dirty: boolean;
  /** Set when the snapshot is dropped: it no longer follows writes. */
  dropped: boolean;
  /** Bumped by every change applied to this collection's documents. */
  changes: number;
}

/** The snapshots of one database. */
interface Snapshots {
  readonly entriesMax: number;
  readonly bytesMax: number;
  readonly collections: Map<string, CollectionSnapshot>;
  entries: number;
  bytes: number;
  /** Bumped by every committed change notification: a fill that saw it change keeps nothing. */
  version: number;
  /** Stops the change listener; set while any snapshot is held or being filled. */
  unlisten: (() => void) | undefined;
}

const byDatabase = new WeakMap<Database, Snapshots>();

function checkLimit(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new InvalidArgumentError(`${what} must be a non-negative safe integer, got ${value}`);
  return value;
}

/** Sets the bounds of `db`'s snapshots (dropping every snapshot it holds). */
export function configureSnapshots(db: Database, limits: SnapshotLimits): void {
  const entriesMax = checkLimit(limits.entriesMax ?? SNAPSHOT_ENTRIES_MAX_DEFAULT, 'entriesMax');
  const bytesMax = checkLimit(limits.bytesMax ?? SNAPSHOT_BYTES_MAX_DEFAULT, 'bytesMax');
  dropSnapshots(db);
  byDatabase.set(db, newSnapshots(entriesMax, bytesMax));
}

function newSnapshots(entriesMax: number, bytesMax: number): Snapshots {
  return {
    entriesMax,
    bytesMax,
    collections: new Map(),
    entries: 0,
    bytes: 0,
    version: 0,
    unlisten: undefined,
  };
}

/** Drops every snapshot of `db` and stops following its changes (the bounds stay). */
export function dropSnapshots(db: Database): void {
  const s = byDatabase.get(db);
  if (s === undefined) return;
  for (const snap of s.collections.values()) snap.dropped = true;
  s.collections.clear();
  s.entries = 0;
  s.bytes = 0;
  s.unlisten?.();
  s.unlisten = undefined;
}

/** What `db`'s snapshots hold now. */
export function snapshotStats(db: Database): SnapshotStats {
  const s = byDatabase.get(db);
  if (s === undefined) return { collections: [], entries: 0, bytes: 0 };
  return { collections: [...s.collections.keys()].sort(), entries: s.entries, bytes: s.bytes };
}

/**
 * The estimated memory of a held document: UTF-16 bytes of its id, field names and string
 * values, 8 bytes per other scalar, the JSON text of nested values as UTF-16,
 * {@link SNAPSHOT_FIELD_OVERHEAD_BYTES} per field, plus {@link SNAPSHOT_ROW_OVERHEAD_BYTES}. Each row keeps the figure it was counted
 * with, so what a change removes is exactly what was added.
 */
export function documentBytes(id: string, doc: JsonObject): number {
  let bytes = SNAPSHOT_ROW_OVERHEAD_BYTES + 2 * id.length;
  for (const name of Object.keys(doc)) {
    const v = doc[name];
    bytes += SNAPSHOT_FIELD_OVERHEAD_BYTES + 2 * name.length;
    if (typeof v === 'string') bytes += 2 * v.length;
    else if (typeof v === 'object' && v !== null) bytes += 2 * JSON.stringify(v).length;
    else bytes += 8;
  }
  return bytes;
}

/** Whether `db` holds a snapshot of `collection` now (a full scan of it then reads memory). */
export function hasSnapshot(db: Database, collection: string): boolean {
  return !db.isClosed && byDatabase.get(db)?.collections.has(collection) === true;
}

/**
 * A reader of `collection`'s documents by id from its snapshot when one is held (a map
 * lookup instead of a store read), else one that reads the store (`db.get`). Both answer
 * exactly what `db.get` would at the moment of the call.
 */
export function documentReader(db: Database, collection: string): (id: string) => JsonObject | undefined {
  const held = db.isClosed ? undefined : byDatabase.get(db)?.collections.get(collection);
  if (held === undefined) return (id) => db.get(collection, id);
  const docs = held.docs;
  // A snapshot dropped since (a rebuild, a bound) no longer follows writes; a closed database throws.
  return (id) => (held.dropped || db.isClosed ? db.get(collection, id) : docs.get(id));
}

/** The documents of a held snapshot, and what tells whether they are still the same. */
export interface HeldRows {
  /** The live tuples in id order (see {@link collectionRows}). */
  readonly rows: readonly (readonly [string, JsonObject])[];
  /** The same object for as long as the snapshot is held (a key for data derived from it). */
  readonly token: object;
  /** Changes applied to the snapshot so far: equal figures of one token mean equal rows. */
  readonly changes: number;
}

/**
 * The rows of `collection`'s snapshot with a token and change count, for callers that keep
 * data derived from them (aggregate-columns.ts); undefined when no snapshot is held.
 */
export function heldRows(db: Database, collection: string): HeldRows | undefined {
  if (db.isClosed) return undefined;
  const snap = byDatabase.get(db)?.collections.get(collection);
  if (snap === undefined) return undefined;
  return { rows: liveRows(snap), token: snap, changes: snap.changes };
}

/**
 * Every visible document of `collection` (deep-frozen) in id order (UTF-8 bytes), as
 * `db.documents(collection)` yields them: from the collection's snapshot when one is held,
 * else from a scan of the store that keeps a snapshot when it runs to the end within the
 * bounds. The rows must be consumed synchronously (no write to `db` before the loop ends);
 * a tuple yielded may be reused for the same id after a later write.
 */
export function collectionRows(db: Database, collection: string): Iterable<readonly [string, JsonObject]> {
  let s = byDatabase.get(db);
  if (s !== undefined && db.isClosed) {
    dropSnapshots(db);
    s = undefined;
  }
  const held = s?.collections.get(collection);
  if (held !== undefined) return liveRows(held);
  if (db.isClosed) return db.documents(collection); // Throws ClosedError when read.
  if (s === undefined) {
    s = newSnapshots(SNAPSHOT_ENTRIES_MAX_DEFAULT, SNAPSHOT_BYTES_MAX_DEFAULT);
    byDatabase.set(db, s);
  }
  if (s.entriesMax === 0) return db.documents(collection);
  return fillingScan(db, s, collection);
}

/** The live tuples of `snap` in id order, compacting first when writes added or removed ids. */
function liveRows(snap: CollectionSnapshot): readonly [string, JsonObject][] {
  if (!snap.dirty) return snap.sorted;
  const live = snap.sorted.filter((t) => snap.byId.get(t[0])?.entry === t);
  const added = snap.pending
    .filter((t) => snap.byId.get(t[0])?.entry === t)
    .sort((a, b) => compareUtf8(a[0], b[0]));
  snap.sorted = added.length === 0 ? live : mergeById(live, added);
  snap.pending = [];
  snap.dirty = false;
  return snap.sorted;
}

/** Merges two id-ordered lists of distinct ids. */
function mergeById(a: [string, JsonObject][], b: [string, JsonObject][]): [string, JsonObject][] {
  const out: [string, JsonObject][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(compareUtf8(a[i]![0], b[j]![0]) < 0 ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** Yields the store's documents and keeps them as a snapshot if the scan ends whole, unchanged and in bounds. */
function* fillingScan(db: Database, s: Snapshots, collection: string): Generator<[string, JsonObject]> {
  if (s.unlisten === undefined)
    s.unlisten = db.onChange((changes, origin) => onChanges(db, s, changes, origin));
  const startVersion = s.version;
  const sorted: [string, JsonObject][] = [];
  const byId = new Map<string, Row>();
  const docs = new Map<string, JsonObject>();
  let bytes = 0;
  let keeping = true;
  let whole = false;
  try {
    for (const entry of db.documents(collection)) {
      if (keeping) {
        const rowBytes = documentBytes(entry[0], entry[1]);
        bytes += rowBytes;
        keeping = s.entries + sorted.length + 1 <= s.entriesMax && s.bytes + bytes <= s.bytesMax;
        if (keeping) {
          sorted.push(entry);
          byId.set(entry[0], { entry, bytes: rowBytes });
          docs.set(entry[0], entry[1]);
        } else {
          sorted.length = 0;
          byId.clear();
          docs.clear();
        }
      }
      yield entry;
    }
    whole = true;
  } finally {
    const held = byDatabase.get(db) === s && !s.collections.has(collection);
    if (whole && keeping && held && s.version === startVersion && s.unlisten !== undefined) {
      s.collections.set(collection, {
        byId,
        docs,
        sorted,
        pending: [],
        dirty: false,
        dropped: false,
        changes: 0,
      });
      s.entries += sorted.length;
      s.bytes += bytes;
    } else if (s.collections.size === 0) {
      s.unlisten?.();
      s.unlisten = undefined;
    }
  }
}

/** Applies committed changes to the held snapshots. */
function onChanges(db: Database, s: Snapshots, changes: readonly DocChange[], origin: ChangeOrigin): void {
  s.version++;
  if (origin === 'rebuild') {
    dropSnapshots(db);
    return;
  }
  for (const c of changes) {
    const snap = s.collections.get(c.collection);
    if (snap !== undefined) applyChange(s, snap, c);
  }
  for (const [name, snap] of s.collections) {
    if (s.entries <= s.entriesMax && s.bytes <= s.bytesMax) break;
    dropCollection(s, name, snap);
  }
  if (s.collections.size === 0) {
    s.unlisten?.();
    s.unlisten = undefined;
  }
}

function applyChange(s: Snapshots, snap: CollectionSnapshot, c: DocChange): void {
  snap.changes++;
  const row = snap.byId.get(c.id);
  if (row !== undefined) {
    s.bytes -= row.bytes;
    if (c.after === undefined) {
      snap.byId.delete(c.id);
      snap.docs.delete(c.id);
      snap.dirty = true;
      s.entries--;
      return;
    }
  }
  if (c.after === undefined) return;
  // A frozen copy: the change's object is shared with other listeners and left as it is.
  const doc = deepFreeze({ ...c.after }) as JsonObject;
  const bytes = documentBytes(c.id, doc);
  s.bytes += bytes;
  if (row !== undefined) {
    row.entry[1] = doc;
    snap.docs.set(c.id, doc);
    row.bytes = bytes;
    return;
  }
  const entry: [string, JsonObject] = [c.id, doc];
  snap.byId.set(c.id, { entry, bytes });
  snap.docs.set(c.id, doc);
  snap.pending.push(entry);
  snap.dirty = true;
  s.entries++;
}

function dropCollection(s: Snapshots, name: string, snap: CollectionSnapshot): void {
  for (const row of snap.byId.values()) s.bytes -= row.bytes;
  s.entries -= snap.byId.size;
  s.collections.delete(name);
  snap.dropped = true;
}
