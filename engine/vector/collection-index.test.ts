import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../crdt/lww.ts';
import type { Database } from '../db/database.ts';
import { CrashPolicy, MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import {
  type CollectionVectorIndex,
  createVectorIndex,
  type VectorIndexOptions,
} from './collection-index.ts';
import { codeOf, openDb, randomVector, syncInto } from './db-test-support.ts';
import { readFieldVector } from './vector-field.ts';

const DIM = 6;
const base: VectorIndexOptions = {
  collection: 'notes',
  field: 'emb',
  dimension: DIM,
  m: 8,
  efConstruction: 64,
};
const query = (seed: number) => randomVector(new SeededRandom(seed), DIM);

/** The index holds exactly the documents' valid vectors, and knows every invalid one. */
function expectFollowsDocuments(db: Database, index: CollectionVectorIndex): void {
  const valid: string[] = [];
  const invalid: string[] = [];
  for (const [id, doc] of db.documents('notes')) {
    const read = readFieldVector(doc, id, { field: 'emb', dimension: DIM, metric: 'cosine' });
    if (read.kind === 'vector') valid.push(id);
    if (read.kind === 'invalid') invalid.push(id);
  }
  expect([...index.hnsw.liveIds()].sort()).toEqual(valid.sort());
  expect(
    index
      .unindexedDocuments()
      .map((u) => u.id)
      .sort(),
  ).toEqual(invalid.sort());
}

/** Answers of a few queries at a beam wide enough to be exact on these small sets. */
function answers(index: CollectionVectorIndex): unknown[] {
  const out: unknown[] = [];
  for (let q = 0; q < 5; q++) {
    const hits = index.search(query(100 + q), { k: 5, ef: 400 });
    expect(hits).toEqual(index.searchExact(query(100 + q), { k: 5 }));
    out.push(hits);
  }
  return out;
}

describe('a collection vector index', () => {
  it('follows local puts, patches, unsets and deletes', () => {
    const db = openDb(0);
    const index = createVectorIndex(db, base);
    const notes = db.collection('notes');
    const rng = new SeededRandom(3);
    for (let i = 0; i < 40; i++) notes.put(`n${i}`, { emb: randomVector(rng, DIM), tag: i % 3 });
    expect(index.size).toBe(40);
    notes.patch('n1', { emb: randomVector(rng, DIM) });
    notes.patch('n2', { emb: null });
    notes.unset('n3', ['emb']);
    notes.delete('n4');
    notes.patch('n5', { tag: 9 }); // no vector change
    db.transaction((tx) => {
      tx.put('notes', 'n6', { emb: randomVector(rng, DIM) });
      tx.put('other', 'n7', { emb: [1] }); // another collection: not indexed, not checked
    });
    expect(index.size).toBe(37);
    expect(index.has('n2') || index.has('n3') || index.has('n4')).toBe(false);
    expect(Array.from(index.hnsw.mustGetVector('n1'))).not.toEqual(
      Array.from(index.hnsw.mustGetVector('n0')),
    );
    expectFollowsDocuments(db, index);
    answers(index);
    db.close();
  });

  it('indexes documents that existed before it was created, and rebuild gives the same answers', () => {
    const db = openDb(0);
    const rng = new SeededRandom(5);
    for (let i = 0; i < 60; i++)
      db.collection('notes').put(`d${(i * 7) % 50}`, { emb: randomVector(rng, DIM) });
    const late = createVectorIndex(db, base);
    expect(late.stats().reconciledChanges).toBe(50);
    for (let i = 0; i < 30; i++) {
      const id = `d${rng.int(60)}`;
      if (rng.int(4) === 0) db.collection('notes').delete(id);
      else db.collection('notes').put(id, { emb: randomVector(rng, DIM) });
    }
    const live = answers(late);
    expectFollowsDocuments(db, late);
    late.rebuild();
    expect(answers(late)).toEqual(live);
    expect(db.rebuild()).toBe(true); // the index's view stores no rows, so the rebuild agrees
    expect(answers(late)).toEqual(live);
    late.close();
    const fresh = createVectorIndex(db, base);
    expect(answers(fresh)).toEqual(live);
    db.close();
  });

  it('the same documents from the same seed give the same graph, byte for byte', () => {
    const build = () => {
      const db = openDb(0);
      const rng = new SeededRandom(8);
      for (let i = 0; i < 50; i++) db.collection('notes').put(`d${i}`, { emb: randomVector(rng, DIM) });
      const fs = new MemoryFs();
      const index = createVectorIndex(db, { ...base, persist: { fs, name: 'notes.hnsw' } });
      index.rebuild();
      index.checkpoint();
      const h = fs.open('notes.hnsw');
      const bytes = h.read(0, h.size());
      h.close();
      db.close();
      return bytes;
    };
    expect(build()).toEqual(build());
  });

  it('refuses a bad vector in a local write with a typed error, storing nothing', () => {
    const db = openDb(0);
    const index = createVectorIndex(db, base);
    const notes = db.collection('notes');
    notes.put('ok', { emb: query(1) });
    const hash = db.stateHash();
    const vector = db.replica.stateVector();
    const bad: unknown[] = [
      [1, 2, 3], // wrong dimension
      [0, 0, 0, 0, 0, 0], // zero under cosine
      'not a vector',
      { 0: 1 },
      [1, 2, 3, 4, 5, '6'],
      [1, 2, 3, 4, 5, 1e39], // overflows float32
      [1, 2, 3, 4, 5, [6]],
    ];
    for (const emb of bad) {
      expect(codeOf(() => notes.put('bad', { emb } as JsonObject))).toBe('ARE_INVALID_ARGUMENT');
      expect(codeOf(() => notes.patch('ok', { emb } as JsonObject))).toBe('ARE_INVALID_ARGUMENT');
      expect(
        codeOf(() =>
          db.transaction((tx) => {
            tx.put('notes', 'fine', { emb: query(2) });
            tx.put('notes', 'bad', { emb } as JsonObject);
          }),
        ),
      ).toBe('ARE_INVALID_ARGUMENT');
    }
    // NaN and Infinity are not JSON: the document layer refuses them before the index sees them.
    expect(codeOf(() => notes.put('bad', { emb: [1, 2, 3, 4, 5, Number.NaN] }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => notes.put('bad', { emb: [1, 2, 3, 4, 5, Number.POSITIVE_INFINITY] }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(notes.get('bad')).toBeUndefined();
    expect(notes.get('fine')).toBeUndefined();
    expect(db.stateHash()).toBe(hash);
    expect(db.replica.stateVector()).toEqual(vector);
    expect(index.size).toBe(1);
    expect(index.unindexedDocuments()).toEqual([]);
    // Under l2 and dot a zero vector is a fine vector.
    const dot = createVectorIndex(db, { ...base, field: 'z', metric: 'dot' });
    notes.put('zero', { z: [0, 0, 0, 0, 0, 0] });
    expect(dot.has('zero')).toBe(true);
    db.close();
  });

  it('stores a bad vector from another device without indexing it, the same way on every replica', () => {
    const writer = openDb(0); // no index here, so it accepts anything
    const rng = new SeededRandom(9);
    writer.collection('notes').put('good', { emb: randomVector(rng, DIM) });
    writer.collection('notes').put('short', { emb: [1, 2] });
    writer.collection('notes').put('zero', { emb: [0, 0, 0, 0, 0, 0] });
    writer.collection('notes').put('text', { emb: 'hello' });
    writer.collection('notes').put('big', { emb: [1, 1, 1, 1, 1, 1e39] });
    const replicas = [openDb(1), openDb(2)];
    const indexes = replicas.map((db) => createVectorIndex(db, base));
    for (const db of replicas) syncInto(db, writer);
    for (const [i, db] of replicas.entries()) {
      expect(db.collection('notes').get('short')).toEqual({ emb: [1, 2] });
      expect(db.stateHash()).toBe(writer.stateHash());
      const stats = indexes[i]!.stats();
      expect(stats.indexed).toBe(1);
      expect(stats.unindexed).toMatchObject({ dimension: 1, 'zero-vector': 1, 'not-array': 1, overflow: 1 });
      expectFollowsDocuments(db, indexes[i]!);
    }
    expect(indexes[0]!.unindexedDocuments().sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(
      indexes[1]!.unindexedDocuments().sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    // A later good vector from the writer fixes the document everywhere.
    writer.collection('notes').put('short', { emb: randomVector(rng, DIM) });
    for (const [i, db] of replicas.entries()) {
      syncInto(db, writer);
      expect(indexes[i]!.has('short')).toBe(true);
      expect(indexes[i]!.stats().unindexed.dimension).toBe(0);
      // The rebuild path never refuses a stored document either.
      expect(db.rebuild()).toBe(true);
      indexes[i]!.rebuild();
      expectFollowsDocuments(db, indexes[i]!);
      db.close();
    }
    writer.close();
  });

  it('two devices syncing both ways end with indexes that answer identically', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            db: fc.integer({ min: 0, max: 1 }),
            kind: fc.constantFrom('put', 'put', 'patch-null', 'delete', 'sync'),
            id: fc.integer({ min: 0, max: 15 }),
            seed: fc.integer({ min: 0, max: 1000 }),
          }),
          { maxLength: 50 },
        ),
        (ops) => {
          const dbs = [openDb(0), openDb(1)];
          const indexes = dbs.map((db) => createVectorIndex(db, base));
          for (const op of ops) {
            const db = dbs[op.db]!;
            const notes = db.collection('notes');
            if (op.kind === 'put') notes.put(`k${op.id}`, { emb: query(op.seed) });
            else if (op.kind === 'patch-null') notes.patch(`k${op.id}`, { emb: null });
            else if (op.kind === 'delete') notes.delete(`k${op.id}`);
            else syncInto(db, dbs[1 - op.db]!);
            expectFollowsDocuments(db, indexes[op.db]!);
          }
          syncInto(dbs[0]!, dbs[1]!);
          syncInto(dbs[1]!, dbs[0]!);
          expect(dbs[0]!.stateHash()).toBe(dbs[1]!.stateHash());
          expect(answers(indexes[0]!)).toEqual(answers(indexes[1]!));
          for (const db of dbs) db.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('bad options and a second index on the same field are typed errors', () => {
    const db = openDb(0);
    expect(codeOf(() => createVectorIndex(db, { ...base, field: '' }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => createVectorIndex(db, { ...base, dimension: 0 }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => createVectorIndex(db, { ...base, collection: '' }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => createVectorIndex(db, { ...base, metric: 'manhattan' as 'l2' }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => createVectorIndex(db, { ...base, seed: 1.5 }))).toBe('ARE_INVALID_ARGUMENT');
    expect(
      codeOf(() => createVectorIndex(db, { ...base, persist: { fs: new MemoryFs(), name: 'a/b' } })),
    ).toBe('ARE_INVALID_ARGUMENT');
    expect(
      codeOf(() =>
        createVectorIndex(db, { ...base, persist: { fs: new MemoryFs(), name: 'x'.repeat(120) } }),
      ),
    ).toBe('ARE_INVALID_ARGUMENT');
    expect(
      codeOf(() =>
        createVectorIndex(db, { ...base, persist: {} as unknown as { fs: MemoryFs; name: string } }),
      ),
    ).toBe('ARE_INVALID_ARGUMENT');
    const index = createVectorIndex(db, base);
    expect(codeOf(() => createVectorIndex(db, base))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => index.checkpoint())).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => index.search([1, 2], { k: 1 }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => index.search(query(1), undefined as unknown as { k: number }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => index.searchExact(query(1), null as unknown as { k: number }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => index.search(query(1), { k: 0 }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => index.search(query(1), { k: 1, ef: -1 }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => index.search(query(1), { k: 1, filter: () => true, ef: 1e9 }))).toBe(
      'ARE_LIMIT_EXCEEDED',
    );
    index.close();
    expect(codeOf(() => index.search(query(1), { k: 1 }))).toBe('ARE_INVALID_ARGUMENT');
    // Once closed it no longer checks writes, and a new index can take its place.
    db.collection('notes').put('x', { emb: [1] });
    const again = createVectorIndex(db, base);
    expect(again.stats().unindexed.dimension).toBe(1);
    db.close();
  });
});

describe('a collection vector index across restarts', () => {
  const persistOf = (fs: MemoryFs) => ({ fs, name: 'notes.hnsw' });

  it('reopens from its checkpoint and catches up on every write after it, through crashes', () => {
    for (let seed = 0; seed < 12; seed++) {
      const dbFs = new MemoryFs();
      const graphFs = new MemoryFs();
      let db = openDb(0, dbFs);
      let index = createVectorIndex(db, { ...base, persist: persistOf(graphFs) });
      const rng = new SeededRandom(seed);
      const write = (n: number) => {
        for (let i = 0; i < n; i++) {
          const id = `d${rng.int(40)}`;
          if (rng.int(5) === 0) db.collection('notes').delete(id);
          else db.collection('notes').put(id, { emb: randomVector(rng, DIM) });
        }
      };
      write(60);
      db.commit();
      index.checkpoint();
      write(1 + rng.int(20)); // some of these are not synced and may be lost by the crash
      if (seed % 2 === 0) db.commit();
      dbFs.crash(CrashPolicy.random(new SeededRandom(seed + 100)));
      graphFs.crash(CrashPolicy.random(new SeededRandom(seed + 200)));
      db = openDb(0, dbFs);
      index = createVectorIndex(db, { ...base, persist: persistOf(graphFs) });
      expect(index.stats().source).toBe('checkpoint');
      expect(index.stats().reconciledChanges).toBeLessThanOrEqual(21 * 2);
      expectFollowsDocuments(db, index);
      const live = answers(index);
      index.rebuild();
      expect(answers(index)).toEqual(live);
      db.close();
    }
  });

  it('a damaged or mismatched checkpoint is discarded and the index rebuilt from the documents', () => {
    const dbFs = new MemoryFs();
    const graphFs = new MemoryFs();
    const db = openDb(0, dbFs);
    const rng = new SeededRandom(4);
    let index = createVectorIndex(db, { ...base, persist: persistOf(graphFs) });
    for (let i = 0; i < 30; i++) db.collection('notes').put(`d${i}`, { emb: randomVector(rng, DIM) });
    index.close({ checkpoint: true });
    const live = (() => {
      const probe = createVectorIndex(db, { ...base, persist: persistOf(graphFs) });
      expect(probe.stats()).toMatchObject({ source: 'checkpoint', reconciledChanges: 0 });
      const a = answers(probe);
      probe.close();
      return a;
    })();
    index = createVectorIndex(db, { ...base, m: 12, persist: persistOf(graphFs) });
    expect(index.stats()).toMatchObject({ source: 'discarded-mismatch', reconciledChanges: 30 });
    expect(answers(index)).toEqual(live);
    index.close();
    const h = graphFs.open('notes.hnsw');
    h.write(40, Uint8Array.of(h.read(40, 1)[0]! ^ 0xff));
    h.sync();
    h.close();
    index = createVectorIndex(db, { ...base, persist: persistOf(graphFs) });
    expect(index.stats()).toMatchObject({ source: 'discarded-corrupt', reconciledChanges: 30 });
    expect(answers(index)).toEqual(live);
    db.close();
  });
});
