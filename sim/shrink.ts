/**
 * Shrinking a failing run, in two passes, each keeping a change only while the run still fails
 * the same way (a violation from one of the checkers that caught the original run):
 *
 * 1. Parameters. Reductions of the scenario, one at a time: a shorter chaos phase, then each
 *    fault switched off (loss, duplication, crashes, partitions, clock skew, slow links),
 *    fewer writes, no scripted story. The passes repeat until none helps or the budget of runs
 *    is spent.
 * 2. Events. The run's actions (sim/actions.ts: every write, read, commit, crash, restart,
 *    partition, heal, clock jump...) are cut down: the shortest failing prefix, whole groups (a
 *    kind, a peer), then delta debugging by complements (chunks removed in sweeps of halving
 *    size). Each candidate is a replay with a subset of the actions, the others skipped where
 *    they would have happened, so a handful of steps remain.
 *
 * The seed stays the same, every reduction is a pure function of the scenario and action ids
 * are stable under filtering, so the result is a {@link ShrunkCase} that replays exactly with
 * {@link runCase}: `reductions:actions`, e.g. `half-chaos,no-loss:3,17,42`.
 */

import { InvalidArgumentError } from '../engine/errors.ts';
import type { SimAction } from './actions.ts';
import { CALM } from './network.ts';
import { type RunResult, runScenario, type Scenario, type Swarm, swarmOf } from './world.ts';

/** One reduction: a stable id (for replay), a name for the report, how it changes the scenario. */
interface Reduction {
  id: string;
  name: string;
  apply(s: Scenario): Scenario | undefined;
}

function patchSwarm(s: Scenario, patch: (w: Swarm) => Swarm): Scenario {
  const inner = s.swarm;
  return { ...s, swarm: (w, r) => patch(inner ? inner(w, r) : w) };
}

const REDUCTIONS: readonly Reduction[] = [
  {
    id: 'half-chaos',
    name: 'half the chaos phase',
    apply: (s) => (s.durationMs <= 500 ? undefined : { ...s, durationMs: Math.round(s.durationMs / 2) }),
  },
  {
    id: 'no-quiet',
    name: 'no quiet stretches',
    apply: (s) => (s.quiet === undefined || s.quiet.length === 0 ? undefined : { ...s, quiet: [] }),
  },
  {
    id: 'no-loss',
    name: 'no message loss',
    apply: (s) => patchSwarm(s, (w) => ({ ...w, faults: { ...w.faults, lossRate: 0 } })),
  },
  {
    id: 'no-dup',
    name: 'no duplication',
    apply: (s) => patchSwarm(s, (w) => ({ ...w, faults: { ...w.faults, duplicateRate: 0 } })),
  },
  {
    id: 'calm-links',
    name: 'calm links',
    apply: (s) =>
      patchSwarm(s, (w) => ({
        ...w,
        faults: { ...CALM, lossRate: w.faults.lossRate, duplicateRate: w.faults.duplicateRate },
      })),
  },
  {
    id: 'no-crashes',
    name: 'no random crashes',
    apply: (s) => patchSwarm(s, (w) => ({ ...w, crashEveryMs: Number.POSITIVE_INFINITY })),
  },
  {
    id: 'no-partitions',
    name: 'no random partitions',
    apply: (s) => patchSwarm(s, (w) => ({ ...w, partitionEveryMs: Number.POSITIVE_INFINITY })),
  },
  { id: 'no-skew', name: 'no clock skew', apply: (s) => patchSwarm(s, (w) => ({ ...w, clockSkewMsMax: 0 })) },
  {
    id: 'half-writes',
    name: 'half the write rate',
    // Past a mean interval of the whole chaos phase, halving again changes little.
    apply: (s) =>
      patchSwarm(s, (w) => ({
        ...w,
        writeEveryMs: Math.min(w.writeEveryMs * 2, Math.max(s.durationMs, w.writeEveryMs)),
      })),
  },
  {
    id: 'no-script',
    name: 'no scripted story',
    apply: (s) => (s.script ? { ...s, script: undefined } : undefined),
  },
  {
    id: 'no-workload',
    name: 'no random workload',
    apply: (s) => (s.randomWorkload === false ? undefined : { ...s, randomWorkload: false }),
  },
];

/** Default budget of runs for the parameter pass. */
export const PARAMETER_RUNS_MAX = 40;
/** Default budget of runs for the event pass. */
export const ACTION_RUNS_MAX = 200;

/** A shrunk failing case: reductions applied in order, then the actions kept (all if absent). */
export interface ShrunkCase {
  /** Reduction ids (`half-chaos`, `no-loss`, ...), in the order they were applied. */
  reductions: string[];
  /** Ids of the actions that happen (sim/actions.ts); undefined keeps them all. */
  actions?: number[];
}

