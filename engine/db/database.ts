/**
 * The database: collections of JSON documents whose every change is an entry in this
 * device's signed feed (the single source of truth), with documents kept as views of all
 * feeds (views.ts), merged last-writer-wins per field under hybrid logical clocks.
 *
 * A transaction is one feed entry; its entry, the feed head and every view row it changes are
 * written in one LSM batch, so a crash never separates the log from its views. Entries are
 * signed per group commit: every `groupCommitEntries` entries, at `commit()`, and before the
 * replica offers entries to peers (the chain makes one signature vouch for the whole group).
 * Time comes from the injected `Clock`, through an `HlcClock`; nothing here reads the wall
 * clock or randomness directly.
 */

import { assert } from '../assert.ts';
import { decodeHlc, encodeHlcInto, HLC_BYTES, type Hlc, HlcClock } from '../crdt/hlc.ts';
import { type JsonObject, ownedStamp } from '../crdt/lww.ts';
import { materializeEncoded } from '../crdt/state-codec.ts';
import { ClosedError, InvalidArgumentError } from '../errors.ts';
import type { Clock } from '../io/clock.ts';
import type { FileSystem } from '../io/fs.ts';
import { BODY_HEADER_BYTES } from '../log/entry.ts';
import { FeedStore, SIGNED_RANGE_ENTRIES_MAX } from '../log/feed-store.ts';
import { checkIdentity, type Identity } from '../log/identity.ts';
import { nobleSigner, type Signer } from '../log/signer.ts';
import { startsWithBytes } from '../lsm/coding.ts';
import { Lsm, type LsmOptions, type ScanOptions } from '../lsm/lsm.ts';
import type { WriteBatch } from '../lsm/write-batch.ts';
import {
  CHANGE_LISTENERS_MAX,
  type ChangeListener,
  type ChangeOrigin,
  checkDerivedView,
  type DerivedView,
  type DocChange,
  docChangesOf,
  notifyListeners,
} from './derived.ts';
import { type CollectionSlots, DocCache, type DocCacheOptions } from './doc-cache.ts';
import {
  collectionNameBytes,
  type DbOp,
  docKeyOf,
  encodePreparedPayload,
  type PreparedOp,
  prepareOp,
} from './payload.ts';
import { rebuildViews, refillView } from './rebuild.ts';
import { DatabaseReplica } from './replica.ts';
import { SpareBatch } from './spare-batch.ts';
import {
  collectionPrefixOf,
  docKeyParts,
  hashRows,
  idOfKey,
  VIEW_PREFIX,
  ViewWriter,
  viewRows,
} from './views.ts';

/** The changes of a write nobody follows (no derived view, no listener). */
const NO_CHANGES: readonly DocChange[] = Object.freeze([]);

/** Most collection names whose UTF-8 a database remembers (names past it are encoded per call). */
export const COLLECTION_NAMES_CACHED_MAX = 1024;

/**
 * Largest encoded batch a database keeps for its next write: a big transaction's buffer is
 * dropped rather than held for the life of the database.
 */
export const SPARE_BATCH_BYTES_MAX = 64 * 1024;

/**
 * Unsigned local entries after which a write signs (ends its group commit), unless the
 * database is opened with another `groupCommitEntries`. Equal to the feed store's signed-range
 * length (`SIGNED_RANGE_ENTRIES_MAX`) and a sync message's default entry count, so a group is
 * served, and verified by a receiver, with one signature check.
 */
export const DEFAULT_GROUP_COMMIT_ENTRIES = 256;
assert(
  DEFAULT_GROUP_COMMIT_ENTRIES <= SIGNED_RANGE_ENTRIES_MAX,
  'a default group commit fits in one signed range',
);

/** Bounds of a scan over a derived view's rows (see `Database.derivedRows`). */
export type DerivedScanOptions = Omit<ScanOptions, 'snapshot'>;

/** How to open a database. */
export interface DatabaseOptions {
  /** Where the store lives. */
  fs: FileSystem;
  /** This device's identity (its feed's author). */
  identity: Identity;
  /** Wall clock (the simulator's virtual clock in tests). */
  clock: Clock;
  /** Signing backend. Default: the portable `nobleSigner`; in Node pass `nodeSigner`. */
  signer?: Signer;
  /** Storage tuning. */
  lsm?: LsmOptions;
  /** Sign after this many unsigned local entries. Default {@link DEFAULT_GROUP_COMMIT_ENTRIES}. */
  groupCommitEntries?: number;
  /** How far a remote timestamp may pull the local clock ahead of the wall clock. */
  maxForwardDriftMs?: number;
  /**
   * Bounds of the cache of materialized documents that serves repeated `get`s (see
   * doc-cache.ts). Default 16,384 documents and 8 MiB; `{ entriesMax: 0 }` disables it.
   */
  documentCache?: DocCacheOptions;
}

