import { describe, expect, it } from 'vitest';
import type { Clock } from '../engine/io/clock.ts';
import { runTransportConformance, type TransportPair } from '../engine/sync/transport-conformance.ts';
import { CALM, type LinkFaults, Network } from './network.ts';
import { SimRandom } from './random.ts';
import { Scheduler } from './scheduler.ts';
import { SimTransport } from './sim-transport.ts';

/** A simulated pair: two transports on one network, time passing by running the scheduler. */
function simPair(faults: LinkFaults, seed = 1): TransportPair & { net: Network; s: Scheduler } {
  const s = new Scheduler();
  const net = new Network({ scheduler: s, random: new SimRandom(seed), faults });
  const a = new SimTransport(net, s, 'a');
  const b = new SimTransport(net, s, 'b');
  const clock: Clock = { nowMs: () => 1_700_000_000_000 + Math.floor(s.nowMs) };
  return {
    a,
    b,
    aName: 'a',
    bName: 'b',
    net,
    s,
    clock,
    async waitFor(done, budgetMs) {
      const until = s.nowMs + budgetMs;
      while (!done()) {
        if (s.nowMs >= until) return false;
        // One event at a time, so that `done` sees every step; an empty queue lets time pass.
        if (!s.step()) s.runUntil(until);
      }
      return true;
    },
    disconnect: () => net.isolate('a'),
    reconnect: () => net.heal(),
  };
}

runTransportConformance('the simulator twin (SimTransport over Network)', {
  reportsConnections: true,
  cutsConnections: true,
  pair: async () => simPair(CALM),
  faultyPair: async () =>
    simPair(
      { latencyMsMin: 1, latencyMsMax: 300, lossRate: 0.2, duplicateRate: 0.2, bandwidthBytesPerMs: 100 },
      7,
    ),
});

describe('SimTransport', () => {
  it('reports a lost connection and its return as events, never inside the change', () => {
    const p = simPair(CALM);
    const events: string[] = [];
    p.a.open('b', {
      message: () => {},
      connected: () => events.push('up'),
      ...{ disconnected: () => events.push('down') },
    });
    p.b.open('a', { message: () => {} });
    p.s.runUntil(1);
    expect(events).toEqual(['up']);
    p.net.isolate('b');
    expect(events).toEqual(['up']);
    p.s.runUntil(2);
    expect(events).toEqual(['up', 'down']);
    // A flap undone within the same instant reports nothing.
    p.net.heal();
    p.net.isolate('b');
    p.s.runUntil(3);
    expect(events).toEqual(['up', 'down']);
    p.net.heal();
    p.s.runUntil(4);
    expect(events).toEqual(['up', 'down', 'up']);
  });

  it('counts a one-way block as a lost connection, and a crashed peer too', () => {
    const p = simPair(CALM);
    let ups = 0;
    let downs = 0;
    p.a.open('b', { message: () => {}, connected: () => ups++, ...{ disconnected: () => downs++ } });
    p.s.runUntil(1);
    p.net.block('b', 'a');
    p.s.runUntil(2);
    expect([ups, downs]).toEqual([1, 1]);
    p.net.unblock('b', 'a');
    p.s.runUntil(3);
    p.net.setDown('b', true);
    p.s.runUntil(4);
    expect([ups, downs]).toEqual([2, 2]);
    expect((p.a as SimTransport).connectedTo('b')).toBe(false);
  });

  it('discards messages from a peer without an open link, and sends on a closed link', () => {
    const p = simPair(CALM);
    const got: number[] = [];
    const la = p.a.open('b', { message: (m) => got.push(m[0]!) });
    const bt = p.b as SimTransport;
    const lb = bt.open('a', { message: () => {} });
    lb.send(Uint8Array.of(1));
    p.s.runUntil(100);
    la.close();
    lb.send(Uint8Array.of(2));
    la.send(Uint8Array.of(3));
    p.s.runUntil(200);
    expect(got).toEqual([1]);
    expect((p.a as SimTransport).stats).toEqual({ sent: 0, received: 1, discarded: 2 });
    expect(() => p.a.open('a', { message: () => {} })).toThrow(/itself/);
  });
});
