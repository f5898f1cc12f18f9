import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../crdt/lww.ts';
import { Database } from '../db/database.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { identityFromSeed } from '../log/identity.ts';
import { compilePath } from './compare.ts';
import { concatBytes, encodeValue } from './index-key.ts';
import {
  checkIndexSpec,
  createIndex,
  dropIndex,
  INDEX_CATALOG_COLLECTION,
  type IndexInfo,
  indexIdOf,
  indexPrefixOf,
  invalidDeclarations,
  listIndexes,
  openIndexes,
} from './secondary-index.ts';

const clock = () => {
  const c = { t: 1_700_000_000_000, nowMs: () => c.t++ };
  return c;
};
const open = (n: number, fs = new MemoryFs()) =>
  Database.open({ fs, identity: identityFromSeed(new Uint8Array(32).fill(n + 1)), clock: clock() });

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The rows an index over `fields` must hold, computed independently of the index code. */
function expectedRows(db: Database, info: IndexInfo): string[] {
  const getters = info.fields.map(compilePath);
  const rows: string[] = [];
  for (const [id, doc] of db.documents(info.collection)) {
    let key = info.prefix;
    for (const get of getters) key = concatBytes(key, encodeValue(get(doc, id)));
    rows.push(hex(concatBytes(key, new TextEncoder().encode(id))));
  }
  return rows.sort();
}

const liveRows = (db: Database, info: IndexInfo) => {
  const rows: string[] = [];
  for (const [k, v] of db.derivedRows(info.viewName)) {
    expect(v.length).toBe(0);
    rows.push(hex(k));
  }
  return rows;
};

const syncInto = (to: Database, from: Database) => {
  from.commit();
  for (const [author, seq] of from.replica.stateVector()) {
    if (seq === 0) continue;
    const result = to.replica.ingest(from.replica.readFeed(author, 1, { limit: 1e6, maxBytes: 1e9 }));
    expect(result.rejected).toEqual([]);
  }
};

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return 'none';
};