/** What shrinking found. */
export interface ShrinkResult {
  /** Names of the reductions kept, in the order they were applied. */
  kept: string[];
  /** The smallest failing run found. */
  run: RunResult;
  /** The scenario with every kept reduction applied. */
  scenario: Scenario;
  /** Runs spent (both passes). */
  runs: number;
  /** The case that replays {@link run} exactly with {@link runCase}. */
  case: ShrunkCase;
  /** Actions performed by the first failing run and by the shrunk one. */
  steps: { before: number; after: number };
}

/** The reduction ids, in the order the parameter pass tries them. */
export const REDUCTION_IDS: readonly string[] = REDUCTIONS.map((r) => r.id);

/** `scenario` with the reductions `ids` applied in order; throws on an unknown or inapplicable one. */
export function reduceScenario(scenario: Scenario, ids: readonly string[]): Scenario {
  let s = scenario;
  for (const id of ids) {
    const red = REDUCTIONS.find((r) => r.id === id);
    if (red === undefined)
      throw new InvalidArgumentError(`unknown reduction "${id}" (known: ${REDUCTION_IDS.join(', ')})`);
    const next = red.apply(s);
    if (next === undefined) throw new InvalidArgumentError(`reduction "${id}" does not apply here`);
    s = next;
  }
  return s;
}

/** Runs a shrunk case: its reductions, then only its actions. */
export function runCase(scenario: Scenario, seed: number, c: ShrunkCase): RunResult {
  const keepActions = c.actions === undefined ? undefined : new Set(c.actions);
  return runScenario(reduceScenario(scenario, c.reductions), seed, { keepActions });
}

/** `half-chaos,no-loss:3,17,42`; without actions, `half-chaos,no-loss`. */
export function formatCase(c: ShrunkCase): string {
  const reductions = c.reductions.join(',');
  return c.actions === undefined ? reductions : `${reductions}:${c.actions.join(',')}`;
}

/** Parses {@link formatCase}'s text; throws `InvalidArgumentError` on anything else. */
export function parseCase(text: string): ShrunkCase {
  const m = /^([a-z-]+(?:,[a-z-]+)*)?(?::(\d+(?:,\d+)*)?)?$/.exec(text);
  if (m === null)
    throw new InvalidArgumentError(`a shrunk case looks like "half-chaos,no-loss:3,17,42", got "${text}"`);
  const reductions = m[1] === undefined ? [] : m[1].split(',');
  for (const id of reductions) {
    if (!REDUCTION_IDS.includes(id))
      throw new InvalidArgumentError(`unknown reduction "${id}" (known: ${REDUCTION_IDS.join(', ')})`);
  }
  if (!text.includes(':')) return { reductions };
  const actions = m[2] === undefined ? [] : m[2].split(',').map(Number);
  return { reductions, actions };
}

/** A run that fails like the original: one of its violations comes from a checker that caught it. */
function failsLike(checkers: ReadonlySet<string>, run: () => RunResult): RunResult | undefined {
  try {
    const r = run();
    return r.violations.some((v) => checkers.has(v.checker)) ? r : undefined;
  } catch {
    // A run that throws is a failure too, but it gives no history to show: keep looking.
    return undefined;
  }
}

function performed(r: RunResult): number[] {
  return r.actions.filter((a) => a.performed).map((a) => a.id);
}

/** Shrinks a failing `(scenario, seed)`; `first` is its failing run. */
export function shrink(
  scenario: Scenario,
  seed: number,
  first: RunResult,
  options: { runsMax?: number; actionRunsMax?: number } = {},
): ShrinkResult {
  const checkers = new Set(first.violations.map((v) => v.checker));
  const params = shrinkParameters(scenario, seed, first, checkers, options.runsMax ?? PARAMETER_RUNS_MAX);
  const events = shrinkActions(
    params.scenario,
    seed,
    params.run,
    checkers,
    options.actionRunsMax ?? ACTION_RUNS_MAX,
  );
  return {
    kept: params.kept.map((id) => REDUCTIONS.find((r) => r.id === id)!.name),
    run: events.run,
    scenario: params.scenario,
    runs: params.runs + events.runs,
    case: { reductions: params.kept, actions: events.keep },
    steps: { before: performed(first).length, after: events.keep.length },
  };
}

function shrinkParameters(
  scenario: Scenario,
  seed: number,
  first: RunResult,
  checkers: ReadonlySet<string>,
  runsMax: number,
): { kept: string[]; run: RunResult; scenario: Scenario; runs: number } {
  let current = scenario;
  let best = first;
  const kept: string[] = [];
  let runs = 0;
  for (let progress = true; progress && runs < runsMax; ) {
    progress = false;
    for (const red of REDUCTIONS) {
      if (runs >= runsMax) break;
      const candidate = red.apply(current);
      if (candidate === undefined || sameRun(current, candidate, seed)) continue;
      runs++;
      const r = failsLike(checkers, () => runScenario(candidate, seed));
      if (r) {
        current = candidate;
        best = r;
        kept.push(red.id);
        progress = true;
      }
    }
  }
  return { kept, run: best, scenario: current, runs };
}

