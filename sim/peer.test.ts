/**
 * A peer's final state: the views rebuilt from its feeds are shared between peers that hold
 * the same entries, and each peer's live views are still compared with them.
 */

import { describe, expect, it } from 'vitest';
import { VIEW_PREFIX } from '../engine/db/views.ts';
import type { Lsm } from '../engine/lsm/lsm.ts';
import { WriteBatch } from '../engine/lsm/write-batch.ts';
import { getScenario } from '../scenarios/index.ts';
import { World } from './world.ts';

/** A finished world of `offline-edit` whose peers all hold the same feeds. */
function converged(): World {
  const world = new World(getScenario('offline-edit')!, 1);
  const r = world.run();
  expect(r.violations).toEqual([]);
  return world;
}

describe('SimPeer.final', () => {
  it('rebuilds the views once for peers that hold the same entries', () => {
    const world = converged();
    const rebuilt = new Map<string, string>();
    const finals = world.peers.map((p) => p.final(new Map(), rebuilt));
    expect(finals.map((f) => f.rebuildMatches)).toEqual(world.peers.map(() => true));
    expect(rebuilt.size).toBe(1);
    expect(new Set(finals.map((f) => f.stateHash)).size).toBe(1);
  });

  it("still compares each peer's live views with the shared rebuild", () => {
    const world = converged();
    const [a, b] = world.peers;
    // A live view row that no entry produced, on the second peer only.
    const lsm = (b!.db as unknown as { lsm: Lsm }).lsm;
    const batch = new WriteBatch();
    batch.put(Uint8Array.of(VIEW_PREFIX, 0x7a, 0x7a), Uint8Array.of(1, 2, 3));
    lsm.write(batch);
    const rebuilt = new Map<string, string>();
    expect(a!.final(new Map(), rebuilt).rebuildMatches).toBe(true);
    expect(b!.final(new Map(), rebuilt).rebuildMatches).toBe(false);
    expect(rebuilt.size).toBe(1);
  });

  it('rebuilds again for a peer whose entries differ', () => {
    const world = converged();
    const [a, b] = world.peers;
    b!.db!.transaction((tx) => tx.put('notes', 'extra', { n: 1 }));
    const rebuilt = new Map<string, string>();
    expect(a!.final(new Map(), rebuilt).rebuildMatches).toBe(true);
    expect(b!.final(new Map(), rebuilt).rebuildMatches).toBe(true);
    expect(rebuilt.size).toBe(2);
  });
});
