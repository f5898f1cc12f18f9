import type { Scenario } from '../sim/world.ts';

/**
 * A browser stays offline for a weekend (two nights) and writes thousands of entries in three
 * sessions, then catches up.
 */
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
  quiet: [
    { atMs: 8000, forMs: 14 * 3_600_000, what: 'a night offline' },
    { atMs: 18_000, forMs: 14 * 3_600_000, what: 'another night offline' },
  ],
  swarm: (s) => ({
    ...s,
    crashEveryMs: Number.POSITIVE_INFINITY,
    partitionEveryMs: Number.POSITIVE_INFINITY,
  }),
  script(world) {
    const r = world.random.stream('long-offline');
    const phone = world.peer('phone');
    world.at(100, 'phone goes offline', () => world.network.isolate('phone'));
    for (let i = 0; i < 2000; i++) {
      world.at(200 + i * 12, 'offline write', () => phone.write(world.randomOps(r)));
    }
    world.at(28_000, 'phone back online', () => world.network.heal());
  },
};
