/**
 * Message delivery between named nodes on virtual time: the simulated twin of every transport
 * (HTTP + SSE to the hub, WebRTC data channels between peers).
 *
 * Faults it injects, and why the engine must survive them:
 * - Latency with jitter, hence reordering: two messages on one link may arrive in either
 *   order, so sync must not assume FIFO delivery between requests.
 * - Loss: a message silently vanishes, so every exchange must be retried or re-derived from
 *   state vectors, never acknowledged by hope.
 * - Duplication: a message arrives twice, so applying a delta must be idempotent.
 * - Limited bandwidth: messages on a directed link are serialised (each waits until the link
 *   is free, then takes bytes / bandwidth ms), so a large initial sync delays everything
 *   behind it and timeouts must not fire on a merely slow link.
 * - Partitions, one-way and asymmetric: `block`, `isolate` and `partition` (a bridge node may
 *   belong to two groups, so A reaches B and B reaches C but A does not reach C); a peer may
 *   hear a node it cannot answer. Replicas must converge once the links heal.
 * - Down nodes: a crashed or closed node neither sends nor receives.
 *
 * Delivery rule: a message is delivered only if, at its delivery time, both nodes are up and
 * the directed link is open, and neither node went down nor the link was cut at any moment
 * while it was in flight (a crash or a partition breaks the connection and loses what was in
 * it, even if a flap heals before the message would have landed). Loss and down/cut checks
 * at send time drop a message immediately; nothing is ever delivered synchronously.
 *
 * Draws: a message's loss, duplication and latencies are a pure function of the network's
 * seed, its directed link, its send time and its ordinal among the sends on that link at that
 * instant ({@link messageDraw}), never of how many messages other links or earlier instants
 * carried. Leaving an action out of a run (event-level shrinking) therefore changes only the
 * messages it causes, not the faults of every later message. Every delivery is a scheduler
 * event labelled `net ${from}->${to} #${n}` (the duplicate adds ` dup`); every fault change
 * is a trace note.
 *
 * Connections: {@link Network.watch} tells a listener, after every topology change or node
 * going down or up, so that the transport twin (sim/sim-transport.ts) can tell its links'
 * owners that a connection was lost or came back, as real transports do.
 */

import { InvalidArgumentError } from '../engine/errors.ts';
import { type ActionGate, gated } from './actions.ts';
import { deriveSeed, mix32, type SimRandom } from './random.ts';
import type { Scheduler } from './scheduler.ts';

/** How one directed link misbehaves. */
export interface LinkFaults {
  /** Least one-way latency, ms (>= 0). */
  latencyMsMin: number;
  /** Greatest one-way latency, ms (>= latencyMsMin); latency is uniform in between. */
  latencyMsMax: number;
  /** Probability in [0, 1] that a message is lost. */
  lossRate: number;
  /** Probability in [0, 1] that a message that is not lost arrives twice. */
  duplicateRate: number;
  /** Link throughput in bytes per ms (> 0); `Infinity` = unlimited. */
  bandwidthBytesPerMs: number;
}

/** A healthy link: 1..5 ms latency, no loss, no duplication, unlimited bandwidth. */
export const CALM: Readonly<LinkFaults> = Object.freeze({
  latencyMsMin: 1,
  latencyMsMax: 5,
  lossRate: 0,
  duplicateRate: 0,
  bandwidthBytesPerMs: Number.POSITIVE_INFINITY,
});

/** Counters of a {@link Network}. `sent + duplicated = delivered + dropped + inFlight`. */
export interface NetworkStats {
  /** Calls to `send`. */
  sent: number;
  /** Copies handed to a node's `deliver`. */
  delivered: number;
  /** Copies lost, or dropped because a node was down or a link was cut. */
  dropped: number;
  /** Sends that produced a second copy. */
  duplicated: number;
  /** Bytes passed to `send` (each send once, duplicates not counted again). */
  bytes: number;
}

