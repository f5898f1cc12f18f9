/**
 * The `lsm` suite: the storage engine alone, against LevelDB (classic-level) and a plain Map.
 *
 * - `lsm.put`: n single puts, unsynced, into a fresh store.
 * - `lsm.put-batch`: n records in atomic batches of 100..1000, unsynced, into a fresh store.
 * - `lsm.get-hot`: random gets of present keys in a store just written, nothing reopened: the
 *   recent writes are in the memtable and the caches are warm (above the memtable's size the
 *   older part of the data is already in tables).
 * - `lsm.get-cold`: random gets after a flush and a close/reopen before every sample, so they
 *   read on-disk tables through cold caches.
 * - `lsm.scan`: range scans of up to 100 entries from random start keys, on a flushed store;
 *   the figure is scans per second (`unit: "scan"`, `entries_per_scan` says how long they are).
 */

import { rmSync } from 'node:fs';
import { assert } from '../../../engine/assert.ts';
import type { BenchCase, CaseEnv, OpenedSuite, RowFields, Suite, Workload } from '../types.ts';
import { aregulaSystem } from './aregula-store.ts';
import { classicLevelSystem } from './classic-level-store.ts';
import type { LsmData } from './data.ts';
import { GETS_PER_SAMPLE_MAX, generateLsmData, SCANS_PER_SAMPLE } from './data.ts';
import type { KvStore, KvSystem } from './kv-store.ts';
import { mapSystem } from './map-store.ts';

/** Smallest batch of `lsm.put-batch`. */
export const BATCH_RECORDS_MIN = 100;
/** Largest batch of `lsm.put-batch`. */
export const BATCH_RECORDS_MAX = 1000;
/** Batch size used to load stores before the read workloads (untimed). */
const LOAD_BATCH_RECORDS = 1000;

/** Records per batch of `lsm.put-batch` at size `n`: n/100, kept within 100..1000. */
export function batchRecords(n: number): number {
  return Math.min(BATCH_RECORDS_MAX, Math.max(BATCH_RECORDS_MIN, Math.floor(n / 100)));
}

/** The systems in table order: ours first, then the baselines. */
const SYSTEM_ORDER = ['aregula', 'classic-level', 'map'] as const;

/** Data sets by size, generated once per process: every workload and system shares them. */
const dataBySize = new Map<number, LsmData>();

function dataFor(n: number): LsmData {
  let data = dataBySize.get(n);
  if (data === undefined) {
    data = generateLsmData(n);
    dataBySize.set(n, data);
  }
  return data;
}

/** What a workload does with a store, on top of the shared open/close bookkeeping. */
interface StorePlan {
  /** Each sample gets a fresh empty store (the write workloads) instead of one loaded store. */
  freshStorePerSample: boolean;
  /** Reopen (flush, close, open) the loaded store once before the first sample. */
  reopenAfterLoad: boolean;
  /** Reopen the store before every sample. */
  reopenBeforeSample: boolean;
  /** The timed work. */
  sample(store: KvStore, data: LsmData): Promise<void>;
}

/** A {@link BenchCase} for one system, following `plan`. */
function storeCase(system: KvSystem, data: LsmData, env: CaseEnv, plan: StorePlan): BenchCase {
  let store: KvStore | undefined;
  let dir: string | undefined;
  const open = async (): Promise<KvStore> => {
    dir = env.freshDir(system.name);
    store = await system.open(dir);
    return store;
  };
  const close = async (): Promise<void> => {
    const closing = store;
    store = undefined;
    if (closing !== undefined) await closing.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  };
  return {
    async setup() {
      if (plan.freshStorePerSample) return;
      const loaded = await open();
      await loaded.putBatches(data.keys, data.values, LOAD_BATCH_RECORDS);
      if (plan.reopenAfterLoad) await loaded.reopen();
    },
    async beforeSample() {
      if (plan.freshStorePerSample) await open();
      else if (plan.reopenBeforeSample) await store!.reopen();
    },
    async sample() {
      await plan.sample(store!, data);
    },
    async afterSample() {
      if (!plan.freshStorePerSample) return;
      // Check, untimed, that the writes landed: a fast store that loses data measures nothing.
      const found = await store!.getEach([data.keys[0]!, data.keys[data.n - 1]!]);
      assert(found === 2, `${system.name} lost written keys: found ${found} of 2`);
      await close();
    },
    async teardown() {
      await close();
    },
  };
}

