/**
 * A simulated device: the unmodified engine (a `Database` over a `MemoryFs` with the disk's
 * fault model, a `VirtualClock`, sync sessions over the simulated `Network`) plus the
 * bookkeeping the checkers need. Profiles follow the seed's story:
 *
 * - `browser`: OPFS-like storage; the tab may close at any moment (a crash that loses what was
 *   not synced) and stay offline for long stretches.
 * - `laptop`: sleeps and wakes with a skewed clock (jumps forward or backward).
 * - `pi`: the always-on hub; slower sync ticks are not its problem, power loss is.
 */

import { createHash } from 'node:crypto';
import { decodeHlc } from '../engine/crdt/hlc.ts';
import type { JsonObject } from '../engine/crdt/lww.ts';
import { Database } from '../engine/db/database.ts';
import { type DbOp, decodePayload } from '../engine/db/payload.ts';
import { hashRows } from '../engine/db/views.ts';
import { AregulaError } from '../engine/errors.ts';
import { type CrashPolicy, MemoryFs } from '../engine/io/memory-fs.ts';
import type { Entry } from '../engine/log/entry.ts';
import { type Identity, identityFromSeed } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import type { Signer } from '../engine/log/signer.ts';
import { verifySignedRanges } from '../engine/log/verify.ts';
import { authorToHex } from '../engine/sync/messages.ts';
import { SyncConnection } from '../engine/sync/transport.ts';
import { type ActionGate, gated } from './actions.ts';
import type { ModelWrite, PeerFinal } from './checkers.ts';
import type { History } from './history.ts';
import type { Network } from './network.ts';
import type { SimRandom } from './random.ts';
import { ReplicaCache } from './replica-cache.ts';
import type { EventId, Scheduler } from './scheduler.ts';
import { SimTransport } from './sim-transport.ts';
import { VirtualClock } from './virtual-clock.ts';

/** The kinds of device in a world. */
export type Profile = 'browser' | 'laptop' | 'pi';

/** How a peer is built. */
export interface SimPeerOptions {
  name: string;
  profile: Profile;
  /** Seeds the device's identity (two peers with one seed are one device, e.g. a restored Pi). */
  identitySeed: number;
  scheduler: Scheduler;
  network: Network;
  random: SimRandom;
  history: History;
  clockOffsetMs: number;
  clockDriftPpm: number;
  groupCommitEntries: number;
  /** Signing backend; default `nodeSigner`. A world shares one `MemoSigner` among its peers. */
  signer?: Signer;
  /** Records writes, reads, commits, starts and clock changes as actions, and may leave them out. */
  gate?: ActionGate;
}

/**
 * Apart from each other, in identity seeds, are a device's successive disks: far more than any
 * world's peer count, so a replacement's key is never another peer's.
 */
const IDENTITY_SEED_STRIDE_PER_WIPE = 1_000_003;

/**
 * Sync tick per profile while anything changes: how often a peer says hello to its neighbours
 * when it wrote, received new entries, or is behind a neighbour since its last tick. The Pi,
 * the hub, greets least often: devices open most conversations with it (as they poll a real
 * hub), and one `hello` from either side syncs both ways.
 */
export const SYNC_INTERVAL_MS: Record<Profile, number> = { browser: 700, laptop: 1000, pi: 2000 };

/**
 * Longest interval between sync ticks of an idle peer. A tick after which nothing changed
 * doubles the interval up to this (real clients back off their polling the same way, and are
 * told of changes by the hub's events or a reconnect in between); any change, a reconnect or
 * a restart brings it back to {@link SYNC_INTERVAL_MS}. So hours of virtual time in which a
 * peer does nothing cost a few dozen ticks, not thousands.
 */
export const SYNC_IDLE_INTERVAL_MS_MAX = 900_000;

/** Most entries per `entries` message of a simulated peer's sessions. */
export const SIM_ENTRIES_PER_MESSAGE_MAX = 64;

