/**
 * The Transport conformance suite: what the contract in `transport.ts` promises, checked the
 * same way for every implementation (the simulator's twin over its network, the WebRTC data
 * channels, and any other). An implementation's test file calls
 * {@link runTransportConformance} with a factory; the suite registers vitest tests.
 *
 * The contract, as the sync protocol relies on it:
 * - `send` never throws for a network failure and never delivers synchronously; the receiver
 *   gets the bytes as they were at the call (a later change to the buffer does not travel).
 * - A message arrives whole, at the peer's link for the sender, or not at all; possibly more
 *   than once, and in any order relative to other messages.
 * - On a healthy link every message arrives, large ones included (up to the protocol's
 *   `MAX_MESSAGE_BYTES`).
 * - After `close`, later sends are dropped and the link's owner hears nothing more.
 * - A transport with connections says `connected` once the link is usable after `open`, and
 *   again after it was lost and came back (the owner then says `hello` again).
 * - Two `SyncConnection`s over the transport converge: on a healthy link, and (when the
 *   factory offers one) on a faulty one, with the owners saying `hello` again now and then.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { Database } from '../db/database.ts';
import type { Clock } from '../io/clock.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { identityFromSeed } from '../log/identity.ts';
import { nodeSigner } from '../log/node-signer.ts';
import { MAX_MESSAGE_BYTES } from './messages.ts';
import { type LinkHandlers, SyncConnection, type SyncLink, type Transport } from './transport.ts';

/** Two transports that reach each other, and how to let time pass between them. */
export interface TransportPair {
  /** Device A's transport; it names B `bName`. */
  a: Transport;
  /** Device B's transport; it names A `aName`. */
  b: Transport;
  aName: string;
  bName: string;
  /**
   * Lets time pass (virtual or real) until `done()` holds or about `budgetMs` have passed;
   * resolves with `done()`.
   */
  waitFor(done: () => boolean, budgetMs: number): Promise<boolean>;
  /** A clock for the databases of the convergence test (virtual for a simulated pair). */
  clock: Clock;
  /** Cuts the connection between A and B (both directions), when the factory can. */
  disconnect?(): void;
  /** Restores what {@link disconnect} cut. */
  reconnect?(): void;
  /** Releases the pair's resources after the test. */
  cleanup?(): void | Promise<void>;
}

/** What a conformance factory offers. */
export interface TransportUnderTest {
  /** A fresh pair over a healthy link: no loss, no duplication. */
  pair(): Promise<TransportPair>;
  /** A fresh pair over a link that loses, duplicates and reorders, when the transport can. */
  faultyPair?(): Promise<TransportPair>;
  /** Whether the transport reports connections (`connected`); datagram transports do not. */
  reportsConnections: boolean;
  /** Whether its pairs offer `disconnect` and `reconnect`. */
  cutsConnections?: boolean;
  /** How long to wait for something that should happen, in the pair's time. Default 10,000. */
  budgetMs?: number;
}

/** A link's owner that records what it hears. */
class Recorder implements LinkHandlers {
  readonly received: Uint8Array[] = [];
  connects = 0;
  disconnects = 0;
  message(message: Uint8Array): void {
    this.received.push(message.slice());
  }
  connected(): void {
    this.connects++;
  }
  disconnected(): void {
    this.disconnects++;
  }
}

function bytesOf(n: number, tag: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + tag) & 0xff;
  return b;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Registers the conformance tests for one transport. */