/** Per-write options. */
export interface DbWriteOptions {
  /** Sign pending entries and sync the WAL before returning (durable and shareable). */
  commit?: boolean;
}

/** What a write produced: its entry's sequence number in this device's feed, and its timestamp. */
export interface WriteReceipt {
  seq: number;
  hlc: Hlc;
}

/** The operations a transaction may perform. */
export interface Transaction {
  put(collection: string, id: string, doc: JsonObject): void;
  patch(collection: string, id: string, fields: JsonObject): void;
  unset(collection: string, id: string, names: string[]): void;
  delete(collection: string, id: string): void;
}

/** A named set of documents. */
export class Collection {
  /** This collection's cached documents, once any is cached (see `CollectionSlots`). */
  private slots: CollectionSlots | undefined;

  constructor(
    private readonly db: Database,
    /** The collection's name. */
    readonly name: string,
    private readonly nameBytes: Uint8Array,
  ) {}

  /** Replaces document `id` with `doc`. */
  put(id: string, doc: JsonObject, options?: DbWriteOptions): WriteReceipt {
    return this.db.writeOne({ kind: 'put', collection: this.name, id, fields: doc }, this.nameBytes, options);
  }

  /** Sets the given top-level fields of document `id`. */
  patch(id: string, fields: JsonObject, options?: DbWriteOptions): WriteReceipt {
    return this.db.writeOne({ kind: 'patch', collection: this.name, id, fields }, this.nameBytes, options);
  }

  /** Removes the named fields of document `id`. */
  unset(id: string, names: string[], options?: DbWriteOptions): WriteReceipt {
    return this.db.writeOne({ kind: 'unset', collection: this.name, id, names }, this.nameBytes, options);
  }

  /** Deletes document `id`. */
  delete(id: string, options?: DbWriteOptions): WriteReceipt {
    return this.db.writeOne({ kind: 'delete', collection: this.name, id }, this.nameBytes, options);
  }

  /** Document `id` (deep-frozen), or undefined. */
  get(id: string): JsonObject | undefined {
    // A hit in this collection's map is exact (a closed database's maps are empty); a miss
    // asks the database, which checks, reads and caches, and hands back the current map.
    const slot = this.slots?.get(id);
    if (slot !== undefined) {
      slot.referenced = true;
      return slot.doc;
    }
    const doc = this.db.get(this.name, id);
    this.slots = this.db.cachedSlots(this.name);
    return doc;
  }

  /** Every visible document (deep-frozen), in id order (bytewise UTF-8). */
  *all(): Generator<[string, JsonObject]> {
    yield* this.db.documents(this.name);
  }
}

/**
 * A local-first database. Create with {@link Database.open}.
 *
 * Documents returned by `get` and `all` are deep-frozen: they may be shared with the document
 * cache and with later callers, so a caller that wants to change one copies it (for example
 * with `structuredClone`) and writes the copy back.
 */
export class Database {
  /** The feeds (entries, heads, signatures, fork proofs). */
  readonly feeds: FeedStore;
  /** The sync protocol's view of this database. */
  readonly replica: DatabaseReplica;
  private readonly hlc: HlcClock;
  private readonly groupCommitEntries: number;
  /** This device's public key, an owned copy (stamps share it). */
  private readonly author: Uint8Array;
  private readonly cache: DocCache;
  /** UTF-8 of checked collection names, at most {@link COLLECTION_NAMES_CACHED_MAX}. */
  private readonly names = new Map<string, Uint8Array>();
  /** Views derived from the documents, staged in every write's batch (derived.ts). */
  private readonly derived: DerivedView[] = [];
  /** Change listeners (live queries, vector indexes). */
  private readonly listeners = new Set<ChangeListener>();
  private unsigned = 0;
  /** True while some local entry may not be durable yet (written without a WAL sync). */
  private unsynced = false;
  /** The batch of the last local write, free for the next one. */
  private readonly spareBatch = new SpareBatch(SPARE_BATCH_BYTES_MAX);
  /** A local write's encoded timestamp: the feed store copies it into the entry, so one array serves every write. */
  private readonly hlcBytes = new Uint8Array(HLC_BYTES);
  private closed = false;
  /** Reads a live view row (a one-argument reader: the views' sign of a live write). */
  private readonly readRow = (key: Uint8Array): Uint8Array | undefined => this.lsm.get(key);

