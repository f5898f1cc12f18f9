/**
 * Shared by the broken-variant tests: shrinks a failing run and checks that the shrunk case
 * still fails, replays exactly from its case text, and is a handful of steps.
 */

import { expect } from 'vitest';
import { describeAction } from '../actions.ts';
import { formatCase, parseCase, runCase, type ShrinkResult, shrink } from '../shrink.ts';
import type { RunResult, Scenario } from '../world.ts';

/** Shrinks `first` and asserts the shrunk case fails, replays, and has at most `stepsMax` actions. */
export function expectSmallShrunkCase(scenario: Scenario, first: RunResult, stepsMax: number): ShrinkResult {
  // A run that threw has no actions to shrink: report it as it is.
  expect(first.actions, `the failing run threw: ${first.violations[0]?.message}`).toBeDefined();
  const sh = shrink(scenario, first.seed, first);
  const text = formatCase(sh.case);
  const steps = sh.run.actions.filter((a) => a.performed).map(describeAction);
  const summary =
    `${scenario.name} seed ${first.seed}: ${sh.steps.before} steps -> ${sh.steps.after} in ${sh.runs} runs ` +
    `(case ${text})\n  ${steps.join('\n  ')}\n  ${sh.run.violations[0]?.message ?? ''}`;
  console.log(summary);
  expect(sh.run.violations.length, summary).toBeGreaterThan(0);
  expect(sh.steps.after, summary).toBeLessThanOrEqual(stepsMax);
  expect(sh.steps.after, summary).toBeLessThan(sh.steps.before);
  const again = runCase(scenario, first.seed, parseCase(text));
  expect(again.trace_hash, summary).toBe(sh.run.trace_hash);
  return sh;
}
