import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Database } from '../db/database.ts';
import { viewKey } from '../db/views.ts';
import { AregulaError } from '../errors.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { identityFromSeed } from '../log/identity.ts';
import type { Lsm } from '../lsm/lsm.ts';
import { WriteBatch } from '../lsm/write-batch.ts';
import { aggregate, runAggregate } from './aggregate.ts';
import {
  collectionRows,
  configureSnapshots,
  documentBytes,
  documentReader,
  dropSnapshots,
  hasSnapshot,
  SNAPSHOT_FIELD_OVERHEAD_BYTES,
  SNAPSHOT_ROW_OVERHEAD_BYTES,
  snapshotStats,
} from './collection-snapshot.ts';
import { find, runQuery } from './execute.ts';
import type { AggregateQuery, Query } from './types.ts';

const clock = () => {
  const c = { t: 1_700_000_000_000, nowMs: () => c.t++ };
  return c;
};
const open = (n: number) =>
  Database.open({
    fs: new MemoryFs(),
    identity: identityFromSeed(new Uint8Array(32).fill(n + 1)),
    clock: clock(),
    groupCommitEntries: 3,
  });

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AregulaError ? err.code : `untyped ${String(err)}`;
  }
  return 'none';
};

/** Copies every entry `from` holds into `to` (signed first, as a replica offers them). */
function sync(from: Database, to: Database): void {
  from.commit();
  for (const [author, seq] of from.replica.stateVector())
    if (seq > 0) to.replica.ingest(from.replica.readFeed(author, 1, { limit: 1e6, maxBytes: 1e9 }));
}

const scanQuery = (collection: string, g: number): Query => ({
  collection,
  where: { field: 'g', op: 'ne', value: g },
  orderBy: [{ field: 'n', direction: 'desc' }],
});
const groupQuery = (collection: string): AggregateQuery => ({
  collection,
  groupBy: ['g'],
  aggregates: [
    { as: 'count', fn: 'count' },
    { as: 'sum', fn: 'sum', field: 'n' },
    { as: 'max', fn: 'max', field: 'n' },
  ],
});

/** Checks every full-scan answer of `db` against the same query over a scan of the store. */
function expectExact(db: Database, collection: string, g: number): void {
  const stored = [...db.documents(collection)];
  expect(find(db, scanQuery(collection, g))).toEqual(runQuery(stored, scanQuery(collection, g)));
  expect(find(db, { collection, limit: 2 })).toEqual(runQuery(stored, { collection, limit: 2 }));
  expect(aggregate(db, groupQuery(collection))).toEqual(runAggregate(stored, groupQuery(collection)));
  const rows = [...collectionRows(db, collection)];
  expect(rows).toEqual(stored);
  for (const [, doc] of rows) expect(Object.isFrozen(doc)).toBe(true);
}

