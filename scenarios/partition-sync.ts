import type { Scenario } from '../sim/world.ts';

/** Partitions of every useful shape strike while peers are in the middle of syncing. */
export const partitionSync: Scenario = {
  name: 'partition-sync',
  description: 'a partition during sync: isolated peer, bridge, one-way links, flapping',
  peers: [
    { name: 'pi', profile: 'pi' },
    { name: 'laptop', profile: 'laptop' },
    { name: 'phone', profile: 'browser' },
    { name: 'tablet', profile: 'browser' },
  ],
  links: (ps) => {
    const out: [string, string][] = [];
    for (let i = 0; i < ps.length; i++)
      for (let j = i + 1; j < ps.length; j++) out.push([ps[i]!.name, ps[j]!.name]);
    return out;
  },
  durationMs: 12_000,
  swarm: (s) => ({ ...s, partitionEveryMs: Number.POSITIVE_INFINITY }),
  script(world) {
    const s = world;
    const n = world.network;
    s.at(1000, 'isolate pi', () => n.isolate('pi'));
    s.at(2500, 'heal', () => n.heal());
    s.at(3000, 'bridge: laptop in both halves', () =>
      n.partition([
        ['pi', 'laptop'],
        ['laptop', 'phone', 'tablet'],
      ]),
    );
    s.at(5000, 'heal', () => n.heal());
    s.at(5500, 'one-way: phone cannot reach pi', () => n.block('phone', 'pi'));
    s.at(7000, 'heal', () => n.heal());
    for (let t = 7500; t < 11_000; t += 300) {
      s.at(t, 'flap', () => (Math.floor(t / 300) % 2 === 0 ? n.isolate('tablet') : n.heal()));
    }
  },
};