/** One simulated device. */
export class SimPeer {
  readonly name: string;
  readonly profile: Profile;
  readonly clock: VirtualClock;
  /** The device key of its current disk: a replaced disk gets a new one (see {@link wipe}). */
  identity: Identity;
  fs: MemoryFs;
  db: Database | undefined;
  /** Neighbours this peer syncs with. */
  readonly neighbours = new Set<string>();
  /** This device's transport: the simulator's twin of the engine's `Transport` seam. */
  readonly transport: SimTransport;
  private connections = new Map<string, SyncConnection>();
  /** Current interval between sync ticks (backs off while idle, see {@link SYNC_IDLE_INTERVAL_MS_MAX}). */
  private intervalMs: number;
  private tickEvent: EventId | undefined;
  /** Virtual time of the pending tick. */
  private tickAtMs = 0;
  /** Whether the world started the sync ticks (they stop while the device is down). */
  private ticking = false;
  /** Local writes so far (with entries applied from peers, what counts as a change for ticks). */
  private localWrites = 0;
  /** `localWrites + entries applied` at the last tick. */
  private changesAtTick = -1;
  /** The running store as the sync sessions see it, with answers remembered while they hold. */
  private replica: ReplicaCache | undefined;
  /** Disks this device has lost so far; each replacement signs with a key of its own. */
  private wipes = 0;
  /** Problems the checkers must report (a store that would not reopen, a peer's protocol error). */
  readonly problems: string[] = [];
  private readonly options: SimPeerOptions;

  constructor(options: SimPeerOptions) {
    this.options = options;
    this.name = options.name;
    this.profile = options.profile;
    this.clock = new VirtualClock(options.scheduler, {
      name: options.name,
      offsetMs: options.clockOffsetMs,
      driftPpm: options.clockDriftPpm,
      gate: options.gate,
    });
    this.identity = identityOf(options.identitySeed);
    this.fs = new MemoryFs({ random: options.random.stream(`disk ${options.name}`) });
    this.transport = new SimTransport(options.network, options.scheduler, this.name);
    this.intervalMs = SYNC_INTERVAL_MS[this.profile];
  }

  /** True while the device runs. */
  get up(): boolean {
    return this.db !== undefined;
  }

  /** Starts (or restarts) the device on whatever its disk kept. */
  start(): void {
    gated(this.options.gate, { kind: 'start', peer: this.name }, () => this.open());
  }

  private open(): void {
    if (this.db) return;
    const h = this.options.history;
    try {
      this.db = Database.open({
        fs: this.fs,
        identity: this.identity,
        clock: this.clock,
        signer: this.options.signer ?? nodeSigner,
        groupCommitEntries: this.options.groupCommitEntries,
        lsm: { memtableBytes: 64 * 1024, blockCacheBytes: 1 << 20 },
      });
    } catch (err) {
      this.problems.push(`${this.name} could not reopen its store: ${describe(err)}`);
      h.info(this.name, 'restart', `failed: ${describe(err)}`);
      return;
    }
    this.replica = new ReplicaCache(this.db.replica);
    this.options.network.setDown(this.name, false);
    this.connections = new Map();
    for (const n of [...this.neighbours].sort()) this.connect(n);
    h.info(this.name, 'restart', 'up');
    this.kick();
  }

  /** Opens the link to `peer` and a sync conversation over it. */
  private connect(peer: string): void {
    const link = this.transport.open(peer, {
      message: (m) => this.deliver(peer, m),
      connected: () => this.reconnected(peer),
    });
    const connection = new SyncConnection(this.replica!, link, {
      session: { entriesPerMessageMax: SIM_ENTRIES_PER_MESSAGE_MAX },
      // An honest world never sends a bad message: any protocol error is a finding.
      onProtocolError: (err) =>
        this.problems.push(`${this.name} rejected a message from ${peer}: ${describe(err)}`),
    });
    this.connections.set(peer, connection);
  }

  /** The link to `peer` came (back) up: what was in flight is lost, so start over with `hello`. */
  private reconnected(peer: string): void {
    const c = this.connections.get(peer);
    if (!this.db || c === undefined) return;
    c.restart();
    // The hello signed and synced local entries first: a durability point, as a tick's is.
    this.options.history.info(this.name, 'sync', `hello ${peer} (connected)`);
    this.kick();
  }

  /**
   * Starts the periodic sync ticks at a random phase (stream `tick NAME`); the world calls it
   * once, when the run starts. Ticks run only while the device is up.
   */
  startTicking(): void {
    this.ticking = true;
    const first = this.options.random.stream(`tick ${this.name}`).range(1, SYNC_INTERVAL_MS[this.profile]);
    if (this.db) this.scheduleTick(first);
  }

