/**
 * The document cache never changes an answer: databases with a default cache and with a tiny
 * one (constant eviction) answer every `get` exactly as a database without a cache, over random
 * sequences of local writes, transactions, remote ingest, rebuilds and restarts. And what `get`
 * returns is deep-frozen, so no caller can change what a later caller reads.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../crdt/lww.ts';
import { canonicalEncodeState, decodeState } from '../crdt/state-codec.ts';
import { bytesToHex } from '../hex.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { identityFromSeed } from '../log/identity.ts';
import { nodeSigner } from '../log/node-signer.ts';
import type { Lsm } from '../lsm/lsm.ts';
import { type Collection, Database, type DatabaseOptions } from './database.ts';
import type { DocCacheOptions } from './doc-cache.ts';
import { viewKey } from './views.ts';

const LOCAL = identityFromSeed(new Uint8Array(32).fill(1));
const REMOTE = identityFromSeed(new Uint8Array(32).fill(2));
const COLLECTIONS = ['a', 'b'] as const;
const IDS = ['1', '2', '3', '\ufeff4'] as const;

type Op =
  | { kind: 'put' | 'patch'; c: number; id: number; fields: JsonObject }
  | { kind: 'unset'; c: number; id: number; names: string[] }
  | { kind: 'delete'; c: number; id: number };

type Action =
  | { kind: 'write'; ops: Op[] }
  | { kind: 'get'; c: number; id: number; via: 'db' | 'collection' }
  | { kind: 'all'; c: number }
  | { kind: 'remote'; ops: Op[]; aheadMs: number }
  | { kind: 'ingest' }
  | { kind: 'rebuild' }
  | { kind: 'reopen' }
  | { kind: 'tick'; ms: number };

const coll = fc.integer({ min: 0, max: COLLECTIONS.length - 1 });
const doc = fc.integer({ min: 0, max: IDS.length - 1 });
const fieldName = fc.constantFrom('x', 'y', 'z');
const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('s', ''), fc.constant([1, { d: 2 }]));
const fields = fc.dictionary(fieldName, value, { maxKeys: 3 }) as fc.Arbitrary<JsonObject>;
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('put' as const, 'patch' as const), c: coll, id: doc, fields }),
  fc.record({
    kind: fc.constant('unset' as const),
    c: coll,
    id: doc,
    names: fc.array(fieldName, { minLength: 1, maxLength: 2 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), c: coll, id: doc }),
);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      ops: fc.array(op, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('get' as const),
      c: coll,
      id: doc,
      via: fc.constantFrom('db' as const, 'collection' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('all' as const), c: coll }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('remote' as const),
      ops: fc.array(op, { minLength: 1, maxLength: 2 }),
      aheadMs: fc.integer({ min: -5, max: 5 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'ingest' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rebuild' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3 }) }),
  },
);

/** One database under test: its store, its cache bounds, and the database while open. */
class Replica {
  readonly fs = new MemoryFs();
  db: Database;

  constructor(
    private readonly options: Omit<DatabaseOptions, 'fs'>,
    readonly cache: DocCacheOptions | undefined,
  ) {
    this.db = this.open();
  }

  open(): Database {
    return Database.open({ ...this.options, fs: this.fs, documentCache: this.cache });
  }

  private readonly collections = new Map<string, Collection>();

  reopen(): void {
    this.db.close();
    this.db = this.open();
    this.collections.clear();
  }

  /** One long-lived Collection object per name and open database. */
  collectionOf(name: string): Collection {
    let c = this.collections.get(name);
    if (c === undefined) {
      c = this.db.collection(name);
      this.collections.set(name, c);
    }
    return c;
  }
}

function apply(db: Database, ops: Op[]): void {
  db.transaction((tx) => {
    for (const o of ops) {
      const c = COLLECTIONS[o.c]!;
      const id = IDS[o.id]!;
      if (o.kind === 'put') tx.put(c, id, o.fields);
      else if (o.kind === 'patch') tx.patch(c, id, o.fields);
      else if (o.kind === 'unset') tx.unset(c, id, o.names);
      else tx.delete(c, id);
    }
  });
}

/** The store under a database (tests only: the database keeps it private). */
const lsmOf = (db: Database) => (db as unknown as { lsm: Lsm }).lsm;

/** Throws unless `v` and everything in it is frozen. */
function expectDeepFrozen(v: unknown): void {
  if (typeof v !== 'object' || v === null) return;
  expect(Object.isFrozen(v)).toBe(true);
  for (const child of Object.values(v)) expectDeepFrozen(child);
}