/** Options of {@link Network}. */
export interface NetworkOptions {
  /** Delivers messages as events on its virtual time. */
  scheduler: Scheduler;
  /**
   * Seeds the loss, duplication and latency draws (give the network its own sub-stream): only
   * its seed is used, each link deriving its own (see {@link messageDraw}).
   */
  random: SimRandom;
  /** Default faults of every link. Default {@link CALM}. */
  faults?: LinkFaults;
  /**
   * Records topology and fault changes as actions of a run, and may leave them out
   * (sim/actions.ts). `calm` and `setDown` are the world's mechanics, never actions.
   */
  gate?: ActionGate;
}

interface NodeState {
  readonly deliver: (from: string, bytes: Uint8Array) => void;
  down: boolean;
  /** Bumped each time the node goes down, so messages in flight across a crash are dropped. */
  incarnation: number;
}

interface LinkState {
  readonly from: string;
  readonly to: string;
  override: Partial<LinkFaults> | undefined;
  /** When the link finishes transmitting what is queued on it (bandwidth serialisation). */
  freeAtMs: number;
  /** Whether blocks, isolation and partitions currently let messages through. */
  open: boolean;
  /** Times the link went from open to cut; messages sent before a cut are dropped. */
  cuts: number;
  /** Seed of this link's message draws (from the network's seed and the link's name). */
  readonly seed: number;
  /** Send time of the link's last message, and how many were sent at that instant. */
  lastSendMs: number;
  sendsAtLastMs: number;
}

/** What a message in flight remembers from its send, to detect a crash or cut in between. */
interface InFlight {
  readonly link: LinkState;
  readonly cuts: number;
  readonly fromIncarnation: number;
  readonly toIncarnation: number;
}

const NAME_PATTERN = /^[^\s,|>]+$/;
const FAULT_KEYS = [
  'latencyMsMin',
  'latencyMsMax',
  'lossRate',
  'duplicateRate',
  'bandwidthBytesPerMs',
] as const;

function linkKey(from: string, to: string): string {
  return `${from}>${to}`;
}

