/**
 * Replaying exported feeds (engine/db/feed-export.ts) into fresh simulated replicas: the feeds
 * of a real device, a hub or a chaos run are handed, one seed at a time, to two to four new
 * peers under a seed-drawn mix of delivery orders, duplications, message loss and crash points,
 * and every replay must end exactly where the source was: the same feeds and the manifest's
 * state hash on every peer.
 *
 * One replay, from its seed alone:
 *
 *   mix      the seed draws the peers, which of them the source feeds directly, chunk sizes,
 *            duplication, link faults and how often peers crash (between writes or in the
 *            middle of one, through MemoryFs's `crashAfter`)
 *   chaos    the source delivers its chunks (contiguous ranges of one author ending at a
 *            signature) to the fed peers in a shuffled order with duplicates, several chunks
 *            per delivery; peers sync with each other through the engine's `SyncSession` over
 *            the simulated network; crashes and restarts happen
 *   liveness crashes stop, links calm, every peer restarts; the source resends, in order,
 *            what each fed peer lacks, and peers sync until every state vector is the export's
 *   check    every peer holds every feed up to the exported head (same head hash), reports the
 *            manifest's state hash, and its views equal a rebuild from its log; no valid entry
 *            was ever refused, and no peer failed to reopen
 */

import { assert } from '../engine/assert.ts';
import { Database } from '../engine/db/database.ts';
import type { FeedExport } from '../engine/db/feed-export.ts';
import { rebuildStateHash } from '../engine/db/feed-export.ts';
import { AregulaError, CrashError } from '../engine/errors.ts';
import { bytesToHex, hexToBytes } from '../engine/hex.ts';
import { CrashPolicy, MemoryFs } from '../engine/io/memory-fs.ts';
import { encodeEntry } from '../engine/log/entry.ts';
import { type Identity, identityFromSeed } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import type { Signer } from '../engine/log/signer.ts';
import { SyncSession } from '../engine/sync/session.ts';
import { type LinkFaults, Network } from './network.ts';
import { SimRandom } from './random.ts';
import { Scheduler } from './scheduler.ts';
import { VirtualClock } from './virtual-clock.ts';

/** How often the liveness phase checks whether every peer holds every feed. */
const CONVERGENCE_CHECK_MS = 250;
/** Liveness budget: this much virtual time, plus {@link LIVENESS_MS_PER_CHUNK} per chunk. */
const LIVENESS_MS_BASE = 60_000;
const LIVENESS_MS_PER_CHUNK = 20;
/** Shortest chaos phase: peers sync and crash for at least this long, whatever the deliveries. */
const CHAOS_MS_MIN = 3000;
/** Virtual time between two deliveries of the source to one peer in the liveness phase. */
const RESEND_EVERY_MS = 2;
/** Most chunks one delivery carries (of different authors, or repeats). */
const CHUNKS_PER_DELIVERY_MAX = 3;
/** Most chunks a feed is cut into (longer chunks for longer feeds), so a replay stays bounded. */
const CHUNKS_PER_FEED_MAX = 256;
/** Largest `crashAfter` armed before a delivery: the crash lands within this many writes. */
const CRASH_AFTER_OPS_MAX = 40;
/** Trace lines kept in a replay's result (for failure reports). */
const TRACE_TAIL_LINES = 40;

/** The regime a seed draws. */
export interface ReplayMix {
  peers: number;
  /** Peers the source delivers to directly; the others learn everything by sync. */
  fedPeers: number;
  /** Most entries per chunk (a chunk extends to the next signature). */
  chunkEntriesMax: number;
  /** Probability that a chunk is delivered a second time, at another place in the order. */
  duplicateRate: number;
  /** Mean virtual ms between deliveries to one fed peer. */
  deliverEveryMs: number;
  /** Mean virtual ms between crashes of some peer (Infinity: none). */
  crashEveryMs: number;
  /** Probability that a delivery arms a crash in the middle of the writes it causes. */
  midWriteCrashRate: number;
  faults: LinkFaults;
}

/** A check that failed. */
export interface ReplayViolation {
  checker: string;
  message: string;
  peer?: string;
}

