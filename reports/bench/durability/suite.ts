/**
 * The `durability` suite: kill -9 under write load. A child process (writer.ts) writes
 * documents to an Aregula database on `NodeFs`, each with `{ commit: true }` (signed, WAL
 * fsynced), and acknowledges each on stdout only after `put` returned. The parent SIGKILLs it
 * at seeded random moments (a delay after the child reports it is writing), reopens the store
 * (crash recovery), and checks that every write ever acknowledged, in this cycle or any
 * earlier one, is there with its content. Then it starts the next incarnation on the same
 * store.
 *
 * One workload, `durability.kill9`, one system, `aregula`. `n` is the number of kills in a
 * sample. A lost acknowledged write is a correctness failure, not a figure: the sample throws
 * and `aregula bench` exits non-zero, naming the seed. Extra fields: `lost_acked` (0 in every
 * row that is written), `kills`, `acked` (acknowledged writes), `writing_ms`, `seed`.
 *
 * `ops_per_sec` here is acknowledged durable writes per second of writing time (from the
 * child's `ready` to the kill, summed over kills), and `median_ms_per_op` its inverse: the
 * harness's own figure would be kills per second, dominated by process start-up. The row's
 * fields override both, and `ops_per_sample` is the acknowledged writes of all samples.
 *
 * What SIGKILL does and does not test: the kernel keeps what the process had written, so this
 * checks the engine's own ordering (acknowledge only after the write and its sync returned,
 * and recovery that keeps every complete record), not the disk's behaviour on power loss.
 */

import { assert } from '../../../engine/assert.ts';
import { SeededRandom } from '../../../engine/io/random.ts';
import type { BenchCase, CaseEnv, OpenedSuite, RowFields, Suite, Workload } from '../types.ts';
import { killCycle } from './kill-cycle.ts';
import { type AckedWrite, missingAcks } from './store.ts';

/** The workload's name in the bench JSON. */
export const DURABILITY_WORKLOAD = 'durability.kill9';
/** The seed of the kill moments; a failure names it. */
export const DURABILITY_SEED = 9;
/** Shortest and longest time the writer writes before it is killed. */
export const KILL_AFTER_MS_MIN = 20;
export const KILL_AFTER_MS_MAX = 400;

/** What the samples of one size added up to. */
interface Totals {
  kills: number;
  acked: number;
  writingMs: number;
  lostAcked: number;
}

/** Runs `kills` kill cycles on the store in `dir`, checking after each; throws on a lost ack. */
export async function killAndCheck(options: {
  dir: string;
  kills: number;
  random: SeededRandom;
  acked: AckedWrite[];
  totals: Totals;
  runPrefix: string;
}): Promise<void> {
  const { dir, random, acked, totals } = options;
  for (let k = 0; k < options.kills; k++) {
    const killAfterMs = KILL_AFTER_MS_MIN + random.int(KILL_AFTER_MS_MAX - KILL_AFTER_MS_MIN + 1);
    const run = `${options.runPrefix}${totals.kills}`;
    const cycle = await killCycle({ dir, run, killAfterMs });
    totals.kills++;
    totals.acked += cycle.acked.length;
    totals.writingMs += cycle.writingMs;
    acked.push(...cycle.acked);
    const lost = missingAcks(dir, acked);
    totals.lostAcked += lost.length;
    if (lost.length > 0) {
      const some = lost
        .slice(0, 5)
        .map((a) => a.id)
        .join(', ');
      throw new Error(
        `${DURABILITY_WORKLOAD}: ${lost.length} acknowledged write(s) lost after kill ${totals.kills} ` +
          `(seed ${DURABILITY_SEED}, killed ${killAfterMs} ms after ready): ${some}`,
      );
    }
  }
}

/** The `durability.kill9` workload. */
export function durabilityWorkload(): Workload {
  const totalsBySize = new Map<number, Totals>();
  return {
    name: DURABILITY_WORKLOAD,
    systems: ['aregula'],
    rssNotMeasured:
      'the writes run in writer child processes that are killed; this process only reopens the store',
    opsPerSample: (n) => n,
    fields(n: number): RowFields {
      const t = totalsBySize.get(n) ?? { kills: 0, acked: 0, writingMs: 0, lostAcked: 0 };
      return {
        unit: 'acked write',
        ops_per_sec: t.writingMs > 0 ? (1000 * t.acked) / t.writingMs : 0,
        median_ms_per_op: t.acked > 0 ? t.writingMs / t.acked : 0,
        ops_per_sample: t.acked,
        lost_acked: t.lostAcked,
        kills: t.kills,
        acked: t.acked,
        writing_ms: t.writingMs,
        seed: DURABILITY_SEED,
        note: 'ops_per_sec: acknowledged fsynced writes per second of writing time, over all kills',
      };
    },
    createCase(system: string, n: number, env: CaseEnv): BenchCase {
      assert(system === 'aregula', `${DURABILITY_WORKLOAD} has no system ${system}`);
      const totals: Totals = { kills: 0, acked: 0, writingMs: 0, lostAcked: 0 };
      totalsBySize.set(n, totals);
      const random = new SeededRandom(DURABILITY_SEED);
      const acked: AckedWrite[] = [];
      let dir = '';
      return {
        async setup() {
          dir = env.freshDir('durability');
        },
        async beforeSample() {},
        async sample() {
          await killAndCheck({ dir, kills: n, random, acked, totals, runPrefix: 'r' });
        },
        async afterSample() {},
        async teardown() {},
      };
    },
  };
}

/** The `durability` suite. */
export const durabilitySuite: Suite = {
  name: 'durability',
  description: 'kill -9 under write load: acknowledged (fsynced) writes lost after recovery, which must be 0',
  systems: ['aregula'],
  full: { sizes: [20], warmupSamples: 0, samples: 1 },
  quick: { sizes: [3], warmupSamples: 0, samples: 1 },
  async open(): Promise<OpenedSuite> {
    return { workloads: [durabilityWorkload()], notes: [] };
  },
};
