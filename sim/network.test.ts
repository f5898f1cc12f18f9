/**
 * Network: asynchronous delivery of private copies, latency bounds, loss and duplication
 * rates, reordering under jitter (and FIFO without it), bandwidth serialisation per directed
 * link, every partition primitive (one-way blocks, isolation, bridged partitions, heal, calm,
 * down nodes), in-flight messages lost to a cut or crash, fault validation and trace notes,
 * and determinism of a random workload's trace hash.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { LinkFaults } from './network.ts';
import { CALM, Network } from './network.ts';
import { SimRandom } from './random.ts';
import { Scheduler } from './scheduler.ts';

const invalid = expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' });
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Received {
  from: string;
  to: string;
  text: string;
  atMs: number;
  bytes: Uint8Array;
}

interface World {
  s: Scheduler;
  net: Network;
  log: Received[];
  /** Messages received by `to` from `from`, as text. */
  got: (from: string, to: string) => string[];
}

function world(options: { seed?: number; nodes?: string[]; faults?: LinkFaults } = {}): World {
  const s = new Scheduler();
  const random = new SimRandom(options.seed ?? 1).stream('net');
  const net = new Network(
    options.faults ? { scheduler: s, random, faults: options.faults } : { scheduler: s, random },
  );
  const log: Received[] = [];
  for (const name of options.nodes ?? ['a', 'b', 'c']) {
    net.addNode(name, (from, bytes) => {
      log.push({ from, to: name, text: dec.decode(bytes), atMs: s.nowMs, bytes });
    });
  }
  const got = (from: string, to: string): string[] =>
    log.filter((m) => m.from === from && m.to === to).map((m) => m.text);
  return { s, net, log, got };
}

function send(w: World, from: string, to: string, text: string): void {
  w.net.send(from, to, enc.encode(text));
}

/** Sends one probe on every ordered pair, delivers everything, and lists the pairs that got through. */
function reachable(w: World, nodes: string[]): string[] {
  w.log.length = 0;
  for (const from of nodes) for (const to of nodes) if (from !== to) send(w, from, to, `${from}${to}`);
  w.s.runUntilIdle(w.s.nowMs + 1_000);
  return w.log.map((m) => m.text).sort();
}

/** The trace's notes, without their times. */
function notes(w: World): string[] {
  return w.s
    .traceTail(1000)
    .map((line) => line.slice(line.indexOf('|') + 1))
    .filter((text) => text.startsWith('note '))
    .map((text) => text.slice('note '.length));
}

function checkStats(net: Network): void {
  const st = net.stats;
  expect(st.sent + st.duplicated).toBe(st.delivered + st.dropped + net.inFlight);
}

describe('delivery', () => {
  it('never delivers synchronously, and delivers within the latency bounds', () => {
    const w = world();
    send(w, 'a', 'b', 'hello');
    expect(w.log).toEqual([]);
    expect(w.net.inFlight).toBe(1);
    expect(w.s.pending).toBe(1);
    w.s.runUntilIdle(100);
    expect(w.got('a', 'b')).toEqual(['hello']);
    expect(w.log[0]!.atMs).toBeGreaterThanOrEqual(CALM.latencyMsMin);
    expect(w.log[0]!.atMs).toBeLessThanOrEqual(CALM.latencyMsMax);
    expect(w.net.stats).toEqual({ sent: 1, delivered: 1, dropped: 0, duplicated: 0, bytes: 5 });
  });

  it('does not deliver synchronously even with zero latency', () => {
    const w = world({ faults: { ...CALM, latencyMsMin: 0, latencyMsMax: 0 } });
    send(w, 'a', 'b', 'x');
    expect(w.log).toEqual([]);
    w.s.step();
    expect(w.got('a', 'b')).toEqual(['x']);
    expect(w.s.nowMs).toBe(0);
  });

  it('keeps every latency in [min, max] and labels deliveries by link and number', () => {
    const w = world({ faults: { ...CALM, latencyMsMin: 20, latencyMsMax: 30 } });
    for (let i = 0; i < 500; i++) send(w, 'a', 'b', `${i}`);
    send(w, 'b', 'c', 'last');
    w.s.runUntilIdle(1000);
    for (const m of w.log) {
      expect(m.atMs).toBeGreaterThanOrEqual(20);
      expect(m.atMs).toBeLessThanOrEqual(30);
    }
    const lines = w.s.traceTail(501).map((l) => l.split('|')[1]);
    expect(lines).toContain('net a->b #1');
    expect(lines).toContain('net b->c #501');
  });

  it('hands the receiver a copy taken at send time', () => {
    const w = world();
    const bytes = enc.encode('abc');
    w.net.send('a', 'b', bytes);
    bytes[0] = 0x7a;
    w.s.runUntilIdle(100);
    expect(w.got('a', 'b')).toEqual(['abc']);
    expect(w.log[0]!.bytes).not.toBe(bytes);
  });

  it('rejects unknown nodes, self-sends, duplicate and malformed names', () => {
    const w = world();
    expect(() => send(w, 'a', 'zz', 'x')).toThrow(invalid);
    expect(() => send(w, 'zz', 'a', 'x')).toThrow(invalid);
    expect(() => send(w, 'a', 'a', 'x')).toThrow(invalid);
    expect(() => w.net.addNode('a', () => {})).toThrow(invalid);
    for (const bad of ['', 'a b', 'a\nb', 'a>b', 'a,b', 'a|b']) {
      expect(() => w.net.addNode(bad, () => {})).toThrow(invalid);
    }
    expect(() => w.net.canReach('a', 'zz')).toThrow(invalid);
    expect(() => w.net.setDown('zz', true)).toThrow(invalid);
    expect(() => w.net.partition([['a', 'zz']])).toThrow(invalid);
    expect(w.net.stats.sent).toBe(0);
  });
});

