/**
 * Shrinking: with a deliberately broken engine part (remote entries skip the views, patched in
 * this file only), a failing run shrinks to a smaller one that still fails, deterministically.
 */

import { describe, expect, it } from 'vitest';
import { ViewWriter } from '../engine/db/views.ts';
import { SCENARIOS } from '../scenarios/index.ts';
import { formatCase, parseCase, REDUCTION_IDS, reduceScenario, runCase, shrink } from './shrink.ts';
import { runScenario } from './world.ts';

const original = ViewWriter.prototype.applyEntry;
ViewWriter.prototype.applyEntry = function (this: ViewWriter, entry) {
  const reader = (this as unknown as { read: (k: Uint8Array) => unknown }).read;
  if (reader.length === 1 && entry.seq % 2 === 0) return true;
  return original.call(this, entry);
};

describe('shrinking a failing run', () => {
  it('finds a smaller failing case, and the same one every time', () => {
    const scenario = SCENARIOS.find((s) => s.name === 'partition-sync')!;
    let seed = 1;
    let first = runScenario(scenario, seed);
    while (first.violations.length === 0 && seed < 10) first = runScenario(scenario, ++seed);
    expect(first.violations.length).toBeGreaterThan(0);
    const a = shrink(scenario, seed, first, { runsMax: 25 });
    expect(a.run.violations.length).toBeGreaterThan(0);
    expect(a.kept.length).toBeGreaterThan(0);
    expect(a.run.history.records.length).toBeLessThan(first.history.records.length);
    expect(a.run.simulated_ms).toBeLessThanOrEqual(first.simulated_ms);
    // The event pass left a handful of the first run's steps, and the case replays exactly.
    expect(a.steps.after).toBeLessThanOrEqual(10);
    expect(a.steps.after).toBeLessThan(a.steps.before);
    expect(a.run.actions.filter((x) => x.performed)).toHaveLength(a.steps.after);
    const again = runCase(scenario, seed, parseCase(formatCase(a.case)));
    expect(again.trace_hash).toBe(a.run.trace_hash);
    const b = shrink(scenario, seed, first, { runsMax: 25 });
    expect(b.kept).toEqual(a.kept);
    expect(b.case).toEqual(a.case);
    expect(b.run.trace_hash).toBe(a.run.trace_hash);
  });
});

describe('shrunk cases as text', () => {
  it('round-trips reductions and actions', () => {
    for (const c of [
      { reductions: ['half-chaos', 'no-loss'], actions: [3, 17, 42] },
      { reductions: [], actions: [0] },
      { reductions: ['no-skew'] },
      { reductions: ['half-chaos'], actions: [] },
      { reductions: [] },
    ]) {
      expect(parseCase(formatCase(c))).toEqual(c);
    }
    expect(formatCase({ reductions: ['half-chaos', 'no-loss'], actions: [3, 17] })).toBe(
      'half-chaos,no-loss:3,17',
    );
  });

  it('rejects malformed text and unknown reductions', () => {
    for (const bad of ['half chaos', 'no-loss:3,x', 'no-loss::3', 'nope', ':-1', 'no-loss:3,', ',no-loss']) {
      expect(() => parseCase(bad), bad).toThrow(/shrunk case|unknown reduction/);
    }
  });

  it('applies reductions in order, and refuses one that does not apply', () => {
    const scenario = SCENARIOS.find((s) => s.name === 'offline-edit')!;
    expect(reduceScenario(scenario, ['half-chaos', 'half-chaos']).durationMs).toBe(scenario.durationMs / 4);
    expect(() => reduceScenario(scenario, ['no-workload'])).toThrow(/does not apply/);
    expect(() => reduceScenario(scenario, ['bogus'])).toThrow(/unknown reduction/);
    expect(REDUCTION_IDS).toContain('no-script');
  });
});