/** Whether a reduction changed nothing (the fault it switches off was already off). */
function sameRun(a: Scenario, b: Scenario, seed: number): boolean {
  if (a.durationMs !== b.durationMs || a.script !== b.script || a.randomWorkload !== b.randomWorkload)
    return false;
  if ((a.quiet?.length ?? 0) !== (b.quiet?.length ?? 0)) return false;
  const x = swarmOf(a, seed);
  const y = swarmOf(b, seed);
  const keys = Object.keys(x.faults) as (keyof Swarm['faults'])[];
  const swarmKeys = Object.keys(x) as (keyof Swarm)[];
  // Without the random workload, its rates change nothing.
  const unused = new Set<keyof Swarm>(['faults']);
  if (a.randomWorkload === false) for (const k of ['writeEveryMs', 'commitRate'] as const) unused.add(k);
  return (
    keys.every((k) => Object.is(x.faults[k], y.faults[k])) &&
    swarmKeys.every((k) => unused.has(k) || Object.is(x[k], y[k]))
  );
}

/** Memoised test of action subsets against a budget of runs. */
class ActionOracle {
  runs = 0;
  private readonly seen = new Map<string, RunResult | undefined>();

  constructor(
    private readonly scenario: Scenario,
    private readonly seed: number,
    private readonly checkers: ReadonlySet<string>,
    private readonly runsMax: number,
  ) {}

  get spent(): boolean {
    return this.runs >= this.runsMax;
  }

  /** The failing run with only `keep`, or undefined if it passes (or the budget is spent). */
  test(keep: readonly number[]): RunResult | undefined {
    const key = keep.join(',');
    if (this.seen.has(key)) return this.seen.get(key);
    if (this.spent) return undefined;
    this.runs++;
    const set = new Set(keep);
    const r = failsLike(this.checkers, () => runScenario(this.scenario, this.seed, { keepActions: set }));
    this.seen.set(key, r);
    return r;
  }
}

/**
 * Groups of actions that often go together: every action of one kind (all reads, all commits,
 * all clock changes...), and every action of one peer. Removing a whole group is one run.
 */
function actionGroups(actions: readonly SimAction[], ids: readonly number[]): number[][] {
  const byKey = new Map<string, number[]>();
  const add = (key: string, id: number) => {
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [id]);
    else list.push(id);
  };
  for (const id of ids) {
    const a = actions[id]!;
    add(`kind ${a.kind}`, id);
    if (a.peer !== undefined) add(`peer ${a.peer}`, id);
  }
  return [...byKey.keys()].sort().map((k) => byKey.get(k)!);
}

/**
 * The event pass: the shortest failing prefix of the actions (binary search); then whole groups
 * (a kind, a peer) removed at once; then chunks removed in sweeps of halving size (delta
 * debugging by complements: after a sweep that removes nothing, the chunks halve, down to single
 * actions). Returns the kept ids (ascending) and their failing run.
 */
function shrinkActions(
  scenario: Scenario,
  seed: number,
  failing: RunResult,
  checkers: ReadonlySet<string>,
  runsMax: number,
): { keep: number[]; run: RunResult; runs: number } {
  const oracle = new ActionOracle(scenario, seed, checkers, runsMax);
  let current = performed(failing);
  let best = failing;
  const without = (out: readonly number[]): number[] => {
    const set = new Set(out);
    return current.filter((id) => !set.has(id));
  };
  // The shortest failing prefix: failures usually need a few early steps, not the whole story.
  let lo = 0;
  let hi = current.length;
  while (lo < hi && !oracle.spent) {
    const mid = (lo + hi) >> 1;
    const r = oracle.test(current.slice(0, mid));
    if (r) [hi, best] = [mid, r];
    else lo = mid + 1;
  }
  current = current.slice(0, hi);
  for (const group of actionGroups(failing.actions, current)) {
    const rest = without(group);
    if (rest.length === current.length) continue;
    const r = oracle.test(rest);
    if (r) [current, best] = [rest, r];
  }
  for (let size = Math.ceil(current.length / 2); size >= 1 && !oracle.spent; ) {
    let removed = false;
    // From the end: later actions depend on earlier ones more often than the reverse.
    for (let end = current.length; end > 0 && !oracle.spent; end -= size) {
      const chunk = current.slice(Math.max(0, end - size), end);
      const r = oracle.test(without(chunk));
      if (r) [current, best, removed] = [without(chunk), r, true];
    }
    if (!removed) size = size === 1 ? 0 : Math.ceil(size / 2);
    else size = Math.min(size, Math.ceil(current.length / 2));
  }
  return { keep: current, run: best, runs: oracle.runs };
}
