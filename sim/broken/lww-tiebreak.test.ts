/**
 * Broken variant: LWW breaks HLC ties without looking at the author. Every peer still picks the
 * same winner (the engine's last-resort tie-break is the value), so replicas converge; only the
 * independent reference model notices that the documented winner lost.
 */

import { describe, expect, it, vi } from 'vitest';
import type { Scenario } from '../world.ts';
import { firstViolation } from './find.ts';
import { expectSmallShrunkCase } from './shrunk.ts';

vi.mock('../../engine/crdt/lww.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../engine/crdt/lww.ts')>();
  const nobody = new Uint8Array(32);
  return {
    ...real,
    applyOp: (state: Parameters<typeof real.applyOp>[0], op: Parameters<typeof real.applyOp>[1]) =>
      real.applyOp(state, { ...op, stamp: { ...op.stamp, author: nobody } }),
  };
});

const ties: Scenario = {
  name: 'ties',
  description: 'two devices with identical clocks write one field at the same instants',
  peers: [
    { name: 'a', profile: 'laptop' },
    { name: 'b', profile: 'laptop' },
  ],
  durationMs: 3000,
  randomWorkload: false,
  swarm: (s) => ({ ...s, clockSkewMsMax: 0, crashEveryMs: Number.POSITIVE_INFINITY }),
  script(world) {
    const r = world.random.stream('ties');
    for (const p of world.peers) p.clock.setDrift(0);
    for (let i = 0; i < 10; i++) {
      for (const p of world.peers) {
        world.scheduler.at(100 + i * 200, `write ${p.name}`, () =>
          p.write([{ kind: 'patch', collection: 'notes', id: 'x', fields: { f: r.int(1000) } }]),
        );
      }
    }
  },
};

describe('broken variant: LWW tie-break ignoring the author', () => {
  it('is caught by the reference model within 20 seeds', () => {
    const r = firstViolation(ties, 20);
    expect(r, 'the simulator missed a broken tie-break').toBeDefined();
    expect(r!.violations.map((v) => v.checker).join(' ')).toMatch(/model|lost-write|convergence|documents/);
    expectSmallShrunkCase(ties, r!, 8);
  });
});
