/**
 * The `seed` suite: the seed article's table, reproduced in one run against SQLite both
 * in-process (better-sqlite3) and as the `sqlite3` program.
 *
 * - `seed.writes`: n document writes into a fresh store, each its own write (Aregula: a feed
 *   entry, signed per group commit, WAL unsynced, then `commit()`; SQLite: an autocommit
 *   INSERT OR REPLACE in WAL mode with synchronous=NORMAL).
 * - `seed.reads-hot`: random primary-key gets of the documents just written, store still open.
 * - `seed.reads-cold`: the same after closing and reopening the store before every sample.
 *
 * Correctness is checked without timing it: after every write sample and after every load,
 * every document reads back equal to what was written; after every write sample Aregula's feed
 * is verified (one entry per write, in order, carrying that write, hash-chained, every group
 * commit's signature checked); and the timed read path's answers are checked once per case
 * against the documents they name.
 */

import { rmSync } from 'node:fs';
import { assert } from '../../../engine/assert.ts';
import { betterSqlite3Problem } from '../better-sqlite3-problem.ts';
import type { BenchCase, CaseEnv, OpenedSuite, RowFields, Suite, Workload } from '../types.ts';
import { AREGULA_GROUP_COMMIT_ENTRIES, aregulaDocSystem, expectedSignatures } from './aregula-store.ts';
import { betterSqlite3System } from './better-sqlite3-store.ts';
import { canonicalDocText, generateSeedData, READS_PER_SAMPLE_MAX, type SeedData } from './data.ts';
import type { DocStore, DocSystem } from './doc-store.ts';
import { sqlite3CliSystem, sqlite3Version } from './sqlite3-cli-store.ts';

/** The systems in table order: ours first, then the baselines. */
export const SEED_SYSTEMS = ['aregula', 'better-sqlite3', 'sqlite3-cli'] as const;

/** What `note` says on every row: how the sqlite3 program's figure was taken. */
export const SQLITE3_CLI_NOTE =
  'sqlite3-cli: one sqlite3 process per sample on a script file, output to /dev/null; ' +
  'the figure is ops / elapsed time of the whole run, so process start-up and SQL parsing are included';

/** Data sets by size, generated once per process: every workload and system shares them. */
const dataBySize = new Map<number, SeedData>();

function dataFor(n: number): SeedData {
  let data = dataBySize.get(n);
  if (data === undefined) {
    data = generateSeedData(n);
    dataBySize.set(n, data);
  }
  return data;
}

/** Throws unless every document of `data` reads back from `store` equal to what was written. */
export async function checkContents(system: string, store: DocStore, data: SeedData): Promise<void> {
  const back = await store.readBack(data.ids);
  assert(back.length === data.n, `${system} read back ${back.length} of ${data.n} documents`);
  for (let i = 0; i < data.n; i++) {
    const got = back[i] === undefined ? 'undefined' : canonicalDocText(back[i]);
    const want = canonicalDocText(data.docs[i]);
    assert(got === want, `${system} document ${data.ids[i]} reads back ${got}, expected ${want}`);
  }
}

/** Throws unless the timed read path answers each planned read with the document it names. */
export async function checkPlannedReads(system: string, store: DocStore, data: SeedData): Promise<void> {
  const answers = await store.checkReads();
  assert(
    answers.length === data.readIds.length,
    `${system} answered ${answers.length} of ${data.readIds.length} planned reads`,
  );
  for (let k = 0; k < answers.length; k++) {
    const want = canonicalDocText(data.docs[data.readIndexes[k]!]);
    const got = answers[k] === undefined ? 'undefined' : canonicalDocText(answers[k]);
    assert(got === want, `${system} read of ${data.readIds[k]} answered ${got}, expected ${want}`);
  }
}

/** The write workload's case: a fresh store per sample, checked and deleted after it. */
function writeCase(system: DocSystem, data: SeedData, env: CaseEnv): BenchCase {
  let store: DocStore | undefined;
  let dir: string | undefined;
  const close = async (): Promise<void> => {
    const closing = store;
    store = undefined;
    if (closing !== undefined) await closing.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  };
  return {
    async setup() {},
    async beforeSample() {
      dir = env.freshDir(system.name);
      store = await system.open(dir, data);
    },
    async sample() {
      await store!.writeAll();
    },
    async afterSample() {
      const signatures = store!.lastWriteSignatures;
      if (signatures !== undefined) {
        const expected = expectedSignatures(data.n);
        assert(signatures === expected, `${system.name} made ${signatures} signatures, expected ${expected}`);
      }
      await store!.checkWrites?.();
      await checkContents(system.name, store!, data);
      await close();
    },
    async teardown() {
      await close();
    },
  };
}

