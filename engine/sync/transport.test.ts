import { describe, expect, test } from 'vitest';
import { Database } from '../db/database.ts';
import type { AregulaError } from '../errors.ts';
import { systemClock } from '../io/clock.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { identityFromSeed } from '../log/identity.ts';
import { nodeSigner } from '../log/node-signer.ts';
import { type LinkHandlers, SyncConnection, type SyncLink, type Transport } from './transport.ts';

/** An in-memory transport between named nodes that loses, duplicates and reorders. */
class LossyNet {
  private readonly nodes = new Map<string, Map<string, LinkHandlers>>();
  private queue: { to: string; from: string; bytes: Uint8Array }[] = [];
  constructor(private readonly random: SeededRandom) {}

  transport(self: string): Transport {
    const handlers = new Map<string, LinkHandlers>();
    this.nodes.set(self, handlers);
    return {
      open: (peer, h): SyncLink => {
        handlers.set(peer, h);
        return {
          send: (bytes) => {
            if (this.random.next() < 0.2) return;
            this.queue.push({ to: peer, from: self, bytes });
            if (this.random.next() < 0.2) this.queue.push({ to: peer, from: self, bytes });
          },
          close: () => handlers.delete(peer),
        };
      },
    };
  }

  /** Delivers everything queued, in a shuffled order; returns how many. */
  deliver(): number {
    const q = this.queue;
    this.queue = [];
    for (let i = q.length - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      [q[i], q[j]] = [q[j]!, q[i]!];
    }
    for (const m of q) this.nodes.get(m.to)?.get(m.from)?.message(m.bytes);
    return q.length;
  }
}

function db(n: number): Database {
  return Database.open({
    fs: new MemoryFs(),
    identity: identityFromSeed(new Uint8Array(32).fill(n)),
    clock: systemClock,
    signer: nodeSigner,
  });
}

describe('SyncConnection over a Transport', () => {
  test('two replicas converge over a lossy, duplicating, reordering transport', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const net = new LossyNet(new SeededRandom(seed));
      const a = db(1);
      const b = db(2);
      for (let i = 0; i < 150; i++) {
        a.collection('n').put(`a${i}`, { i });
        b.collection('n').put(`b${i}`, { i });
      }
      const conn: Record<string, SyncConnection> = {};
      const ta = net.transport('a');
      const tb = net.transport('b');
      conn.a = new SyncConnection(a.replica, ta.open('b', { message: (m) => conn.a!.receive(m) }));
      conn.b = new SyncConnection(b.replica, tb.open('a', { message: (m) => conn.b!.receive(m) }));
      for (let tick = 0; tick < 50 && a.stateHash() !== b.stateHash(); tick++) {
        conn.a.hello();
        conn.b.hello();
        for (let r = 0; r < 20 && net.deliver() > 0; r++);
      }
      expect(b.stateHash(), `seed ${seed}`).toBe(a.stateHash());
    }
  });

  test('a message the protocol refuses is reported, applies nothing, and restarts with hello', () => {
    const a = db(1);
    const sent: Uint8Array[] = [];
    const errors: AregulaError[] = [];
    const c = new SyncConnection(
      a.replica,
      { send: (m) => sent.push(m), close: () => {} },
      { onProtocolError: (e) => errors.push(e) },
    );
    const before = a.stateHash();
    expect(c.receive(new Uint8Array([1, 2, 1, 5, 1, 2, 3]))).toBe(false);
    expect(errors.map((e) => e.code)).toEqual(['ARE_PROTOCOL']);
    expect(sent.map((m) => m[1])).toEqual([1]);
    expect(a.stateHash()).toBe(before);
  });
});
