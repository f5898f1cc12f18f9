/**
 * One deterministic world per (scenario, seed): peers, a network, virtual clocks and disks,
 * all driven by one seeded PRNG split into named streams. A run goes:
 *
 *   swarm   the seed draws this run's fault mix and rates (printed with the result)
 *   chaos   the workload and the scenario's nemesis run on virtual time
 *   liveness every fault stops, every peer is restarted and the network healed; peers sync
 *           until their state vectors agree, within a virtual-time budget
 *   check   the checkers (sim/checkers.ts) judge the history and the final states
 *
 * Same seed, same trace: every source of nondeterminism is a stream of the seed, and the
 * trace hash (sim/scheduler.ts) covers every event and note.
 */

import type { Database } from '../engine/db/database.ts';
import type { DbOp } from '../engine/db/payload.ts';
import { bytesToHex } from '../engine/hex.ts';
import { CrashPolicy } from '../engine/io/memory-fs.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { ActionLog, type SimAction } from './actions.ts';
import { type PeerFinal, runCheckers, type Violation } from './checkers.ts';
import { History, type OpRecord } from './history.ts';
import { MemoSigner } from './memo-signer.ts';
import { CALM, type LinkFaults, Network } from './network.ts';
import { type Profile, type SharedWrites, SimPeer } from './peer.ts';
import { SimRandom } from './random.ts';
import { Scheduler } from './scheduler.ts';

/** The fault mix a seed draws (swarm testing: each seed explores its own regime). */
export interface Swarm {
  faults: LinkFaults;
  /** Mean virtual ms between writes on each peer. */
  writeEveryMs: number;
  /** Probability that a write is committed (signed and synced) at once. */
  commitRate: number;
  /** Mean virtual ms between crashes of some peer (Infinity: none). */
  crashEveryMs: number;
  /** Mean virtual ms between partitions (Infinity: none). */
  partitionEveryMs: number;
  /** Largest clock offset of a peer, either way. */
  clockSkewMsMax: number;
  /** Signing group size. */
  groupCommitEntries: number;
}

/** A peer in a scenario. */
export interface PeerSpec {
  name: string;
  profile: Profile;
  /** Identity seed; defaults to the peer's index. Two specs with one seed are one device. */
  identitySeed?: number;
}

/**
 * A stretch of virtual time in which nobody uses the devices: a night, a flight, a weekend.
 * The random workload and the nemesis pause; devices keep running (sync ticks back off while
 * nothing changes, sim/peer.ts), partitions and crashes in force stay in force.
 */
export interface QuietStretch {
  /** Story time at which it starts (events at exactly this time happen before it). */
  atMs: number;
  /** Its length in virtual ms. */
  forMs: number;
  /** What it models, for the trace: `a night`, `a flight`. */
  what: string;
}

/** A named story run by the simulator. */
export interface Scenario {
  name: string;
  description: string;
  /** The peers; a function lets a scenario size itself from the seed. */
  peers: PeerSpec[] | ((random: SimRandom) => PeerSpec[]);
  /** Who syncs with whom; default: everyone with the first `pi`, or a full mesh without one. */
  links?: (peers: PeerSpec[]) => [string, string][];
  /**
   * Length of the chaos phase in story time: virtual ms with the quiet stretches left out
   * (the phase lasts `durationMs` plus the stretches that start within it).
   */
  durationMs: number;
  /**
   * Quiet stretches, in story time. Scripts, the random workload and the nemesis schedule in
   * story time ({@link World.at}), so a stretch pushes everything after it later.
   */
  quiet?: readonly QuietStretch[];
  /** Virtual-time budget of the liveness phase. Default 60 s. */
  livenessMs?: number;
  /** Adjusts the seed's swarm (e.g. no random crashes in a story that scripts its own). */
  swarm?: (swarm: Swarm, random: SimRandom) => Swarm;
  /** Schedules the story's own events (nemesis, bursts of writes...). */
  script?: (world: World) => void;
  /** Writes by the random workload; default true. */
  randomWorkload?: boolean;
}

/** What a run produced (the `sim --json` run object, plus the history for reports). */
export interface RunResult {
  scenario: string;
  seed: number;
  trace_hash: string;
  violations: Violation[];
  events: number;
  simulated_ms: number;
  /** Virtual ms outside the scenario's quiet stretches (see {@link QuietStretch}). */
  active_ms: number;
  wall_ms: number;
  converged_ms: number | undefined;
  swarm: Swarm;
  writes: number;
  crashes: number;
  history: History;
  trace_tail: string[];
  /** Every action call of the run after its setup (sim/actions.ts), performed or left out. */
  actions: readonly SimAction[];
}