/** What one replay did and found (the `runs` element of `replay --feeds --json`). */
export interface FeedReplayResult {
  scenario: 'replay-feeds';
  seed: number;
  trace_hash: string;
  ok: boolean;
  violations: ReplayViolation[];
  mix: ReplayMix;
  deliveries: number;
  /** Chunks delivered before the entries they follow (refused as a gap, resent later). */
  gapped: number;
  /** Power losses: at random moments, and armed ones that fired in the middle of a write. */
  crashes: number;
  events: number;
  simulated_ms: number;
  wall_ms: number;
  converged_ms: number | null;
  /** Each peer's final state hash (absent for a peer that is down). */
  state_hashes: Record<string, string>;
  trace_tail: string[];
}

/** A contiguous range of one author's entries that ends at a signed entry. */
interface Chunk {
  author: string;
  fromSeq: number;
  toSeq: number;
  wire: Uint8Array[];
}

/** Draws a replay's regime from its stream. */
export function drawMix(r: SimRandom): ReplayMix {
  const peers = r.range(2, 4);
  const calm = r.chance(0.2);
  return {
    peers,
    fedPeers: r.range(1, peers),
    chunkEntriesMax: r.pick([1, 4, 16, 64, 256]),
    duplicateRate: r.pick([0, 0.1, 0.5]),
    deliverEveryMs: r.pick([1, 10, 50]),
    crashEveryMs: calm ? Number.POSITIVE_INFINITY : r.pick([Number.POSITIVE_INFINITY, 200, 1000]),
    midWriteCrashRate: calm ? 0 : r.pick([0, 0.1, 0.3]),
    faults: {
      latencyMsMin: r.range(1, 10),
      latencyMsMax: r.range(10, calm ? 20 : 300),
      lossRate: calm ? 0 : r.pick([0, 0.05, 0.2]),
      duplicateRate: calm ? 0 : r.pick([0, 0.05, 0.2]),
      bandwidthBytesPerMs: Number.POSITIVE_INFINITY,
    },
  };
}

/** Cuts every feed into chunks of random length, each extended to the next signed entry. */
export function chunkFeeds(exp: FeedExport, r: SimRandom, chunkEntriesMax: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (const feed of exp.feeds) {
    const n = feed.entries.length;
    const most = Math.max(chunkEntriesMax, Math.ceil(n / CHUNKS_PER_FEED_MAX));
    let from = 1;
    while (from <= n) {
      let to = Math.min(n, from + r.range(1, most) - 1);
      while (feed.entries[to - 1]!.signature === undefined) to++;
      const wire = feed.entries.slice(from - 1, to).map(encodeEntry);
      chunks.push({ author: feed.authorHex, fromSeq: from, toSeq: to, wire });
      from = to + 1;
    }
  }
  return chunks;
}

/** A fresh replica: the unmodified engine over a MemoryFs, syncing with the other peers. */
class ReplayPeer {
  fs: MemoryFs;
  db: Database | undefined;
  private sessions = new Map<string, SyncSession>();
  readonly neighbours: string[] = [];
  readonly problems: string[] = [];
  /** Authors whose entries this peer refused (a valid export must never be refused). */
  readonly refusals: string[] = [];
  /** Crashes armed by `crashAfter` that fired in the middle of a write. */
  midWriteCrashes = 0;

  constructor(
    readonly name: string,
    private readonly world: { scheduler: Scheduler; network: Network; signer: Signer; random: SimRandom },
    private readonly identity: Identity,
    private readonly clock: VirtualClock,
  ) {
    this.fs = new MemoryFs({ random: world.random.stream(`disk ${name}`) });
    world.network.addNode(name, (from, bytes) => this.receive(from, bytes));
  }

  /** Opens the store on whatever the disk kept; a crash during recovery is one more crash. */
  start(): boolean {
    if (this.db) return true;
    try {
      this.db = Database.open({
        fs: this.fs,
        identity: this.identity,
        clock: this.clock,
        signer: this.world.signer,
        lsm: { memtableBytes: 64 * 1024, blockCacheBytes: 1 << 20 },
      });
    } catch (err) {
      if (err instanceof CrashError) {
        this.midWriteCrashes++;
        this.world.scheduler.note(`crash ${this.name} during recovery`);
        this.fs.crash(CrashPolicy.random(this.world.random.stream(`recovery ${this.name}`)));
        return false;
      }
      this.problems.push(`could not reopen its store: ${describe(err)}`);
      return false;
    }
    this.sessions = new Map();
    this.world.network.setDown(this.name, false);
    return true;
  }

  /** Power loss: unsynced bytes go as `policy` says. */
  crash(policy: CrashPolicy): void {
    this.db = undefined;
    this.sessions = new Map();
    this.fs.crash(policy);
    this.world.network.setDown(this.name, true);
  }

