import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../crdt/lww.ts';
import { AregulaError } from '../errors.ts';
import { CrashPolicy, MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { identityFromSeed } from '../log/identity.ts';
import type { WriteBatch } from '../lsm/write-batch.ts';
import { Database } from './database.ts';
import { type ChangeOrigin, DERIVED_VIEW_PREFIX, type DerivedView, type DocChange } from './derived.ts';

const utf8 = new TextEncoder();
const clock = () => {
  const c = { t: 1_700_000_000_000, nowMs: () => c.t++ };
  return c;
};
const identity = (n: number) => identityFromSeed(new Uint8Array(32).fill(n + 1));
const open = (n: number, fs = new MemoryFs()) =>
  Database.open({ fs, identity: identity(n), clock: clock(), groupCommitEntries: 3 });

const PREFIX = Uint8Array.of(DERIVED_VIEW_PREFIX, 0x01);

/** The row a document has in the test's index of field `tag`: prefix ‖ tag ‖ 0 ‖ collection ‖ 0 ‖ id. */
function rowKey(collection: string, id: string, doc: JsonObject): Uint8Array | undefined {
  const tag = doc.tag;
  if (typeof tag !== 'string') return undefined;
  const body = utf8.encode(`${tag}\0${collection}\0${id}`);
  const key = new Uint8Array(PREFIX.length + body.length);
  key.set(PREFIX);
  key.set(body, PREFIX.length);
  return key;
}

/** A small secondary index (by the string field `tag`), the shape the query layer's indexes take. */
function tagIndex(): DerivedView {
  return {
    name: 'by-tag',
    prefix: PREFIX,
    stage(changes: readonly DocChange[], batch: WriteBatch) {
      for (const c of changes) {
        const old = c.before && rowKey(c.collection, c.id, c.before);
        const now = c.after && rowKey(c.collection, c.id, c.after);
        if (old !== undefined) batch.delete(old);
        if (now !== undefined) batch.put(now, new Uint8Array(0));
      }
    },
  };
}

/** The index rows the documents imply, as strings. */
function expectedRows(db: Database, collections: string[]): string[] {
  const rows: string[] = [];
  for (const c of collections) {
    for (const [id, doc] of db.collection(c).all()) {
      const key = rowKey(c, id, doc);
      if (key !== undefined) rows.push(Buffer.from(key).toString('hex'));
    }
  }
  return rows.sort();
}

const liveRows = (db: Database) => [...db.derivedRows('by-tag')].map(([k]) => Buffer.from(k).toString('hex'));

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AregulaError ? err.code : `untyped ${String(err)}`;
  }
  return 'none';
};