/** Options of a {@link World}. */
export interface WorldOptions {
  /**
   * Ids of the actions that happen (sim/actions.ts); every other action call is skipped where
   * it would have happened. Default: all of them. Event-level shrinking replays with this.
   */
  keepActions?: ReadonlySet<number>;
}

const COLLECTIONS = ['notes', 'lists'];
const IDS = 8;

/** Draws a run's fault mix from the seed. */
export function drawSwarm(r: SimRandom): Swarm {
  const calm = r.chance(0.2);
  return {
    faults: {
      latencyMsMin: r.range(1, 20),
      latencyMsMax: r.range(20, calm ? 50 : 800),
      lossRate: calm ? 0 : r.pick([0, 0.01, 0.05, 0.2, 0.4]),
      duplicateRate: calm ? 0 : r.pick([0, 0.01, 0.1]),
      bandwidthBytesPerMs: r.pick([Number.POSITIVE_INFINITY, 1000, 100]),
    },
    writeEveryMs: r.pick([50, 200, 1000]),
    commitRate: r.pick([0, 0.1, 0.5]),
    crashEveryMs: calm ? Number.POSITIVE_INFINITY : r.pick([Number.POSITIVE_INFINITY, 3000, 10_000]),
    partitionEveryMs: calm ? Number.POSITIVE_INFINITY : r.pick([Number.POSITIVE_INFINITY, 2000, 8000]),
    clockSkewMsMax: r.pick([0, 1000, 3_600_000]),
    groupCommitEntries: r.pick([1, 4, 64]),
  };
}

/** The fault mix of `scenario` at the seed of `random` (its `swarm` and `scenario-swarm` streams). */
function scenarioSwarm(scenario: Scenario, random: SimRandom): Swarm {
  const base = drawSwarm(random.stream('swarm'));
  return scenario.swarm ? scenario.swarm(base, random.stream('scenario-swarm')) : base;
}

/** The fault mix a world of `scenario` at `seed` runs with, without building the world. */
export function swarmOf(scenario: Scenario, seed: number): Swarm {
  return scenarioSwarm(scenario, new SimRandom(seed));
}

/** A simulated world for one scenario and seed. */
export class World {
  readonly random: SimRandom;
  readonly scheduler = new Scheduler();
  readonly network: Network;
  readonly history: History;
  readonly peers: SimPeer[] = [];
  readonly swarm: Swarm;
  /** The signing backend every peer uses: node:crypto, with verifications remembered. */
  readonly signer = new MemoSigner(nodeSigner);
  /** The run's actions: numbered, recorded and, in a replay with a subset, filtered. */
  readonly actions: ActionLog;
  /** True during the chaos phase; faults and the random workload stop when it ends. */
  chaos = true;
  private crashes = 0;
  /** Calls of {@link crash}, performed or not: names each crash's random stream stably. */
  private crashCalls = 0;
  private readonly wipes: { peer: string; index: number; heldElsewhere: number }[] = [];

  constructor(
    readonly scenario: Scenario,
    readonly seed: number,
    options: WorldOptions = {},
  ) {
    this.actions = new ActionLog(
      () => this.scheduler.nowMs,
      options.keepActions,
      (a) =>
        this.scheduler.note(`left out action ${a.id} ${a.kind}${a.peer === undefined ? '' : ` ${a.peer}`}`),
    );
    this.random = new SimRandom(seed);
    this.swarm = scenarioSwarm(scenario, this.random);
    this.history = new History(() => this.scheduler.nowMs);
    this.network = new Network({
      scheduler: this.scheduler,
      random: this.random.stream('network'),
      faults: this.swarm.faults,
      gate: this.actions,
    });
    const specs =
      typeof scenario.peers === 'function' ? scenario.peers(this.random.stream('peers')) : scenario.peers;
    const clocks = this.random.stream('clocks');
    specs.forEach((spec, i) => {
      const skew = this.swarm.clockSkewMsMax;
      this.peers.push(
        new SimPeer({
          name: spec.name,
          profile: spec.profile,
          identitySeed: spec.identitySeed ?? i,
          scheduler: this.scheduler,
          network: this.network,
          random: this.random.stream(`peer ${spec.name}`),
          history: this.history,
          clockOffsetMs: skew === 0 ? 0 : clocks.range(-skew, skew),
          clockDriftPpm: clocks.range(-200, 200),
          groupCommitEntries: this.swarm.groupCommitEntries,
          signer: this.signer,
          gate: this.actions,
        }),
      );
    });
    const links = scenario.links ? scenario.links(specs) : defaultLinks(specs);
    for (const [a, b] of links) {
      this.peer(a).neighbours.add(b);
      this.peer(b).neighbours.add(a);
    }
  }