describe('loss, duplication and reordering', () => {
  it('loses about the configured fraction of 10K sends', () => {
    const w = world({ faults: { ...CALM, lossRate: 0.2 } });
    for (let i = 0; i < 10_000; i++) send(w, 'a', 'b', 'x');
    w.s.runUntilIdle(1000);
    // Binomial standard deviation is 40 messages; 200 is 5 of them.
    expect(Math.abs(w.net.stats.dropped - 2000)).toBeLessThan(200);
    expect(w.net.stats.delivered).toBe(10_000 - w.net.stats.dropped);
    checkStats(w.net);
  });

  it('loses everything at rate 1 and nothing at rate 0', () => {
    const w = world({ faults: { ...CALM, lossRate: 1 } });
    for (let i = 0; i < 100; i++) send(w, 'a', 'b', 'x');
    expect(w.s.pending).toBe(0);
    w.net.setFaults({ lossRate: 0 });
    for (let i = 0; i < 100; i++) send(w, 'a', 'b', 'y');
    w.s.runUntilIdle(1000);
    expect(w.net.stats).toMatchObject({ sent: 200, delivered: 100, dropped: 100 });
  });

  it('duplicates about the configured fraction, as separate copies with the same content', () => {
    const w = world({ faults: { ...CALM, duplicateRate: 0.3 } });
    for (let i = 0; i < 10_000; i++) send(w, 'a', 'b', `${i}`);
    w.s.runUntilIdle(1000);
    const st = w.net.stats;
    // Binomial standard deviation is about 46; 250 is over 5 of them.
    expect(Math.abs(st.duplicated - 3000)).toBeLessThan(250);
    expect(st.delivered).toBe(10_000 + st.duplicated);
    const byText = new Map<string, Received[]>();
    for (const m of w.log) byText.set(m.text, [...(byText.get(m.text) ?? []), m]);
    const twice = [...byText.values()].filter((ms) => ms.length === 2);
    expect(twice).toHaveLength(st.duplicated);
    expect(twice[0]![0]!.bytes).not.toBe(twice[0]![1]!.bytes);
    expect([...byText.values()].every((ms) => ms.length <= 2)).toBe(true);
    expect(w.s.traceTail(20_000).some((l) => l.endsWith(' dup'))).toBe(true);
    checkStats(w.net);
  });

  it('reorders messages when latency varies, and keeps their order when it does not', () => {
    const jitter = world({ faults: { ...CALM, latencyMsMin: 1, latencyMsMax: 50 } });
    const fixed = world({ faults: { ...CALM, latencyMsMin: 7, latencyMsMax: 7 } });
    const sent = Array.from({ length: 50 }, (_, i) => `${i}`);
    for (const w of [jitter, fixed]) {
      for (const text of sent) send(w, 'a', 'b', text);
      w.s.runUntilIdle(1000);
    }
    expect(jitter.got('a', 'b')).not.toEqual(sent);
    expect([...jitter.got('a', 'b')].sort()).toEqual([...sent].sort());
    expect(fixed.got('a', 'b')).toEqual(sent);
  });
});

