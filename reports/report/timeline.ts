/**
 * A run's Jepsen-style timeline: one lane per peer, each client operation a bar from its
 * invoke to its completion (ok, fail, or still open when the run ended), the peer's events
 * (crash, restart, sync) as marks, and the nemesis periods to shade: a peer down between a
 * crash and its restart (from the history), and the network cut by partitions, isolations and
 * blocks until healed (from the run's actions when the file carries them, else from the
 * `note net ...` lines of its trace tail, which covers only the end of the run).
 */

import type { ActionInput, OpRecordInput, RunFileInput } from './schema.ts';

/** Most operations a timeline draws (the last ones: failures show at the end of a run). */
export const TIMELINE_OPS_MAX = 5_000;
/** Most peer events (crash, restart, sync) a timeline draws. */
export const TIMELINE_EVENTS_MAX = 5_000;
/** Most nemesis periods a timeline shades. */
export const TIMELINE_PERIODS_MAX = 2_000;
/** Longest label kept for an operation or period. */
const LABEL_CHARS_MAX = 200;

/** How an operation ended. */
export type Outcome = 'ok' | 'fail' | 'open';

/** A client operation: a bar in its peer's lane. */
export interface TimelineOp {
  /** The invoke's index in the history. */
  index: number;
  peer: string;
  kind: string;
  outcome: Outcome;
  startMs: number;
  /** The completion's time; the run's end for an operation that never completed. */
  endMs: number;
  /** The error code of a failed operation. */
  error: string | undefined;
}

/** A single event of a peer (crash, restart, sync round). */
export interface TimelineEvent {
  peer: string;
  kind: string;
  timeMs: number;
  label: string;
}

/** What a nemesis did during a period. */
export type NemesisKind = 'down' | 'partition' | 'isolate' | 'block';

/** A period to shade: one peer's lane, or every lane when `peer` is undefined. */
export interface NemesisPeriod {
  peer: string | undefined;
  kind: NemesisKind;
  startMs: number;
  endMs: number;
  label: string;
  /** True when the period began before what the input covers (the trace tail's first line). */
  openStart: boolean;
}

/** Where the network periods came from. */
export type NetworkSource = 'actions' | 'trace-tail' | 'none';

/** A run's timeline. */
export interface Timeline {
  /** Lanes, in order of the peers' first appearance in the history. */
  peers: string[];
  ops: TimelineOp[];
  events: TimelineEvent[];
  nemesis: NemesisPeriod[];
  endMs: number;
  /** Operations left out to stay within {@link TIMELINE_OPS_MAX}. */
  opsHidden: number;
  eventsHidden: number;
  periodsHidden: number;
  networkSource: NetworkSource;
  /** The trace tail's first time: network periods before it are unknown without actions. */
  traceStartMs: number | undefined;
}

/** Cuts `text` to {@link LABEL_CHARS_MAX} characters. */
function clip(text: string): string {
  return text.length <= LABEL_CHARS_MAX ? text : `${text.slice(0, LABEL_CHARS_MAX - 1)}…`;
}

/** The last `max` items of `xs`, and how many were left out. */
function lastOf<T>(xs: readonly T[], max: number): { kept: T[]; hidden: number } {
  return xs.length <= max ? { kept: [...xs], hidden: 0 } : { kept: xs.slice(-max), hidden: xs.length - max };
}

/** The client operations of a history, each paired with its completion. */
export function timelineOps(history: readonly OpRecordInput[], endMs: number): TimelineOp[] {
  const completion = new Map<number, OpRecordInput>();
  for (const r of history) if (r.invokeIndex !== undefined) completion.set(r.invokeIndex, r);
  return history
    .filter((r) => r.type === 'invoke')
    .map((inv) => {
      const done = completion.get(inv.index);
      const outcome: Outcome = done === undefined ? 'open' : done.type === 'ok' ? 'ok' : 'fail';
      return {
        index: inv.index,
        peer: inv.peer,
        kind: inv.kind,
        outcome,
        startMs: inv.timeMs,
        endMs: done === undefined ? Math.max(endMs, inv.timeMs) : Math.max(done.timeMs, inv.timeMs),
        error: done?.error,
      };
    });
}

