/**
 * A vector index over one field of one collection: an HNSW graph kept as a view of the
 * documents (and so of the log), updated by every committed change, local or from sync.
 *
 * Design (docs/vector.md, "The index as a view of the log"): the documents are the source of
 * truth and the graph is a cache of them.
 * - The index registers a derived view (engine/db/derived.ts) that stores no rows. Its `stage`
 *   checks the vector of every document a LOCAL write changes and throws, aborting the write
 *   with nothing stored, when one is bad; for an entry from another device or a rebuild it
 *   never throws (the entry is signed and will be stored anyway). Its `committed` hook, called
 *   after the batch is durable and before any change listener, applies the changes to the graph:
 *   a good vector is upserted, a missing one deleted, a bad one (remote) deleted and recorded.
 * - The graph is saved with `checkpoint()` through the `FileSystem` seam (docs/formats/hnsw.md,
 *   atomic). Opening loads the last checkpoint, then reconciles it with the documents in one
 *   scan: every document's vector is upserted (a no-op when the graph already holds it), and
 *   every graph id without a document is deleted. So a crash at any moment costs only the
 *   changes since the checkpoint, never a rebuild, and no checkpoint bookkeeping can be wrong:
 *   whatever the file holds, the result is the documents' state.
 */

import type { JsonObject } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import { type ChangeOrigin, DERIVED_VIEW_PREFIX, type DerivedView, type DocChange } from '../db/derived.ts';
import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { isValidFileName } from '../io/fs.ts';
import { SeededRandom } from '../io/random.ts';
import { checkpointNameOf } from './checkpoint.ts';
import {
  type CatchUp,
  dropCheckpoint,
  openSavedGraph,
  type PersistOptions,
  saveGraphCheckpoint,
  type VectorIndexSource,
} from './checkpoint-open.ts';
import { type FilterPlanInfo, filteredSearch, toDocFilter, type VectorFilter } from './filtered-search.ts';
import { HnswIndex, type VectorHit } from './hnsw-index.ts';
import type { KernelChoice } from './kernel.ts';
import type { VectorMetric } from './metric.ts';
import { resolveSearch } from './options.ts';
import { type FieldSpec, readFieldVector, VECTOR_PROBLEMS, type VectorProblem } from './vector-field.ts';

/** Second byte of the (row-less) derived view's prefix: 'H' for HNSW. */
export const VECTOR_VIEW_TAG = 0x48;

/** Most subscriptions (live nearest-neighbour queries) one index serves. */
export const VECTOR_WATCHERS_MAX = 1024;

/** How to create a collection's vector index. */
export interface VectorIndexOptions {
  /** The collection whose documents are indexed. */
  collection: string;
  /** The top-level field holding each document's vector (an array of numbers). */
  field: string;
  /** Components per vector. */
  dimension: number;
  /** Default 'cosine'. */
  metric?: VectorMetric;
  /** HNSW links per node (default 16). */
  m?: number;
  /** Beam width while inserting (default 200). */
  efConstruction?: number;
  /** Default beam width of a search (default 64). */
  efSearch?: number;
  /**
   * Seed of the level draws (a `SeededRandom`): the same changes in the same order give the
   * same graph. Default: a hash of the collection and field names.
   */
  seed?: number;
  /** Where `checkpoint()` saves the graph and where opening looks for it; none: memory only. */
  persist?: PersistOptions;
  /** Distance kernel choice (tests). */
  kernel?: KernelChoice;
}

/** A search of a collection's vector index. */
export interface VectorSearchOptions {
  /** How many results. */
  k: number;
  /** Beam width; default the index's `efSearch`. */
  ef?: number;
  /**
   * Only documents this accepts: a query-layer `Filter` or a function of the document and its
   * id (see filtered-search.ts for how it is applied).
   */
  filter?: VectorFilter;
}

/** Counters of a collection's vector index. */
export interface VectorIndexStats {
  /** Documents whose vector is indexed. */
  indexed: number;
  /** Documents stored whose vector could not be indexed, by problem. */
  unindexed: Record<VectorProblem, number>;
  /** Where the graph came from at open, and how many changes reconciling it applied. */
  source: VectorIndexSource;
  /** 'replay': only the documents touched since the checkpoint were read; 'scan': all of them. */
  catchUp: CatchUp;
  reconciledChanges: number;
  /** Graph tombstones awaiting compaction. */
  tombstones: number;
  /** Live subscriptions (watchers) of the index. */
  watchers: number;
}

