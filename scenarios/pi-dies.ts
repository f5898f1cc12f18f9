import type { Scenario } from '../sim/world.ts';

/**
 * The Pi loses its disk and is restored from a peer, then keeps serving as the hub. The new
 * disk takes a day to arrive; meanwhile the laptop and the phone sync directly.
 */
export const piDies: Scenario = {
  name: 'pi-dies',
  description: 'the Pi dies (disk lost) and is restored from a peer',
  peers: [
    { name: 'pi', profile: 'pi' },
    { name: 'laptop', profile: 'laptop' },
    { name: 'phone', profile: 'browser' },
  ],
  links: () => [
    ['laptop', 'pi'],
    ['phone', 'pi'],
    ['laptop', 'phone'],
  ],
  durationMs: 10_000,
  quiet: [{ atMs: 5000, forMs: 24 * 3_600_000, what: 'a day without the Pi' }],
  script(world) {
    world.at(4000, 'pi dies', () => world.wipe(world.peer('pi')));
    world.at(6000, 'pi restored', () => world.peer('pi').start());
  },
};
