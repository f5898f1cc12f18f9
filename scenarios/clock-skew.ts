import type { Scenario } from '../sim/world.ts';

/** One device runs an hour ahead; another's clock jumps backwards when it wakes. */
export const clockSkew: Scenario = {
  name: 'clock-skew',
  description: 'clock skew of an hour and a backwards jump',
  peers: [
    { name: 'pi', profile: 'pi' },
    { name: 'laptop', profile: 'laptop' },
    { name: 'phone', profile: 'browser' },
  ],
  durationMs: 10_000,
  swarm: (s) => ({ ...s, clockSkewMsMax: 0 }),
  script(world) {
    world.peer('phone').clock.jump(3_600_000);
    world.scheduler.at(3000, 'laptop sleeps', () => world.network.isolate('laptop'));
    world.scheduler.at(6000, 'laptop wakes, clock behind', () => {
      world.peer('laptop').clock.jump(-7_200_000);
      world.network.heal();
    });
  },
};
