import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AregulaError } from '../errors.ts';
import { CrashPolicy, MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { identityFromSeed } from '../log/identity.ts';
import { SyncSession } from '../sync/session.ts';
import { Database } from './database.ts';

function identity(n: number) {
  return identityFromSeed(new Uint8Array(32).fill(n + 1));
}

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  const c = { t: start, nowMs: () => c.t };
  return c;
}

function openDb(n: number, fs = new MemoryFs(), clock = manualClock()) {
  return { db: Database.open({ fs, identity: identity(n), clock, groupCommitEntries: 4 }), fs, clock };
}

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AregulaError ? err.code : `untyped ${String(err)}`;
  }
  return 'none';
};

describe('database: documents', () => {
  it('put, patch, unset, delete and get', () => {
    const { db } = openDb(0);
    const notes = db.collection('notes');
    notes.put('a', { title: 'hello', n: 1 });
    expect(notes.get('a')).toEqual({ title: 'hello', n: 1 });
    notes.patch('a', { n: 2, tags: ['x'] });
    expect(notes.get('a')).toEqual({ title: 'hello', n: 2, tags: ['x'] });
    notes.unset('a', ['title']);
    expect(notes.get('a')).toEqual({ n: 2, tags: ['x'] });
    notes.put('a', { only: true });
    expect(notes.get('a')).toEqual({ only: true });
    notes.delete('a');
    expect(notes.get('a')).toBeUndefined();
    notes.put('b', { v: 1 });
    notes.put('c', { v: 2 });
    expect([...notes.all()]).toEqual([
      ['b', { v: 1 }],
      ['c', { v: 2 }],
    ]);
    expect([...db.collection('other').all()]).toEqual([]);
    db.close();
  });

  it('a transaction is one entry, atomic; a throwing transaction writes nothing', () => {
    const { db } = openDb(0);
    db.transaction((tx) => {
      tx.put('a', '1', { x: 1 });
      tx.put('b', '2', { y: 2 });
      tx.patch('a', '1', { z: 3 });
    });
    expect(db.feeds.head(db.identity.publicKey)?.seq).toBe(1);
    expect(db.get('a', '1')).toEqual({ x: 1, z: 3 });
    expect(db.get('b', '2')).toEqual({ y: 2 });
    const before = db.stateHash();
    expect(() =>
      db.transaction((tx) => {
        tx.put('a', '1', { x: 99 });
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(() => db.transaction((tx) => tx.put('a', '1', { bad: Number.NaN }))).toThrow(AregulaError);
    expect(db.stateHash()).toBe(before);
    expect(db.feeds.head(db.identity.publicKey)?.seq).toBe(1);
    db.close();
  });

  it('rejects bad input with typed errors and stores nothing', () => {
    const { db } = openDb(0);
    const c = db.collection('c');
    const bad = (v: unknown) => v as never;
    expect(codeOf(() => db.collection(''))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.collection('a\0b'))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.collection('x'.repeat(129)))).toBe('ARE_LIMIT_EXCEEDED');
    expect(codeOf(() => c.put('', {}))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => c.put('x'.repeat(513), {}))).toBe('ARE_LIMIT_EXCEEDED');
    expect(codeOf(() => c.put('a', bad([1, 2])))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => c.put('a', bad(null)))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => c.put('a', { f: bad(() => 1) }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => c.put('a', { f: Number.POSITIVE_INFINITY }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => c.put('a', { f: bad(undefined) }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => c.unset('a', bad([3])))).toBe('ARE_INVALID_ARGUMENT');
    expect(db.feeds.head(db.identity.publicKey)).toBeUndefined();
    db.close();
    expect(codeOf(() => c.get('a'))).toBe('ARE_CLOSED');
  });

  it('survives close and reopen; the clock never goes back across restarts', () => {
    const fs = new MemoryFs();
    const clock = manualClock();
    let { db } = openDb(0, fs, clock);
    db.collection('n').put('a', { v: 1 });
    db.close();
    clock.t -= 3_600_000;
    ({ db } = openDb(0, fs, clock));
    expect(db.collection('n').get('a')).toEqual({ v: 1 });
    db.collection('n').put('a', { v: 2 });
    expect(db.collection('n').get('a')).toEqual({ v: 2 });
    expect(db.rebuild()).toBe(true);
    db.close();
  });

  it('rebuild from the feeds equals the live views byte for byte, after a crash too', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 5 }), fc.nat(100)), {
          maxLength: 60,
        }),
        fc.nat(),
        (ops, seed) => {
          const fs = new MemoryFs();
          let { db } = openDb(0, fs);
          const c = db.collection('c');
          for (const [kind, id, v] of ops) {
            const key = `d${id}`;
            if (kind === 0) c.put(key, { v, w: v % 3 });
            else if (kind === 1) c.patch(key, { v });
            else if (kind === 2) c.unset(key, ['w']);
            else if (kind === 3) c.delete(key);
            else db.commit();
          }
          const live = db.stateHash();
          expect(db.rebuild()).toBe(true);
          expect(db.stateHash()).toBe(live);
          fs.crash(CrashPolicy.random(new SeededRandom(seed)));
          ({ db } = openDb(0, fs));
          expect(db.rebuild()).toBe(true);
          db.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** Connects two databases with in-memory queues; returns a function delivering everything. */
function link(a: Database, b: Database, rng: SeededRandom, faults: boolean) {
  const toA: Uint8Array[] = [];
  const toB: Uint8Array[] = [];
  const sa = new SyncSession(a.replica, (m) => toB.push(m), { entriesPerMessageMax: 3 });
  const sb = new SyncSession(b.replica, (m) => toA.push(m), { entriesPerMessageMax: 3 });
  const step = (q: Uint8Array[], s: SyncSession) => {
    const i = faults ? rng.int(q.length) : 0;
    const [m] = q.splice(i, 1);
    if (faults && rng.int(10) === 0) return;
    s.receive(m!);
    if (faults && rng.int(10) === 0) s.receive(m!);
  };
  return {
    start() {
      sa.start();
      sb.start();
    },
    pump(max = 100_000) {
      for (let i = 0; i < max && toA.length + toB.length > 0; i++) {
        if (toA.length > 0) step(toA, sa);
        if (toB.length > 0) step(toB, sb);
      }
    },
  };
}

describe('database: sync between replicas', () => {
  it('two devices edit the same record offline, then converge to the LWW winner', () => {
    const a = openDb(1).db;
    const b = openDb(2).db;
    a.collection('n').put('x', { title: 'from a', a: 1 });
    b.collection('n').put('x', { title: 'from b', b: 1 });
    a.collection('n').patch('x', { shared: 'a' });
    const l = link(a, b, new SeededRandom(1), false);
    l.start();
    l.pump();
    expect(a.stateHash()).toBe(b.stateHash());
    expect(a.collection('n').get('x')).toEqual(b.collection('n').get('x'));
    expect(a.rebuild()).toBe(true);
    expect(b.rebuild()).toBe(true);
  });

  it('three replicas with random writes and a lossy, duplicating, reordering network converge', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 3 }), fc.nat(50), fc.boolean()),
          {
            maxLength: 40,
          },
        ),
        fc.nat(),
        (writes, seed) => {
          const rng = new SeededRandom(seed);
          const clock = manualClock();
          const dbs = [0, 1, 2].map((i) => openDb(i, new MemoryFs(), clock).db);
          const links = [
            link(dbs[0]!, dbs[1]!, rng, true),
            link(dbs[1]!, dbs[2]!, rng, true),
            link(dbs[0]!, dbs[2]!, rng, true),
          ];
          for (const [who, id, v, patch] of writes) {
            clock.t += rng.int(3);
            const c = dbs[who]!.collection('c');
            if (patch) c.patch(`k${id}`, { [`f${v % 3}`]: v });
            else c.put(`k${id}`, { v });
            if (rng.int(4) === 0) {
              const l = links[rng.int(3)]!;
              l.start();
              l.pump(rng.int(20));
            }
          }
          for (let round = 0; round < 3; round++) {
            for (const l of links) {
              l.start();
              l.pump();
            }
          }
          const hashes = dbs.map((d) => d.stateHash());
          expect(new Set(hashes).size).toBe(1);
          for (const d of dbs) expect(d.rebuild()).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('database: delivery order does not matter', () => {
  it('any order, duplication or batching of one set of entries gives the same stateHash', () => {
    // Three authors write; their entries are then delivered to fresh replicas in random
    // batches, orders and duplicates (gapped batches are offered again until they apply).
    const clock = manualClock();
    const authors = [0, 1, 2].map((i) => openDb(i, new MemoryFs(), clock).db);
    const rng = new SeededRandom(42);
    for (let i = 0; i < 60; i++) {
      clock.t += rng.int(2);
      const db = authors[rng.int(3)]!;
      const c = db.collection('c');
      const id = `k${rng.int(5)}`;
      if (rng.int(5) === 0) c.delete(id);
      else if (rng.int(2) === 0) c.patch(id, { [`f${rng.int(3)}`]: i });
      else c.put(id, { v: i });
    }
    const wire: Uint8Array[] = [];
    for (const db of authors) {
      const sv = db.replica.stateVector();
      for (const [author, seq] of sv)
        if (seq > 0) wire.push(...db.replica.readFeed(author, 1, { limit: 1e6, maxBytes: 1e9 }));
    }
    expect(wire.length).toBe(60);
    const reference = openDb(9).db;
    reference.replica.ingest(wire);
    const want = reference.stateHash();
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: wire.length, maxLength: wire.length * 2 }),
        fc.integer({ min: 1, max: 10 }),
        (order, size) => {
          const db = openDb(8).db;
          let pending = order.map((o) => wire[o % wire.length]!);
          for (let round = 0; round < 200 && pending.length > 0; round++) {
            const next: Uint8Array[] = [];
            for (let i = 0; i < pending.length; i += size)
              next.push(...db.replica.ingest(pending.slice(i, i + size)).gapped);
            pending = next;
          }
          // Whatever the random order left undelivered is delivered at the end, in one batch.
          db.replica.ingest(wire);
          expect(db.stateHash()).toBe(want);
          expect(db.rebuild()).toBe(true);
          db.close();
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('database: clocks and forks', () => {
  it('converges when one device clock is hours ahead and another jumps backwards', () => {
    const ahead = manualClock(1_700_000_000_000 + 3 * 3_600_000);
    const normal = manualClock(1_700_000_000_000);
    const a = openDb(1, new MemoryFs(), ahead).db;
    const b = openDb(2, new MemoryFs(), normal).db;
    a.collection('n').put('x', { by: 'a', early: true });
    normal.t -= 60_000;
    b.collection('n').put('y', { by: 'b' });
    b.collection('n').patch('x', { late: 'b' });
    const l = link(a, b, new SeededRandom(3), false);
    l.start();
    l.pump();
    expect(a.stateHash()).toBe(b.stateHash());
    // The entry from the clock three hours ahead was accepted everywhere.
    expect(b.collection('n').get('x')).toMatchObject({ by: 'a' });
    // b's later local write must win over what it has seen, despite its slower wall clock:
    // its clock was pulled forward only within the drift bound, and the logical counter did the rest.
    b.collection('n').patch('y', { after: true });
    l.start();
    l.pump();
    expect(a.collection('n').get('y')).toEqual({ by: 'b', after: true });
    expect(a.stateHash()).toBe(b.stateHash());
  });

  it('a device that signs two different entries at one sequence is reported as a fork, and nothing breaks', () => {
    const fs = new MemoryFs();
    const clock = manualClock();
    const honest = openDb(5, new MemoryFs(), clock).db;
    // The same identity on two stores: a cloned device that diverged (or a malicious one).
    const one = openDb(1, fs, clock).db;
    const two = openDb(1, new MemoryFs(), clock).db;
    one.collection('n').put('x', { branch: 1 });
    clock.t += 1;
    two.collection('n').put('x', { branch: 2 });
    const l1 = link(one, honest, new SeededRandom(1), false);
    l1.start();
    l1.pump();
    const before = honest.stateHash();
    const l2 = link(two, honest, new SeededRandom(2), false);
    l2.start();
    l2.pump();
    expect(honest.replica.stats.forks).toBe(1);
    expect(honest.feeds.forks()).toHaveLength(1);
    expect(honest.stateHash()).toBe(before);
    expect(honest.rebuild()).toBe(true);
  });
});

describe('database: shared entries are durable', () => {
  it('an entry offered to peers survives a crash that loses everything unsynced', () => {
    for (const groupCommitEntries of [1, 4, 100]) {
      const fs = new MemoryFs();
      const clock = manualClock();
      let db = Database.open({ fs, identity: identity(0), clock, groupCommitEntries });
      for (let i = 0; i < 10; i++) db.collection('c').put(`k${i}`, { i });
      const offered = db.replica.stateVector();
      const hash = db.stateHash();
      fs.crash(CrashPolicy.loseAll);
      db = Database.open({ fs, identity: identity(0), clock, groupCommitEntries });
      expect(db.replica.stateVector()).toEqual(offered);
      expect(db.stateHash()).toBe(hash);
      const receipt = db.collection('c').put('after', { ok: true });
      expect(receipt.seq).toBe(11);
      db.close();
    }
  });
});

describe('database: payload limits agree with the CRDT layer', () => {
  it('rejects an over-long field name locally, and ignores one in a signed remote entry', () => {
    const { db } = openDb(0);
    const long = 'x'.repeat(1025);
    expect(codeOf(() => db.collection('c').put('a', { [long]: 1 }))).toBe('ARE_LIMIT_EXCEEDED');
    expect(codeOf(() => db.collection('c').unset('a', [long]))).toBe('ARE_LIMIT_EXCEEDED');
    db.close();
  });
});
