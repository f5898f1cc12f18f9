import type { Scenario } from '../sim/world.ts';

/** A browser stays offline for a long stretch and writes thousands of entries, then catches up. */
export const longOffline: Scenario = {
  name: 'long-offline',
  description: 'a long offline stretch with thousands of writes, then catch-up',
  peers: [
    { name: 'pi', profile: 'pi' },
    { name: 'laptop', profile: 'laptop' },
    { name: 'phone', profile: 'browser' },
  ],
  durationMs: 30_000,
  livenessMs: 120_000,
  swarm: (s) => ({
    ...s,
    crashEveryMs: Number.POSITIVE_INFINITY,
    partitionEveryMs: Number.POSITIVE_INFINITY,
  }),
  script(world) {
    const r = world.random.stream('long-offline');
    const phone = world.peer('phone');
    world.scheduler.at(100, 'phone goes offline', () => world.network.isolate('phone'));
    for (let i = 0; i < 2000; i++) {
      world.scheduler.at(200 + i * 12, 'offline write', () => phone.write(world.randomOps(r)));
    }
    world.scheduler.at(28_000, 'phone back online', () => world.network.heal());
  },
};