/** The history's `info` records (crash, restart, sync, fault). */
function timelineEvents(history: readonly OpRecordInput[]): TimelineEvent[] {
  return history
    .filter((r) => r.type === 'info')
    .map((r) => ({
      peer: r.peer,
      kind: r.kind,
      timeMs: r.timeMs,
      label: clip(typeof r.detail === 'string' ? r.detail : r.kind),
    }));
}

/**
 * Periods a peer was down: from each `crash` to the next `restart` that came `up` (a restart
 * whose detail says it failed leaves the peer down), or to the run's end.
 */
export function downPeriods(history: readonly OpRecordInput[], endMs: number): NemesisPeriod[] {
  const downSince = new Map<string, { timeMs: number; why: string }>();
  const periods: NemesisPeriod[] = [];
  for (const r of history) {
    if (r.type !== 'info') continue;
    const detail = typeof r.detail === 'string' ? r.detail : '';
    if (r.kind === 'crash' && !downSince.has(r.peer))
      downSince.set(r.peer, { timeMs: r.timeMs, why: detail });
    const up = r.kind === 'restart' && !detail.startsWith('failed');
    const since = downSince.get(r.peer);
    if (up && since !== undefined) {
      periods.push(period(r.peer, 'down', since.timeMs, r.timeMs, `down (${since.why || 'crash'})`));
      downSince.delete(r.peer);
    }
  }
  for (const [peer, since] of downSince) {
    periods.push(period(peer, 'down', since.timeMs, endMs, `down (${since.why || 'crash'}) until the end`));
  }
  return periods;
}

function period(
  peer: string | undefined,
  kind: NemesisKind,
  startMs: number,
  endMs: number,
  label: string,
  openStart = false,
): NemesisPeriod {
  return { peer, kind, startMs, endMs: Math.max(startMs, endMs), label: clip(label), openStart };
}

/** A network step, from an action or a trace note. */
interface NetStep {
  timeMs: number;
  /** `partition`, `isolate`, `block`, `unblock`, `heal` (also `calm` and the liveness phase). */
  op: 'partition' | 'isolate' | 'block' | 'unblock' | 'heal';
  peer?: string;
  /** The other end of a block. */
  to?: string;
  /** `a,b | c,d` for a partition. */
  groups?: string;
  /**
   * For a heal: whether it shows something was cut (a nemesis heal follows a cut; the calm of
   * the liveness phase heals unconditionally).
   */
  afterCut?: boolean;
}

/** The network step a trace note (the text after `T|`) describes, if any. */
function noteStep(timeMs: number, text: string): NetStep | undefined {
  if (text.startsWith('note net partition ')) {
    return { timeMs, op: 'partition', groups: text.slice('note net partition '.length) };
  }
  const isolate = /^note net isolate (\S+)$/.exec(text);
  if (isolate) return { timeMs, op: 'isolate', peer: isolate[1]! };
  const block = /^note net (block|unblock) (\S+)->(\S+)$/.exec(text);
  if (block) return { timeMs, op: block[1] as 'block' | 'unblock', peer: block[2]!, to: block[3]! };
  if (text === 'note net heal') return { timeMs, op: 'heal', afterCut: true };
  if (text === 'note net calm' || text.startsWith('note liveness'))
    return { timeMs, op: 'heal', afterCut: false };
  return undefined;
}

