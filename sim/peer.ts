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

import { decodeHlc } from '../engine/crdt/hlc.ts';
import type { JsonObject } from '../engine/crdt/lww.ts';
import { Database } from '../engine/db/database.ts';
import { type DbOp, decodePayload } from '../engine/db/payload.ts';
import { AregulaError } from '../engine/errors.ts';
import { type CrashPolicy, MemoryFs } from '../engine/io/memory-fs.ts';
import type { Entry } from '../engine/log/entry.ts';
import { type Identity, identityFromSeed } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import type { Signer } from '../engine/log/signer.ts';
import { verifySignedRanges } from '../engine/log/verify.ts';
import { authorToHex } from '../engine/sync/messages.ts';
import { SyncSession } from '../engine/sync/session.ts';
import { type ActionGate, gated } from './actions.ts';
import type { ModelWrite, PeerFinal } from './checkers.ts';
import type { History } from './history.ts';
import type { Network } from './network.ts';
import type { SimRandom } from './random.ts';
import { ReplicaCache } from './replica-cache.ts';
import type { Scheduler } from './scheduler.ts';
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

/** Sync tick per profile: how often a peer says hello to its neighbours. */
export const SYNC_INTERVAL_MS: Record<Profile, number> = { browser: 700, laptop: 1000, pi: 400 };

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
  private sessions = new Map<string, SyncSession>();
  /** The running store as the sync sessions see it, with reads remembered within one step. */
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
    options.network.addNode(this.name, (from, bytes) => this.deliver(from, bytes));
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
    this.sessions = new Map();
    this.replica = new ReplicaCache(this.db.replica);
    this.options.network.setDown(this.name, false);
    h.info(this.name, 'restart', 'up');
  }

  /** Power loss: unsynced bytes go per `policy`; the device is down until `start()`. */
  crash(policy: CrashPolicy): void {
    if (!this.db) return;
    this.db = undefined;
    this.sessions = new Map();
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
    } catch (err) {
      h.fail(i, describe(err));
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
    }
  }

  /** Says hello to every neighbour (the periodic sync tick; also after reconnects). */
  syncTick(): void {
    if (!this.db) return;
    const neighbours = [...this.neighbours].sort();
    this.replica!.during(() => {
      for (const n of neighbours) this.session(n).start();
    });
    // Sharing signs and syncs local entries first: from here on they are durable.
    this.options.history.info(this.name, 'sync', 'hello');
  }

  private session(peer: string): SyncSession {
    let s = this.sessions.get(peer);
    if (!s) {
      s = new SyncSession(this.replica!, (bytes) => this.options.network.send(this.name, peer, bytes), {
        entriesPerMessageMax: 64,
      });
      this.sessions.set(peer, s);
    }
    return s;
  }

  private deliver(from: string, bytes: Uint8Array): void {
    if (!this.db || !this.neighbours.has(from)) return;
    try {
      this.replica!.during(() => this.session(from).receive(bytes));
    } catch (err) {
      // An honest world never sends a bad message: any protocol error is a finding.
      this.problems.push(`${this.name} rejected a message from ${from}: ${describe(err)}`);
    }
  }

  /**
   * Everything the checkers need from this peer (the device must be up). `decoded` shares
   * decoded payloads between the peers of a world, keyed by the payload's bytes: every peer
   * holds the same entries, and one decoded object per entry lets the checkers render it once.
   */
  final(decoded: Map<string, DbOp[] | null> = new Map()): PeerFinal {
    const db = this.db;
    if (!db) throw new Error(`${this.name} is down at the end of the run`);
    const documents = new Map<string, Record<string, unknown>>();
    const collections = new Set<string>();
    const feedWrites: ModelWrite[] = [];
    let integrityError: string | undefined;
    for (const author of db.feeds.authors()) {
      const head = db.feeds.head(author);
      if (!head) continue;
      const hex = authorToHex(author);
      const entries: Entry[] = [];
      for (let from = 1; from <= head.seq; from += FEED_READ_ENTRIES) {
        entries.push(...db.feeds.readEntries(author, from, Math.min(head.seq, from + FEED_READ_ENTRIES - 1)));
      }
      for (const e of entries) {
        const ops = decodeShared(e.payload, decoded);
        if (ops === null) continue;
        for (const op of ops) collections.add(op.collection);
        feedWrites.push({ author: hex, seq: e.seq, hlc: { ...decodeHlc(e.hlc) }, ops });
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
    return {
      name: this.name,
      stateHash: db.stateHash(),
      documents,
      feedWrites,
      stateVector: db.replica.stateVector(),
      rebuildMatches: db.rebuild(),
      integrityError,
    };
  }
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

/** Most decoded payloads a world shares between its peers' final states. */
const DECODED_PAYLOADS_MAX = 100_000;

/** `decodePayload`, remembered in `cache` by the payload's bytes; null when it does not decode. */
function decodeShared(payload: Uint8Array, cache: Map<string, DbOp[] | null>): DbOp[] | null {
  const key = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let ops: DbOp[] | null;
  try {
    ops = decodePayload(payload);
  } catch {
    ops = null;
  }
  if (cache.size < DECODED_PAYLOADS_MAX) cache.set(key, ops);
  return ops;
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
