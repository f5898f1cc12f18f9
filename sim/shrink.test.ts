/**
 * Shrinking: with a deliberately broken engine part (remote entries skip the views, patched in
 * this file only), a failing run shrinks to a smaller one that still fails, deterministically.
 */

import { describe, expect, it } from 'vitest';
import { ViewWriter } from '../engine/db/views.ts';
import { SCENARIOS } from '../scenarios/index.ts';
import { shrink } from './shrink.ts';
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
    const b = shrink(scenario, seed, first, { runsMax: 25 });
    expect(b.kept).toEqual(a.kept);
    expect(b.run.trace_hash).toBe(a.run.trace_hash);
  });
});
