/**
 * `open()`: the SDK's entry point. It resolves the device identity (stored in the database's
 * own storage, generated on first use), opens the database on the given storage, and wires
 * `db.sync` to it, so that writes are pushed to every link and entries from one link are
 * relayed to the others.
 */

import type { JsonObject } from '../crdt/lww.ts';
import {
  type Collection,
  Database,
  type DbWriteOptions,
  type Transaction,
  type WriteReceipt,
} from '../db/database.ts';
import type { ChangeListener } from '../db/derived.ts';
import type { DocCacheOptions } from '../db/doc-cache.ts';
import { InvalidArgumentError } from '../errors.ts';
import { type Clock, systemClock } from '../io/clock.ts';
import type { FileSystem } from '../io/fs.ts';
import type { Random } from '../io/random.ts';
import type { Identity } from '../log/identity.ts';
import type { Signer } from '../log/signer.ts';
import type { LsmOptions } from '../lsm/lsm.ts';
import { aggregatePlanned } from '../query/aggregate-plan.ts';
import { type Explanation, explain } from '../query/explain.ts';
import { type LiveCallback, subscribe } from '../query/live.ts';
import { type LiveAggregateCallback, subscribeAggregate } from '../query/live-aggregate.ts';
import { findPlanned } from '../query/plan-run.ts';
import {
  createIndex,
  dropIndex,
  type IndexInfo,
  type IndexSpec,
  listIndexes,
  openIndexes,
} from '../query/secondary-index.ts';
import type { AggregateQuery, AggregateRow, Query, QueryResult } from '../query/types.ts';
import { authorToHex } from '../sync/messages.ts';
import { systemTimers, type Timers } from '../sync/transport.ts';
import {
  type CollectionVectorIndex,
  createVectorIndex,
  type VectorIndexOptions,
} from '../vector/collection-index.ts';
import { resolveIdentity } from './device-key.ts';
import { randomFrom, type SdkPlatform, webPlatform } from './platform.ts';
import { SyncManager } from './sync-manager.ts';

/** How to open a database. */
export interface OpenOptions {
  /**
   * Where the database lives: `new NodeFs(dir)` in Node (or `nodeStorage(dir)` from
   * `engine/sdk/node.ts`), `await OpfsFs.open(dirHandle)` in a browser's dedicated worker,
   * `new MemoryFs()` for a database that lives as long as the process.
   */
  storage: FileSystem;
  /**
   * This device's key. Default: the one stored in `storage` (file `DEVICE-KEY`), or a new one
   * drawn from the platform's randomness and stored there on first open. A given key is
   * stored too, and must match a key already stored.
   */
  identity?: Identity;
  /** The wall clock. Default: the system clock. */
  clock?: Clock;
  /** Signing, randomness and WebRTC. Default {@link webPlatform}; in Node pass `nodePlatform`. */
  platform?: SdkPlatform;
  /** Overrides the platform's signer. */
  signer?: Signer;
  /** Randomness for backoff jitter and connection names. Default: seeded from the platform. */
  random?: Random;
  /** Timers for reconnects and resyncs. Default: the system's. */
  timers?: Timers;
  /** Sign after this many unsigned local entries. Default 256 (`DEFAULT_GROUP_COMMIT_ENTRIES`). */
  groupCommitEntries?: number;
  /** Storage tuning. */
  lsm?: LsmOptions;
  /** Bounds of the document cache. */
  documentCache?: DocCacheOptions;
}

/**
 * An open database: collections of JSON documents, transactions, and `sync`. Documents from
 * `get` and `all` are deep-frozen; copy one (`structuredClone`) to change it.
 */
export class AregulaDb {
  /** This device's id: its public key in hex (what certificates name and peers link to). */
  readonly deviceId: string;
  private readonly unsubscribe: () => void;
  /** Stoppers of live queries still running; `close()` stops them. */
  private readonly live = new Set<() => void>();
  /** Vector indexes made through this object; `close()` closes them. */
  private readonly vectorIndexes: CollectionVectorIndex[] = [];
  private closing: Promise<void> | undefined;

  /** @internal Made by {@link open}. */
  constructor(
    /** The underlying database (feeds, replica, derived views). */
    readonly database: Database,
    /** This device's links to a hub and to peers. */
    readonly sync: SyncManager,
    /** Signing, randomness and WebRTC of this database. */
    readonly platform: SdkPlatform,
  ) {
    this.deviceId = authorToHex(database.identity.publicKey);
    this.unsubscribe = database.onChange((_changes, origin) => {
      if (origin === 'local') sync.localChanged();
      else if (origin === 'remote') sync.remoteChanged();
    });
  }

  /** The collection called `name`: `put`, `patch`, `unset`, `delete`, `get`, `all`. */
  collection(name: string): Collection {
    return this.database.collection(name);
  }