/** Parses `T|note net ...` trace lines into network steps; also returns the tail's first time. */
export function traceNetSteps(trace: readonly string[]): {
  steps: NetStep[];
  startMs: number | undefined;
  livenessMs: number | undefined;
} {
  const steps: NetStep[] = [];
  let startMs: number | undefined;
  let livenessMs: number | undefined;
  for (const line of trace) {
    const m = /^(\d+(?:\.\d+)?)\|(.*)$/s.exec(line);
    if (!m) continue;
    const timeMs = Number(m[1]);
    startMs ??= timeMs;
    const step = noteStep(timeMs, m[2]!);
    if (step === undefined) continue;
    steps.push(step);
    if (step.op === 'heal' && step.afterCut === false && m[2]!.startsWith('note liveness'))
      livenessMs ??= timeMs;
  }
  return { steps, startMs, livenessMs };
}

/** Turns performed network actions into network steps. */
export function actionNetSteps(actions: readonly ActionInput[]): NetStep[] {
  const steps: NetStep[] = [];
  for (const a of actions) {
    if (!a.performed) continue;
    const detail = (typeof a.detail === 'object' && a.detail !== null ? a.detail : {}) as Record<
      string,
      unknown
    >;
    if (a.kind === 'heal') steps.push({ timeMs: a.timeMs, op: 'heal', afterCut: true });
    else if (a.kind === 'isolate' && a.peer !== undefined)
      steps.push({ timeMs: a.timeMs, op: 'isolate', peer: a.peer });
    else if (
      (a.kind === 'block' || a.kind === 'unblock') &&
      a.peer !== undefined &&
      typeof detail.to === 'string'
    )
      steps.push({ timeMs: a.timeMs, op: a.kind, peer: a.peer, to: detail.to });
    else if (a.kind === 'partition' && Array.isArray(detail.groups)) {
      const groups = detail.groups.map((g) => (Array.isArray(g) ? g.map(String).join(',') : String(g)));
      steps.push({ timeMs: a.timeMs, op: 'partition', groups: groups.join(' | ') });
    }
  }
  return steps;
}

/**
 * Network periods from steps in time order. A heal ends every partition, isolation and block;
 * a heal or unblock with nothing open means the cut began before `knownFromMs` (the trace
 * tail's start), so the period is shaded from there and marked `openStart`.
 */
export function networkPeriods(
  steps: readonly NetStep[],
  range: { knownFromMs: number; endMs: number; openBeforeStart: boolean },
): NemesisPeriod[] {
  const periods: NemesisPeriod[] = [];
  const open = new Map<string, { step: NetStep; startMs: number; openStart: boolean }>();
  const close = (key: string, atMs: number) => {
    const o = open.get(key);
    if (o === undefined) return;
    open.delete(key);
    const s = o.step;
    if (s.op === 'partition')
      periods.push(period(undefined, 'partition', o.startMs, atMs, `partition ${s.groups}`, o.openStart));
    else if (s.op === 'isolate')
      periods.push(period(s.peer, 'isolate', o.startMs, atMs, `isolated`, o.openStart));
    else periods.push(period(s.peer, 'block', o.startMs, atMs, `link to ${s.to} cut`, o.openStart));
  };
  let sawAny = false;
  for (const s of steps) {
    const first = !sawAny;
    sawAny = true;
    if (s.op === 'heal') {
      if (first && range.openBeforeStart && open.size === 0 && s.afterCut === true) {
        const label = 'network cut (began before the trace tail)';
        periods.push(period(undefined, 'partition', range.knownFromMs, s.timeMs, label, true));
      }
      for (const key of [...open.keys()]) close(key, s.timeMs);
    } else if (s.op === 'unblock') {
      const key = `block ${s.peer}->${s.to}`;
      if (!open.has(key) && range.openBeforeStart)
        open.set(key, { step: { ...s, op: 'block' }, startMs: range.knownFromMs, openStart: true });
      close(key, s.timeMs);
    } else {
      const key =
        s.op === 'partition'
          ? 'partition'
          : s.op === 'isolate'
            ? `isolate ${s.peer}`
            : `block ${s.peer}->${s.to}`;
      close(key, s.timeMs);
      open.set(key, { step: s, startMs: s.timeMs, openStart: false });
    }
  }
  for (const key of [...open.keys()]) close(key, range.endMs);
  return periods;
}

