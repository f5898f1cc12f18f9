import type { Scenario } from '../sim/world.ts';

/** A browser tab is closed again and again, often in the middle of a sync exchange. */
export const tabClosed: Scenario = {
  name: 'tab-closed',
  description: 'a browser tab closed mid-sync, repeatedly',
  peers: [
    { name: 'pi', profile: 'pi' },
    { name: 'tab', profile: 'browser' },
    { name: 'laptop', profile: 'laptop' },
  ],
  durationMs: 10_000,
  script(world) {
    const r = world.random.stream('tab-closed');
    const tab = world.peer('tab');
    for (let t = 500; t < 9500; t += r.range(300, 1200)) {
      world.scheduler.at(t, 'close tab', () => world.crash(tab, r.range(50, 800)));
    }
  },
};
