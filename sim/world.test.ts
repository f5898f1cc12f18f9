/**
 * The simulator's own guarantees: the same seed gives a byte-identical trace, another seed a
 * different one, and every scenario holds over a spread of seeds. Any failure message names
 * the scenario and seed and the command that replays it.
 */

import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../scenarios/index.ts';
import { runScenario } from './world.ts';

const SEEDS = Number(process.env.SIM_TEST_SEEDS ?? 12);

function report(r: ReturnType<typeof runScenario>): string {
  return (
    `${r.scenario} seed ${r.seed}: ${r.violations.map((v) => `[${v.checker}] ${v.message}`).join('; ')}\n` +
    `replay: npx aregula sim ${r.scenario} --seed ${r.seed}`
  );
}

describe('determinism', () => {
  it('the same seed gives the same trace; different seeds differ', () => {
    for (const scenario of SCENARIOS.slice(0, 4)) {
      const a = runScenario(scenario, 7);
      const b = runScenario(scenario, 7);
      const c = runScenario(scenario, 8);
      expect(a.trace_hash, scenario.name).toBe(b.trace_hash);
      expect(a.events).toBe(b.events);
      expect(c.trace_hash, scenario.name).not.toBe(a.trace_hash);
    }
  });
});

describe('scenarios', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name} holds over ${SEEDS} seeds`, () => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = runScenario(scenario, seed);
        expect(r.violations, report(r)).toEqual([]);
        expect(r.converged_ms, report(r)).toBeDefined();
      }
    });
  }
});