describe('bandwidth', () => {
  it('serialises N messages of B bytes over W bytes/ms to take at least N*B/W', () => {
    const w = world({ faults: { ...CALM, latencyMsMin: 2, latencyMsMax: 2, bandwidthBytesPerMs: 10 } });
    const payload = 'x'.repeat(1000);
    for (let i = 0; i < 10; i++) send(w, 'a', 'b', payload);
    w.s.runUntilIdle(10_000);
    const times = w.log.map((m) => m.atMs);
    expect(times).toEqual([102, 202, 302, 402, 502, 602, 702, 802, 902, 1002]);
    expect(times.at(-1)).toBeGreaterThanOrEqual((10 * 1000) / 10);
  });

  it('serialises each directed link on its own, and resumes at now once the link is idle', () => {
    const w = world({ faults: { ...CALM, latencyMsMin: 0, latencyMsMax: 0, bandwidthBytesPerMs: 1 } });
    send(w, 'a', 'b', 'x'.repeat(100));
    send(w, 'b', 'a', 'y'.repeat(10));
    send(w, 'a', 'c', 'z'.repeat(10));
    w.s.runUntilIdle(1000);
    expect(w.log.map((m) => [m.from + m.to, m.atMs])).toEqual([
      ['ba', 10],
      ['ac', 10],
      ['ab', 100],
    ]);
    w.s.runUntil(500);
    send(w, 'a', 'b', 'w'.repeat(5));
    w.s.runUntilIdle(1000);
    expect(w.log.at(-1)!.atMs).toBe(505);
  });

  it('applies a per-link bandwidth override to that direction only', () => {
    const w = world({ faults: { ...CALM, latencyMsMin: 0, latencyMsMax: 0 } });
    w.net.setLinkFaults('a', 'b', { bandwidthBytesPerMs: 2 });
    send(w, 'a', 'b', 'x'.repeat(10));
    send(w, 'b', 'a', 'x'.repeat(10));
    w.s.runUntilIdle(1000);
    expect(w.log.map((m) => [m.from, m.atMs])).toEqual([
      ['b', 0],
      ['a', 5],
    ]);
  });
});