  /**
   * Back to the busy tick rate now: the next tick comes at most one busy interval from now (a
   * restart, a reconnect, the liveness phase's start).
   */
  kick(): void {
    const busy = SYNC_INTERVAL_MS[this.profile];
    if (this.intervalMs === busy && this.tickEvent !== undefined) return;
    this.intervalMs = busy;
    if (!this.ticking || !this.db) return;
    const now = this.options.scheduler.nowMs;
    if (this.tickEvent !== undefined) {
      // A tick due sooner than one busy interval stays where it is.
      if (this.tickAtMs <= now + busy) return;
      this.options.scheduler.cancel(this.tickEvent);
    }
    this.scheduleTick(busy);
  }

  private scheduleTick(delayMs: number): void {
    this.tickAtMs = this.options.scheduler.nowMs + delayMs;
    this.tickEvent = this.options.scheduler.after(delayMs, `tick ${this.name}`, () => {
      this.tickEvent = undefined;
      if (!this.db) return;
      this.syncTick();
      this.scheduleTick(this.nextInterval());
    });
  }

  /**
   * The busy interval after a tick that saw a change (a local write, entries applied, or a
   * connected neighbour holding what this device lacks), else double the last one (capped).
   */
  private nextInterval(): number {
    const changes = this.localWrites + (this.replica?.stats.applied ?? 0);
    let behind = false;
    for (const [peer, c] of this.connections) behind ||= !c.caughtUp && this.transport.connectedTo(peer);
    const busy = SYNC_INTERVAL_MS[this.profile];
    this.intervalMs =
      changes !== this.changesAtTick || behind
        ? busy
        : Math.min(this.intervalMs * 2, SYNC_IDLE_INTERVAL_MS_MAX);
    this.changesAtTick = changes;
    return this.intervalMs;
  }

  /** Power loss: unsynced bytes go per `policy`; the device is down until `start()`. */
  crash(policy: CrashPolicy): void {
    if (!this.db) return;
    this.db = undefined;
    if (this.tickEvent !== undefined) this.options.scheduler.cancel(this.tickEvent);
    this.tickEvent = undefined;
    this.transport.closeAll();
    this.connections = new Map();
    this.replica = undefined;
    this.fs.crash(policy);
    this.options.network.setDown(this.name, true);
    this.options.history.info(this.name, 'crash', 'power loss');
  }

  /**
   * The disk is gone for good (the device died). The replacement restores every feed from its
   * peers, its old one included, but signs new writes with a new device key: reusing the old
   * key would sign new entries at sequence numbers the old disk may already have used and
   * shared with a peer that is offline now, which is a fork (the feed store detects it and
   * quarantines the feed, and the device's later writes never reach that peer). No wait for
   * "caught up with everyone" can rule that out, since an offline peer cannot be asked.
   */
  wipe(): void {
    this.crash({ keepDataUnits: () => 0, keepNamespaceOps: () => 0 });
    this.fs = new MemoryFs({
      random: this.options.random.stream(`disk ${this.name} wiped ${this.options.scheduler.nowMs}`),
    });
    this.wipes++;
    this.identity = identityOf(this.options.identitySeed + IDENTITY_SEED_STRIDE_PER_WIPE * this.wipes);
    this.options.history.info(this.name, 'crash', 'disk replaced');
  }

  /** Runs one transaction, recording it in the history. */
  write(ops: DbOp[], commit = false): void {
    gated(this.options.gate, { kind: 'write', peer: this.name, detail: { ops, commit } }, () =>
      this.transact(ops, commit),
    );
  }

  private transact(ops: DbOp[], commit: boolean): void {
    const h = this.options.history;
    const i = h.invoke(this.name, 'write', { ops, commit });
    if (!this.db) {
      h.fail(i, 'DOWN');
      return;
    }
    try {
      const receipt = this.db.transaction(
        (tx) => {
          for (const op of ops) {
            if (op.kind === 'put') tx.put(op.collection, op.id, op.fields);
            else if (op.kind === 'patch') tx.patch(op.collection, op.id, op.fields);
            else if (op.kind === 'unset') tx.unset(op.collection, op.id, op.names);
            else tx.delete(op.collection, op.id);
          }
        },
        { commit },
      );
      h.ok(i, { author: authorToHex(this.identity.publicKey), seq: receipt!.seq, hlc: { ...receipt!.hlc } });
      this.localWrites++;
      this.kick();
    } catch (err) {
      h.fail(i, describe(err));
    } finally {
      this.replica?.changed();
    }
  }

