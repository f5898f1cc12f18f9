/**
 * The two systems of the `query` suite, behind one interface.
 *
 * - `aregula`: the database on a `NodeFs` (Node signer, system clock), documents loaded in
 *   transactions of {@link LOAD_BATCH_DOCS}, secondary indexes on `tag` and `score`; queries
 *   through the planner (`findPlanned`), aggregations by `aggregate`, the live query by
 *   `subscribe` (a sample's write is timed until its delivery).
 * - `better-sqlite3`: a file database in WAL mode with synchronous=NORMAL, one table
 *   `docs(id TEXT PRIMARY KEY, body TEXT)` of JSON text, expression indexes on
 *   `json_extract(body,'$.tag')`, `json_extract(body,'$.score')` and the pair of `grp` and
 *   `score` (the same three indexes);
 *   results ordered by id as Aregula's are, bodies parsed back to objects. SQLite has no live
 *   queries: its live update is the write followed by re-running the query, which is what an
 *   application does on SQLite's update hook.
 */

import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { JsonObject } from '../../../engine/crdt/lww.ts';
import { Database } from '../../../engine/db/database.ts';
import { systemClock } from '../../../engine/io/clock.ts';
import { NodeFs } from '../../../engine/io/node-fs.ts';
import { identityFromSeed } from '../../../engine/log/identity.ts';
import { nodeSigner } from '../../../engine/log/node-signer.ts';
import { aggregatePlanned } from '../../../engine/query/aggregate-plan.ts';
import { subscribe } from '../../../engine/query/live.ts';
import { findPlanned } from '../../../engine/query/plan-run.ts';
import { createIndex } from '../../../engine/query/secondary-index.ts';
import type { AggregateQuery, Query, QueryResult } from '../../../engine/query/types.ts';
import { type QueryData, SCAN_SUBSTRING } from './data.ts';

/** Documents per load transaction (Aregula) while filling a store. */
export const LOAD_BATCH_DOCS = 500;
/** The collection (Aregula) / table (SQLite) name. */
const COLLECTION = 'docs';

/** One group of the group-by workload: its key, row count, and the sum and mean of `score`. */
export interface GroupFigures {
  grp: string;
  count: number;
  sum: number;
  avg: number;
}

/** What each workload asks of a system. Every method returns what it found, for checks. */
export interface QueryStore {
  /** Ids of the documents whose `tag` is `tag`, in id order. */
  eq(tag: string): string[];
  /** Ids of the documents with `lo <= score < hi`, in id order. */
  range(lo: number, hi: number): string[];
  /** Ids of the documents whose `name` contains {@link SCAN_SUBSTRING} (LIKE, no index). */
  scan(): string[];
  /** Count, sum and mean of `score` per `grp`, in `grp` order. */
  groupBy(): GroupFigures[];
  /** Writes `score` into the `k`-th document of the live tag and resolves with the live result's ids once it is current. */
  liveWrite(k: number, score: number): Promise<string[]>;
  close(): void;
}

/** A system: opens a store in `dir` holding `data`. */
export type QuerySystemOpen = (dir: string, data: QueryData) => QueryStore;

const eqQuery = (tag: string): Query => ({
  collection: COLLECTION,
  where: { field: 'tag', op: 'eq', value: tag },
});
const ids = (r: QueryResult) => r.rows.map((row) => row.id);
const GROUP_QUERY: AggregateQuery = {
  collection: COLLECTION,
  groupBy: ['grp'],
  aggregates: [
    { as: 'count', fn: 'count' },
    { as: 'sum', fn: 'sum', field: 'score' },
    { as: 'avg', fn: 'avg', field: 'score' },
  ],
};