describe('partitions and down nodes', () => {
  const all = ['a', 'b', 'c'];

  it('blocks one direction only, and unblock restores it', () => {
    const w = world();
    w.net.block('a', 'b');
    expect(w.net.canReach('a', 'b')).toBe(false);
    expect(w.net.canReach('b', 'a')).toBe(true);
    expect(reachable(w, all)).toEqual(['ac', 'ba', 'bc', 'ca', 'cb']);
    w.net.unblock('a', 'b');
    expect(reachable(w, all)).toEqual(['ab', 'ac', 'ba', 'bc', 'ca', 'cb']);
    expect(notes(w)).toEqual(['net block a->b', 'net unblock a->b']);
  });

  it('isolates a node in both directions until heal', () => {
    const w = world();
    w.net.isolate('c');
    expect(reachable(w, all)).toEqual(['ab', 'ba']);
    expect(w.net.canReach('a', 'c')).toBe(false);
    expect(w.net.canReach('c', 'a')).toBe(false);
    w.net.heal();
    expect(reachable(w, all)).toEqual(['ab', 'ac', 'ba', 'bc', 'ca', 'cb']);
  });

  it('lets a bridge node in two groups reach both while the groups stay apart', () => {
    const w = world({ nodes: ['a', 'b', 'c', 'd'] });
    w.net.partition([
      ['a', 'b'],
      ['b', 'c'],
    ]);
    expect(reachable(w, ['a', 'b', 'c', 'd'])).toEqual(['ab', 'ba', 'bc', 'cb']);
    expect(w.net.canReach('a', 'c')).toBe(false);
    expect(w.net.canReach('d', 'a')).toBe(false);
    expect(notes(w)).toEqual(['net partition a,b | b,c']);
  });

  it('replaces an earlier partition, keeps one-way blocks across it, and cuts off nodes added later', () => {
    const w = world();
    w.net.block('b', 'a');
    w.net.partition([['a'], ['b', 'c']]);
    w.net.partition([['a', 'b'], ['c']]);
    expect(reachable(w, all)).toEqual(['ab']);
    w.net.addNode('d', () => {});
    expect(w.net.canReach('a', 'd')).toBe(false);
    w.net.heal();
    expect(reachable(w, all)).toEqual(['ab', 'ac', 'ba', 'bc', 'ca', 'cb']);
    expect(w.net.canReach('a', 'd')).toBe(true);
  });

  it('drops messages in flight when a partition starts, even if it heals before they land', () => {
    const w = world({ faults: { ...CALM, latencyMsMin: 10, latencyMsMax: 10 } });
    send(w, 'a', 'b', 'cut');
    send(w, 'a', 'c', 'unaffected');
    w.s.runUntil(5);
    w.net.partition([['a', 'c'], ['b']]);
    w.s.runUntil(6);
    w.net.heal();
    send(w, 'a', 'b', 'after heal');
    w.s.runUntilIdle(100);
    expect(w.got('a', 'b')).toEqual(['after heal']);
    expect(w.got('a', 'c')).toEqual(['unaffected']);
    expect(w.net.stats.dropped).toBe(1);
    checkStats(w.net);
  });

  it('drops messages in flight across a one-way block of their direction only', () => {
    const w = world({ faults: { ...CALM, latencyMsMin: 10, latencyMsMax: 10 } });
    send(w, 'a', 'b', 'ab');
    send(w, 'b', 'a', 'ba');
    w.s.runUntil(1);
    w.net.block('a', 'b');
    w.s.runUntilIdle(100);
    expect(w.log.map((m) => m.text)).toEqual(['ba']);
  });

  it('drops messages to and from a down node, and in flight across a crash and restart', () => {
    const w = world({ faults: { ...CALM, latencyMsMin: 10, latencyMsMax: 10 } });
    send(w, 'a', 'b', 'before crash');
    send(w, 'c', 'a', 'unaffected');
    w.s.runUntil(5);
    w.net.setDown('b', true);
    expect(w.net.canReach('a', 'b')).toBe(false);
    expect(w.net.canReach('b', 'a')).toBe(false);
    send(w, 'a', 'b', 'to down');
    send(w, 'b', 'a', 'from down');
    w.s.runUntil(6);
    w.net.setDown('b', false);
    expect(w.net.canReach('a', 'b')).toBe(true);
    send(w, 'a', 'b', 'after restart');
    w.s.runUntilIdle(100);
    expect(w.log.map((m) => m.text)).toEqual(['unaffected', 'after restart']);
    expect(w.net.stats).toMatchObject({ sent: 5, delivered: 2, dropped: 3 });
    expect(w.s.traceTail(100)).toEqual(expect.arrayContaining(['5|note net down b', '6|note net up b']));
  });

  it('drops a message whose sender goes down while it is in flight', () => {
    const w = world({ faults: { ...CALM, latencyMsMin: 10, latencyMsMax: 10 } });
    send(w, 'a', 'b', 'x');
    w.s.runUntil(5);
    w.net.setDown('a', true);
    w.s.runUntilIdle(100);
    expect(w.log).toEqual([]);
  });

  it('calm heals and resets every fault, default and per link', () => {
    const w = world();
    w.net.setFaults({ lossRate: 1 });
    w.net.setLinkFaults('a', 'b', { latencyMsMin: 100, latencyMsMax: 200 });
    w.net.isolate('a');
    w.net.block('b', 'c');
    w.net.calm();
    const start = w.s.nowMs;
    expect(reachable(w, all)).toEqual(['ab', 'ac', 'ba', 'bc', 'ca', 'cb']);
    for (const m of w.log) expect(m.atMs - start).toBeLessThanOrEqual(CALM.latencyMsMax);
    expect(notes(w).at(-1)).toBe('net calm');
  });

  it('heal leaves faults and down nodes as they were', () => {
    const w = world();
    w.net.setFaults({ lossRate: 1 });
    w.net.setDown('c', true);
    w.net.heal();
    expect(reachable(w, all)).toEqual([]);
    expect(w.net.canReach('a', 'c')).toBe(false);
    expect(w.net.canReach('a', 'b')).toBe(true);
  });
});