  /** Says hello to every neighbour. */
  tick(): void {
    if (!this.db) return;
    this.guard(() => {
      for (const n of this.neighbours) this.session(n).start();
    });
  }

  /** Ingests chunks from the source; returns the wire entries that did not connect yet. */
  ingest(wire: Uint8Array[]): Set<Uint8Array> {
    const gapped = new Set<Uint8Array>();
    const db = this.db;
    if (!db) return gapped;
    this.guard(() => {
      const r = db.replica.ingest(wire);
      for (const x of r.rejected) this.refusals.push(`${x.author}: ${x.code}: ${x.message}`);
      for (const g of r.gapped) gapped.add(g);
    });
    return gapped;
  }

  private session(peer: string): SyncSession {
    let s = this.sessions.get(peer);
    if (!s) {
      s = new SyncSession(this.db!.replica, (bytes) => this.world.network.send(this.name, peer, bytes), {
        entriesPerMessageMax: 64,
      });
      this.sessions.set(peer, s);
    }
    return s;
  }

  private receive(from: string, bytes: Uint8Array): void {
    if (!this.db) return;
    this.guard(() => this.session(from).receive(bytes));
  }

  /** Runs `fn`; a crash armed by `crashAfter` takes the peer down, anything else is a finding. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof CrashError) {
        this.midWriteCrashes++;
        this.world.scheduler.note(`crash ${this.name} mid-write`);
        this.crash(CrashPolicy.random(this.world.random.stream(`mid-write ${this.name}`)));
        return;
      }
      this.problems.push(`error: ${describe(err)}`);
    }
  }
}

/** One replay of an export at one seed. */
class FeedReplayWorld {
  readonly scheduler = new Scheduler();
  readonly random: SimRandom;
  readonly network: Network;
  readonly mix: ReplayMix;
  readonly peers: ReplayPeer[] = [];
  private readonly chunks: Chunk[];
  private readonly heads = new Map<string, number>();
  private chaos = true;
  private deliveries = 0;
  private gapped = 0;
  private crashes = 0;

  constructor(
    private readonly exp: FeedExport,
    readonly seed: number,
    readonly signer: Signer,
  ) {
    this.random = new SimRandom(seed);
    this.mix = drawMix(this.random.stream('mix'));
    this.network = new Network({
      scheduler: this.scheduler,
      random: this.random.stream('network'),
      faults: this.mix.faults,
    });
    this.chunks = chunkFeeds(exp, this.random.stream('chunks'), this.mix.chunkEntriesMax);
    for (const f of exp.feeds) this.heads.set(f.authorHex, f.entries.length);
    const authors = new Set(exp.feeds.map((f) => f.authorHex));
    for (let i = 0; i < this.mix.peers; i++) {
      const name = `r${i}`;
      const identity = identityFromSeed(peerSeed(i));
      assert(!authors.has(bytesToHex(identity.publicKey)), 'a replay peer is never an exported author');
      const clock = new VirtualClock(this.scheduler, { name });
      this.peers.push(new ReplayPeer(name, this, identity, clock));
    }
    for (const p of this.peers) for (const q of this.peers) if (p !== q) p.neighbours.push(q.name);
  }

  /** Runs the replay and its checks. */
  run(): FeedReplayResult {
    const wall = performance.now();
    for (const p of this.peers) p.start();
    for (const p of this.peers) this.scheduleTicks(p);
    const fed = this.peers.slice(0, this.mix.fedPeers);
    let chaosEndMs = 0;
    for (const p of fed) chaosEndMs = Math.max(chaosEndMs, this.scheduleDeliveries(p));
    this.scheduleCrashes();
    this.scheduler.runUntil(Math.max(chaosEndMs + 1, CHAOS_MS_MIN));
    const convergedMs = this.liveness(fed);
    const violations = this.check(convergedMs);
    return {
      scenario: 'replay-feeds',
      seed: this.seed,
      trace_hash: this.scheduler.traceHash(),
      ok: violations.length === 0,
      violations,
      mix: this.mix,
      deliveries: this.deliveries,
      gapped: this.gapped,
      crashes: this.crashes + this.peers.reduce((a, p) => a + p.midWriteCrashes, 0),
      events: this.scheduler.executed,
      simulated_ms: this.scheduler.nowMs,
      wall_ms: Math.round(performance.now() - wall),
      converged_ms: convergedMs ?? null,
      state_hashes: Object.fromEntries(this.peers.flatMap((p) => (p.db ? [[p.name, p.db.stateHash()]] : []))),
      trace_tail: this.scheduler.traceTail(TRACE_TAIL_LINES),
    };
  }