  /** Runs `fn` and writes everything it did as one atomic entry (nothing if it throws). */
  transaction(fn: (tx: Transaction) => void, options?: DbWriteOptions): WriteReceipt | undefined {
    return this.database.transaction(fn, options);
  }

  /** Document `id` of `collection` (deep-frozen), or undefined. */
  get(collection: string, id: string): JsonObject | undefined {
    return this.database.get(collection, id);
  }

  /** Signs pending local entries and makes them durable. */
  commit(): void {
    this.database.commit();
  }

  /** A hash of every document: equal on replicas that hold the same entries. */
  stateHash(): string {
    return this.database.stateHash();
  }

  /** Calls `listener` after every change (local writes, entries from peers, rebuilds). */
  onChange(listener: ChangeListener): () => void {
    return this.database.onChange(listener);
  }

  /**
   * The documents matching `q` (docs/query.md), in its order, with a cursor to the next page.
   * Uses a secondary index or `_id` lookups where the planner finds one (see {@link explain}).
   */
  find(q: Query): QueryResult {
    return findPlanned(this.database, q);
  }

  /** Aggregations of the documents matching `q`, one row per group. */
  aggregate(q: AggregateQuery): AggregateRow[] {
    return aggregatePlanned(this.database, q);
  }

  /** The plan {@link find} would use for `q`. */
  explain(q: Query): Explanation {
    return explain(this.database, q);
  }

  /**
   * Calls `callback` with the result of `q` now, and again after every change to it (local
   * writes and entries from other devices), coalesced per tick. Returns the function that stops it.
   */
  subscribe(q: Query, callback: LiveCallback): () => void {
    return this.track(subscribe(this.database, q, callback));
  }

  /** {@link subscribe} for an aggregation. */
  subscribeAggregate(q: AggregateQuery, callback: LiveAggregateCallback): () => void {
    return this.track(subscribeAggregate(this.database, q, callback));
  }

  /**
   * Declares a secondary index (kept in the same atomic write as the documents; the
   * declaration syncs to other devices). Idempotent for the same spec.
   */
  createIndex(spec: IndexSpec): IndexInfo {
    return createIndex(this.database, spec);
  }

  /** Drops index `name` of `collection`; returns whether it existed. */
  dropIndex(collection: string, name: string): boolean {
    return dropIndex(this.database, collection, name);
  }

  /** The declared indexes (of one collection, or all). */
  indexes(collection?: string): IndexInfo[] {
    return listIndexes(this.database, collection);
  }

  /** An HNSW index of a vector field of a collection, following its documents (docs/vector.md). */
  vectorIndex(options: VectorIndexOptions): CollectionVectorIndex {
    const index = createVectorIndex(this.database, options);
    this.vectorIndexes.push(index);
    return index;
  }

  private track(stop: () => void): () => void {
    let stopped = false;
    const once = () => {
      if (stopped) return;
      stopped = true;
      this.live.delete(once);
      stop();
    };
    this.live.add(once);
    return once;
  }

  /**
   * Stops syncing (closing every connection), then signs, syncs and closes the database.
   * Nothing is left running: a Node process exits once its own work is done. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.sync.close();
      } finally {
        this.unsubscribe();
        for (const stop of [...this.live]) stop();
        for (const index of this.vectorIndexes.splice(0)) index.close();
        this.database.close();
      }
    })();
    return this.closing;
  }
}

/**
 * Opens (creating on first use) the database in `options.storage`, recovering from any crash.
 *
 * @example
 * ```ts
 * const db = await open({ storage: new MemoryFs() });
 * db.collection('notes').put('n1', { text: 'hello' });
 * await db.close();
 * ```
 */
export async function open(options: OpenOptions): Promise<AregulaDb> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('open() needs options');
  const storage = options.storage;
  if (typeof storage !== 'object' || storage === null || typeof storage.open !== 'function')
    throw new InvalidArgumentError('open() needs `storage`: a FileSystem (NodeFs, OpfsFs, MemoryFs)');
  const platform = options.platform ?? webPlatform;
  const signer = options.signer ?? platform.signer;
  const identity = resolveIdentity(storage, options.identity, platform.randomBytes);
  const database = Database.open({
    fs: storage,
    identity,
    clock: options.clock ?? systemClock,
    signer,
    lsm: { ...platform.lsmOptionsFor?.(storage), ...options.lsm },
    groupCommitEntries: options.groupCommitEntries,
    documentCache: options.documentCache,
  });
  const sync = new SyncManager({
    replica: database.replica,
    identity,
    signer,
    random: options.random ?? randomFrom(platform.randomBytes),
    timers: options.timers ?? systemTimers,
    leasePeerConnections: () => platform.leasePeerConnections(),
    watchNetwork: platform.watchNetwork?.bind(platform),
  });
  try {
    // Declared indexes are maintained from the first write on (each is refilled as it registers).
    openIndexes(database);
  } catch (err) {
    database.close();
    throw err;
  }
  return new AregulaDb(database, sync, platform);
}
