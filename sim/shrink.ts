/**
 * Shrinking a failing run. Starting from a `(scenario, seed)` that violates a check, tries
 * reductions one at a time: a shorter chaos phase, then each fault switched off (loss,
 * duplication, crashes, partitions, clock skew, slow links), fewer writes, no scripted story.
 * A reduction is kept when the run still fails, and the passes repeat until none helps or the
 * budget of runs is spent. The seed stays the same and every reduction is a pure function of
 * the scenario, so the shrunk case replays exactly (`aregula sim NAME --seed S --shrink`).
 *
 * This shrinks the fault schedule and the workload's size, not individual events: the user
 * gets the smallest combination of faults and the shortest story that still fails.
 */

import { CALM } from './network.ts';
import { type RunResult, runScenario, type Scenario, type Swarm } from './world.ts';

/** One reduction: a name for the report and how it changes the scenario. */
interface Reduction {
  name: string;
  apply(s: Scenario): Scenario | undefined;
}

function patchSwarm(s: Scenario, patch: (w: Swarm) => Swarm): Scenario {
  const inner = s.swarm;
  return { ...s, swarm: (w, r) => patch(inner ? inner(w, r) : w) };
}

const REDUCTIONS: Reduction[] = [
  {
    name: 'half the chaos phase',
    apply: (s) => (s.durationMs <= 500 ? undefined : { ...s, durationMs: Math.round(s.durationMs / 2) }),
  },
  {
    name: 'no message loss',
    apply: (s) => patchSwarm(s, (w) => ({ ...w, faults: { ...w.faults, lossRate: 0 } })),
  },
  {
    name: 'no duplication',
    apply: (s) => patchSwarm(s, (w) => ({ ...w, faults: { ...w.faults, duplicateRate: 0 } })),
  },
  {
    name: 'calm links',
    apply: (s) =>
      patchSwarm(s, (w) => ({
        ...w,
        faults: { ...CALM, lossRate: w.faults.lossRate, duplicateRate: w.faults.duplicateRate },
      })),
  },
  {
    name: 'no random crashes',
    apply: (s) => patchSwarm(s, (w) => ({ ...w, crashEveryMs: Number.POSITIVE_INFINITY })),
  },
  {
    name: 'no random partitions',
    apply: (s) => patchSwarm(s, (w) => ({ ...w, partitionEveryMs: Number.POSITIVE_INFINITY })),
  },
  { name: 'no clock skew', apply: (s) => patchSwarm(s, (w) => ({ ...w, clockSkewMsMax: 0 })) },
  {
    name: 'half the write rate',
    apply: (s) => patchSwarm(s, (w) => ({ ...w, writeEveryMs: w.writeEveryMs * 2 })),
  },
  { name: 'no scripted story', apply: (s) => (s.script ? { ...s, script: undefined } : undefined) },
  {
    name: 'no random workload',
    apply: (s) => (s.randomWorkload === false ? undefined : { ...s, randomWorkload: false }),
  },
];

/** What shrinking found. */
export interface ShrinkResult {
  /** The reductions kept, in the order they were applied. */
  kept: string[];
  /** The smallest failing run found. */
  run: RunResult;
  /** The scenario with every kept reduction applied. */
  scenario: Scenario;
  /** Runs spent. */
  runs: number;
}

function fails(scenario: Scenario, seed: number): RunResult | undefined {
  try {
    const r = runScenario(scenario, seed);
    return r.violations.length > 0 ? r : undefined;
  } catch {
    // A run that throws is a failure too, but it gives no history to show: keep looking.
    return undefined;
  }
}

/** Shrinks a failing `(scenario, seed)`; `first` is its failing run. */
export function shrink(
  scenario: Scenario,
  seed: number,
  first: RunResult,
  options: { runsMax?: number } = {},
): ShrinkResult {
  const runsMax = options.runsMax ?? 40;
  let current = scenario;
  let best = first;
  const kept: string[] = [];
  let runs = 0;
  for (let progress = true; progress && runs < runsMax; ) {
    progress = false;
    for (const red of REDUCTIONS) {
      if (runs >= runsMax) break;
      const candidate = red.apply(current);
      if (candidate === undefined) continue;
      runs++;
      const r = fails(candidate, seed);
      if (r) {
        current = candidate;
        best = r;
        kept.push(red.name);
        progress = true;
      }
    }
  }
  return { kept, run: best, scenario: current, runs };
}