/** Copies the defined fields of `patch` over `base`. */
function merge(base: Partial<LinkFaults>, patch: Partial<LinkFaults>): Partial<LinkFaults> {
  const out: Partial<LinkFaults> = { ...base };
  for (const key of FAULT_KEYS) {
    const value = patch[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function checkRate(what: string, rate: number): void {
  if (!(rate >= 0 && rate <= 1)) throw new InvalidArgumentError(`${what} must be in [0, 1], got ${rate}`);
}

const drawTime = new Float64Array(1);
const drawTimeWords = new Uint32Array(drawTime.buffer);
const TWO_POW_32 = 2 ** 32;

/**
 * Draw `i` (0: loss, 1: duplication, 2 + c: latency of copy c) of the message sent on the link
 * seeded `linkSeed` at virtual time `timeMs` as the `ordinal`-th send on that link at that
 * instant: a float in [0, 1) with 32 bits of resolution, from splitmix32's finaliser chained
 * over the link seed, both 32-bit halves of the time's IEEE-754 bits, the ordinal and `i`.
 */
export function messageDraw(linkSeed: number, timeMs: number, ordinal: number, i: number): number {
  drawTime[0] = timeMs;
  const h = mix32(mix32(mix32(linkSeed ^ drawTimeWords[0]!) ^ drawTimeWords[1]!) ^ ordinal);
  return mix32(h ^ Math.imul(i + 1, 0x9e3779b9)) / TWO_POW_32;
}

/** Throws {@link InvalidArgumentError} unless `f` is a consistent set of faults. */
export function validateFaults(f: LinkFaults): void {
  if (!(Number.isFinite(f.latencyMsMin) && f.latencyMsMin >= 0)) {
    throw new InvalidArgumentError(`latencyMsMin must be finite and >= 0, got ${f.latencyMsMin}`);
  }
  if (!(Number.isFinite(f.latencyMsMax) && f.latencyMsMax >= f.latencyMsMin)) {
    throw new InvalidArgumentError(`latencyMsMax must be finite and >= latencyMsMin, got ${f.latencyMsMax}`);
  }
  checkRate('lossRate', f.lossRate);
  checkRate('duplicateRate', f.duplicateRate);
  if (!(f.bandwidthBytesPerMs > 0)) {
    throw new InvalidArgumentError(`bandwidthBytesPerMs must be > 0, got ${f.bandwidthBytesPerMs}`);
  }
}

/** A one-line description of faults for the trace. */
export function formatFaults(f: Partial<LinkFaults>): string {
  return FAULT_KEYS.filter((k) => f[k] !== undefined)
    .map((k) => `${k}=${f[k]}`)
    .join(' ');
}

/** A simulated network of named nodes. */
export class Network {
  /** Counters since construction. */
  readonly stats: Readonly<NetworkStats>;
  private readonly counters: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, bytes: 0 };
  private readonly scheduler: Scheduler;
  private readonly gate: ActionGate | undefined;
  private defaults: LinkFaults;
  private readonly nodes = new Map<string, NodeState>();
  private readonly links = new Map<string, LinkState>();
  private readonly blocked = new Set<string>();
  private readonly isolated = new Set<string>();
  /** Node -> indexes of the partition groups it belongs to; undefined when not partitioned. */
  private groups: Map<string, Set<number>> | undefined;
  private messages = 0;
  private inFlightCount = 0;
  private readonly seed: number;
  private readonly watchers: (() => void)[] = [];

  constructor(options: NetworkOptions) {
    const faults = { ...(options.faults ?? CALM) };
    validateFaults(faults);
    this.scheduler = options.scheduler;
    this.seed = options.random.seed;
    this.gate = options.gate;
    this.defaults = faults;
    this.stats = this.counters;
  }

  /** Copies scheduled for delivery and not yet arrived. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Adds a node, up, with every link to and from it open unless a partition excludes it. */
  addNode(name: string, deliver: (from: string, bytes: Uint8Array) => void): void {
    if (!NAME_PATTERN.test(name)) {
      throw new InvalidArgumentError(
        `node name must be non-empty, without spaces, ',', '|' or '>': "${name}"`,
      );
    }
    if (this.nodes.has(name)) throw new InvalidArgumentError(`node "${name}" already exists`);
    for (const other of this.nodes.keys()) {
      this.addLink(name, other);
      this.addLink(other, name);
    }
    this.nodes.set(name, { deliver, down: false, incarnation: 0 });
    this.refreshTopology();
  }

  /** Sends `bytes` (copied now) from `from` to `to`; delivery, if any, is a later event. */
  send(from: string, to: string, bytes: Uint8Array): void {
    const link = this.link(from, to);
    const src = this.node(from);
    const dst = this.node(to);
    const n = ++this.messages;
    this.counters.sent++;
    this.counters.bytes += bytes.length;
    if (src.down || dst.down || !link.open) {
      this.counters.dropped++;
      return;
    }
    const faults = this.effectiveFaults(link);
    const now = this.scheduler.nowMs;
    if (link.lastSendMs !== now) {
      link.lastSendMs = now;
      link.sendsAtLastMs = 0;
    }
    const ordinal = link.sendsAtLastMs++;
    if (messageDraw(link.seed, now, ordinal, 0) < faults.lossRate) {
      this.counters.dropped++;
      return;
    }
    const copies = messageDraw(link.seed, now, ordinal, 1) < faults.duplicateRate ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    const payload = bytes.slice();
    const message: InFlight = {
      link,
      cuts: link.cuts,
      fromIncarnation: src.incarnation,
      toIncarnation: dst.incarnation,
    };
    for (let copy = 0; copy < copies; copy++) {
      const sentMs = this.transmit(link, faults, payload.length);
      const latencyMs =
        faults.latencyMsMin +
        messageDraw(link.seed, now, ordinal, 2 + copy) * (faults.latencyMsMax - faults.latencyMsMin);
      const label = `net ${from}->${to} #${n}${copy === 0 ? '' : ' dup'}`;
      const body = copy === 0 ? payload : payload.slice();
      this.inFlightCount++;
      this.scheduler.at(sentMs + latencyMs, label, () => this.arrive(message, body));
    }
  }

  /**
   * Calls `listener` (synchronously, after the change) whenever links may have opened or
   * closed or a node went down or up. Listeners must not change the network's topology.
   */
  watch(listener: () => void): void {
    this.watchers.push(listener);
  }

  /** Whether `from -> to` currently carries messages: both nodes up and the link open. */
  linkUp(from: string, to: string): boolean {
    const link = this.link(from, to);
    return !this.node(from).down && !this.node(to).down && link.open;
  }

  /** Changes the default faults of every link (fields not given keep their value). */
  setFaults(f: Partial<LinkFaults>): void {
    gated(this.gate, { kind: 'faults', detail: f }, () => {
      const next = merge(this.defaults, f) as LinkFaults;
      validateFaults(next);
      for (const link of this.links.values()) {
        if (link.override !== undefined) validateFaults(merge(next, link.override) as LinkFaults);
      }
      this.defaults = next;
      this.scheduler.note(`net faults ${formatFaults(next)}`);
    });
  }

  /**
   * Overrides faults on the directed link `from -> to` only (asymmetric links); fields merge
   * into the link's existing override. `undefined` removes the override.
   */
  setLinkFaults(from: string, to: string, f: Partial<LinkFaults> | undefined): void {
    const link = this.link(from, to);
    gated(this.gate, { kind: 'link-faults', peer: from, detail: { to, faults: f ?? 'default' } }, () => {
      const override = f === undefined ? undefined : merge(link.override ?? {}, f);
      if (override !== undefined) validateFaults(merge(this.defaults, override) as LinkFaults);
      link.override = override;
      this.scheduler.note(
        `net faults ${from}->${to} ${override === undefined ? 'default' : formatFaults(override)}`,
      );
    });
  }

  /** Cuts the directed link `from -> to` only: `to` still reaches `from`. */
  block(from: string, to: string): void {
    const key = linkKey(from, to);
    this.link(from, to);
    gated(this.gate, { kind: 'block', peer: from, detail: { to } }, () => {
      this.blocked.add(key);
      this.refreshTopology();
      this.scheduler.note(`net block ${from}->${to}`);
    });
  }

  /** Removes a block made by {@link block} (not isolation or partitions). */
  unblock(from: string, to: string): void {
    this.link(from, to);
    gated(this.gate, { kind: 'unblock', peer: from, detail: { to } }, () => {
      this.blocked.delete(linkKey(from, to));
      this.refreshTopology();
      this.scheduler.note(`net unblock ${from}->${to}`);
    });
  }

  /** Cuts every link to and from `name` until {@link heal}. */
  isolate(name: string): void {
    this.node(name);
    gated(this.gate, { kind: 'isolate', peer: name }, () => {
      this.isolated.add(name);
      this.refreshTopology();
      this.scheduler.note(`net isolate ${name}`);
    });
  }

  /**
   * Replaces any partition with `groups`: a link works only if both ends share a group. A
   * node in two groups bridges them; a node in none (including one added later) is cut off.
   */
  partition(groups: string[][]): void {
    const membership = new Map<string, Set<number>>();
    groups.forEach((group, index) => {
      for (const name of group) {
        this.node(name);
        let set = membership.get(name);
        if (set === undefined) {
          set = new Set();
          membership.set(name, set);
        }
        set.add(index);
      }
    });
    gated(this.gate, { kind: 'partition', detail: { groups } }, () => {
      this.groups = membership;
      this.refreshTopology();
      this.scheduler.note(`net partition ${groups.map((g) => g.join(',')).join(' | ')}`);
    });
  }

  /** Removes every block, isolation and partition (faults and down nodes are unchanged). */
  heal(): void {
    gated(this.gate, { kind: 'heal' }, () => {
      this.clearTopology();
      this.scheduler.note('net heal');
    });
  }

  /** {@link heal}, and every link back to {@link CALM} faults. */
  calm(): void {
    this.clearTopology();
    this.defaults = { ...CALM };
    for (const link of this.links.values()) link.override = undefined;
    this.scheduler.note('net calm');
  }

  /** Marks a node crashed or closed (`true`) or back up (`false`). */
  setDown(name: string, down: boolean): void {
    const node = this.node(name);
    if (down && !node.down) node.incarnation++;
    node.down = down;
    this.scheduler.note(`net ${down ? 'down' : 'up'} ${name}`);
    this.notify();
  }

  /** Whether a message sent now from `from` to `to` could be delivered (ignoring loss). */
  canReach(from: string, to: string): boolean {
    const src = this.node(from);
    const dst = this.node(to);
    if (src.down || dst.down) return false;
    return from === to || this.link(from, to).open;
  }

  private arrive(message: InFlight, bytes: Uint8Array): void {
    this.inFlightCount--;
    const { link } = message;
    const src = this.node(link.from);
    const dst = this.node(link.to);
    const crashed = src.incarnation !== message.fromIncarnation || dst.incarnation !== message.toIncarnation;
    const cut = !link.open || link.cuts !== message.cuts;
    if (src.down || dst.down || crashed || cut) {
      this.counters.dropped++;
      return;
    }
    this.counters.delivered++;
    dst.deliver(link.from, bytes);
  }

  /** Queues `bytes` on the link and returns when its last byte leaves. */
  private transmit(link: LinkState, faults: LinkFaults, bytes: number): number {
    const now = this.scheduler.nowMs;
    if (faults.bandwidthBytesPerMs === Number.POSITIVE_INFINITY) return now;
    const doneMs = Math.max(now, link.freeAtMs) + bytes / faults.bandwidthBytesPerMs;
    link.freeAtMs = doneMs;
    return doneMs;
  }

  private effectiveFaults(link: LinkState): LinkFaults {
    return link.override === undefined ? this.defaults : (merge(this.defaults, link.override) as LinkFaults);
  }

  private clearTopology(): void {
    this.blocked.clear();
    this.isolated.clear();
    this.groups = undefined;
    this.refreshTopology();
  }

  /** Recomputes which links are open, counting each open -> cut transition. */
  private refreshTopology(): void {
    for (const link of this.links.values()) {
      const open = this.linkOpen(link.from, link.to);
      if (link.open && !open) link.cuts++;
      link.open = open;
    }
    this.notify();
  }

  private notify(): void {
    for (const w of this.watchers) w();
  }

  private linkOpen(from: string, to: string): boolean {
    if (this.blocked.has(linkKey(from, to))) return false;
    if (this.isolated.has(from)) return false;
    if (this.isolated.has(to)) return false;
    if (this.groups === undefined) return true;
    const a = this.groups.get(from);
    const b = this.groups.get(to);
    if (a === undefined || b === undefined) return false;
    for (const g of a) if (b.has(g)) return true;
    return false;
  }

  private addLink(from: string, to: string): void {
    this.links.set(linkKey(from, to), {
      from,
      to,
      override: undefined,
      freeAtMs: 0,
      open: true,
      cuts: 0,
      seed: deriveSeed(this.seed, `link ${linkKey(from, to)}`),
      lastSendMs: Number.NaN,
      sendsAtLastMs: 0,
    });
  }

  private node(name: string): NodeState {
    const node = this.nodes.get(name);
    if (node === undefined) throw new InvalidArgumentError(`unknown node "${name}"`);
    return node;
  }

  private link(from: string, to: string): LinkState {
    this.node(from);
    this.node(to);
    if (from === to) throw new InvalidArgumentError(`a node does not send to itself: "${from}"`);
    const link = this.links.get(linkKey(from, to));
    if (link === undefined) throw new InvalidArgumentError(`no link ${from}->${to}`);
    return link;
  }
}
