/**
 * The simulator's own guarantees: the same seed gives a byte-identical trace, another seed a
 * different one, and every scenario holds over a spread of seeds. Any failure message names
 * the scenario and seed and the command that replays it.
 */

import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../scenarios/index.ts';
import { runScenario, World } from './world.ts';

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

describe('quiet stretches and sync pacing', () => {
  const offline = SCENARIOS.find((s) => s.name === 'offline-edit')!;

  it('maps story time past each stretch that starts before it', () => {
    const w = new World(
      {
        ...offline,
        quiet: [
          { atMs: 100, forMs: 1000, what: 'a' },
          { atMs: 200, forMs: 50, what: 'b' },
        ],
      },
      1,
    );
    expect([w.time(0), w.time(100), w.time(101), w.time(200), w.time(201)]).toEqual([
      0, 100, 1101, 1200, 1251,
    ]);
  });

  it('a stretch of hours costs a few dozen events, and the same run without it passes too', () => {
    const hours = offline.quiet!.reduce((a, q) => a + q.forMs, 0) / 3_600_000;
    expect(hours).toBeGreaterThanOrEqual(3);
    for (const seed of [1, 2]) {
      const long = runScenario(offline, seed);
      const short = runScenario({ ...offline, quiet: [] }, seed);
      expect(long.violations, report(long)).toEqual([]);
      expect(short.violations, report(short)).toEqual([]);
      expect(long.simulated_ms - short.simulated_ms).toBeGreaterThanOrEqual(hours * 3_600_000 - 60_000);
      // Idle peers back off their ticks to one per 15 minutes: 3 hours are far from the
      // 25,000 ticks that a 700 ms tick would make.
      expect(long.events - short.events).toBeLessThan(200);
      expect(long.active_ms).toBeLessThan(short.simulated_ms + 60_000);
    }
  });
});
