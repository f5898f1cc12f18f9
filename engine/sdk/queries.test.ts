/**
 * The SDK's query and vector surface: find/aggregate/explain/subscribe, indexes declared
 * through it and kept across reopen, vector indexes, and close() stopping live queries.
 */

import { describe, expect, test } from 'vitest';
import { MemoryFs } from '../io/memory-fs.ts';
import { identityFromSeed } from '../log/identity.ts';
import type { QueryResult } from '../query/types.ts';
import { nodePlatform } from './node.ts';
import { open } from './open.ts';

const identity = identityFromSeed(new Uint8Array(32).fill(9));
const openDb = (storage: MemoryFs) => open({ storage, identity, platform: nodePlatform });
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const ids = (r: QueryResult) => r.rows.map((row) => row.id);

describe('SDK queries', () => {
  test('find uses a declared index, and the index is maintained across reopen', async () => {
    const storage = new MemoryFs();
    let db = await openDb(storage);
    db.createIndex({ collection: 'notes', fields: ['tag'] });
    for (let i = 0; i < 20; i++)
      db.collection('notes').put(`n${i}`, { tag: i % 2 === 0 ? 'even' : 'odd', i });
    const q = { collection: 'notes', where: { field: 'tag', op: 'eq', value: 'even' } } as const;
    expect(db.explain(q).strategy).toBe('index');
    expect(ids(db.find(q))).toEqual(['n0', 'n10', 'n12', 'n14', 'n16', 'n18', 'n2', 'n4', 'n6', 'n8']);
    await db.close();

    db = await openDb(storage);
    expect(db.indexes('notes').map((i) => i.fields)).toEqual([['tag']]);
    db.collection('notes').put('n20', { tag: 'even', i: 20 });
    db.collection('notes').delete('n0');
    expect(db.explain(q).strategy).toBe('index');
    expect(ids(db.find(q))).toEqual(['n10', 'n12', 'n14', 'n16', 'n18', 'n2', 'n20', 'n4', 'n6', 'n8']);
    expect(db.dropIndex('notes', 'tag')).toBe(true);
    expect(db.explain(q).strategy).toBe('full-scan');
    expect(ids(db.find(q))).toHaveLength(10);
    await db.close();
  });

  test('aggregate and live queries follow writes; close() stops them', async () => {
    const db = await openDb(new MemoryFs());
    const notes = db.collection('notes');
    notes.put('a', { tag: 'x', n: 1 });
    notes.put('b', { tag: 'y', n: 2 });
    expect(
      db.aggregate({
        collection: 'notes',
        groupBy: ['tag'],
        aggregates: [{ as: 'total', fn: 'sum', field: 'n' }],
      }),
    ).toEqual([
      { group: ['x'], values: { total: 1 } },
      { group: ['y'], values: { total: 2 } },
    ]);
    const seen: string[][] = [];
    const stop = db.subscribe({ collection: 'notes', orderBy: [{ field: 'n', direction: 'desc' }] }, (r) =>
      seen.push(ids(r)),
    );
    await tick();
    notes.put('c', { tag: 'x', n: 3 });
    await tick();
    expect(seen).toEqual([
      ['b', 'a'],
      ['c', 'b', 'a'],
    ]);
    stop();
    notes.put('d', { n: 4 });
    await tick();
    expect(seen).toHaveLength(2);

    const counts: unknown[] = [];
    db.subscribeAggregate({ collection: 'notes', aggregates: [{ as: 'n', fn: 'count' }] }, (rows) =>
      counts.push(rows),
    );
    await tick();
    await db.close();
    expect(() => notes.put('e', { n: 5 })).toThrow();
    await tick();
    expect(counts).toHaveLength(1);
  });

  test('a vector index through the SDK answers nearest-neighbour searches and closes with the db', async () => {
    const db = await openDb(new MemoryFs());
    const index = db.vectorIndex({ collection: 'docs', field: 'v', dimension: 2, metric: 'l2' });
    db.collection('docs').put('near', { v: [1, 1] });
    db.collection('docs').put('far', { v: [9, 9] });
    expect(index.search([0, 0], { k: 1 }).map((h) => h.id)).toEqual(['near']);
    expect(() => db.collection('docs').put('bad', { v: [1] })).toThrow(/dimension/);
    await db.close();
  });
});