  private scheduleTicks(p: ReplayPeer): void {
    const r = this.random.stream(`tick ${p.name}`);
    const every = r.range(300, 700);
    const tick = () => {
      p.tick();
      this.scheduler.after(every, `tick ${p.name}`, tick);
    };
    this.scheduler.after(r.range(1, every), `tick ${p.name}`, tick);
  }

  /**
   * Schedules the chaos-phase deliveries to `p`: every chunk in a shuffled order, some twice,
   * a few chunks per delivery. Returns the virtual time of the last one.
   */
  private scheduleDeliveries(p: ReplayPeer): number {
    const r = this.random.stream(`deliver ${p.name}`);
    const order: Chunk[] = [];
    for (const c of this.chunks) {
      order.push(c);
      if (r.chance(this.mix.duplicateRate)) order.push(c);
    }
    shuffle(order, r);
    let at = 0;
    for (let i = 0; i < order.length; ) {
      const take = Math.min(order.length - i, r.range(1, CHUNKS_PER_DELIVERY_MAX));
      const batch = order.slice(i, i + take);
      i += take;
      at += Math.max(1, Math.round(r.exponential(this.mix.deliverEveryMs)));
      const crashAfter = r.chance(this.mix.midWriteCrashRate) ? r.range(0, CRASH_AFTER_OPS_MAX) : undefined;
      this.scheduler.at(at, `deliver ${p.name}`, () => this.deliver(p, batch, crashAfter));
    }
    return at;
  }

  private deliver(p: ReplayPeer, batch: Chunk[], crashAfter: number | undefined): void {
    if (!p.db) return;
    this.deliveries++;
    this.scheduler.note(
      `deliver ${p.name} ${batch.map((c) => `${c.author.slice(0, 8)}:${c.fromSeq}-${c.toSeq}`).join(' ')}`,
    );
    if (crashAfter !== undefined && this.chaos) {
      this.scheduler.note(`arm crash ${p.name} after ${crashAfter} writes`);
      p.fs.crashAfter(crashAfter);
    }
    const gapped = p.ingest(batch.flatMap((c) => c.wire));
    this.gapped += batch.filter((c) => gapped.has(c.wire[0]!)).length;
  }

  private scheduleCrashes(): void {
    if (!Number.isFinite(this.mix.crashEveryMs)) return;
    const r = this.random.stream('nemesis');
    const crash = () => {
      if (!this.chaos) return;
      const p = r.pick(this.peers);
      if (p.db) {
        this.crashes++;
        this.scheduler.note(`crash ${p.name}`);
        p.crash(CrashPolicy.random(this.random.stream(`crash ${this.crashes}`)));
        this.scheduler.after(r.range(50, 1000), `restart ${p.name}`, () => this.restart(p));
      }
      this.scheduler.after(Math.max(1, Math.round(r.exponential(this.mix.crashEveryMs))), 'nemesis', crash);
    };
    this.scheduler.after(Math.max(1, Math.round(r.exponential(this.mix.crashEveryMs))), 'nemesis', crash);
  }

  private restart(p: ReplayPeer): void {
    if (p.start()) return;
    // Recovery itself crashed (an armed crash point) or failed: try again later.
    if (p.problems.length === 0) this.scheduler.after(100, `restart ${p.name}`, () => this.restart(p));
  }

  /**
   * Stops every fault, restarts every peer and has the source resend, in order, what each fed
   * peer lacks, until every peer holds every feed. Returns the virtual ms it took.
   */
  private liveness(fed: ReplayPeer[]): number | undefined {
    this.chaos = false;
    this.scheduler.note('liveness: calm links, restart, resend in order');
    this.network.calm();
    for (const p of this.peers) {
      p.fs.crashAfter(undefined);
      for (let tries = 0; !p.start() && p.problems.length === 0 && tries < 3; tries++)
        p.fs.crashAfter(undefined);
    }
    for (const p of fed) this.resend(p);
    const budget = LIVENESS_MS_BASE + LIVENESS_MS_PER_CHUNK * this.chunks.length;
    const start = this.scheduler.nowMs;
    for (let t = start + CONVERGENCE_CHECK_MS; t <= start + budget; t += CONVERGENCE_CHECK_MS) {
      this.scheduler.runUntil(t);
      if (this.peers.every((p) => this.holdsAll(p))) return t - start;
    }
    return undefined;
  }