export function runTransportConformance(name: string, t: TransportUnderTest): void {
  const budget = t.budgetMs ?? 10_000;
  let pairs: TransportPair[] = [];

  const open = async (
    make: () => Promise<TransportPair> = () => t.pair(),
  ): Promise<{ p: TransportPair; ra: Recorder; rb: Recorder; la: SyncLink; lb: SyncLink }> => {
    const p = await make();
    pairs.push(p);
    const ra = new Recorder();
    const rb = new Recorder();
    const la = p.a.open(p.bName, ra);
    const lb = p.b.open(p.aName, rb);
    if (t.reportsConnections) {
      const up = await p.waitFor(() => ra.connects > 0 && rb.connects > 0, budget);
      expect(up, 'both links report connected after open').toBe(true);
    }
    return { p, ra, rb, la, lb };
  };

  describe(`Transport conformance: ${name}`, () => {
    afterEach(async () => {
      for (const p of pairs) await p.cleanup?.();
      pairs = [];
    });

    it('delivers a message whole, later, at the link for its sender, as it was at send time', async () => {
      const { p, ra, rb, la } = await open();
      const message = bytesOf(100, 7);
      const expected = message.slice();
      la.send(message);
      // Never delivered synchronously, and a later change to the buffer does not travel.
      expect(rb.received).toHaveLength(0);
      message.fill(0);
      expect(await p.waitFor(() => rb.received.length > 0, budget)).toBe(true);
      expect(hex(rb.received[0]!)).toBe(hex(expected));
      expect(ra.received).toHaveLength(0);
    });

    it('delivers every message both ways on a healthy link, in any order', async () => {
      const { p, ra, rb, la, lb } = await open();
      const n = 200;
      const fromA = new Set<string>();
      const fromB = new Set<string>();
      for (let i = 0; i < n; i++) {
        const x = bytesOf(8 + (i % 50), i);
        x[0] = i & 0xff;
        x[1] = i >> 8;
        fromA.add(hex(x));
        la.send(x);
        const y = bytesOf(8 + (i % 30), 1000 + i);
        y[0] = i & 0xff;
        y[1] = 0x80 | (i >> 8);
        fromB.add(hex(y));
        lb.send(y);
      }
      const all = () =>
        new Set(rb.received.map(hex)).size === fromA.size &&
        new Set(ra.received.map(hex)).size === fromB.size;
      expect(await p.waitFor(all, budget)).toBe(true);
      expect(new Set(rb.received.map(hex))).toEqual(fromA);
      expect(new Set(ra.received.map(hex))).toEqual(fromB);
    });

    it('delivers a message of the protocol’s largest size intact', async () => {
      const { p, rb, la } = await open();
      const big = bytesOf(MAX_MESSAGE_BYTES, 3);
      la.send(big);
      expect(await p.waitFor(() => rb.received.length > 0, budget * 3)).toBe(true);
      expect(rb.received[0]!.length).toBe(MAX_MESSAGE_BYTES);
      expect(Buffer.compare(Buffer.from(rb.received[0]!), Buffer.from(big))).toBe(0);
    });

    it('drops sends after close, and the closed link hears nothing more', async () => {
      const { p, ra, rb, la, lb } = await open();
      la.send(bytesOf(10, 1));
      expect(await p.waitFor(() => rb.received.length > 0, budget)).toBe(true);
      const before = rb.received.length;
      la.close();
      expect(() => la.send(bytesOf(10, 2))).not.toThrow();
      lb.send(bytesOf(10, 3));
      // Let the sends settle: a message B sends to A after a round of its own still gets through
      // to B (proving time passed), while nothing reaches A's closed link.
      await p.waitFor(() => false, Math.min(budget, 500));
      expect(rb.received.length).toBe(before);
      expect(ra.received).toHaveLength(0);
    });

    if (t.reportsConnections && t.cutsConnections === true) {
      it('says connected again after the connection was lost and came back', async () => {
        const { p, ra, rb, la } = await open();
        expect(p.disconnect, 'the pair offers disconnect').toBeDefined();
        p.disconnect?.();
        await p.waitFor(() => false, Math.min(budget, 200));
        p.reconnect?.();
        expect(await p.waitFor(() => ra.connects > 1 && rb.connects > 1, budget)).toBe(true);
        la.send(bytesOf(20, 9));
        expect(await p.waitFor(() => rb.received.length > 0, budget)).toBe(true);
      });
    }

    it('carries two sync conversations to the same state', async () => {
      await converge(await open(), budget, t.reportsConnections);
    });

    if (t.faultyPair !== undefined) {
      const faulty = t.faultyPair.bind(t);
      it('carries two sync conversations to the same state despite its faults', async () => {
        await converge(await open(faulty), budget, t.reportsConnections);
      });
    }
  });
}

/** Two databases with their own writes sync over the pair's links until their states match. */
async function converge(
  o: { p: TransportPair; la: SyncLink; lb: SyncLink; ra: Recorder; rb: Recorder },
  budget: number,
  reportsConnections: boolean,
): Promise<void> {
  const { p } = o;
  const db = (n: number) =>
    Database.open({
      fs: new MemoryFs(),
      identity: identityFromSeed(new Uint8Array(32).fill(n)),
      clock: p.clock,
      signer: nodeSigner,
    });
  const a = db(1);
  const b = db(2);
  for (let i = 0; i < 40; i++) {
    a.transaction((tx) => tx.put('notes', `a${i}`, { i, by: 'a' }));
    b.transaction((tx) => tx.put('notes', `b${i}`, { i, by: 'b' }));
    if (i % 2 === 0) b.transaction((tx) => tx.patch('notes', `a${i}`, { seen: true }));
  }
  // The recorders already own the links' handlers: route their messages to the connections.
  const ca = new SyncConnection(a.replica, o.la, { session: { entriesPerMessageMax: 8 } });
  const cb = new SyncConnection(b.replica, o.lb, { session: { entriesPerMessageMax: 8 } });
  let seenA = 0;
  let seenB = 0;
  const pump = () => {
    while (seenA < o.ra.received.length) ca.receive(o.ra.received[seenA++]!);
    while (seenB < o.rb.received.length) cb.receive(o.rb.received[seenB++]!);
  };
  const same = () => {
    pump();
    return a.stateHash() === b.stateHash();
  };
  let done = false;
  for (let round = 0; round < 50 && !done; round++) {
    // Owners say hello now and then (a tick); a transport with connections also after connecting.
    ca.hello();
    cb.hello();
    done = await p.waitFor(same, Math.max(50, budget / 50));
  }
  expect(done, `converged (reports connections: ${reportsConnections})`).toBe(true);
  expect(b.get('notes', 'a0')).toEqual({ i: 0, by: 'a', seen: true });
  expect(a.get('notes', 'b39')).toEqual({ i: 39, by: 'b' });
  a.close();
  b.close();
}