describe('collection snapshots', () => {
  it('answer exactly as a scan of the stored documents under random local and remote writes', () => {
    const op = fc.record({
      db: fc.integer({ min: 0, max: 1 }),
      kind: fc.constantFrom('put', 'patch', 'unset', 'delete', 'sync', 'query', 'query', 'rebuild', 'drop'),
      collection: fc.constantFrom('c1', 'c2'),
      id: fc.constantFrom('a', 'b', 'c', 'é', '😀', 'z'),
      g: fc.integer({ min: 0, max: 2 }),
      n: fc.integer({ min: -4, max: 4 }).map((x) => x / 4),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.constantFrom(0, 3, 6, 1000), (ops, entriesMax) => {
        const dbs = [open(0), open(1)];
        configureSnapshots(dbs[0]!, { entriesMax });
        for (const o of ops) {
          const db = dbs[o.db]!;
          const c = db.collection(o.collection);
          if (o.kind === 'put') c.put(o.id, { g: o.g, n: o.n });
          else if (o.kind === 'patch') c.patch(o.id, { n: o.n });
          else if (o.kind === 'unset') c.unset(o.id, ['g']);
          else if (o.kind === 'delete') c.delete(o.id);
          else if (o.kind === 'sync') sync(dbs[1 - o.db]!, db);
          else if (o.kind === 'rebuild') db.rebuild();
          else if (o.kind === 'drop') dropSnapshots(db);
          expectExact(db, o.collection, o.g);
          const stats = snapshotStats(db);
          expect(stats.entries).toBeLessThanOrEqual(o.db === 0 ? entriesMax : 1_000_000);
        }
        for (const db of dbs) db.close();
      }),
      { numRuns: 60 },
    );
  });

  it('are kept by a whole scan, followed by writes, and dropped past the bounds', () => {
    const db = open(0);
    const c = db.collection('c');
    for (let i = 0; i < 5; i++) c.put(`d${i}`, { g: i % 2, n: i });
    expect(aggregate(db, groupQuery('c'))[0]!.values.count).toBe(3);
    expect(snapshotStats(db)).toMatchObject({ collections: ['c'], entries: 5 });
    expect(hasSnapshot(db, 'c')).toBe(true);
    expect(hasSnapshot(db, 'other')).toBe(false);
    const bytes = snapshotStats(db).bytes;
    expect(bytes).toBeGreaterThan(5 * SNAPSHOT_ROW_OVERHEAD_BYTES);
    c.put('d9', { g: 0, n: 9 });
    c.delete('d0');
    expect(snapshotStats(db).entries).toBe(5);
    expect(find(db, { collection: 'c' }).rows.map((r) => r.id)).toEqual(['d1', 'd2', 'd3', 'd4', 'd9']);
    // A bound the collection outgrows drops it; the next scan reads the store and keeps nothing.
    configureSnapshots(db, { entriesMax: 6 });
    expectExact(db, 'c', 0);
    expect(snapshotStats(db).entries).toBe(5);
    c.put('e1', { g: 1, n: 1 });
    c.put('e2', { g: 1, n: 2 });
    expect(snapshotStats(db)).toEqual({ collections: [], entries: 0, bytes: 0 });
    expectExact(db, 'c', 0);
    expect(snapshotStats(db).entries).toBe(0);
    // A byte bound too.
    configureSnapshots(db, { bytesMax: bytes });
    expectExact(db, 'c', 1);
    expect(snapshotStats(db).entries).toBe(0);
    db.close();
  });

  it('keep nothing from a scan cut short, and nothing when disabled', () => {
    const db = open(0);
    for (let i = 0; i < 5; i++) db.collection('c').put(`d${i}`, { g: 0, n: i });
    expect(find(db, { collection: 'c', limit: 2 }).rows).toHaveLength(2); // stops after two rows
    expect(snapshotStats(db).entries).toBe(0);
    configureSnapshots(db, { entriesMax: 0 });
    expectExact(db, 'c', 1);
    expect(snapshotStats(db).entries).toBe(0);
    db.close();
  });

  it('are dropped by a rebuild that changes documents, and by close', () => {
    const db = open(0);
    db.collection('c').put('a', { g: 0, n: 1 });
    expectExact(db, 'c', 1);
    expect(snapshotStats(db).entries).toBe(1);
    db.rebuild(); // documents unchanged: nothing heard, the snapshot stays exact
    expectExact(db, 'c', 1);
    expect(snapshotStats(db).entries).toBe(1);
    // A view row lost behind the database's back: the rebuild restores it and drops the snapshot.
    (db as unknown as { lsm: Lsm }).lsm.write(new WriteBatch().delete(viewKey('c', 'a')));
    expect(db.rebuild()).toBe(false);
    expect(snapshotStats(db).entries).toBe(0);
    expectExact(db, 'c', 1);
    expect(snapshotStats(db).entries).toBe(1);
    db.close();
    expect(hasSnapshot(db, 'c')).toBe(false);
    expect(codeOf(() => find(db, { collection: 'c' }))).toBe('ARE_CLOSED');
    expect(codeOf(() => aggregate(db, groupQuery('c')))).toBe('ARE_CLOSED');
    expect(snapshotStats(db).entries).toBe(0);
  });

  it('estimate a document by its text, nested values included', () => {
    const base = documentBytes('ab', {});
    const field = SNAPSHOT_FIELD_OVERHEAD_BYTES + 2; // a one-letter name
    expect(base).toBe(SNAPSHOT_ROW_OVERHEAD_BYTES + 4);
    expect(documentBytes('ab', { s: 'xyz' })).toBe(base + field + 6);
    expect(documentBytes('ab', { n: 1.5, b: true, z: null })).toBe(base + 3 * (field + 8));
    expect(documentBytes('ab', { o: { k: [1, 'é'] } })).toBe(base + field + 2 * '{"k":[1,"é"]}'.length);
  });

  it('reject invalid bounds and invalid collection names', () => {
    const db = open(0);
    expect(codeOf(() => configureSnapshots(db, { entriesMax: -1 }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => configureSnapshots(db, { bytesMax: 1.5 }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => configureSnapshots(db, { entriesMax: Number.NaN }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => [...collectionRows(db, '')])).not.toBe('none');
    expect(snapshotStats(db).collections).toEqual([]);
    db.close();
  });
});

describe('documentReader', () => {
  it('answers what db.get answers, from a held snapshot, through writes, remote entries and a drop', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom('put', 'delete', 'remote', 'fill', 'drop'),
            id: fc.constantFrom('a', 'b', 'c', 'd'),
            n: fc.integer({ min: 0, max: 9 }),
          }),
          { maxLength: 30 },
        ),
        (ops) => {
          const db = open(0);
          const other = open(1);
          let read = documentReader(db, 'c');
          for (const op of ops) {
            if (op.kind === 'put') db.collection('c').put(op.id, { n: op.n });
            else if (op.kind === 'delete') db.collection('c').delete(op.id);
            else if (op.kind === 'remote') {
              other.collection('c').put(op.id, { n: op.n, from: 'other' });
              sync(other, db);
            } else if (op.kind === 'fill') {
              [...collectionRows(db, 'c')];
              read = documentReader(db, 'c');
            } else dropSnapshots(db);
            for (const id of ['a', 'b', 'c', 'd', 'missing']) expect(read(id)).toEqual(db.get('c', id));
          }
          db.close();
          other.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
