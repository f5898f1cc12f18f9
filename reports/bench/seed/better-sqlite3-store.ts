/**
 * The `better-sqlite3` system of the `seed` suite: SQLite in-process through better-sqlite3, a
 * file database in WAL mode with `synchronous=NORMAL` (commits append to the WAL without an
 * fsync, like Aregula's unsynced writes), one table `docs(id TEXT PRIMARY KEY, doc TEXT)`.
 * Writes are ONE prepared `INSERT OR REPLACE` each, in autocommit (no wrapping transaction);
 * reads a prepared `SELECT` by primary key. Documents cross the boundary as objects, so the
 * JSON encode on write and the parse on read are counted, as they are for Aregula.
 */

import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { assert } from '../../../engine/assert.ts';
import type { SeedData } from './data.ts';
import type { DocStore, DocSystem } from './doc-store.ts';

/** The connection settings every open applies (the seed article's configuration). */
export const SQLITE_PRAGMAS = ['PRAGMA journal_mode=WAL;', 'PRAGMA synchronous=NORMAL;'] as const;
/** The schema, created once per database file. */
export const SQLITE_SCHEMA = 'CREATE TABLE IF NOT EXISTS docs(id TEXT PRIMARY KEY, doc TEXT);';
/** The database file inside a store's directory. */
export const SQLITE_FILE = 'seed.sqlite';

type Db = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;
interface DocRow {
  doc: string;
}

/** An open connection with its prepared statements. */
class Connection {
  readonly db: Db;
  readonly insert: Statement;
  readonly select: Statement;

  constructor(file: string) {
    this.db = new BetterSqlite3(file);
    try {
      for (const pragma of SQLITE_PRAGMAS) this.db.exec(pragma);
      const mode = this.db.pragma('journal_mode', { simple: true });
      assert(mode === 'wal', `better-sqlite3 journal_mode is ${String(mode)}, expected wal`);
      this.db.exec(SQLITE_SCHEMA);
      this.insert = this.db.prepare('INSERT OR REPLACE INTO docs(id, doc) VALUES (?, ?)');
      this.select = this.db.prepare('SELECT doc FROM docs WHERE id = ?');
    } catch (error) {
      this.db.close();
      throw error;
    }
  }
}

/** A store on a better-sqlite3 file database. */
class BetterSqlite3Store implements DocStore {
  readonly lastWriteSignatures = undefined;
  private conn: Connection | undefined;

  constructor(
    private readonly file: string,
    private readonly data: SeedData,
  ) {
    this.conn = new Connection(file);
  }

  private open(): Connection {
    assert(this.conn !== undefined, 'better-sqlite3 store is closed');
    return this.conn;
  }

  async writeAll(): Promise<void> {
    const insert = this.open().insert;
    const { ids, docs } = this.data;
    for (let i = 0; i < ids.length; i++) insert.run(ids[i]!, JSON.stringify(docs[i]!));
  }

  async readPlanned(): Promise<void> {
    const select = this.open().select;
    let found = 0;
    for (const id of this.data.readIds) {
      const row = select.get(id) as DocRow | undefined;
      if (row !== undefined && JSON.parse(row.doc) !== undefined) found++;
    }
    assert(
      found === this.data.readIds.length,
      `better-sqlite3 found ${found} of ${this.data.readIds.length}`,
    );
  }

  async load(): Promise<void> {
    const { db, insert } = this.open();
    const { ids, texts } = this.data;
    db.transaction(() => {
      for (let i = 0; i < ids.length; i++) insert.run(ids[i]!, texts[i]!);
    })();
  }

  async readBack(ids: readonly string[]): Promise<(unknown | undefined)[]> {
    const select = this.open().select;
    return ids.map((id) => {
      const row = select.get(id) as DocRow | undefined;
      return row === undefined ? undefined : (JSON.parse(row.doc) as unknown);
    });
  }

  async checkReads(): Promise<(unknown | undefined)[]> {
    return this.readBack(this.data.readIds);
  }

  async reopen(): Promise<void> {
    this.open().db.close();
    this.conn = undefined;
    this.conn = new Connection(this.file);
  }

  async close(): Promise<void> {
    this.conn?.db.close();
    this.conn = undefined;
  }
}

/** The `better-sqlite3` system. */
export const betterSqlite3System: DocSystem = {
  name: 'better-sqlite3',
  async open(dir: string, data: SeedData): Promise<DocStore> {
    return new BetterSqlite3Store(join(dir, SQLITE_FILE), data);
  },
};
