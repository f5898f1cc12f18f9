import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AREGULA_GROUP_COMMIT_ENTRIES, aregulaDocSystem, expectedSignatures } from './aregula-store.ts';
import { betterSqlite3System } from './better-sqlite3-store.ts';
import { canonicalDocText, generateSeedData, type SeedData, seedDataOf } from './data.ts';
import type { DocStore, DocSystem } from './doc-store.ts';
import {
  readScript,
  runSqlite3,
  Sqlite3CliError,
  sqlite3CliSystem,
  sqlite3Version,
  sqlString,
  writeScript,
} from './sqlite3-cli-store.ts';
import { checkContents, checkPlannedReads } from './suite.ts';

const SYSTEMS: readonly DocSystem[] = [aregulaDocSystem, betterSqlite3System, sqlite3CliSystem];
const root = mkdtempSync(join(tmpdir(), 'aregula-seed-store-test-'));
let dirs = 0;
const freshDir = (label: string): string => {
  const dir = join(root, `${++dirs}-${label}`);
  mkdirSync(dir);
  return dir;
};
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Opens `system` on `data`, runs `fn`, closes. */
async function withStore<T>(
  system: DocSystem,
  data: SeedData,
  fn: (store: DocStore) => Promise<T>,
): Promise<T> {
  const store = await system.open(freshDir(system.name), data);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Every document of a store as canonical text, in id order of `data`. */
async function contents(store: DocStore, ids: readonly string[]): Promise<string[]> {
  return (await store.readBack(ids)).map((d) => (d === undefined ? 'undefined' : canonicalDocText(d)));
}

/** A data set whose ids and texts need SQL quoting and UTF-8 care. */
const awkward = seedDataOf(
  ["o'brien", 'x"y', 'ünï-cödé ✓', 'semi;colon --comment', "''"],
  [
    { title: "it's", body: 'line\nbreak and "quotes"', n: 0 },
    { title: '', body: '\\ backslash', n: -7 },
    { title: 'ünï ✓', body: '🚀 emoji', n: 3.5 },
    { title: 'DROP TABLE docs;', body: "'); DELETE FROM docs; --", n: 1e21 },
    { title: 't', body: 'b', n: 2 ** 53 - 1 },
  ],
  [4, 0, 2, 0, 3, 1],
);

describe('the sqlite3 program', () => {
  it('is installed (.ci/run installs Debian sqlite3; this test fails rather than skips without it)', () => {
    expect(sqlite3Version(), 'sqlite3 is not on PATH: apt-get install -y sqlite3').toHaveProperty('version');
  });

  it('reports SQL errors and a bad database path as Sqlite3CliError', () => {
    const dir = freshDir('cli-errors');
    const db = join(dir, 'x.sqlite');
    expect(() => runSqlite3(db, { stdinText: 'SELEC 1;\n', capture: false })).toThrow(Sqlite3CliError);
    expect(() => runSqlite3(db, { stdinText: 'SELEC 1;\n', capture: false })).toThrow(/syntax error/);
    expect(() =>
      runSqlite3(join(dir, 'no', 'such', 'dir.sqlite'), { args: ['SELECT 1;'], capture: true }),
    ).toThrow(Sqlite3CliError);
    expect(runSqlite3(db, { args: ['SELECT 40 + 2;'], capture: true })).toBe('42\n');
  });

  it('quotes SQL strings so that any text round-trips', () => {
    expect(sqlString("a'b")).toBe("'a''b'");
    expect(sqlString('')).toBe("''");
    const dir = freshDir('cli-quote');
    const texts = ["'", "''", "x'); DROP TABLE t; --", 'ü ✓ 🚀', '"'];
    const out = runSqlite3(join(dir, 'q.sqlite'), {
      stdinText: texts.map((t) => `SELECT ${sqlString(t)};`).join('\n'),
      capture: true,
    });
    expect(out).toBe(texts.map((t) => `${t}\n`).join(''));
  });

  it('scripts carry the PRAGMAs and one statement per write or read, no transaction', () => {
    const data = generateSeedData(50);
    const writes = writeScript(data).trimEnd().split('\n');
    expect(writes.slice(0, 2)).toEqual(['PRAGMA journal_mode=WAL;', 'PRAGMA synchronous=NORMAL;']);
    expect(writes).toHaveLength(52);
    expect(writes.slice(2).every((l) => l.startsWith('INSERT OR REPLACE INTO docs(id, doc) VALUES ('))).toBe(
      true,
    );
    expect(writes.some((l) => /BEGIN|COMMIT/i.test(l))).toBe(false);
    const reads = readScript(data).trimEnd().split('\n');
    expect(reads).toHaveLength(2 + data.readIds.length);
    expect(reads[2]).toBe(`SELECT doc FROM docs WHERE id = '${data.readIds[0]}';`);
  });
});

describe('the adapters', () => {
  it.each([
    ['generated', generateSeedData(200)],
    ['awkward', awkward],
  ])('agree on contents after timed writes, loads and a reopen (%s data)', async (_label, data) => {
    const seen: string[][] = [];
    for (const system of SYSTEMS) {
      for (const how of ['writeAll', 'load'] as const) {
        await withStore(system, data, async (store) => {
          await store[how]();
          await checkContents(system.name, store, data);
          seen.push(await contents(store, data.ids));
          await store.reopen();
          await checkContents(system.name, store, data);
          await checkPlannedReads(system.name, store, data);
          await store.readPlanned();
        });
      }
    }
    expect(seen).toHaveLength(6);
    for (const s of seen) expect(s).toEqual(data.docs.map(canonicalDocText));
  });

  it('answer undefined for absent ids and fail a read plan that names one', async () => {
    const data = generateSeedData(20);
    const missing = seedDataOf([...data.ids, 'doc-absent'], [...data.docs, data.docs[0]!], [3, 20, 5]);
    for (const system of SYSTEMS) {
      await withStore(system, data, async (store) => {
        await store.load();
        expect(await store.readBack(['doc-absent', data.ids[0]!])).toEqual([undefined, expect.anything()]);
      });
      // Loaded without the last document, then asked to read it.
      const partial = seedDataOf(data.ids, data.docs, [3, 5]);
      const dir = freshDir(system.name);
      const writer = await system.open(dir, partial);
      await writer.load();
      await writer.close();
      const reader = await system.open(dir, missing);
      try {
        await expect(checkPlannedReads(system.name, reader, missing)).rejects.toThrow(
          /doc-absent|answered 2 of 3/,
        );
        await expect(checkContents(system.name, reader, missing)).rejects.toThrow(
          /doc-absent reads back undefined/,
        );
        if (system.name !== 'sqlite3-cli') await expect(reader.readPlanned()).rejects.toThrow(/found 2 of 3/);
      } finally {
        await reader.close();
      }
    }
  });

  it('checkContents names a document that reads back different', async () => {
    const data = generateSeedData(10);
    const changed = seedDataOf(
      data.ids,
      data.docs.map((d, i) => (i === 7 ? { ...d, n: d.n + 1 } : d)),
      [0],
    );
    await withStore(betterSqlite3System, changed, async (store) => {
      await store.load();
      await expect(checkContents('better-sqlite3', store, data)).rejects.toThrow(
        new RegExp(`${data.ids[7]} reads back .*"n":${data.docs[7]!.n + 1}`),
      );
    });
  });

  it('aregula signs once per group commit of 256 entries plus the tail, others do not sign', async () => {
    expect(AREGULA_GROUP_COMMIT_ENTRIES).toBe(256);
    for (const n of [1, 255, 256, 257, 600]) {
      await withStore(aregulaDocSystem, generateSeedData(n), async (store) => {
        expect(store.lastWriteSignatures).toBeUndefined();
        await store.writeAll();
        expect(store.lastWriteSignatures).toBe(expectedSignatures(n));
      });
    }
    expect([1, 255, 256, 257, 600].map(expectedSignatures)).toEqual([1, 1, 1, 2, 3]);
    await withStore(betterSqlite3System, generateSeedData(5), async (store) => {
      await store.writeAll();
      expect(store.lastWriteSignatures).toBeUndefined();
    });
  });

  it('aregula checks its feed after timed writes: one verified entry per write, signed per group', async () => {
    for (const n of [1, 64, 65, 5000]) {
      await withStore(aregulaDocSystem, generateSeedData(n), async (store) => {
        await store.writeAll();
        await store.checkWrites!();
      });
    }
    await withStore(aregulaDocSystem, awkward, async (store) => {
      await store.writeAll();
      await store.checkWrites!();
    });
    // Writes the check must refuse: one entry too many, entries of other documents.
    const data = generateSeedData(70);
    await withStore(aregulaDocSystem, data, async (store) => {
      await store.writeAll();
      await store.writeAll();
      await expect(store.checkWrites!()).rejects.toThrow(/holds 140 entries for 70 writes/);
    });
    const dir = freshDir('aregula');
    const other = await aregulaDocSystem.open(
      dir,
      seedDataOf([...data.ids].reverse(), [...data.docs].reverse(), [0]),
    );
    await other.writeAll();
    await other.close();
    const store = await aregulaDocSystem.open(dir, data);
    try {
      await expect(store.checkWrites!()).rejects.toThrow(/entry 1 writes/);
    } finally {
      await store.close();
    }
    expect(betterSqlite3System.name).toBe('better-sqlite3');
    await withStore(betterSqlite3System, data, async (s) => expect(s.checkWrites).toBeUndefined());
  });

  it('close twice is allowed', async () => {
    for (const system of SYSTEMS) {
      const store = await system.open(freshDir(system.name), generateSeedData(3));
      await store.close();
      await store.close();
    }
  });
});
