import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Database } from '../db/database.ts';
import { CrashPolicy, MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { type Checkpoint, checkpointNameOf, decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';
import {
  type CollectionVectorIndex,
  createVectorIndex,
  type VectorIndexOptions,
} from './collection-index.ts';
import { codeOf, openDb, randomVector, syncInto } from './db-test-support.ts';
import { readFieldVector } from './vector-field.ts';

const DIM = 5;
const GRAPH = 'notes.hnsw';
const optionsOf = (fs: MemoryFs): VectorIndexOptions => ({
  collection: 'notes',
  field: 'emb',
  dimension: DIM,
  m: 8,
  efConstruction: 64,
  persist: { fs, name: GRAPH },
});

/** The index holds exactly the documents' valid vectors (and the same vectors), and every invalid one. */
function expectFollows(db: Database, index: CollectionVectorIndex): void {
  const valid = new Map<string, Float32Array>();
  const invalid: string[] = [];
  for (const [id, doc] of db.documents('notes')) {
    const read = readFieldVector(doc, id, { field: 'emb', dimension: DIM, metric: 'cosine' });
    if (read.kind === 'vector') valid.set(id, read.vector);
    if (read.kind === 'invalid') invalid.push(id);
  }
  expect([...index.hnsw.liveIds()].sort()).toEqual([...valid.keys()].sort());
  for (const [id, v] of valid) {
    const q = Array.from(v);
    expect(index.search(q, { k: 1, filter: (_d, x) => x === id })[0]?.id).toBe(id);
    expect(index.hnsw.score(q, id)).toBeCloseTo(1, 5);
  }
  expect(
    index
      .unindexedDocuments()
      .map((u) => u.id)
      .sort(),
  ).toEqual(invalid.sort());
}

function writeSome(db: Database, rng: SeededRandom, n: number): void {
  for (let i = 0; i < n; i++) {
    const id = `d${rng.int(30)}`;
    const roll = rng.int(6);
    if (roll === 0) db.collection('notes').delete(id);
    else if (roll === 1) db.collection('notes').patch(id, { emb: null });
    else db.collection('notes').put(id, { emb: randomVector(rng, DIM) });
  }
}

describe('vector index checkpoints', () => {
  it('resume by replaying only the documents touched since, local and remote, through crashes', () => {
    for (let seed = 0; seed < 10; seed++) {
      const dbFs = new MemoryFs();
      const graphFs = new MemoryFs();
      const rng = new SeededRandom(seed);
      let db = openDb(0, dbFs);
      const peer = openDb(1);
      peer.collection('notes').put('bad', { emb: [1, 2] }); // stored, never indexed
      syncInto(db, peer);
      let index = createVectorIndex(db, optionsOf(graphFs));
      writeSome(db, rng, 50);
      db.commit();
      index.checkpoint();
      writeSome(db, rng, 8);
      writeSome(peer, rng, 4);
      syncInto(db, peer);
      if (seed % 2 === 0) db.commit();
      dbFs.crash(CrashPolicy.random(new SeededRandom(seed + 50)));
      graphFs.crash(CrashPolicy.random(new SeededRandom(seed + 60)));
      db = openDb(0, dbFs);
      index = createVectorIndex(db, optionsOf(graphFs));
      expect(index.stats()).toMatchObject({ source: 'checkpoint', catchUp: 'replay' });
      expect(index.stats().reconciledChanges).toBeLessThanOrEqual(12);
      expect(index.stats().unindexed.dimension).toBe(1);
      expectFollows(db, index);
      db.close();
      peer.close();
    }
  });

  it('fall back to reading every document when the feeds no longer match', () => {
    const dbFs = new MemoryFs();
    const graphFs = new MemoryFs();
    const rng = new SeededRandom(1);
    let db = openDb(0, dbFs);
    let index = createVectorIndex(db, optionsOf(graphFs));
    writeSome(db, rng, 20);
    db.commit();
    writeSome(db, rng, 3); // covered by the checkpoint but never synced
    index.checkpoint();
    dbFs.crash(CrashPolicy.loseAll);
    db = openDb(0, dbFs);
    writeSome(db, rng, 3); // the same seqs again, different entries
    index = createVectorIndex(db, optionsOf(graphFs));
    expect(index.stats()).toMatchObject({ source: 'checkpoint', catchUp: 'scan' });
    expectFollows(db, index);
    db.close();
  });

  it('fall back when the checkpoint is damaged, missing, names other graph bytes, or a rebuild changed documents', () => {
    const dbFs = new MemoryFs();
    const graphFs = new MemoryFs();
    const rng = new SeededRandom(2);
    const db = openDb(0, dbFs);
    let index = createVectorIndex(db, optionsOf(graphFs));
    writeSome(db, rng, 20);
    index.close({ checkpoint: true });
    const reopen = () => {
      const again = createVectorIndex(db, optionsOf(graphFs));
      const stats = again.stats();
      expectFollows(db, again);
      again.close();
      return stats.catchUp;
    };
    expect(reopen()).toBe('replay');
    const ckpt = checkpointNameOf(GRAPH);
    const h = graphFs.open(ckpt);
    const byte = h.read(30, 1)[0]!;
    h.write(30, Uint8Array.of(byte ^ 1));
    expect(reopen()).toBe('scan');
    h.write(30, Uint8Array.of(byte));
    h.close();
    expect(reopen()).toBe('replay');
    // The graph saved again without its checkpoint (as a crash between the two would leave it).
    index = createVectorIndex(db, optionsOf(graphFs));
    writeSome(db, rng, 5);
    index.hnsw.save(graphFs, GRAPH);
    index.close();
    expect(reopen()).toBe('scan');
    index = createVectorIndex(db, optionsOf(graphFs));
    index.checkpoint();
    expect(db.rebuild()).toBe(true); // nothing changed: the checkpoint stays
    expect(graphFs.exists(ckpt)).toBe(true);
    index.close();
    graphFs.delete(ckpt);
    expect(reopen()).toBe('scan');
  });

  it('the format round-trips and any damaged byte is a CorruptionError', () => {
    const sample: Checkpoint = {
      graphBytes: 123_456,
      graphCrc: 0xdeadbeef,
      marks: [
        { author: new Uint8Array(32).fill(7), seq: 42, hash: new Uint8Array(32).fill(9) },
        { author: new Uint8Array(32).fill(8), seq: 2 ** 40, hash: new Uint8Array(32).fill(1) },
      ],
      unindexed: [
        { id: 'é-doc', problem: 'dimension', detail: 'has 2 components' },
        { id: 'z', problem: 'zero-vector', detail: '' },
      ],
    };
    const bytes = encodeCheckpoint(sample);
    expect(decodeCheckpoint(bytes, 'x')).toEqual(sample);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, flip) => {
          const bad = bytes.slice();
          bad[at]! ^= flip;
          expect(codeOf(() => decodeCheckpoint(bad, 'x'))).toBe('ARE_CORRUPTION');
        },
      ),
      { numRuns: 200 },
    );
    for (let cut = 0; cut < bytes.length; cut += 7)
      expect(codeOf(() => decodeCheckpoint(bytes.subarray(0, cut), 'x'))).toBe('ARE_CORRUPTION');
  });
});
