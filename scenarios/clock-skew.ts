import type { Scenario } from '../sim/world.ts';

/**
 * One device runs an hour ahead; the laptop sleeps overnight and wakes with its clock two hours
 * behind (a backwards jump).
 */
export const clockSkew: Scenario = {
  name: 'clock-skew',
  description: 'clock skew of an hour and a backwards jump',
  peers: [
    { name: 'pi', profile: 'pi' },
    { name: 'laptop', profile: 'laptop' },
    { name: 'phone', profile: 'browser' },
  ],
  durationMs: 10_000,
  quiet: [{ atMs: 3000, forMs: 8 * 3_600_000, what: 'a night, the laptop asleep' }],
  swarm: (s) => ({ ...s, clockSkewMsMax: 0 }),
  script(world) {
    world.peer('phone').clock.jump(3_600_000);
    world.at(3000, 'laptop sleeps', () => world.network.isolate('laptop'));
    world.at(6000, 'laptop wakes, clock behind', () => {
      world.peer('laptop').clock.jump(-7_200_000);
      world.network.heal();
    });
  },
};
