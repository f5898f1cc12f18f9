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

import { decodeHlc, encodeHlc, type Hlc, HlcClock } from '../crdt/hlc.ts';
import { decodeState, type JsonObject, materialize } from '../crdt/lww.ts';
import { ClosedError, InvalidArgumentError } from '../errors.ts';
import type { Clock } from '../io/clock.ts';
import type { FileSystem } from '../io/fs.ts';
import { FeedStore } from '../log/feed-store.ts';
import { checkIdentity, type Identity } from '../log/identity.ts';
import { nobleSigner, type Signer } from '../log/signer.ts';
import { Lsm, type LsmOptions } from '../lsm/lsm.ts';
import { WriteBatch } from '../lsm/write-batch.ts';
import { checkCollectionName, checkDocId, checkOp, type DbOp, encodePayload } from './payload.ts';
import { DatabaseReplica } from './replica.ts';
import { collectionPrefix, hashRows, idOfKey, TRUSTED, ViewWriter, viewKey, viewRows } from './views.ts';

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
  /** Sign after this many unsigned local entries. Default 64. */
  groupCommitEntries?: number;
  /** How far a remote timestamp may pull the local clock ahead of the wall clock. */
  maxForwardDriftMs?: number;
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
  constructor(
    private readonly db: Database,
    /** The collection's name. */
    readonly name: string,
  ) {}

  /** Replaces document `id` with `doc`. */
  put(id: string, doc: JsonObject, options?: DbWriteOptions): WriteReceipt {
    return this.db.transaction((tx) => tx.put(this.name, id, doc), options)!;
  }

  /** Sets the given top-level fields of document `id`. */
  patch(id: string, fields: JsonObject, options?: DbWriteOptions): WriteReceipt {
    return this.db.transaction((tx) => tx.patch(this.name, id, fields), options)!;
  }

  /** Removes the named fields of document `id`. */
  unset(id: string, names: string[], options?: DbWriteOptions): WriteReceipt {
    return this.db.transaction((tx) => tx.unset(this.name, id, names), options)!;
  }

  /** Deletes document `id`. */
  delete(id: string, options?: DbWriteOptions): WriteReceipt {
    return this.db.transaction((tx) => tx.delete(this.name, id), options)!;
  }

  /** Document `id`, or undefined. */
  get(id: string): JsonObject | undefined {
    return this.db.get(this.name, id);
  }

  /** Every visible document, in id order (bytewise UTF-8). */
  *all(): Generator<[string, JsonObject]> {
    yield* this.db.documents(this.name);
  }
}

/** A local-first database. Create with {@link Database.open}. */
export class Database {
  /** The feeds (entries, heads, signatures, fork proofs). */
  readonly feeds: FeedStore;
  /** The sync protocol's view of this database. */
  readonly replica: DatabaseReplica;
  private readonly hlc: HlcClock;
  private readonly groupCommitEntries: number;
  private unsigned = 0;
  /** True while some local entry may not be durable yet (written without a WAL sync). */
  private unsynced = false;
  private closed = false;

  private constructor(
    private readonly lsm: Lsm,
    readonly identity: Identity,
    readonly signer: Signer,
    options: DatabaseOptions,
  ) {
    this.feeds = new FeedStore(lsm, signer);
    const head = this.feeds.head(identity.publicKey);
    let start: Hlc | undefined;
    if (head !== undefined)
      start = decodeHlc(this.feeds.readEntries(identity.publicKey, head.seq, head.seq)[0]!.hlc);
    this.unsigned = head === undefined ? 0 : head.seq - head.signedSeq;
    this.hlc = new HlcClock({ clock: options.clock, maxForwardDriftMs: options.maxForwardDriftMs, start });
    this.groupCommitEntries = options.groupCommitEntries ?? 64;
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
    checkCollectionName(name);
    return new Collection(this, name);
  }

  /**
   * Runs `fn` and writes everything it did as ONE entry, atomically with its view changes.
   * If `fn` throws, nothing is written. An empty transaction writes nothing.
   */
  transaction(fn: (tx: Transaction) => void, options: DbWriteOptions = {}): WriteReceipt | undefined {
    this.checkOpen();
    const ops: DbOp[] = [];
    const add = (op: DbOp) => {
      checkOp(op);
      ops.push(op);
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

  private writeLocal(ops: DbOp[], commit: boolean): WriteReceipt {
    const payload = encodePayload(ops);
    const hlc = this.hlc.now();
    const views = new ViewWriter((k) => this.lsm.get(k));
    views.applyOps(ops, { hlc, author: this.identity.publicKey });
    const batch = new WriteBatch();
    views.writeTo(batch);
    const sign = commit || this.unsigned + 1 >= this.groupCommitEntries;
    const entry = this.feeds.appendLocal(
      this.identity,
      { hlc: encodeHlc(hlc), payload },
      { sign, batch, sync: commit },
    );
    this.unsigned = sign ? 0 : this.unsigned + 1;
    this.unsynced = !commit;
    return { seq: entry.seq, hlc };
  }

  /** Document `id` of `collection`, or undefined. */
  get(collection: string, id: string): JsonObject | undefined {
    this.checkOpen();
    checkCollectionName(collection);
    checkDocId(id);
    const views = new ViewWriter((k) => this.lsm.get(k));
    return materialize(views.state(viewKey(collection, id)));
  }

  /** Every visible document of `collection`, in id order. */
  *documents(collection: string): Generator<[string, JsonObject]> {
    this.checkOpen();
    checkCollectionName(collection);
    const prefix = collectionPrefix(collection);
    for (const [key, value] of this.lsm.scan({ prefix })) {
      const doc = materialize(decodeState(value, TRUSTED));
      if (doc !== undefined) yield [idOfKey(key, prefix), doc];
    }
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

  /** The view rows recomputed from the feeds alone, in key order (does not write). */
  rebuiltRows(): [Uint8Array, Uint8Array][] {
    this.checkOpen();
    const views = new ViewWriter(() => undefined);
    for (const author of this.feeds.authors()) {
      const head = this.feeds.head(author);
      if (head === undefined) continue;
      for (let from = 1; from <= head.seq; from += 1024) {
        for (const entry of this.feeds.readEntries(author, from, Math.min(head.seq, from + 1023)))
          views.applyEntry(entry);
      }
    }
    return views.rows();
  }

  /**
   * Recomputes every view from the feeds and writes the result, replacing the live rows.
   * Returns true when the live views already equalled the rebuilt ones byte for byte.
   */
  rebuild(): boolean {
    const rebuilt = this.rebuiltRows();
    const live = [...viewRows(this.lsm)];
    const same = hashRows(rebuilt) === hashRows(live);
    let batch = new WriteBatch();
    const flush = () => {
      if (batch.count > 0) this.lsm.write(batch);
      batch = new WriteBatch();
    };
    for (const [k] of live) {
      batch.delete(k);
      if (batch.count >= 10_000) flush();
    }
    for (const [k, v] of rebuilt) {
      batch.put(k, v);
      if (batch.count >= 10_000) flush();
    }
    flush();
    return same;
  }

  /** Signs pending entries, syncs and closes. */
  close(): void {
    if (this.closed) return;
    try {
      this.signPending();
    } finally {
      this.closed = true;
      this.lsm.close();
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('the database is closed');
  }
}