/** A document stored but not indexed, and why. */
export interface UnindexedDocument {
  readonly id: string;
  readonly problem: VectorProblem;
  readonly detail: string;
}

/** Hears the ids of documents whose vector or filterable fields changed ('all' after a rebuild). */
export type VectorWatcher = (ids: readonly string[] | 'all') => void;

export type { CatchUp, PersistOptions, VectorIndexSource } from './checkpoint-open.ts';

/**
 * Creates the index of `options.field` in `options.collection` of `db`, loading its last
 * checkpoint if there is one and reconciling it with the documents. Throws a typed error for
 * bad options or when another index already covers the same collection and field.
 */
export function createVectorIndex(db: Database, options: VectorIndexOptions): CollectionVectorIndex {
  return new CollectionVectorIndex(db, options);
}

/** A vector index over one field of one collection (see the module comment). */
export class CollectionVectorIndex {
  /** The collection indexed. */
  readonly collection: string;
  /** The field indexed. */
  readonly field: string;
  private graph: HnswIndex;
  private readonly spec: FieldSpec;
  private readonly seed: number;
  /** The default beam width of a search (a checkpoint's own is ignored: it is a query setting). */
  private readonly efSearch: number;
  private readonly view: DerivedView;
  private readonly unindexed = new Map<string, UnindexedDocument>();
  private readonly watchers = new Set<VectorWatcher>();
  private source: VectorIndexSource = 'empty';
  private catchUp: CatchUp = 'scan';
  private reconciled = 0;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly options: VectorIndexOptions,
  ) {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError('vector index options must be an object');
    if (typeof options.field !== 'string' || options.field.length === 0)
      throw new InvalidArgumentError('a vector index needs a non-empty field name');
    db.collection(options.collection); // checks the name
    this.collection = options.collection;
    this.field = options.field;
    if (options.seed !== undefined && !Number.isSafeInteger(options.seed))
      throw new InvalidArgumentError(`seed must be a safe integer, got ${String(options.seed)}`);
    this.seed = options.seed ?? seedOf(`${options.collection}\0${options.field}`);
    checkPersist(options.persist);
    const name = `vector:${options.collection}.${options.field}`;
    // Before any work: a second index of the same field would only fail at registration.
    if (db.derivedViews().some((v) => v.name === name))
      throw new InvalidArgumentError(`${options.collection}.${options.field} already has a vector index`);
    this.graph = this.freshGraph(); // also checks dimension, metric, m, ef
    this.efSearch = this.graph.stats().efSearch;
    this.spec = { field: options.field, dimension: options.dimension, metric: this.graph.metric };
    this.view = {
      name,
      prefix: viewPrefix(options.collection, options.field),
      stage: (changes, _batch, origin) => this.stage(changes, origin),
      committed: (changes, origin) => this.committed(changes, origin),
    };
    this.open();
    db.addDerivedView(this.view);
  }

  /** Documents whose vector is indexed. */
  get size(): number {
    return this.graph.size;
  }

  /** True when document `id`'s vector is indexed. */
  has(id: string): boolean {
    return this.graph.has(id);
  }

  /** The HNSW graph (for scores and direct searches; do not change it). */
  get hnsw(): HnswIndex {
    return this.graph;
  }

  /**
   * The `k` documents nearest to `vector`, best first (equal scores in id order). With a
   * filter, only documents it accepts (planned by filtered-search.ts).
   */
  search(vector: ArrayLike<number>, options: VectorSearchOptions): VectorHit[] {
    return this.searchWithPlan(vector, options).hits;
  }

  /** Like {@link search}, also telling how a filtered search ran. */
  searchWithPlan(
    vector: ArrayLike<number>,
    options: VectorSearchOptions,
  ): { hits: VectorHit[]; plan: FilterPlanInfo | undefined } {
    this.checkOpen();
    checkSearchOptions(options);
    const filter = options.filter;
    // Checked here as well: a filtered search may never reach the graph's own checks.
    const { k, ef } = resolveSearch({ k: options.k, ef: options.ef }, this.efSearch);
    if (filter === undefined) return { hits: this.graph.search(vector, { k, ef }), plan: undefined };
    const accepts = toDocFilter(filter);
    return filteredSearch(this.graph, vector, {
      k,
      ef,
      filter: accepts,
      getDoc: (id) => this.getDocument(id),
    });
  }

  /** Like {@link search}, but an exact scan (the ground truth for checks). */
  searchExact(vector: ArrayLike<number>, options: VectorSearchOptions): VectorHit[] {
    this.checkOpen();
    checkSearchOptions(options);
    const filter = options.filter;
    if (filter === undefined) return this.graph.searchExact(vector, { k: options.k });
    const accepts = toDocFilter(filter);
    return this.graph.searchExact(vector, {
      k: options.k,
      filter: (id) => {
        const doc = this.getDocument(id);
        return doc !== undefined && accepts(doc, id) === true;
      },
    });
  }

  /** The document `id` of the indexed collection, as stored now. */
  getDocument(id: string): JsonObject | undefined {
    return this.db.get(this.collection, id);
  }

  /** The documents stored but not indexed, in no particular order. */
  unindexedDocuments(): UnindexedDocument[] {
    return [...this.unindexed.values()];
  }

  /** Counters. */
  stats(): VectorIndexStats {
    const unindexed = Object.fromEntries(VECTOR_PROBLEMS.map((p) => [p, 0])) as Record<VectorProblem, number>;
    for (const u of this.unindexed.values()) unindexed[u.problem] += 1;
    return {
      indexed: this.graph.size,
      unindexed,
      source: this.source,
      catchUp: this.catchUp,
      reconciledChanges: this.reconciled,
      tombstones: this.graph.stats().deleted,
      watchers: this.watchers.size,
    };
  }

  /**
   * Discards the graph and builds it again from the documents, in id order, from the seed:
   * the same documents always give the same graph. Watchers hear 'all'.
   */
  rebuild(): void {
    this.checkOpen();
    this.graph = this.freshGraph();
    this.unindexed.clear();
    this.reconcile();
    this.notify('all');
  }

  /**
   * Saves the graph to `persist` with its checkpoint (the feeds' heads it covers), so the next
   * open replays only what changed since. Throws when the index has no `persist` option.
   */
  checkpoint(): void {
    this.checkOpen();
    const persist = this.options.persist;
    if (persist === undefined) throw new InvalidArgumentError('this vector index has no persist option');
    saveGraphCheckpoint(this.db, persist, this.graph, [...this.unindexed.values()]);
  }

  /** Stops following the documents (checkpointing first when asked). Idempotent. */
  close(options: { checkpoint?: boolean } = {}): void {
    if (this.closed) return;
    if (options.checkpoint === true) this.checkpoint();
    this.closed = true;
    this.db.removeDerivedView(this.view.name);
    this.watchers.clear();
  }

  /** @internal Calls `watcher` after every change to the indexed documents. Returns the stop function. */
  watch(watcher: VectorWatcher): () => void {
    this.checkOpen();
    if (this.watchers.size >= VECTOR_WATCHERS_MAX)
      throw new LimitExceededError({
        limit: 'VECTOR_WATCHERS_MAX',
        max: VECTOR_WATCHERS_MAX,
        actual: this.watchers.size + 1,
        what: 'subscriptions of one vector index',
      });
    const own: VectorWatcher = (ids) => watcher(ids);
    this.watchers.add(own);
    return () => {
      this.watchers.delete(own);
    };
  }

  private freshGraph(): HnswIndex {
    const o = this.options;
    return HnswIndex.create({
      dimension: o.dimension,
      metric: o.metric ?? 'cosine',
      m: o.m,
      efConstruction: o.efConstruction,
      efSearch: o.efSearch,
      random: new SeededRandom(this.seed),
      kernel: o.kernel,
    });
  }

  /**
   * Loads the saved graph, if usable, and brings it up to date: from its checkpoint's ids
   * touched since (checkpoint-open.ts) when that holds, else by reconciling every document.
   */
  private open(): void {
    const persist = this.options.persist;
    if (persist === undefined) {
      this.reconciled = this.reconcile();
      return;
    }
    const opened = openSavedGraph(this.db, persist, {
      fresh: this.graph,
      seed: this.seed,
      kernel: this.options.kernel,
      collection: this.collection,
    });
    this.source = opened.source;
    if (opened.graph !== undefined) this.graph = opened.graph;
    if (opened.resume === undefined) {
      this.reconciled = this.reconcile();
      return;
    }
    this.catchUp = 'replay';
    for (const u of opened.resume.unindexed) this.unindexed.set(u.id, u);
    let applied = 0;
    for (const id of [...opened.resume.touched].sort()) {
      if (this.applyDocument(id, this.db.get(this.collection, id))) applied++;
    }
    this.reconciled = applied;
  }

  /** Brings the graph to the documents' state in one scan; returns the changes it applied. */
  private reconcile(): number {
    let applied = 0;
    const seen = new Set<string>();
    for (const [id, doc] of this.db.documents(this.collection)) {
      seen.add(id);
      if (this.applyDocument(id, doc)) applied++;
    }
    const stale: string[] = [];
    for (const id of this.graph.liveIds()) if (!seen.has(id)) stale.push(id);
    for (const id of stale) if (this.graph.delete(id)) applied++;
    return applied;
  }

  /** Stores (or removes) document `id`'s vector in the graph; returns whether the graph changed. */
  private applyDocument(id: string, doc: JsonObject | undefined): boolean {
    const read = readFieldVector(doc, id, this.spec);
    if (read.kind === 'vector') {
      if (!this.graph.has(id) && this.graph.size >= this.graph.stats().maxNodes) {
        this.unindexed.set(id, { id, problem: 'capacity', detail: 'the index is full' });
        return this.graph.delete(id);
      }
      this.unindexed.delete(id);
      return this.graph.upsert(id, read.vector);
    }
    if (read.kind === 'invalid') this.unindexed.set(id, { id, problem: read.problem, detail: read.detail });
    else this.unindexed.delete(id);
    return this.graph.has(id) ? this.graph.delete(id) : false;
  }

  /** The derived view's stage: refuses a local write whose vector is bad; stores no rows. */
  private stage(changes: readonly DocChange[], origin: ChangeOrigin): void {
    if (origin !== 'local') return;
    let added = 0;
    for (const c of changes) {
      if (c.collection !== this.collection) continue;
      const read = readFieldVector(c.after, c.id, this.spec);
      if (read.kind === 'invalid')
        throw new InvalidArgumentError(
          `${this.collection}/${c.id}: field ${JSON.stringify(this.field)}: ${read.detail}`,
        );
      if (read.kind === 'vector' && !this.graph.has(c.id)) added++;
    }
    const max = this.graph.stats().maxNodes;
    if (added > 0 && this.graph.size + added > max)
      throw new LimitExceededError({
        limit: 'MAX_ELEMENTS',
        max,
        actual: this.graph.size + added,
        what: `vectors in the index of ${this.collection}.${this.field}`,
      });
  }

  /** The derived view's committed hook: applies the changes to the graph, then tells watchers. */
  private committed(changes: readonly DocChange[], origin: ChangeOrigin): void {
    // A rebuild changes documents without new entries, which a checkpoint's replay would miss.
    const persist = this.options.persist;
    if (persist !== undefined && origin === 'rebuild') dropCheckpoint(persist);
    const ids: string[] = [];
    for (const c of changes) {
      if (c.collection !== this.collection) continue;
      this.applyDocument(c.id, c.after);
      ids.push(c.id);
    }
    if (ids.length > 0) this.notify(ids);
  }

  private notify(ids: readonly string[] | 'all'): void {
    for (const watcher of [...this.watchers]) watcher(ids);
  }

  private checkOpen(): void {
    if (this.closed)
      throw new InvalidArgumentError(`the vector index of ${this.collection}.${this.field} is closed`);
  }
}

