/**
 * Shared by the broken-variant tests: runs scenarios seed after seed until the simulator
 * reports a violation, and says which seed found it.
 */

import type { RunResult, Scenario } from '../world.ts';
import { runScenario } from '../world.ts';

/** Runs `scenario` on seeds 1..maxSeeds; returns the first failing run, or undefined. */
export function firstViolation(scenario: Scenario, maxSeeds: number): RunResult | undefined {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    let r: RunResult;
    try {
      r = runScenario(scenario, seed);
    } catch (err) {
      // An exception inside a run is a finding too (the CLI reports it as a violation).
      return {
        scenario: scenario.name,
        seed,
        violations: [{ checker: 'exception', message: String(err) }],
      } as RunResult;
    }
    if (r.violations.length > 0) return r;
  }
  return undefined;
}