  /** Reads a document, recording it. */
  read(collection: string, id: string): void {
    gated(this.options.gate, { kind: 'read', peer: this.name, detail: { collection, id } }, () =>
      this.lookup(collection, id),
    );
  }

  private lookup(collection: string, id: string): void {
    const h = this.options.history;
    const i = h.invoke(this.name, 'read', { collection, id });
    if (!this.db) {
      h.fail(i, 'DOWN');
      return;
    }
    try {
      h.ok(i, this.db.get(collection, id) ?? null);
    } catch (err) {
      h.fail(i, describe(err));
    }
  }

  /** A durability point: signs and syncs every local write so far. */
  commit(): void {
    gated(this.options.gate, { kind: 'commit', peer: this.name }, () => this.commitNow());
  }

  private commitNow(): void {
    const h = this.options.history;
    const i = h.invoke(this.name, 'commit');
    if (!this.db) {
      h.fail(i, 'DOWN');
      return;
    }
    try {
      this.db.commit();
      h.ok(i);
    } catch (err) {
      h.fail(i, describe(err));
    } finally {
      this.replica?.changed();
    }
  }

  /**
   * Says hello to every neighbour it is connected to (the periodic sync tick), even one it
   * just heard from: a session that opened a conversation does not resend entries it assumed
   * delivered, so an entry lost in flight reaches the neighbour only through a conversation
   * the neighbour opens (a tick that skipped neighbours it heard from let clock-skew seed 48
   * stall). Links the transport reports down are skipped, since a real device knows it is
   * offline and says hello when the link comes back (`connected`).
   */
  syncTick(): void {
    if (!this.db) return;
    let greeted = false;
    for (const [peer, c] of this.connections) {
      if (!this.transport.connectedTo(peer)) continue;
      c.hello();
      greeted = true;
    }
    // Sharing signs and syncs local entries first: from here on they are durable.
    if (greeted) this.options.history.info(this.name, 'sync', 'hello');
  }

  private deliver(from: string, bytes: Uint8Array): void {
    const c = this.connections.get(from);
    if (!this.db || c === undefined) return;
    const applied = this.replica!.stats.applied;
    try {
      c.receive(bytes);
    } catch (err) {
      // An honest world never fails to handle a message: any error is a finding.
      this.problems.push(`${this.name} failed on a message from ${from}: ${describe(err)}`);
    }
    // Something changed: sync at the busy rate from now on, not after a backed-off interval.
    if (this.replica !== undefined && this.replica.stats.applied !== applied) this.kick();
  }

  /**
   * Everything the checkers need from this peer (the device must be up). `writes` shares the
   * decoded entries between the peers of a world, by author and the entry's body bytes: every
   * peer holds the same entries, and one write object per entry lets the checkers render and
   * compare it once (a write is a function of its author and body alone).
   * `rebuilt` shares the hash of the views rebuilt from a set of feeds (see {@link rebuiltHash}).
   */
  final(writes: SharedWrites = new Map(), rebuilt: Map<string, string> = new Map()): PeerFinal {
    const db = this.db;
    if (!db) throw new Error(`${this.name} is down at the end of the run`);
    const documents = new Map<string, Record<string, unknown>>();
    const collections = new Set<string>();
    const feedWrites: ModelWrite[] = [];
    let integrityError: string | undefined;
    // Every entry read, as the rebuild will read them: the key of the shared rebuilt views.
    const read = createHash('sha256');
    const length = new Uint8Array(4);
    for (const author of db.feeds.authors()) {
      const head = db.feeds.head(author);
      if (!head) continue;
      const hex = authorToHex(author);
      let ofAuthor = writes.get(hex);
      if (ofAuthor === undefined) {
        ofAuthor = new Map();
        writes.set(hex, ofAuthor);
      }
      const entries: Entry[] = [];
      for (let from = 1; from <= head.seq; from += FEED_READ_ENTRIES) {
        entries.push(...db.feeds.readEntries(author, from, Math.min(head.seq, from + FEED_READ_ENTRIES - 1)));
      }
      for (const e of entries) {
        new DataView(length.buffer).setUint32(0, e.body.byteLength);
        read.update(length).update(e.body);
        const w = sharedWrite(hex, e, ofAuthor);
        if (w === null) continue;
        for (const op of w.ops) collections.add(op.collection);
        feedWrites.push(w);
      }
      try {
        verifyFeed(entries, head.seq, head.signedSeq, db.signer);
      } catch (err) {
        integrityError = `${hex}: ${describe(err)}`;
      }
    }
    for (const c of [...collections].sort()) {
      for (const [id, doc] of db.documents(c))
        documents.set(`${c}\u0000${id}`, doc as JsonObject as Record<string, unknown>);
    }
    const stateHash = db.stateHash();
    return {
      name: this.name,
      stateHash,
      documents,
      feedWrites,
      stateVector: db.replica.stateVector(),
      rebuildMatches: rebuiltHash(db, read.digest('hex'), rebuilt) === stateHash,
      integrityError,
    };
  }
}