describe('database: the document cache', () => {
  it('answers every get as a database without a cache does, over writes, ingest, rebuilds and restarts', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 60 }), (actions) => {
        const clock = { t: 1_700_000_000_000, nowMs: () => clock.t };
        const remoteClock = { t: clock.t, nowMs: () => remoteClock.t };
        const options = { identity: LOCAL, clock, signer: nodeSigner, groupCommitEntries: 3 };
        const replicas = [
          new Replica(options, { entriesMax: 0 }),
          new Replica(options, undefined),
          new Replica(options, { entriesMax: 2, bytesMax: 400 }),
        ];
        const remote = Database.open({
          fs: new MemoryFs(),
          identity: REMOTE,
          clock: remoteClock,
          signer: nodeSigner,
        });
        const remoteHex = bytesToHex(REMOTE.publicKey);
        for (const a of actions) {
          if (a.kind === 'write') for (const r of replicas) apply(r.db, a.ops);
          else if (a.kind === 'remote') {
            remoteClock.t = clock.t + a.aheadMs;
            apply(remote, a.ops);
          } else if (a.kind === 'ingest') {
            remote.replica.stateVector(); // signs the remote's pending entries
            const wire = remote.replica.readFeed(remoteHex, 1, { limit: 10_000, maxBytes: 1 << 30 });
            for (const r of replicas) expect(r.db.replica.ingest(wire).rejected).toEqual([]);
          } else if (a.kind === 'rebuild') for (const r of replicas) expect(r.db.rebuild()).toBe(true);
          else if (a.kind === 'reopen') for (const r of replicas) r.reopen();
          else if (a.kind === 'tick') clock.t += a.ms;
          else if (a.kind === 'all') {
            const want = [...replicas[0]!.db.collection(COLLECTIONS[a.c]!).all()];
            for (const r of replicas) expect([...r.db.collection(COLLECTIONS[a.c]!).all()]).toEqual(want);
          } else {
            const c = COLLECTIONS[a.c]!;
            const id = IDS[a.id]!;
            const want = replicas[0]!.db.get(c, id);
            for (const r of replicas) {
              // Collection objects live across writes, ingests, rebuilds (not reopens): their
              // own fast path must stay exact too.
              const got = a.via === 'db' ? r.db.get(c, id) : r.collectionOf(c).get(id);
              expect(got).toEqual(want);
              expectDeepFrozen(got);
            }
          }
        }
        // Finally every document, through every replica, cached or not.
        const hash = replicas[0]!.db.stateHash();
        for (const r of replicas) {
          expect(r.db.stateHash()).toBe(hash);
          for (const c of COLLECTIONS)
            for (const id of IDS) expect(r.db.get(c, id)).toEqual(replicas[0]!.db.get(c, id));
        }
        for (const r of replicas) r.db.close();
        remote.close();
      }),
      { numRuns: 80 },
    );
  });

  it('returns deep-frozen documents: mutating one throws and changes nothing another get sees', () => {
    const db = Database.open({
      fs: new MemoryFs(),
      identity: LOCAL,
      clock: { nowMs: () => 1_700_000_000_000 },
      signer: nodeSigner,
    });
    const notes = db.collection('notes');
    notes.put('n', { title: 'a', tags: ['x'], meta: { n: 1 } });
    const first = notes.get('n') as { title: string; tags: string[]; meta: { n: number } };
    expect(() => {
      first.title = 'b';
    }).toThrow(TypeError);
    expect(() => first.tags.push('y')).toThrow(TypeError);
    expect(() => {
      first.meta.n = 2;
    }).toThrow(TypeError);
    expect(notes.get('n')).toEqual({ title: 'a', tags: ['x'], meta: { n: 1 } });
    for (const [, d] of notes.all()) expectDeepFrozen(d);
    // A caller's own object stays its own: changing it after the write changes nothing stored.
    const mine = { title: 'c', tags: ['z'] };
    notes.put('m', mine);
    mine.tags.push('w');
    expect(notes.get('m')).toEqual({ title: 'c', tags: ['z'] });
    db.close();
  });

  it('forgets everything on rebuild, which may change rows behind the cache', () => {
    const db = Database.open({
      fs: new MemoryFs(),
      identity: LOCAL,
      clock: { nowMs: () => 1 },
      signer: nodeSigner,
    });
    const notes = db.collection('notes');
    notes.put('n', { v: 'logged' });
    const good = canonicalEncodeState(decodeState(lsmOf(db).get(viewKey('notes', 'n'))!));
    // A damaged view row (the log still says `logged`) is read, and cached, before the rebuild.
    const other = Database.open({
      fs: new MemoryFs(),
      identity: LOCAL,
      clock: { nowMs: () => 1 },
      signer: nodeSigner,
    });
    other.collection('notes').put('n', { v: 'damaged' });
    lsmOf(db).put(viewKey('notes', 'n'), lsmOf(other).get(viewKey('notes', 'n'))!);
    expect(notes.get('n')).toEqual({ v: 'damaged' });
    expect(db.rebuild()).toBe(false);
    expect(lsmOf(db).get(viewKey('notes', 'n'))).toEqual(good);
    expect(notes.get('n')).toEqual({ v: 'logged' });
    db.close();
    other.close();
  });

  it('refuses bad names and ids on a read as before, cached or not', () => {
    const db = Database.open({
      fs: new MemoryFs(),
      identity: LOCAL,
      clock: { nowMs: () => 1 },
      signer: nodeSigner,
    });
    db.collection('c').put('x', { v: 1 });
    expect(db.get('c', 'x')).toEqual({ v: 1 });
    expect(() => db.get('c', '')).toThrow(/document id/);
    expect(() => db.get('c', 5 as unknown as string)).toThrow(/document id/);
    expect(() => db.get('', 'x')).toThrow(/collection name/);
    expect(() => db.get('c\0', 'x')).toThrow(/NUL/);
    expect(() => db.get('c', 'x'.repeat(513))).toThrow(/MAX_ID_BYTES|document id/);
    const c = db.collection('c');
    expect(c.get('x')).toEqual({ v: 1 });
    expect(c.get('x')).toEqual({ v: 1 });
    db.close();
    expect(() => db.get('c', 'x')).toThrow(/closed/);
    expect(() => c.get('x')).toThrow(/closed/);
  });
});
