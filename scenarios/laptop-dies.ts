import type { Scenario } from '../sim/world.ts';

/**
 * The laptop writes, syncs to the Pi, then dies for good: the Pi must hold everything it shared.
 * The replacement arrives the next morning.
 */
export const laptopDies: Scenario = {
  name: 'laptop-dies',
  description: 'the laptop dies and its disk is gone; the Pi has every write the laptop shared',
  peers: [
    { name: 'pi', profile: 'pi' },
    { name: 'laptop', profile: 'laptop' },
    { name: 'phone', profile: 'browser' },
  ],
  durationMs: 10_000,
  quiet: [{ atMs: 6500, forMs: 10 * 3_600_000, what: 'a night without the laptop' }],
  script(world) {
    // The laptop is gone until the liveness phase, when a replacement with the same identity
    // and an empty disk restores everything from the Pi before it writes again.
    world.at(6000, 'laptop dies', () => world.wipe(world.peer('laptop')));
  },
};