/**
 * The hash of the document views `db` rebuilds from its feeds (`Database.rebuiltRows`, hashed
 * as `stateHash()` hashes the live views), shared in `memo` between the peers of a world by
 * `feeds`, a SHA-256 of every entry body the peer's store gave {@link SimPeer.final}, which
 * are the entries its rebuild reads (same store, same moment, same `readEntries`). A rebuild is
 * a pure function of those entries, so peers that hold the same ones rebuild the same views,
 * and each peer's live views are still compared with them. This is `rebuild()`'s own test
 * (its `same` compares the same two hashes) without its writing the rebuilt rows back; the
 * simulated peers register no derived view, so the document rows are all there is to compare.
 */
function rebuiltHash(db: Database, feeds: string, memo: Map<string, string>): string {
  let hash = memo.get(feeds);
  if (hash === undefined) {
    hash = hashRows(db.rebuiltRows());
    memo.set(feeds, hash);
  }
  return hash;
}

/** Entries read from a feed at a time for the final state. */
const FEED_READ_ENTRIES = 512;

/**
 * Re-verifies a stored feed (`entries`, read in full, from seq 1) up to its last signed entry:
 * the hash chain, and every signature the store kept (each vouches for the range it ends).
 */
function verifyFeed(entries: readonly Entry[], seq: number, signedSeq: number, signer: Signer): void {
  if (signedSeq === 0) return;
  if (seq < signedSeq) throw new Error('head below its signed sequence');
  const signed = entries.slice(0, signedSeq);
  if (signed.length < signedSeq)
    throw new Error(`holds ${signed.length} entries below its signed sequence ${signedSeq}`);
  const ends: number[] = [];
  for (let i = 0; i < signed.length - 1; i++) if (signed[i]!.signature !== undefined) ends.push(i);
  ends.push(signed.length - 1);
  verifySignedRanges(undefined, signed, signer, ends);
}

/** Decoded entries shared between the peers' final states: author (hex) -> entry body (latin1) -> write (null: the payload does not decode). */
export type SharedWrites = Map<string, Map<string, ModelWrite | null>>;

/** Most decoded entries a world shares per author between its peers' final states. */
const SHARED_WRITES_PER_AUTHOR_MAX = 100_000;

/**
 * The write of `e` in `hex`'s feed, remembered in `cache` by the entry's body bytes (which
 * hold its author, seq, HLC and payload); null when the payload does not decode.
 */
function sharedWrite(hex: string, e: Entry, cache: Map<string, ModelWrite | null>): ModelWrite | null {
  const key = Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength).toString('latin1');
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let ops: DbOp[] | null;
  try {
    ops = decodePayload(e.payload);
  } catch {
    ops = null;
  }
  const w = ops === null ? null : { author: hex, seq: e.seq, hlc: { ...decodeHlc(e.hlc) }, ops };
  if (cache.size < SHARED_WRITES_PER_AUTHOR_MAX) cache.set(key, w);
  return w;
}

/** Identities derived so far, by seed: deriving one (and its signing key) costs milliseconds. */
const identities = new Map<number, Identity>();
/** Most identities remembered (worlds use small seeds: peer indexes). */
const IDENTITIES_MAX = 1024;

/** The identity of seed `n`, the same object for every world (identities are never mutated). */
function identityOf(n: number): Identity {
  let identity = identities.get(n);
  if (identity === undefined) {
    identity = identityFromSeed(seedBytes(n));
    if (identities.size < IDENTITIES_MAX) identities.set(n, identity);
  }
  return identity;
}

function seedBytes(n: number): Uint8Array {
  const b = new Uint8Array(32);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  b[31] = 0xa5;
  return b;
}

function describe(err: unknown): string {
  if (err instanceof AregulaError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