/** Gets every planned key and checks that all were found. */
async function getAll(store: KvStore, data: LsmData): Promise<void> {
  const found = await store.getEach(data.getKeys);
  assert(found === data.getKeys.length, `found ${found} of ${data.getKeys.length} present keys`);
}

/** Builds a workload of the suite over `systems`. */
function lsmWorkload(
  systems: ReadonlyMap<string, KvSystem>,
  spec: { name: string; opsPerSample(n: number): number; fields(n: number): RowFields; plan: StorePlan },
): Workload {
  return {
    name: spec.name,
    systems: [...systems.keys()],
    opsPerSample: spec.opsPerSample,
    fields: spec.fields,
    createCase(system: string, n: number, env: CaseEnv): BenchCase {
      const kv = systems.get(system);
      assert(kv !== undefined, `${spec.name} has no system ${system}`);
      return storeCase(kv, dataFor(n), env, spec.plan);
    },
  };
}

/** The five workloads of the suite over `systems`. */
export function lsmWorkloads(systems: ReadonlyMap<string, KvSystem>): Workload[] {
  const write = { freshStorePerSample: true, reopenAfterLoad: false, reopenBeforeSample: false };
  const gets = (n: number): number => Math.min(n, GETS_PER_SAMPLE_MAX);
  return [
    lsmWorkload(systems, {
      name: 'lsm.put',
      opsPerSample: (n) => n,
      fields: () => ({ unit: 'put' }),
      plan: { ...write, sample: (store, data) => store.putEach(data.keys, data.values) },
    }),
    lsmWorkload(systems, {
      name: 'lsm.put-batch',
      opsPerSample: (n) => n,
      fields: (n) => ({ unit: 'record', batch_records: batchRecords(n) }),
      plan: {
        ...write,
        sample: (store, data) => store.putBatches(data.keys, data.values, batchRecords(data.n)),
      },
    }),
    lsmWorkload(systems, {
      name: 'lsm.get-hot',
      opsPerSample: gets,
      fields: () => ({ unit: 'get' }),
      plan: { freshStorePerSample: false, reopenAfterLoad: false, reopenBeforeSample: false, sample: getAll },
    }),
    lsmWorkload(systems, {
      name: 'lsm.get-cold',
      opsPerSample: gets,
      fields: () => ({ unit: 'get' }),
      plan: { freshStorePerSample: false, reopenAfterLoad: true, reopenBeforeSample: true, sample: getAll },
    }),
    lsmWorkload(systems, {
      name: 'lsm.scan',
      opsPerSample: () => SCANS_PER_SAMPLE,
      fields: (n) => ({ unit: 'scan', entries_per_scan: dataFor(n).scanEntries }),
      plan: {
        freshStorePerSample: false,
        reopenAfterLoad: true,
        reopenBeforeSample: false,
        async sample(store, data) {
          const entries = await store.scanEach(data.scanStarts, data.scanEntries);
          const expected = data.scanStarts.length * data.scanEntries;
          assert(entries === expected, `scans read ${entries} entries, expected ${expected}`);
        },
      },
    }),
  ];
}

/** The `lsm` suite. */
export const lsmSuite: Suite = {
  name: 'lsm',
  description: 'LSM-tree puts, batches, hot and cold gets, range scans vs classic-level (LevelDB) and a Map',
  systems: SYSTEM_ORDER,
  full: { sizes: [1_000, 10_000, 100_000, 1_000_000], warmupSamples: 1, samples: 5 },
  quick: { sizes: [1_000, 10_000], warmupSamples: 1, samples: 3 },
  async open(): Promise<OpenedSuite> {
    const systems = new Map<string, KvSystem>([
      ['aregula', aregulaSystem],
      ['classic-level', classicLevelSystem],
      ['map', mapSystem],
    ]);
    assert([...systems.keys()].join() === SYSTEM_ORDER.join(), 'lsm systems out of table order');
    return { workloads: lsmWorkloads(systems), notes: [] };
  },
};
