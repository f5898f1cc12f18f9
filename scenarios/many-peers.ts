import type { PeerSpec, Scenario } from '../sim/world.ts';

/**
 * Ten or more devices around a Pi, joining and leaving (crashes and restarts) all the time,
 * with a lunch hour in between.
 */
export const manyPeers: Scenario = {
  name: 'many-peers',
  description: 'many peers (10+) with churn',
  peers: (r) => {
    const n = r.range(10, 14);
    const out: PeerSpec[] = [{ name: 'pi', profile: 'pi' }];
    for (let i = 1; i < n; i++) out.push({ name: `dev${i}`, profile: i % 3 === 0 ? 'laptop' : 'browser' });
    return out;
  },
  durationMs: 10_000,
  quiet: [{ atMs: 5000, forMs: 3_600_000, what: 'a lunch hour' }],
  swarm: (s) => ({ ...s, writeEveryMs: Math.max(s.writeEveryMs, 200) }),
  script(world) {
    const r = world.random.stream('churn');
    for (let t = 500; t < 9500; t += r.range(200, 700)) {
      world.at(t, 'churn', () => world.crash(r.pick(world.peers.slice(1)), r.range(200, 2500)));
    }
  },
};