describe('derived views', () => {
  it('stay equal to the documents under random local and remote writes, and rebuild to the same rows', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            db: fc.integer({ min: 0, max: 1 }),
            kind: fc.constantFrom('put', 'patch', 'unset', 'delete', 'sync'),
            id: fc.constantFrom('a', 'b', 'c'),
            tag: fc.option(fc.constantFrom('red', 'blue', 'é'), { nil: undefined }),
          }),
          { maxLength: 40 },
        ),
        (ops) => {
          const dbs = [open(0), open(1)];
          for (const db of dbs) db.addDerivedView(tagIndex());
          for (const op of ops) {
            const db = dbs[op.db]!;
            const notes = db.collection('notes');
            const fields: JsonObject = op.tag === undefined ? { n: 1 } : { tag: op.tag };
            if (op.kind === 'put') notes.put(op.id, fields);
            else if (op.kind === 'patch') notes.patch(op.id, fields);
            else if (op.kind === 'unset') notes.unset(op.id, ['tag']);
            else if (op.kind === 'delete') notes.delete(op.id);
            else {
              const other = dbs[1 - op.db]!;
              const theirs = other.replica.stateVector();
              for (const [author, seq] of theirs)
                if (seq > 0)
                  db.replica.ingest(other.replica.readFeed(author, 1, { limit: 1e6, maxBytes: 1e9 }));
              // The sync really happened: this replica now holds everything the other offered.
              const ours = db.replica.stateVector();
              for (const [author, seq] of theirs) expect(ours.get(author) ?? 0).toBeGreaterThanOrEqual(seq);
            }
            expect(liveRows(db)).toEqual(expectedRows(db, ['notes']));
          }
          for (const db of dbs) {
            expect(db.rebuild()).toBe(true);
            expect(liveRows(db)).toEqual(expectedRows(db, ['notes']));
            db.close();
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('rebuild repairs a damaged derived view and reports that it differed', () => {
    const db = open(0);
    db.addDerivedView(tagIndex());
    db.collection('notes').put('a', { tag: 'red' });
    db.collection('notes').put('b', { tag: 'blue' });
    const before = liveRows(db);
    db.removeDerivedView('by-tag');
    db.collection('notes').put('c', { tag: 'green' }); // not indexed: the view is now stale
    db.addDerivedView(tagIndex());
    expect(liveRows(db)).toEqual(before);
    expect(db.rebuild()).toBe(false);
    expect(liveRows(db)).toEqual(expectedRows(db, ['notes']));
    expect(db.rebuild()).toBe(true);
    db.close();
  });

  it('are written in the same atomic batch: a crash never separates them from the documents', () => {
    for (let seed = 0; seed < 30; seed++) {
      const fs = new MemoryFs();
      let db = open(0, fs);
      db.addDerivedView(tagIndex());
      const rng = new SeededRandom(seed);
      for (let i = 0; i < 20; i++) db.collection('notes').put(`k${rng.int(5)}`, { tag: `t${rng.int(3)}` });
      fs.crash(CrashPolicy.random(new SeededRandom(seed + 1000)));
      db = open(0, fs);
      db.addDerivedView(tagIndex());
      expect(liveRows(db)).toEqual(expectedRows(db, ['notes']));
      db.close();
    }
  });

  it('a view that throws while staging aborts the write with nothing stored', () => {
    const db = open(0);
    db.collection('notes').put('a', { tag: 'red' });
    const hash = db.stateHash();
    const vector = db.replica.stateVector();
    db.addDerivedView({
      name: 'broken',
      prefix: Uint8Array.of(DERIVED_VIEW_PREFIX, 0x02),
      stage() {
        throw new Error('boom');
      },
    });
    expect(() => db.collection('notes').put('b', { tag: 'x' })).toThrow('boom');
    expect(db.collection('notes').get('b')).toBeUndefined();
    expect(db.stateHash()).toBe(hash);
    expect(db.replica.stateVector()).toEqual(vector);
    db.close();
  });

  it('registration rejects bad shapes with typed errors', () => {
    const db = open(0);
    const view = tagIndex();
    expect(codeOf(() => db.addDerivedView({ ...view, name: '' }))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.addDerivedView({ ...view, prefix: new Uint8Array(0) }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => db.addDerivedView({ ...view, prefix: Uint8Array.of(0x64, 1) }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => db.addDerivedView({ ...view, prefix: Uint8Array.of(0x78, 1) }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => db.addDerivedView({ ...view, prefix: Uint8Array.of(DERIVED_VIEW_PREFIX) }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    db.addDerivedView(view);
    expect(codeOf(() => db.addDerivedView(view))).toBe('ARE_INVALID_ARGUMENT');
    expect(
      codeOf(() =>
        db.addDerivedView({ ...view, name: 'other', prefix: Uint8Array.of(DERIVED_VIEW_PREFIX, 1, 7) }),
      ),
    ).toBe('ARE_INVALID_ARGUMENT');
    // Refused at the call, before any iteration.
    expect(codeOf(() => db.derivedRows('missing'))).toBe('ARE_INVALID_ARGUMENT');
    expect(codeOf(() => db.derivedRows('by-tag', { prefix: Uint8Array.of(DERIVED_VIEW_PREFIX) }))).toBe(
      'ARE_INVALID_ARGUMENT',
    );
    expect(codeOf(() => db.derivedRow('by-tag', Uint8Array.of(0x64)))).toBe('ARE_INVALID_ARGUMENT');
    db.close();
  });
});

describe('change listeners', () => {
  type Heard = { origin: ChangeOrigin; changes: DocChange[] };
  const listen = (db: Database) => {
    const heard: Heard[] = [];
    const stop = db.onChange((changes, origin) => heard.push({ origin, changes: [...changes] }));
    return { heard, stop };
  };

  it('hear local writes with the visible document before and after', () => {
    const db = open(0);
    const { heard, stop } = listen(db);
    db.collection('notes').put('a', { n: 1 });
    db.collection('notes').patch('a', { m: 2 });
    db.collection('notes').delete('a');
    db.collection('notes').delete('never-written');
    expect(heard).toEqual([
      { origin: 'local', changes: [{ collection: 'notes', id: 'a', before: undefined, after: { n: 1 } }] },
      {
        origin: 'local',
        changes: [{ collection: 'notes', id: 'a', before: { n: 1 }, after: { m: 2, n: 1 } }],
      },
      {
        origin: 'local',
        changes: [{ collection: 'notes', id: 'a', before: { m: 2, n: 1 }, after: undefined }],
      },
    ]);
    stop();
    db.collection('notes').put('b', { n: 1 });
    expect(heard).toHaveLength(3);
    db.close();
  });

  it('hear remote entries once, and not a write that changes nothing visible', () => {
    const a = open(0);
    const b = open(1);
    a.collection('notes').put('x', { v: 'a' });
    a.commit(); // only signed entries are offered
    const { heard } = listen(b);
    const wire = () =>
      a.replica.readFeed(Buffer.from(a.identity.publicKey).toString('hex'), 1, { limit: 100, maxBytes: 1e9 });
    b.replica.ingest(wire());
    b.replica.ingest(wire()); // a duplicate delivery changes nothing
    expect(heard).toEqual([
      { origin: 'remote', changes: [{ collection: 'notes', id: 'x', before: undefined, after: { v: 'a' } }] },
    ]);
    b.collection('notes').patch('x', { v: 'a' }); // the same visible value, a newer stamp
    expect(heard).toHaveLength(1);
    a.close();
    b.close();
  });

  it('a throwing listener does not stop the others or undo the write', () => {
    const db = open(0);
    const seen: string[] = [];
    db.onChange(() => {
      throw new Error('listener failed');
    });
    db.onChange((changes) => seen.push(changes[0]!.id));
    expect(() => db.collection('notes').put('a', { n: 1 })).toThrow('listener failed');
    expect(seen).toEqual(['a']);
    expect(db.collection('notes').get('a')).toEqual({ n: 1 });
    db.close();
  });

  it('hear what a rebuild changed', () => {
    const db = open(0);
    db.collection('notes').put('a', { n: 1 });
    const { heard } = listen(db);
    expect(db.rebuild()).toBe(true);
    expect(heard).toEqual([]);
    db.close();
  });
});
