/**
 * Actions: numbered in call order, recorded with their arguments, and filterable so that a run
 * with a subset of them replays with the same ids (what event-level shrinking relies on).
 */

import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../scenarios/index.ts';
import { ActionLog, describeAction } from './actions.ts';
import { SimRandom } from './random.ts';
import { runScenario } from './world.ts';

describe('ActionLog', () => {
  it('numbers top-level calls while recording, and runs everything else unrecorded', () => {
    let now = 0;
    const log = new ActionLog(() => now);
    const ran: string[] = [];
    log.run({ kind: 'write', peer: 'a' }, () => ran.push('setup'));
    log.recording = true;
    now = 5;
    log.run({ kind: 'crash', peer: 'a', detail: { restartAfterMs: 10 } }, () => {
      ran.push('crash');
      // A call made by an action belongs to it.
      log.run({ kind: 'isolate', peer: 'a' }, () => ran.push('nested'));
    });
    log.internal(() => log.run({ kind: 'start', peer: 'a' }, () => ran.push('restart')));
    now = 7;
    expect(log.run({ kind: 'read', peer: 'b' }, () => 42)).toBe(42);
    expect(ran).toEqual(['setup', 'crash', 'nested', 'restart']);
    expect(log.actions).toEqual([
      { id: 0, timeMs: 5, kind: 'crash', peer: 'a', detail: { restartAfterMs: 10 }, performed: true },
      { id: 1, timeMs: 7, kind: 'read', peer: 'b', performed: true },
    ]);
    expect(describeAction(log.actions[0]!)).toBe('5 ms a crash {"restartAfterMs":10}');
  });

  it('skips the actions a replay leaves out, still numbering them', () => {
    const log = new ActionLog(() => 0, new Set([1]));
    log.recording = true;
    const ran: number[] = [];
    for (let i = 0; i < 3; i++)
      expect(log.run({ kind: 'commit' }, () => ran.push(i))).toBe(i === 1 ? 1 : undefined);
    expect(ran).toEqual([1]);
    expect(log.actions.map((a) => a.performed)).toEqual([false, true, false]);
    expect(describeAction(log.actions[0]!)).toBe('0 ms commit (left out)');
  });

  it('copies details, so a caller mutating its arguments later cannot rewrite them', () => {
    const log = new ActionLog(() => 0);
    log.recording = true;
    const ops = [{ kind: 'delete', collection: 'notes', id: 'x' }];
    log.run({ kind: 'write', peer: 'a', detail: { ops } }, () => undefined);
    ops[0]!.id = 'changed';
    expect(log.actions[0]!.detail).toEqual({ ops: [{ kind: 'delete', collection: 'notes', id: 'x' }] });
  });
});

describe('a world replayed with a subset of its actions', () => {
  const cheap = SCENARIOS.filter((s) => ['offline-edit', 'tab-closed', 'clock-skew'].includes(s.name));
  for (const scenario of cheap) {
    it(`${scenario.name}: every action kept replays the run; any subset keeps the same ids`, () => {
      const seed = 5;
      const full = runScenario(scenario, seed);
      expect(full.actions.length).toBeGreaterThan(10);
      expect(full.actions.every((a) => a.performed)).toBe(true);
      const all = runScenario(scenario, seed, { keepActions: new Set(full.actions.map((a) => a.id)) });
      expect(all.trace_hash).toBe(full.trace_hash);
      const strip = (r: typeof full) => r.actions.map(({ performed: _, ...a }) => a);
      for (const subsetSeed of [1, 2, 3]) {
        const r = new SimRandom(subsetSeed);
        const keep = new Set(full.actions.filter(() => r.chance(0.5)).map((a) => a.id));
        const part = runScenario(scenario, seed, { keepActions: keep });
        const why = `${scenario.name} seed ${seed}, subset seed ${subsetSeed}`;
        expect(strip(part), why).toEqual(strip(full));
        expect(
          part.actions.filter((a) => a.performed).map((a) => a.id),
          why,
        ).toEqual([...keep]);
        expect(part.trace_hash, why).not.toBe(full.trace_hash);
      }
    });
  }
});
