/**
 * The `merge` suite: applying `n` remote field updates, made by many devices, to a fresh
 * replica, against Yjs (`Y.Map`) and Automerge (a map) in the same run, in the manner of the
 * public crdt-benchmarks (dmonad/crdt-benchmarks: updates are produced and encoded first, then
 * the time to apply them to another replica is measured).
 *
 * One workload, `merge.lww-map`, systems `aregula`, `yjs`, `automerge`. An operation is one
 * field update; a sample applies all `n` of them (in messages of 64 updates of one device,
 * round-robin over 16 devices: see updates.ts for why) to an empty replica. After every
 * sample, untimed, the replica's map must equal the expected one (the same for all three:
 * no two devices write one field, so the systems' different tie rules never come into play);
 * a mismatch fails the benchmark. Extra fields: `unit`, `devices`, `batch` (updates per
 * message), `messages`, `fields` (distinct keys in the final map), `wire_bytes` (the
 * system's encoded messages, all of them).
 */

import { assert } from '../../../engine/assert.ts';
import type { BenchCase, OpenedSuite, RowFields, Suite, Workload } from '../types.ts';
import { MERGE_SYSTEMS, type MergeSystem, prepareSystem } from './systems.ts';
import { MERGE_BATCH_UPDATES, MERGE_DEVICES, type MergePlan, mergePlan, sortedMap } from './updates.ts';

/** The workload's name in the bench JSON. */
export const MERGE_WORKLOAD = 'merge.lww-map';

/** Throws unless `system`'s replica holds exactly the plan's expected map. */
export function checkContent(system: string, plan: MergePlan, content: Record<string, unknown>): void {
  const got = JSON.stringify(sortedMap(content));
  const want = JSON.stringify(plan.expected);
  if (got !== want) {
    throw new Error(
      `${MERGE_WORKLOAD} n=${plan.n}: ${system} ended with a different map ` +
        `(${Object.keys(content).length} keys, expected ${Object.keys(plan.expected).length})`,
    );
  }
}

/** The `merge.lww-map` workload over `systems`. */
export function mergeWorkload(systems: readonly string[] = MERGE_SYSTEMS): Workload {
  const plans = new Map<number, MergePlan>();
  const wireBytes = new Map<string, number>();
  const planOf = (n: number): MergePlan => {
    let plan = plans.get(n);
    if (plan === undefined) {
      plan = mergePlan(n);
      plans.set(n, plan);
    }
    return plan;
  };
  return {
    name: MERGE_WORKLOAD,
    systems,
    opsPerSample: (n) => n,
    fields(n: number, system: string): RowFields {
      const plan = planOf(n);
      return {
        unit: 'update',
        devices: MERGE_DEVICES,
        batch: MERGE_BATCH_UPDATES,
        messages: plan.messages.length,
        fields: Object.keys(plan.expected).length,
        wire_bytes: wireBytes.get(`${system} ${n}`) ?? 0,
      };
    },
    createCase(system: string, n: number): BenchCase {
      assert(systems.includes(system), `${MERGE_WORKLOAD} has no system ${system}`);
      let prepared: MergeSystem | undefined;
      const plan = planOf(n);
      return {
        async setup() {
          prepared = prepareSystem(system, plan);
          wireBytes.set(`${system} ${n}`, prepared.wireBytes);
        },
        async beforeSample() {
          prepared!.reset();
        },
        async sample() {
          prepared!.applyAll();
        },
        async afterSample() {
          checkContent(system, plan, prepared!.content());
        },
        async teardown() {
          prepared?.close();
        },
      };
    },
  };
}

/** The `merge` suite. */
export const mergeSuite: Suite = {
  name: 'merge',
  description:
    'applying n remote field updates from 16 devices to a fresh replica: aregula vs Yjs and Automerge',
  systems: MERGE_SYSTEMS,
  full: { sizes: [1_000, 10_000, 100_000], warmupSamples: 1, samples: 5 },
  quick: { sizes: [1_000], warmupSamples: 1, samples: 3 },
  async open(): Promise<OpenedSuite> {
    return { workloads: [mergeWorkload()], notes: [] };
  },
};