  /** The source's liveness loop for one fed peer: the next chunk past the peer's head, per author. */
  private resend(p: ReplayPeer): void {
    if (!p.db || this.holdsAll(p)) return;
    const held = p.db.replica.stateVector();
    // Per author, the chunk holding the first entry the peer lacks (sync may have brought it
    // part of a chunk; ingest skips what it already holds).
    const next = this.chunks.filter((c) => {
      const want = (held.get(c.author) ?? 0) + 1;
      return c.fromSeq <= want && want <= c.toSeq;
    });
    if (next.length > 0) this.deliver(p, next, undefined);
    this.scheduler.after(RESEND_EVERY_MS, `resend ${p.name}`, () => this.resend(p));
  }

  private holdsAll(p: ReplayPeer): boolean {
    if (!p.db) return false;
    const sv = p.db.replica.stateVector();
    for (const [author, seq] of this.heads) if (sv.get(author) !== seq) return false;
    return true;
  }

  private check(convergedMs: number | undefined): ReplayViolation[] {
    const out: ReplayViolation[] = [];
    if (convergedMs === undefined) {
      const behind = this.peers.filter((p) => !this.holdsAll(p)).map((p) => p.name);
      out.push({
        checker: 'liveness',
        message: `${behind.join(', ')} did not get every feed within the budget`,
      });
    }
    const want = this.exp.manifest.stateHash;
    for (const p of this.peers) {
      for (const m of p.problems) out.push({ checker: 'peer', message: m, peer: p.name });
      for (const m of p.refusals.slice(0, 5))
        out.push({ checker: 'refused', message: `a valid exported entry was refused: ${m}`, peer: p.name });
      if (!p.db) continue;
      out.push(...this.checkPeer(p, p.db, want));
    }
    return out;
  }

  private checkPeer(p: ReplayPeer, db: Database, want: string): ReplayViolation[] {
    const out: ReplayViolation[] = [];
    for (const line of this.exp.manifest.feeds) {
      const head = db.feeds.head(hexToBytes(line.author));
      if (head === undefined || head.seq < line.entries) continue; // the liveness checker says so
      if (head.seq !== line.entries || bytesToHex(head.hash) !== line.headHash)
        out.push({
          checker: 'feeds',
          message: `feed ${line.author.slice(0, 16)} differs from the export`,
          peer: p.name,
        });
    }
    const got = db.stateHash();
    if (got !== want)
      out.push({
        checker: 'state-hash',
        message: `state hash ${got} is not the source's ${want}`,
        peer: p.name,
      });
    if (!db.rebuild())
      out.push({ checker: 'integrity', message: 'views differ from a rebuild of the log', peer: p.name });
    return out;
  }
}

/**
 * Checks an export against itself before any replay: the manifest's state hash must be what
 * a rebuild of its entries gives, and, when nothing was omitted, what the source reported.
 */
export function checkExport(exp: FeedExport): ReplayViolation[] {
  const out: ReplayViolation[] = [];
  const rebuilt = rebuildStateHash(exp.feeds);
  const m = exp.manifest;
  if (rebuilt !== m.stateHash)
    out.push({
      checker: 'source',
      message: `the manifest's state hash ${m.stateHash} is not a rebuild of the exported feeds (${rebuilt})`,
    });
  if (m.omittedEntries === 0 && m.sourceStateHash !== m.stateHash)
    out.push({
      checker: 'source',
      message: `the source's own state hash ${m.sourceStateHash} differs from its feeds' (${m.stateHash}) with nothing omitted`,
    });
  return out;
}

/** Replays `exp` at `seed`. */
export function replayFeeds(
  exp: FeedExport,
  seed: number,
  options: { signer?: Signer } = {},
): FeedReplayResult {
  return new FeedReplayWorld(exp, seed, options.signer ?? nodeSigner).run();
}

function shuffle<T>(xs: T[], r: SimRandom): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}

function peerSeed(i: number): Uint8Array {
  const b = new Uint8Array(32);
  new DataView(b.buffer).setUint32(0, i);
  b[31] = 0x5e; // distinct from sim/peer.ts's identities (0xa5)
  return b;
}

function describe(err: unknown): string {
  if (err instanceof AregulaError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
