/**
 * The actions of a run: every step the workload, the nemesis and the scenario's script take
 * during the chaos phase (a write, a read, a commit, a crash, a restart, a wiped disk, a
 * partition or heal, a change of link faults, a clock jump or drift). The periodic sync ticks,
 * message deliveries and the liveness phase are the world's own mechanics, not actions.
 *
 * Each action gets an id, its ordinal among the action calls of the run. The generators that
 * make the calls never look at the world's state (a workload step writes whether or not its
 * peer is up; a nemesis crash is called whether or not its target is running), so the ids of
 * a run are the same whichever actions are left out: a run can be replayed with a subset of
 * them (`keep`), the others being skipped where they would have happened, with every random
 * draw that chooses them still made. That is what event-level shrinking (sim/shrink.ts) needs:
 * the subset replays exactly, and a failing one is a handful of steps the user can read.
 */

import { assert } from '../engine/assert.ts';
import { jsonSafe } from './history.ts';

/** What an action does. */
export type ActionKind =
  | 'write'
  | 'read'
  | 'commit'
  | 'start'
  | 'crash'
  | 'wipe'
  | 'isolate'
  | 'partition'
  | 'heal'
  | 'block'
  | 'unblock'
  | 'faults'
  | 'link-faults'
  | 'clock-jump'
  | 'clock-drift';

/** An action as its caller describes it. */
export interface ActionSpec {
  kind: ActionKind;
  /** The peer (or network node) it concerns, if one. */
  peer?: string;
  /** Its arguments (copied, JSON-safe). */
  detail?: unknown;
}

/** One action of a run. */
export interface SimAction extends ActionSpec {
  /** Ordinal among the run's action calls, from 0; stable when other actions are left out. */
  id: number;
  /** Virtual time of the call. */
  timeMs: number;
  /** False when the run left it out (a replay with a subset of the actions). */
  performed: boolean;
}

/** Decides whether an action call happens, and records it. */
export interface ActionGate {
  /** Runs `fn` (returning its result) unless the action is left out (returning undefined). */
  run<T>(spec: ActionSpec, fn: () => T): T | undefined;
}

/** Most actions one run records (a runaway generator stops with an assertion). */
export const ACTIONS_MAX = 1_000_000;

/** The {@link ActionGate} of a world: numbers, records and filters its actions. */
export class ActionLog implements ActionGate {
  private readonly list: SimAction[] = [];
  private depth = 0;
  private internalDepth = 0;
  /** Actions are numbered only while recording (from the end of the world's setup on). */
  recording = false;

  /**
   * `now` stamps actions with virtual time; `keep`, when given, lists the ids that happen
   * (every other action is skipped); `skipped` hears of each one left out (the world writes a
   * trace note, so that the trace of a filtered run says what it left out).
   */
  constructor(
    private readonly now: () => number,
    private readonly keep?: ReadonlySet<number>,
    private readonly skipped?: (action: SimAction) => void,
  ) {}

  /** Every action call so far, in order (`actions[i].id === i`). */
  get actions(): readonly SimAction[] {
    return this.list;
  }

  /** Runs `fn` as part of the world's own mechanics (a scheduled restart): never an action. */
  internal<T>(fn: () => T): T {
    this.internalDepth++;
    try {
      return fn();
    } finally {
      this.internalDepth--;
    }
  }

  run<T>(spec: ActionSpec, fn: () => T): T | undefined {
    // Calls made by an action (a crash that marks its node down) belong to it.
    if (!this.recording || this.depth > 0 || this.internalDepth > 0) return fn();
    assert(this.list.length < ACTIONS_MAX, `a run makes at most ${ACTIONS_MAX} actions`);
    const id = this.list.length;
    const performed = this.keep === undefined || this.keep.has(id);
    const action: SimAction = { id, timeMs: this.now(), kind: spec.kind, performed };
    if (spec.peer !== undefined) action.peer = spec.peer;
    if (spec.detail !== undefined) action.detail = jsonSafe(spec.detail);
    this.list.push(Object.freeze(action));
    if (!performed) {
      this.skipped?.(action);
      return undefined;
    }
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }
}

/** Runs `fn` through `gate` when there is one. */
export function gated<T>(gate: ActionGate | undefined, spec: ActionSpec, fn: () => T): T | undefined {
  return gate === undefined ? fn() : gate.run(spec, fn);
}

/** One line describing an action, for reports: `1200 ms phone write notes/d3 patch {"f1":7}`. */
export function describeAction(a: SimAction): string {
  const who = a.peer === undefined ? '' : ` ${a.peer}`;
  const what = a.detail === undefined ? '' : ` ${JSON.stringify(a.detail)}`;
  return `${a.timeMs} ms${who} ${a.kind}${what}${a.performed ? '' : ' (left out)'}`;
}
