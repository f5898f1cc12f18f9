import type { Scenario } from '../sim/world.ts';

/**
 * A browser tab is closed again and again, often in the middle of a sync exchange, in two
 * sessions a night apart.
 */
export const tabClosed: Scenario = {
  name: 'tab-closed',
  description: 'a browser tab closed mid-sync, repeatedly',
  peers: [
    { name: 'pi', profile: 'pi' },
    { name: 'tab', profile: 'browser' },
    { name: 'laptop', profile: 'laptop' },
  ],
  durationMs: 10_000,
  quiet: [{ atMs: 5000, forMs: 8 * 3_600_000, what: 'a night' }],
  script(world) {
    const r = world.random.stream('tab-closed');
    const tab = world.peer('tab');
    for (let t = 500; t < 9500; t += r.range(300, 1200)) {
      world.at(t, 'close tab', () => world.crash(tab, r.range(50, 800)));
    }
  },
};