/** The run's end: its simulated time, or the last record if later. */
function runEndMs(run: RunFileInput): number {
  let end = run.simulated_ms;
  for (const r of run.history) end = Math.max(end, r.timeMs);
  return end;
}

/** Builds the timeline of a run file. */
export function buildTimeline(run: RunFileInput): Timeline {
  const endMs = runEndMs(run);
  const peers = [...new Set(run.history.map((r) => r.peer))];
  const ops = lastOf(timelineOps(run.history, endMs), TIMELINE_OPS_MAX);
  const events = lastOf(timelineEvents(run.history), TIMELINE_EVENTS_MAX);
  const trace = traceNetSteps(run.trace_tail);
  let networkSource: NetworkSource = 'none';
  let net: NemesisPeriod[] = [];
  if (run.actions !== undefined) {
    networkSource = 'actions';
    // Actions cover the chaos phase only; the liveness phase heals whatever is still cut.
    const steps = actionNetSteps(run.actions);
    net = networkPeriods(steps, { knownFromMs: 0, endMs: trace.livenessMs ?? endMs, openBeforeStart: false });
  } else if (trace.steps.length > 0 && trace.startMs !== undefined) {
    networkSource = 'trace-tail';
    net = networkPeriods(trace.steps, { knownFromMs: trace.startMs, endMs, openBeforeStart: true });
  }
  const periods = lastOf([...downPeriods(run.history, endMs), ...net], TIMELINE_PERIODS_MAX);
  for (const p of periods.kept) if (p.peer !== undefined && !peers.includes(p.peer)) peers.push(p.peer);
  return {
    peers,
    ops: ops.kept,
    events: events.kept,
    nemesis: periods.kept,
    endMs,
    opsHidden: ops.hidden,
    eventsHidden: events.hidden,
    periodsHidden: periods.hidden,
    networkSource,
    traceStartMs: trace.startMs,
  };
}

/** One operation's latency, for the latency plot. */
export interface LatencyPoint {
  peer: string;
  kind: string;
  outcome: Outcome;
  timeMs: number;
  latencyMs: number;
}

/** Latency (completion minus invoke, in the run's virtual ms) of every completed operation. */
export function latencyPoints(ops: readonly TimelineOp[]): LatencyPoint[] {
  return ops
    .filter((op) => op.outcome !== 'open')
    .map((op) => ({
      peer: op.peer,
      kind: op.kind,
      outcome: op.outcome,
      timeMs: op.startMs,
      latencyMs: op.endMs - op.startMs,
    }));
}

/** Operations started per time bucket, by kind and outcome (the rate plot). */
export interface RatePoint {
  bucketMs: number;
  kind: string;
  outcome: Outcome;
  count: number;
}

/** Buckets in a rate plot. */
export const RATE_BUCKETS = 50;

/** Counts operations per {@link RATE_BUCKETS}th of the run, by kind and outcome. */
export function ratePoints(
  ops: readonly TimelineOp[],
  endMs: number,
): { widthMs: number; points: RatePoint[] } {
  const widthMs = Math.max(1, Math.ceil(endMs / RATE_BUCKETS));
  const counts = new Map<string, RatePoint>();
  for (const op of ops) {
    const bucketMs = Math.floor(op.startMs / widthMs) * widthMs;
    const key = `${bucketMs}\u0000${op.kind}\u0000${op.outcome}`;
    const p = counts.get(key) ?? { bucketMs, kind: op.kind, outcome: op.outcome, count: 0 };
    p.count++;
    counts.set(key, p);
  }
  return { widthMs, points: [...counts.values()].sort((a, b) => a.bucketMs - b.bucketMs) };
}