  /** The peer called `name`. */
  peer(name: string): SimPeer {
    const p = this.peers.find((x) => x.name === name);
    if (!p) throw new Error(`no peer ${name}`);
    return p;
  }

  /** Crashes `peer` with a random crash policy from the disk stream, and restarts it later. */
  crash(peer: SimPeer, restartAfterMs: number | undefined): void {
    const n = ++this.crashCalls;
    this.actions.run({ kind: 'crash', peer: peer.name, detail: { restartAfterMs } }, () => {
      if (!peer.up) return;
      this.crashes++;
      this.scheduler.note(`crash ${peer.name}`);
      peer.crash(CrashPolicy.random(this.random.stream(`crash ${n}`)));
      if (restartAfterMs !== undefined) {
        // The restart belongs to the crash: left out with it, never an action of its own.
        this.scheduler.after(restartAfterMs, `restart ${peer.name}`, () =>
          this.actions.internal(() => peer.start()),
        );
      }
    });
  }

  /**
   * The device's disk is destroyed (a replacement keeps its identity and restores from peers
   * when it next starts). What it had not shared is legitimately gone: records, per wipe, the
   * highest sequence of its own feed that some other running peer held at that moment.
   */
  wipe(peer: SimPeer): void {
    this.actions.run({ kind: 'wipe', peer: peer.name }, () => this.destroyDisk(peer));
  }

  private destroyDisk(peer: SimPeer): void {
    const author = peer.identity.publicKey;
    let held = 0;
    for (const other of this.peers) {
      if (other === peer || !other.db) continue;
      held = Math.max(held, other.db.feeds.head(author)?.seq ?? 0);
    }
    this.wipes.push({ peer: peer.name, index: this.history.records.length, heldElsewhere: held });
    this.scheduler.note(`wipe ${peer.name} (others hold its feed to ${held})`);
    peer.wipe();
  }

  /**
   * The virtual time of story time `storyMs`: `storyMs` plus every quiet stretch that starts
   * before it.
   */
  time(storyMs: number): number {
    let t = storyMs;
    for (const q of this.scenario.quiet ?? []) if (q.atMs < storyMs) t += q.forMs;
    return t;
  }

  /** Schedules `fn` at story time `storyMs` (see {@link time}). */
  at(storyMs: number, label: string, fn: () => void): void {
    this.scheduler.at(this.time(storyMs), label, fn);
  }

  /** Virtual ms of the run outside quiet stretches (chaos phase in story time, plus liveness). */
  get activeMs(): number {
    let quiet = 0;
    for (const q of this.scenario.quiet ?? []) if (q.atMs < this.scenario.durationMs) quiet += q.forMs;
    return this.scheduler.nowMs - quiet;
  }

  /** Runs the whole story and the checkers. */
  run(): RunResult {
    const wall = performance.now();
    for (const p of this.peers) p.start();
    this.actions.recording = true;
    this.schedulePeriodic();
    if (this.scenario.randomWorkload !== false) this.scheduleWorkload();
    this.scheduleNemesis();
    for (const q of this.scenario.quiet ?? []) {
      if (q.atMs >= this.scenario.durationMs) continue;
      this.scheduler.at(this.time(q.atMs), `quiet: ${q.what}, ${q.forMs} ms`, () => {});
    }
    this.scenario.script?.(this);
    this.scheduler.runUntil(this.time(this.scenario.durationMs));
    const convergedMs = this.liveness();
    const violations = this.check(convergedMs);
    return {
      scenario: this.scenario.name,
      seed: this.seed,
      trace_hash: this.scheduler.traceHash(),
      violations,
      events: this.scheduler.executed,
      simulated_ms: this.scheduler.nowMs,
      active_ms: this.activeMs,
      wall_ms: Math.round(performance.now() - wall),
      converged_ms: convergedMs,
      swarm: this.swarm,
      writes: this.history.records.filter((r) => r.kind === 'write' && r.type === 'ok').length,
      crashes: this.crashes,
      history: this.history,
      trace_tail: this.scheduler.traceTail(40),
      actions: this.actions.actions,
    };
  }