describe('secondary indexes', () => {
  it('are filled from stored documents when declared and follow later writes', () => {
    const db = open(0);
    const notes = db.collection('notes');
    notes.put('a', { tag: 'red', n: 3, meta: { at: 1 } });
    notes.put('b', { tag: 'blue' });
    const info = createIndex(db, { collection: 'notes', fields: ['tag', 'meta.at'] });
    expect(info.name).toBe('tag,meta.at');
    expect(liveRows(db, info)).toEqual(expectedRows(db, info));
    expect(liveRows(db, info)).toHaveLength(2);
    notes.patch('b', { meta: { at: 2 } });
    notes.delete('a');
    notes.put('c', { n: 1 });
    db.collection('other').put('x', { tag: 'red' });
    expect(liveRows(db, info)).toEqual(expectedRows(db, info));
    expect(createIndex(db, { collection: 'notes', fields: ['tag', 'meta.at'] })).toEqual(info);
    expect(db.rebuild()).toBe(true);
    db.close();
  });

  it('survive reopen and catch up with writes made while they were not registered', () => {
    const fs = new MemoryFs();
    let db = open(0, fs);
    db.collection('notes').put('a', { tag: 'red' });
    const info = createIndex(db, { collection: 'notes', fields: ['tag'], name: 'by-tag' });
    db.collection('notes').put('b', { tag: 'blue' });
    db.close();
    db = open(0, fs); // no openIndexes: these writes are not staged into the index
    db.collection('notes').put('c', { tag: 'green' });
    db.collection('notes').delete('a');
    db.close();
    db = open(0, fs);
    expect(openIndexes(db).map((i) => i.name)).toEqual(['by-tag']);
    expect(liveRows(db, info)).toEqual(expectedRows(db, info));
    db.collection('notes').put('d', { tag: 'red' });
    expect(liveRows(db, info)).toEqual(expectedRows(db, info));
    expect(liveRows(db, info)).toHaveLength(3);
    expect(db.rebuild()).toBe(true);
    db.close();
  });

  it('declarations reach other devices through sync, with the documents that came before them', () => {
    const a = open(0);
    const b = open(1);
    openIndexes(b);
    b.collection('notes').put('z', { tag: 'late' });
    a.collection('notes').put('x', { tag: 'red' });
    const info = createIndex(a, { collection: 'notes', fields: ['tag'] });
    syncInto(b, a);
    expect(listIndexes(b, 'notes')).toEqual([info]);
    expect(liveRows(b, info)).toEqual(expectedRows(b, info));
    expect(liveRows(b, info)).toHaveLength(2);
    dropIndex(a, 'notes', 'tag');
    syncInto(b, a);
    expect(listIndexes(b)).toEqual([]);
    expect([...b.documents(INDEX_CATALOG_COLLECTION)]).toEqual([]);
    a.close();
    b.close();
  });

  it('dropIndex removes the declaration and every row', () => {
    const db = open(0);
    db.collection('notes').put('a', { tag: 'red' });
    const info = createIndex(db, { collection: 'notes', fields: ['tag'] });
    expect(dropIndex(db, 'notes', 'tag')).toBe(true);
    expect(dropIndex(db, 'notes', 'tag')).toBe(false);
    expect(listIndexes(db)).toEqual([]);
    db.addDerivedView({ name: 'peek', prefix: info.prefix, stage() {} });
    expect([...db.derivedRows('peek')]).toEqual([]);
    db.close();
  });

  it('stay equal to their documents under random writes, reopens and syncs', () => {
    const doc = fc.record(
      {
        tag: fc.constantFrom('a', 'b', 'é'),
        n: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(null)),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom('put', 'patch', 'delete', 'reopen', 'sync'),
            id: fc.constantFrom('a', 'b', 'c', 'd'),
            doc,
          }),
          { maxLength: 25 },
        ),
        (ops) => {
          const fs = new MemoryFs();
          let db = open(0, fs);
          const other = open(1);
          const info = createIndex(db, { collection: 'c', fields: ['n', 'tag'] });
          for (const op of ops) {
            if (op.kind === 'put') db.collection('c').put(op.id, op.doc as JsonObject);
            else if (op.kind === 'patch') other.collection('c').patch(op.id, op.doc as JsonObject);
            else if (op.kind === 'delete') db.collection('c').delete(op.id);
            else if (op.kind === 'sync') syncInto(db, other);
            else {
              db.close();
              db = open(0, fs);
              openIndexes(db);
            }
          }
          openIndexes(db);
          expect(liveRows(db, info)).toEqual(expectedRows(db, info));
          expect(db.rebuild()).toBe(true);
          db.close();
          other.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rejects bad declarations with typed errors, and reports bad catalog documents', () => {
    const db = open(0);
    expect(codeOf(() => createIndex(db, { collection: '', fields: ['a'] }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => createIndex(db, { collection: 'c', fields: [] }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => createIndex(db, { collection: 'c', fields: ['a', 'a'] }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => createIndex(db, { collection: 'c', fields: ['_id'] }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => createIndex(db, { collection: 'c', fields: ['a..b'] }))).toBe('ARE_QUERY_INVALID');
    expect(codeOf(() => createIndex(db, { collection: 'c', fields: Array(9).fill('a') }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => createIndex(db, { collection: INDEX_CATALOG_COLLECTION, fields: ['a'] }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => createIndex(db, { collection: 'c', fields: ['a'], name: 'x'.repeat(129) }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    createIndex(db, { collection: 'c', fields: ['a'], name: 'i' });
    expect(codeOf(() => createIndex(db, { collection: 'c', fields: ['b'], name: 'i' }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    db.collection(INDEX_CATALOG_COLLECTION).put('junk', { version: 99 });
    db.collection(INDEX_CATALOG_COLLECTION).put(indexIdOf('c', 'q'), {
      version: 1,
      collection: 'c',
      fields: ['a'],
      name: 'other',
    });
    expect(listIndexes(db).map((i) => i.name)).toEqual(['i']);
    expect(invalidDeclarations(db).map((d) => d.id)).toEqual([indexIdOf('c', 'q'), 'junk']);
    expect(checkIndexSpec({ collection: 'c', fields: ['a'] }).prefix).toEqual(indexPrefixOf('c', 'a'));
    db.close();
  });
});