  private constructor(
    private readonly lsm: Lsm,
    readonly identity: Identity,
    readonly signer: Signer,
    options: DatabaseOptions,
  ) {
    this.cache = new DocCache(options.documentCache);
    this.author = identity.publicKey.slice();
    this.feeds = new FeedStore(lsm, signer);
    const head = this.feeds.head(identity.publicKey);
    let start: Hlc | undefined;
    if (head !== undefined)
      start = decodeHlc(this.feeds.readEntries(identity.publicKey, head.seq, head.seq)[0]!.hlc);
    this.unsigned = head === undefined ? 0 : head.seq - head.signedSeq;
    this.hlc = new HlcClock({ clock: options.clock, maxForwardDriftMs: options.maxForwardDriftMs, start });
    this.groupCommitEntries = options.groupCommitEntries ?? DEFAULT_GROUP_COMMIT_ENTRIES;
    if (!Number.isInteger(this.groupCommitEntries) || this.groupCommitEntries < 1) {
      throw new InvalidArgumentError('groupCommitEntries must be a positive integer');
    }
    this.replica = new DatabaseReplica(this, lsm, this.feeds, this.hlc);
  }

  /** Opens (creating if new) the database in `options.fs`, recovering from any crash. */
  static open(options: DatabaseOptions): Database {
    checkIdentity(options.identity);
    const lsm = Lsm.open(options.fs, options.lsm);
    try {
      return new Database(lsm, options.identity, options.signer ?? nobleSigner, options);
    } catch (err) {
      lsm.close();
      throw err;
    }
  }

  /** The collection called `name`. */
  collection(name: string): Collection {
    return new Collection(this, name, this.nameBytes(name));
  }

  /** The checked UTF-8 of a collection name, remembered for the next call. */
  private nameBytes(name: string): Uint8Array {
    let bytes = this.names.get(name);
    if (bytes === undefined) {
      bytes = collectionNameBytes(name);
      if (this.names.size < COLLECTION_NAMES_CACHED_MAX) this.names.set(name, bytes);
    }
    return bytes;
  }

  /**
   * Runs `fn` and writes everything it did as ONE entry, atomically with its view changes.
   * If `fn` throws, nothing is written. An empty transaction writes nothing.
   */
  transaction(fn: (tx: Transaction) => void, options: DbWriteOptions = {}): WriteReceipt | undefined {
    this.checkOpen();
    const ops: PreparedOp[] = [];
    const add = (op: DbOp) => {
      ops.push(prepareOp(op, this.nameBytes(op.collection)));
    };
    fn({
      put: (collection, id, fields) => add({ kind: 'put', collection, id, fields }),
      patch: (collection, id, fields) => add({ kind: 'patch', collection, id, fields }),
      unset: (collection, id, names) => add({ kind: 'unset', collection, id, names }),
      delete: (collection, id) => add({ kind: 'delete', collection, id }),
    });
    if (ops.length === 0) return undefined;
    return this.writeLocal(ops, options.commit === true);
  }

  /** @internal A transaction of one operation on a collection whose name is already checked. */
  writeOne(op: DbOp, nameBytes: Uint8Array, options?: DbWriteOptions): WriteReceipt {
    this.checkOpen();
    return this.writeLocal([prepareOp(op, nameBytes)], options?.commit === true);
  }

  private writeLocal(ops: readonly PreparedOp[], commit: boolean): WriteReceipt {
    // The payload is encoded where the entry's body will hold it, after room for its header.
    const body = encodePreparedPayload(ops, BODY_HEADER_BYTES);
    const hlc = this.hlc.now();
    const views = new ViewWriter(this.readRow);
    views.applyPrepared(ops, ownedStamp(hlc, this.author));
    const batch = this.spareBatch.take();
    views.writeTo(batch);
    const changes = this.stageDerived(views, batch, 'local');
    // Before the write: whether it then succeeds or fails, no cached answer outlives it.
    for (const p of ops) this.cache.invalidate(p.op.collection, p.op.id);
    const sign = commit || this.unsigned + 1 >= this.groupCommitEntries;
    const entry = this.feeds.appendLocal(
      this.identity,
      { hlc: this.hlcBytesOf(hlc), body },
      { sign, batch, sync: commit },
    );
    this.unsigned = sign ? 0 : this.unsigned + 1;
    this.unsynced = !commit;
    this.spareBatch.giveBack(batch);
    this.afterCommit(changes, 'local');
    return { seq: entry.seq, hlc };
  }