/** A read workload's case: one loaded store, reopened before every sample when `cold`. */
function readCase(system: DocSystem, data: SeedData, env: CaseEnv, cold: boolean): BenchCase {
  let store: DocStore | undefined;
  let dir: string | undefined;
  return {
    async setup() {
      dir = env.freshDir(system.name);
      store = await system.open(dir, data);
      await store.load();
      if (cold) await store.reopen();
      await checkContents(system.name, store, data);
      await checkPlannedReads(system.name, store, data);
    },
    async beforeSample() {
      if (cold) await store!.reopen();
    },
    async sample() {
      await store!.readPlanned();
    },
    async afterSample() {},
    async teardown() {
      const closing = store;
      store = undefined;
      if (closing !== undefined) await closing.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}

/** Builds a workload of the suite over `systems`. */
function seedWorkload(
  systems: ReadonlyMap<string, DocSystem>,
  spec: {
    name: string;
    opsPerSample(n: number): number;
    fields(n: number): RowFields;
    skip?(system: string, n: number): string | undefined;
    createCase(system: DocSystem, data: SeedData, env: CaseEnv): BenchCase;
  },
): Workload {
  return {
    name: spec.name,
    systems: [...systems.keys()],
    opsPerSample: spec.opsPerSample,
    fields: spec.fields,
    skip: spec.skip,
    createCase(system: string, n: number, env: CaseEnv): BenchCase {
      const docSystem = systems.get(system);
      assert(docSystem !== undefined, `${spec.name} has no system ${system}`);
      return spec.createCase(docSystem, dataFor(n), env);
    },
  };
}

/** Fields every row of a workload carries. */
function commonFields(n: number, unit: string): RowFields {
  return { unit, doc_bytes: Math.round(dataFor(n).docBytesMean), note: SQLITE3_CLI_NOTE };
}

/**
 * Largest `seed.writes` size the sqlite3 program is run at. One process committing each INSERT
 * on its own is disk-bound (about 4 minutes per sample of a million writes on this project's
 * machine, so half an hour for one line), and its rate at 100,000 writes already shows it.
 */
export const SQLITE3_CLI_WRITES_N_MAX = 100_000;

/** Why the sqlite3 program's writes are not measured at `n`, or undefined when they are. */
export function sqlite3CliWritesSkipped(n: number, nMax = SQLITE3_CLI_WRITES_N_MAX): string | undefined {
  if (n <= nMax) return undefined;
  return (
    `one sqlite3 process committing each INSERT is disk-bound (about 4 min per 1M-write sample here); ` +
    `measured up to n=${nMax.toLocaleString('en-US')} (SQLITE3_CLI_WRITES_N_MAX)`
  );
}

/** The three workloads of the suite over `systems`. */
export function seedWorkloads(
  systems: ReadonlyMap<string, DocSystem>,
  options: { cliWritesNMax?: number } = {},
): Workload[] {
  const reads = (n: number): number => Math.min(n, READS_PER_SAMPLE_MAX);
  const cliSkip = (n: number) => sqlite3CliWritesSkipped(n, options.cliWritesNMax);
  return [
    seedWorkload(systems, {
      name: 'seed.writes',
      opsPerSample: (n) => n,
      fields: (n) => {
        const skipped = systems.has('sqlite3-cli') ? cliSkip(n) : undefined;
        return {
          ...commonFields(n, 'write'),
          // Only the aregula row's system signs; the fields name it so no other row is misread.
          aregula_signatures: expectedSignatures(n),
          aregula_group_commit: AREGULA_GROUP_COMMIT_ENTRIES,
          ...(skipped === undefined ? {} : { sqlite3_cli_not_measured: skipped }),
        };
      },
      skip: (system, n) => (system === 'sqlite3-cli' ? cliSkip(n) : undefined),
      createCase: writeCase,
    }),
    seedWorkload(systems, {
      name: 'seed.reads-hot',
      opsPerSample: reads,
      fields: (n) => commonFields(n, 'read'),
      createCase: (system, data, env) => readCase(system, data, env, false),
    }),
    seedWorkload(systems, {
      name: 'seed.reads-cold',
      opsPerSample: reads,
      fields: (n) => commonFields(n, 'read'),
      createCase: (system, data, env) => readCase(system, data, env, true),
    }),
  ];
}

/**
 * Untimed operations per system before a size's timed samples. Aregula's write path runs its
 * first ten thousand or so writes in V8's slower tiers: one warm-up sample of 1,000 writes left
 * the timed ones at 14 to 99 µs a write against a steady 6.4 (measured on this project's
 * machine), and the 10K row's first samples were still 5% to 15% slow. SQLite's native code
 * needs none of it, and takes the same warm-up.
 */
export const SEED_WARMUP_OPS_MIN = 30_000;

/** The `seed` suite. */
export const seedSuite: Suite = {
  name: 'seed',
  description:
    'the seed article: document writes, hot and cold primary-key reads vs better-sqlite3 and the sqlite3 program',
  systems: SEED_SYSTEMS,
  full: {
    sizes: [1_000, 10_000, 100_000, 1_000_000],
    warmupSamples: 1,
    warmupOpsMin: SEED_WARMUP_OPS_MIN,
    samples: 5,
  },
  quick: { sizes: [1_000, 10_000], warmupSamples: 1, warmupOpsMin: SEED_WARMUP_OPS_MIN, samples: 3 },
  async open(): Promise<OpenedSuite> {
    const systems = new Map<string, DocSystem>([['aregula', aregulaDocSystem]]);
    const notes: string[] = [];
    const sqliteProblem = betterSqlite3Problem();
    if (sqliteProblem === undefined) systems.set('better-sqlite3', betterSqlite3System);
    else notes.push(sqliteProblem);
    const cli = sqlite3Version();
    if ('version' in cli) systems.set('sqlite3-cli', sqlite3CliSystem);
    else notes.push(`sqlite3-cli skipped: ${cli.error} (install Debian's sqlite3 package)`);
    return { workloads: seedWorkloads(systems), notes };
  },
};