  private schedulePeriodic(): void {
    for (const p of this.peers) p.startTicking();
  }

  /** A random op on a small key space, so that concurrent writes to one document are common. */
  randomOps(r: SimRandom): DbOp[] {
    const n = r.chance(0.2) ? r.range(2, 4) : 1;
    const ops: DbOp[] = [];
    for (let i = 0; i < n; i++) {
      const collection = r.pick(COLLECTIONS);
      const id = `d${r.int(IDS)}`;
      const k = r.int(10);
      if (k < 3)
        ops.push({ kind: 'put', collection, id, fields: { title: `t${r.int(100)}`, n: r.int(1000) } });
      else if (k < 7) ops.push({ kind: 'patch', collection, id, fields: { [`f${r.int(4)}`]: r.int(1000) } });
      else if (k < 8) ops.push({ kind: 'unset', collection, id, names: [`f${r.int(4)}`] });
      else ops.push({ kind: 'delete', collection, id });
    }
    return ops;
  }

  private scheduleWorkload(): void {
    for (const p of this.peers) {
      const r = this.random.stream(`workload ${p.name}`);
      // Story time of the next step: the random workload pauses in quiet stretches.
      let t = r.range(1, this.swarm.writeEveryMs);
      const next = () => {
        if (!this.chaos) return;
        if (r.chance(0.15)) p.read(r.pick(COLLECTIONS), `d${r.int(IDS)}`);
        else p.write(this.randomOps(r), r.chance(this.swarm.commitRate));
        if (r.chance(0.05)) p.commit();
        t += Math.max(1, Math.round(r.exponential(this.swarm.writeEveryMs)));
        this.at(t, `write ${p.name}`, next);
      };
      this.at(t, `write ${p.name}`, next);
    }
  }