  /** `hlc` encoded into {@link hlcBytes}, valid until the next write. */
  private hlcBytesOf(hlc: Hlc): Uint8Array {
    encodeHlcInto(hlc, this.hlcBytes, 0);
    return this.hlcBytes;
  }

  /**
   * Registers a view derived from the documents: from now on every write stages its rows in
   * the same batch, and `rebuild()` recomputes them. The caller fills the view's rows for the
   * documents already stored (for example from `documents()`) before relying on it.
   */
  addDerivedView(view: DerivedView): void {
    this.checkOpen();
    checkDerivedView(view, this.derived);
    this.derived.push(view);
  }

  /**
   * Recomputes derived view `name` from the current documents (not from the feeds) and
   * replaces its rows when they differ: fills a view registered over documents already
   * stored, or catches one up after writes made while it was not registered. With
   * `collection`, only that collection's documents are staged (for a view that follows no
   * other). Returns true when the rows were already right (nothing written). Documents do not
   * change, so listeners hear nothing.
   */
  refillDerivedView(name: string, options: { collection?: string } = {}): boolean {
    this.checkOpen();
    const view = this.mustGetDerivedView(name);
    const docs: DocChange[] = [];
    const prefix =
      options.collection === undefined
        ? Uint8Array.of(VIEW_PREFIX)
        : collectionPrefixOf(this.nameBytes(options.collection));
    for (const [key, value] of this.lsm.scan({ prefix })) {
      const after = materializeEncoded(value);
      if (after !== undefined) docs.push({ ...docKeyParts(key), before: undefined, after });
    }
    return refillView(this.lsm, view, docs);
  }

  /** Stops maintaining a derived view (its rows stay where they are). Returns whether it was registered. */
  removeDerivedView(name: string): boolean {
    const at = this.derived.findIndex((v) => v.name === name);
    if (at < 0) return false;
    this.derived.splice(at, 1);
    return true;
  }

  /**
   * The rows of derived view `name` in key order: the whole view, or the keys within
   * `options` (whose `prefix`, if given, must lie inside the view's prefix). Arguments are
   * checked at the call; the LSM's own scan is returned (no generator in between: an indexed
   * query is a short scan, and the wrapper was about 5% of one). Consume it or `return()` it.
   */
  derivedRows(name: string, options: DerivedScanOptions = {}): IterableIterator<[Uint8Array, Uint8Array]> {
    this.checkOpen();
    const view = this.mustGetDerivedView(name);
    const prefix = options.prefix ?? view.prefix;
    if (!startsWithBytes(prefix, view.prefix))
      throw new InvalidArgumentError(`derivedRows: the prefix lies outside derived view ${name}`);
    return this.lsm.scan({ ...options, prefix });
  }

  /** One row of derived view `name`, or undefined. */
  derivedRow(name: string, key: Uint8Array): Uint8Array | undefined {
    this.checkOpen();
    const view = this.mustGetDerivedView(name);
    if (!startsWithBytes(key, view.prefix))
      throw new InvalidArgumentError(`derivedRow: the key lies outside derived view ${name}`);
    return this.lsm.get(key);
  }

  /** The registered derived view called `name`; throws when there is none. */
  mustGetDerivedView(name: string): DerivedView {
    const view = this.derived.find((v) => v.name === name);
    if (view === undefined) throw new InvalidArgumentError(`no derived view called ${name}`);
    return view;
  }

  /** The registered derived views, in registration order. */
  derivedViews(): readonly DerivedView[] {
    return [...this.derived];
  }

  /**
   * Calls `listener` after every committed change (local writes, entries from sync, rebuilds),
   * in commit order. Returns the function that stops it.
   */
  onChange(listener: ChangeListener): () => void {
    this.checkOpen();
    if (this.listeners.size >= CHANGE_LISTENERS_MAX)
      throw new InvalidArgumentError(`at most ${CHANGE_LISTENERS_MAX} change listeners per database`);
    // A function registered twice would be called once; wrap it so each call is its own listener.
    const own: ChangeListener = (changes, origin) => listener(changes, origin);
    this.listeners.add(own);
    return () => {
      this.listeners.delete(own);
    };
  }

  /**
   * @internal The visible changes `views` holds, with every derived view's rows staged into
   * `batch`, for a write of `origin` (the replica's ingest omits it: `remote`). Computes nothing
   * when nobody follows the documents.
   */
  stageDerived(views: ViewWriter, batch: WriteBatch, origin: ChangeOrigin = 'remote'): readonly DocChange[] {
    if (this.derived.length === 0 && this.listeners.size === 0) return NO_CHANGES;
    const changes = docChangesOf(views);
    if (changes.length > 0) for (const view of this.derived) view.stage(changes, batch, origin);
    return changes;
  }

