/**
 * Seeds that once found a violation, kept so the fix stays fixed. Each names what went wrong.
 */

import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../scenarios/index.ts';
import { runScenario, World } from './world.ts';

const scenario = (name: string) => {
  const s = SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no scenario ${name}`);
  return s;
};

const report = (r: ReturnType<typeof runScenario>): string =>
  `${r.scenario} seed ${r.seed}: ${r.violations.map((v) => `[${v.checker}] ${v.message}`).join('; ')}\n` +
  `replay: npx aregula sim ${r.scenario} --seed ${r.seed}`;

describe('regressions', () => {
  // The Pi's replacement disk kept the old device key and restored from the peers it could
  // reach; the phone, offline then, held old entries past that point, so the new ones forked
  // the feed and the laptop quarantined it. A replaced disk now signs with a key of its own.
  for (const seed of [59, 151, 187, 195]) {
    it(`pi-dies seed ${seed}: a restored Pi never forks its old feed`, () => {
      const r = runScenario(scenario('pi-dies'), seed);
      expect(r.violations, report(r)).toEqual([]);
    });
  }

  // The liveness phase stopped once every peer's signed state vector agreed, while a device
  // still held durable writes it had not signed yet (so not shared): they counted as lost.
  for (const [name, seed] of [
    ['tab-closed', 157],
    ['clock-skew', 157],
    ['long-offline', 126],
  ] as const) {
    it(`${name} seed ${seed}: quiescence waits for unsigned local writes to be shared`, () => {
      const r = runScenario(scenario(name), seed);
      expect(r.violations, report(r)).toEqual([]);
    });
  }

  it('a wiped peer comes back with a new device key, and its old feed is restored too', () => {
    const world = new World(scenario('pi-dies'), 59);
    const pi = world.peer('pi');
    const oldKey = pi.identity.publicKey;
    const r = world.run();
    expect(r.violations, report(r)).toEqual([]);
    expect(pi.identity.publicKey).not.toEqual(oldKey);
    const authors = pi.db!.feeds.authors().map((a) => Buffer.from(a).toString('hex'));
    expect(authors).toContain(Buffer.from(oldKey).toString('hex'));
    expect(authors).toContain(Buffer.from(pi.identity.publicKey).toString('hex'));
  });
});