  private scheduleNemesis(): void {
    const r = this.random.stream('nemesis');
    if (Number.isFinite(this.swarm.crashEveryMs)) {
      let t = Math.round(r.exponential(this.swarm.crashEveryMs));
      const crash = () => {
        if (!this.chaos) return;
        this.crash(r.pick(this.peers), r.range(100, 3000));
        t += Math.round(r.exponential(this.swarm.crashEveryMs));
        this.at(t, 'nemesis crash', crash);
      };
      this.at(t, 'nemesis crash', crash);
    }
    if (Number.isFinite(this.swarm.partitionEveryMs)) {
      let t = Math.round(r.exponential(this.swarm.partitionEveryMs));
      const cut = () => {
        if (!this.chaos) return;
        const names = this.peers.map((p) => p.name);
        if (r.chance(0.5)) this.network.isolate(r.pick(names));
        else {
          const shuffled = [...names];
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = r.int(i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          const k = r.range(1, Math.max(1, names.length - 1));
          this.network.partition([shuffled.slice(0, k), shuffled.slice(k)]);
        }
        this.at(t + r.range(200, 3000), 'nemesis heal', () => {
          if (this.chaos) this.network.heal();
        });
        t += Math.round(r.exponential(this.swarm.partitionEveryMs));
        this.at(t, 'nemesis partition', cut);
      };
      this.at(t, 'nemesis partition', cut);
    }
  }

  /** Heals everything and runs until every peer holds every entry; returns the virtual ms it took. */
  private liveness(): number | undefined {
    this.chaos = false;
    this.scheduler.note('liveness: heal, restart, stop faults');
    // The world's own mechanics, not actions. (Scripted events still pending after the chaos
    // phase, e.g. when shrinking shortened it, are actions and run as before.)
    this.actions.internal(() => {
      this.network.calm();
      for (const p of this.peers) p.start();
      // Every device notices the network is back (links that healed reconnect on their own).
      for (const p of this.peers) p.kick();
    });
    const budget = this.scenario.livenessMs ?? 60_000;
    const start = this.scheduler.nowMs;
    for (let t = start + 250; t <= start + budget; t += 250) {
      this.scheduler.runUntil(t);
      if (this.agree()) return t - start;
    }
    return undefined;
  }

  /**
   * True when every peer is up and holds the same entries. Entries are counted to each feed's
   * head, not to its last signature: a device's durable but not yet signed writes (it signs
   * them when it next greets a peer) must reach everyone before the world is quiet.
   */
  private agree(): boolean {
    const svs = this.peers.map((p) => (p.db ? heldEntries(p.db) : 'down'));
    return svs.every((s) => s === svs[0] && s !== 'down');
  }

  private check(convergedMs: number | undefined): Violation[] {
    const violations: Violation[] = [];
    for (const p of this.peers)
      for (const m of p.problems) violations.push({ checker: 'peer', message: m, peer: p.name });
    if (convergedMs === undefined) {
      violations.push({
        checker: 'liveness',
        message: `peers did not converge within ${this.scenario.livenessMs ?? 60_000} ms after healing`,
      });
    }
    const writes: SharedWrites = new Map();
    const rebuilt = new Map<string, string>();
    const finals: PeerFinal[] = this.peers.filter((p) => p.up).map((p) => p.final(writes, rebuilt));
    violations.push(
      ...runCheckers({ history: this.history, peers: finals, durable: (w) => this.durable(w) }),
    );
    return violations;
  }

  /**
   * Whether a write had to survive: its peer never crashed after it, or a durability point
   * (a commit, or a sync hello, which signs and syncs before sharing) came between.
   */
  private durable(w: OpRecord): boolean {
    const records = this.history.records;
    const seq = (w.result as { seq?: number } | undefined)?.seq;
    const start = w.invokeIndex ?? w.index;
    const invoke = records[start];
    // Walk this peer's later history in order: a durability point makes the write survive power
    // loss; a power loss before one loses it; a destroyed disk keeps only what others held.
    // Only the records that can decide it are visited (an index built once per run).
    let local = (invoke?.detail as { commit?: boolean } | undefined)?.commit === true;
    let from = w.index;
    if (!local) {
      const marks = this.durabilityMarks().get(w.peer) ?? [];
      for (let k = firstAfter(marks, w.index); k < marks.length && !local; k++) {
        const r = records[marks[k]!]!;
        // A crash before any durability point, the destruction of the disk included.
        if (r.kind === 'crash') return false;
        local = true;
        from = r.index;
      }
      if (!local) return true;
    }
    // Durable on its own disk from `from` on: only a destroyed disk can still lose it.
    const wipe = this.wipes.find((x) => x.peer === w.peer && x.index > from);
    return wipe === undefined || (seq !== undefined && seq <= wipe.heldElsewhere);
  }

  private marks: Map<string, number[]> | undefined;

  /** Per peer, in order, the indexes of its records that can decide a write's durability. */
  private durabilityMarks(): Map<string, number[]> {
    if (this.marks) return this.marks;
    const marks = new Map<string, number[]>();
    for (const r of this.history.records) {
      // A wiped disk's record is a crash record of its peer (sim/peer.ts), so it is among these.
      const decides =
        r.kind === 'crash' ||
        (r.kind === 'commit' && r.type === 'ok') ||
        (r.kind === 'sync' && r.type === 'info');
      if (!decides) continue;
      const list = marks.get(r.peer);
      if (list) list.push(r.index);
      else marks.set(r.peer, [r.index]);
    }
    this.marks = marks;
    return marks;
  }
}

/** The position of the first element of the ascending `list` greater than `index`. */
function firstAfter(list: readonly number[], index: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! <= index) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function defaultLinks(peers: PeerSpec[]): [string, string][] {
  const hub = peers.find((p) => p.profile === 'pi');
  const out: [string, string][] = [];
  if (hub) {
    for (const p of peers) if (p !== hub) out.push([p.name, hub.name]);
    return out;
  }
  for (let i = 0; i < peers.length; i++)
    for (let j = i + 1; j < peers.length; j++) out.push([peers[i]!.name, peers[j]!.name]);
  return out;
}

/** Runs one scenario at one seed. */
/** A peer's feeds as text, `author:headSeq` in author order, signed or not, for comparing peers. */
function heldEntries(db: Database): string {
  return db.feeds
    .authors()
    .map((author) => `${bytesToHex(author)}:${db.feeds.head(author)?.seq ?? 0}`)
    .join(' ');
}

export function runScenario(scenario: Scenario, seed: number, options: WorldOptions = {}): RunResult {
  return new World(scenario, seed, options).run();
}

export { CALM };
