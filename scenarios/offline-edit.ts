import type { Scenario } from '../sim/world.ts';

/**
 * Two devices edit the same record while offline from each other (half the edits before a
 * three-hour flight, half after it), then reconnect and converge.
 */
export const offlineEdit: Scenario = {
  name: 'offline-edit',
  description: 'two devices edit the same record offline, then converge to one LWW winner',
  peers: [
    { name: 'laptop', profile: 'laptop' },
    { name: 'phone', profile: 'browser' },
  ],
  durationMs: 8000,
  quiet: [{ atMs: 2000, forMs: 3 * 3_600_000, what: 'a three-hour flight' }],
  randomWorkload: false,
  swarm: (s) => ({
    ...s,
    crashEveryMs: Number.POSITIVE_INFINITY,
    partitionEveryMs: Number.POSITIVE_INFINITY,
  }),
  script(world) {
    const r = world.random.stream('offline-edit');
    world.at(10, 'go offline', () => world.network.partition([['laptop'], ['phone']]));
    for (let i = 0; i < 40; i++) {
      const who = world.peer(r.chance(0.5) ? 'laptop' : 'phone');
      world.at(20 + i * 100, `edit ${who.name}`, () =>
        who.write([
          {
            kind: 'patch',
            collection: 'notes',
            id: 'shared',
            fields: { [`f${r.int(3)}`]: `${who.name}-${i}` },
          },
        ]),
      );
    }
    world.at(6000, 'back online', () => world.network.heal());
  },
};