/** The Aregula store. */
export function openAregula(dir: string, data: QueryData): QueryStore {
  const db = Database.open({
    fs: new NodeFs(dir),
    identity: identityFromSeed(new Uint8Array(32).fill(0x51)),
    clock: systemClock,
    signer: nodeSigner,
  });
  for (let at = 0; at < data.n; at += LOAD_BATCH_DOCS) {
    db.transaction((tx) => {
      for (let i = at; i < Math.min(data.n, at + LOAD_BATCH_DOCS); i++)
        tx.put(COLLECTION, data.ids[i]!, data.docs[i] as JsonObject);
    });
  }
  db.commit();
  createIndex(db, { collection: COLLECTION, fields: ['tag'] });
  createIndex(db, { collection: COLLECTION, fields: ['score'] });
  createIndex(db, { collection: COLLECTION, fields: ['grp', 'score'] });
  let waiting: ((ids: string[]) => void) | undefined;
  const stop = subscribe(db, eqQuery(data.liveTag), (r) => {
    waiting?.(ids(r));
    waiting = undefined;
  });
  return {
    eq: (tag) => ids(findPlanned(db, eqQuery(tag))),
    range: (lo, hi) =>
      ids(
        findPlanned(db, {
          collection: COLLECTION,
          where: {
            and: [
              { field: 'score', op: 'gte', value: lo },
              { field: 'score', op: 'lt', value: hi },
            ],
          },
        }),
      ),
    scan: () =>
      ids(
        findPlanned(db, {
          collection: COLLECTION,
          where: { field: 'name', op: 'like', pattern: `%${SCAN_SUBSTRING}%` },
        }),
      ),
    groupBy: () =>
      aggregatePlanned(db, GROUP_QUERY).map((g) => ({
        grp: g.group[0] as string,
        count: g.values.count as number,
        sum: g.values.sum as number,
        avg: g.values.avg as number,
      })),
    liveWrite(k, score) {
      const delivered = new Promise<string[]>((resolve) => {
        waiting = resolve;
      });
      db.collection(COLLECTION).patch(data.liveIds[k % data.liveIds.length]!, { score });
      return delivered;
    },
    close() {
      stop();
      db.close();
    },
  };
}

interface IdBody {
  id: string;
  body: string;
}

/** The better-sqlite3 store. */
export function openSqlite(dir: string, data: QueryData): QueryStore {
  const db = new BetterSqlite3(join(dir, 'query.sqlite'));
  db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;');
  db.exec('CREATE TABLE docs(id TEXT PRIMARY KEY, body TEXT);');
  const insert = db.prepare('INSERT INTO docs(id, body) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < data.n; i++) insert.run(data.ids[i]!, JSON.stringify(data.docs[i]!));
  })();
  db.exec("CREATE INDEX docs_tag ON docs(json_extract(body, '$.tag'));");
  db.exec("CREATE INDEX docs_score ON docs(json_extract(body, '$.score'));");
  db.exec("CREATE INDEX docs_grp_score ON docs(json_extract(body, '$.grp'), json_extract(body, '$.score'));");
  db.exec('ANALYZE;');
  const eq = db.prepare("SELECT id, body FROM docs WHERE json_extract(body, '$.tag') = ? ORDER BY id");
  const range = db.prepare(
    "SELECT id, body FROM docs WHERE json_extract(body, '$.score') >= ? AND json_extract(body, '$.score') < ? ORDER BY id",
  );
  const scan = db.prepare("SELECT id, body FROM docs WHERE json_extract(body, '$.name') LIKE ? ORDER BY id");
  const group = db.prepare(
    "SELECT json_extract(body, '$.grp') AS grp, count(*) AS count, sum(json_extract(body, '$.score')) AS sum, " +
      "avg(json_extract(body, '$.score')) AS avg FROM docs GROUP BY 1 ORDER BY 1",
  );
  const update = db.prepare("UPDATE docs SET body = json_set(body, '$.score', ?) WHERE id = ?");
  // Documents cross the boundary as objects, as Aregula's do: every body is parsed.
  const parsedIds = (rows: IdBody[]) => rows.filter((r) => JSON.parse(r.body) !== null).map((r) => r.id);
  return {
    eq: (tag) => parsedIds(eq.all(tag) as IdBody[]),
    range: (lo, hi) => parsedIds(range.all(lo, hi) as IdBody[]),
    scan: () => parsedIds(scan.all(`%${SCAN_SUBSTRING}%`) as IdBody[]),
    groupBy: () => group.all() as GroupFigures[],
    async liveWrite(k, score) {
      update.run(score, data.liveIds[k % data.liveIds.length]!);
      return parsedIds(eq.all(data.liveTag) as IdBody[]);
    },
    close: () => db.close(),
  };
}

/** The systems by name, in table order. */
export const QUERY_SYSTEMS: ReadonlyMap<string, QuerySystemOpen> = new Map([
  ['aregula', openAregula],
  ['better-sqlite3', openSqlite],
]);