  /** @internal Tells derived views and listeners about a committed write. */
  afterCommit(changes: readonly DocChange[], origin: ChangeOrigin): void {
    if (changes.length === 0) return;
    for (const view of this.derived) view.committed?.(changes, origin);
    notifyListeners(this.listeners, changes, origin);
  }

  /** Document `id` of `collection` (deep-frozen), or undefined. */
  get(collection: string, id: string): JsonObject | undefined {
    this.checkOpen();
    // Only checked names and ids are ever cached, so a hit needs no check.
    const hit = this.cache.get(collection, id);
    if (hit !== undefined) return hit.doc;
    const key = docKeyOf(this.nameBytes(collection), id);
    const bytes = this.lsm.get(key);
    const doc = bytes === undefined ? undefined : materializeEncoded(bytes);
    this.cache.set(collection, id, doc, key.length + (bytes?.length ?? 0));
    return doc;
  }

  /** Every visible document of `collection` (deep-frozen), in id order. */
  *documents(collection: string): Generator<[string, JsonObject]> {
    this.checkOpen();
    const prefix = collectionPrefixOf(this.nameBytes(collection));
    for (const [key, value] of this.lsm.scan({ prefix })) {
      const doc = materializeEncoded(value);
      if (doc !== undefined) yield [idOfKey(key, prefix), doc];
    }
  }

  /** @internal The document cache's map for `collection` (see `CollectionSlots`). */
  cachedSlots(collection: string): CollectionSlots | undefined {
    return this.cache.slotsOf(collection);
  }

  /**
   * @internal Forgets the cached documents a remote write is about to change (the replica
   * calls it with the documents an ingest's views touched, before the write).
   */
  forgetDocuments(docs: Iterable<[string, string]>): void {
    for (const [collection, id] of docs) this.cache.invalidate(collection, id);
  }

  /** Ends a group commit: signs unsigned local entries and syncs the WAL. */
  commit(): void {
    this.checkOpen();
    this.signPending();
  }

  /**
   * @internal Signs pending local entries and syncs the WAL, before they are offered to peers.
   * The sync matters: an entry another device holds must never be lost here by a crash, or
   * this device would reuse its sequence number for a different entry (a fork of its own).
   */
  signPending(): void {
    if (this.unsigned > 0) this.feeds.sign(this.identity, { sync: true });
    else if (this.unsynced) this.lsm.sync();
    this.unsigned = 0;
    this.unsynced = false;
  }

  /** SHA-256 (hex) of every document view: equal on replicas that applied the same entries. */
  stateHash(): string {
    this.checkOpen();
    return hashRows(viewRows(this.lsm));
  }

  /** The document view rows recomputed from the feeds alone, in key order (does not write). */
  rebuiltRows(): [Uint8Array, Uint8Array][] {
    this.checkOpen();
    return this.rebuiltViews().rows();
  }

  /** A view writer holding every document recomputed from the feeds. */
  private rebuiltViews(): ViewWriter {
    const views = new ViewWriter(() => undefined);
    for (const author of this.feeds.authors()) {
      const head = this.feeds.head(author);
      if (head === undefined) continue;
      for (let from = 1; from <= head.seq; from += 1024) {
        for (const entry of this.feeds.readEntries(author, from, Math.min(head.seq, from + 1023)))
          views.applyEntry(entry);
      }
    }
    return views;
  }

  /**
   * Recomputes every view (documents and derived views) from the feeds and writes the result,
   * replacing the live rows. Returns true when the live views already equalled the rebuilt
   * ones byte for byte. Listeners hear about every document whose visible form changed.
   */
  rebuild(): boolean {
    this.checkOpen();
    this.cache.clear();
    try {
      const outcome = rebuildViews(this.lsm, this.rebuiltViews(), this.derived);
      this.afterCommit(outcome.changes, 'rebuild');
      return outcome.same;
    } finally {
      this.cache.clear();
    }
  }

  /** Signs pending entries, syncs and closes. */
  close(): void {
    if (this.closed) return;
    try {
      this.signPending();
    } finally {
      this.closed = true;
      this.listeners.clear();
      this.cache.clear();
      this.lsm.close();
    }
  }

  /** Whether `close()` has run (every other call then throws `ClosedError`). */
  get isClosed(): boolean {
    return this.closed;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('the database is closed');
  }
}