describe('fault settings', () => {
  it('overrides one direction, merges overrides, and removes them with undefined', () => {
    const w = world({ faults: { ...CALM, latencyMsMin: 1, latencyMsMax: 1 } });
    w.net.setLinkFaults('a', 'b', { lossRate: 1 });
    w.net.setLinkFaults('a', 'b', { latencyMsMax: 3 });
    expect(reachable(w, ['a', 'b'])).toEqual(['ba']);
    w.net.setFaults({ latencyMsMax: 2 });
    w.net.setLinkFaults('a', 'b', undefined);
    expect(reachable(w, ['a', 'b'])).toEqual(['ab', 'ba']);
    expect(notes(w)).toEqual([
      'net faults a->b lossRate=1',
      'net faults a->b latencyMsMax=3 lossRate=1',
      'net faults latencyMsMin=1 latencyMsMax=2 lossRate=0 duplicateRate=0 bandwidthBytesPerMs=Infinity',
      'net faults a->b default',
    ]);
  });

  it('rejects inconsistent faults and leaves the settings unchanged', () => {
    const w = world();
    const bad: Partial<LinkFaults>[] = [
      { lossRate: -0.1 },
      { lossRate: 1.5 },
      { duplicateRate: Number.NaN },
      { latencyMsMin: -1 },
      { latencyMsMin: 10 },
      { latencyMsMax: Number.POSITIVE_INFINITY },
      { bandwidthBytesPerMs: 0 },
    ];
    for (const f of bad) {
      expect(() => w.net.setFaults(f)).toThrow(invalid);
      expect(() => w.net.setLinkFaults('a', 'b', f)).toThrow(invalid);
    }
    expect(
      () => new Network({ scheduler: w.s, random: new SimRandom(1), faults: { ...CALM, lossRate: 2 } }),
    ).toThrow(invalid);
    w.net.setLinkFaults('a', 'b', { latencyMsMin: 4 });
    expect(() => w.net.setFaults({ latencyMsMax: 3 })).toThrow(invalid);
    expect(reachable(w, ['a', 'b'])).toEqual(['ab', 'ba']);
  });

  it('ignores undefined fields in a partial update', () => {
    const w = world();
    w.net.setFaults({ lossRate: undefined });
    expect(reachable(w, ['a', 'b'])).toEqual(['ab', 'ba']);
  });
});

describe('determinism', () => {
  test.prop([fc.integer()], { numRuns: 30 })(
    'the same seed gives the same trace hash and deliveries; another seed a different hash',
    (seed) => {
      const one = chaoticRun(seed);
      const two = chaoticRun(seed);
      expect(two.hash).toBe(one.hash);
      expect(two.deliveries).toEqual(one.deliveries);
      expect(chaoticRun(seed + 1).hash).not.toBe(one.hash);
    },
  );
});

/**
 * A random workload: timers that send between four nodes while faults, partitions, crashes
 * and clock-free timers change at random, every choice drawn from `seed`.
 */
function chaoticRun(seed: number): { hash: string; deliveries: string[] } {
  const root = new SimRandom(seed);
  const r = root.stream('workload');
  const nodes = ['a', 'b', 'c', 'd'];
  const w = world({
    seed,
    nodes,
    faults: { ...CALM, lossRate: 0.1, duplicateRate: 0.1, bandwidthBytesPerMs: 50 },
  });
  let ops = 0;
  const op = (): void => {
    ops++;
    const roll = r.int(10);
    if (roll < 6) {
      const from = r.pick(nodes);
      const to = r.pick(nodes.filter((n) => n !== from));
      w.s.note(`send ${from}->${to}`);
      send(w, from, to, 'x'.repeat(r.int(200)));
    } else if (roll === 6) {
      w.net.partition([
        r.pick([
          ['a', 'b'],
          ['a', 'c'],
        ]),
        ['b', 'c', 'd'],
      ]);
    } else if (roll === 7) {
      w.net.setDown(r.pick(nodes), r.chance(0.5));
    } else if (roll === 8) {
      w.net.setFaults({ lossRate: r.pick([0, 0.1, 0.5]) });
    } else {
      w.net.heal();
    }
    if (ops < 400) w.s.after(r.exponential(3), `op ${ops}`, op);
  };
  w.s.after(0, 'op 0', op);
  w.s.runUntilIdle(1e9);
  checkStats(w.net);
  return {
    hash: w.s.traceHash(),
    deliveries: w.log.map((m) => `${m.atMs} ${m.from}->${m.to} ${m.text.length}`),
  };
}