/** The derived view's prefix: 0x76 'H' ‖ collection ‖ 0 ‖ field ‖ 0 (unique per collection and field). */
function viewPrefix(collection: string, field: string): Uint8Array {
  const body = new TextEncoder().encode(`${collection}\0${field}\0`);
  const prefix = new Uint8Array(2 + body.length);
  prefix[0] = DERIVED_VIEW_PREFIX;
  prefix[1] = VECTOR_VIEW_TAG;
  prefix.set(body, 2);
  return prefix;
}

/** Throws unless `options` is an object (its fields are checked where they are used). */
function checkSearchOptions(options: unknown): asserts options is VectorSearchOptions {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('search options must be an object');
}

/** Throws unless `persist` is absent or names a file system and usable file names. */
function checkPersist(persist: PersistOptions | undefined): void {
  if (persist === undefined) return;
  if (persist === null || typeof persist !== 'object' || typeof persist.fs?.exists !== 'function')
    throw new InvalidArgumentError('persist must be { fs, name } with a FileSystem');
  // The longest name the index writes is the checkpoint's temporary file.
  if (typeof persist.name !== 'string' || !isValidFileName(`${checkpointNameOf(persist.name)}.tmp`))
    throw new InvalidArgumentError(`persist.name ${JSON.stringify(persist.name)} is not a usable file name`);
}

/** FNV-1a of a string's UTF-16 code units: a stable default seed. */
function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
