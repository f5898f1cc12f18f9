/**
 * The `query` suite: Aregula's planner, secondary indexes, aggregations and live queries
 * against better-sqlite3 with the same three indexes, on the same documents (data.ts), in one run.
 *
 * - `query.indexed-eq`: equality on the indexed `tag` (10 documents each); an op is one query.
 * - `query.range`: `lo <= score < hi` on the indexed `score` (about 50 documents); one query.
 * - `query.scan-filter`: `name LIKE '%ab%'` (no index can help): an op is one full scan.
 * - `query.group-by`: count, sum and avg of `score` per `grp` (20 groups) over every document,
 *   with an index on `(grp, score)` that covers the query on both systems; an op is one
 *   aggregation.
 * - `query.live-update`: a write to a document the live query `tag = t0` holds, until the new
 *   result is available (Aregula: the subscription's delivery; SQLite: the write, then the
 *   query re-run); an op is one write. Rows carry `latency_ms`, the median time of one.
 *
 * Untimed, every case checks its store's answers against the data before the first sample
 * (ids of equality and range queries, group counts), and the live query's delivered ids after
 * every sample; a wrong answer fails the benchmark.
 *
 * Also untimed, each case of every workload (live updates included) runs its operation for
 * {@link WARMUP_MS} (500 ms) before the harness's samples, on both systems alike: the figures are of
 * code the JIT has compiled (a long-running database's steady state), not of the first few
 * thousand calls after start-up, which the harness's one warm-up sample of a few milliseconds
 * left in (on a loaded 2-core machine, 1K-document equality queries measured 0.72x in the
 * bench and 1.6x once warm). The operations and their checks are unchanged.
 */

import { rmSync } from 'node:fs';
import { assert } from '../../../engine/assert.ts';
import { betterSqlite3Problem } from '../better-sqlite3-problem.ts';
import type { BenchCase, CaseEnv, OpenedSuite, RowFields, Suite, Workload } from '../types.ts';
import {
  GROUPS,
  generateQueryData,
  LIVE_WRITES_PER_SAMPLE,
  QUERIES_PER_SAMPLE,
  type QueryData,
  SCAN_SUBSTRING,
} from './data.ts';
import { QUERY_SYSTEMS, type QueryStore, type QuerySystemOpen } from './systems.ts';

/** The systems in table order. */
export const QUERY_SYSTEM_NAMES = ['aregula', 'better-sqlite3'] as const;

const dataBySize = new Map<number, QueryData>();
function dataFor(n: number): QueryData {
  let data = dataBySize.get(n);
  if (data === undefined) {
    data = generateQueryData(n);
    dataBySize.set(n, data);
  }
  return data;
}

const sameIds = (what: string, got: readonly string[], want: readonly string[]) =>
  assert(
    got.length === want.length && got.every((id, i) => id === want[i]),
    `${what}: got ${got.length} ids (${got.slice(0, 3).join(',')}...), expected ${want.length}`,
  );

/** Throws unless `store` answers a few planned queries of each kind as the data says. */
export function checkAnswers(system: string, store: QueryStore, data: QueryData): void {
  for (const tag of data.eqTags.slice(0, 5)) {
    const want = data.ids.filter((_, i) => data.docs[i]!.tag === tag);
    sameIds(`${system} eq ${tag}`, store.eq(tag), want);
  }
  for (const lo of data.rangeStarts.slice(0, 5)) {
    const hi = lo + data.rangeWidth;
    const want = data.ids.filter((_, i) => data.docs[i]!.score >= lo && data.docs[i]!.score < hi);
    sameIds(`${system} range ${lo}`, store.range(lo, hi), want);
  }
  const scanned = data.ids.filter((_, i) => data.docs[i]!.name.includes(SCAN_SUBSTRING));
  sameIds(`${system} scan`, store.scan(), scanned);
  const groups = store.groupBy();
  assert(groups.length === Math.min(GROUPS, data.n), `${system} group-by: ${groups.length} groups`);
  for (const g of groups) {
    const members = data.docs.filter((d) => d.grp === g.grp);
    assert(
      g.count === members.length,
      `${system} group ${g.grp}: count ${g.count}, expected ${members.length}`,
    );
    const sum = members.reduce((s, d) => s + d.score, 0);
    assert(
      Math.abs(g.sum - sum) <= 1e-6 * Math.max(1, Math.abs(sum)),
      `${system} group ${g.grp}: sum ${g.sum}, expected ${sum}`,
    );
  }
}

/** One timed operation; a number it returns is a latency (ms) kept for the row's fields. */
type Op = (store: QueryStore, data: QueryData, round: number) => Promise<number | undefined> | undefined;

/** Per-op latencies of the live workload by `system n`, filled by the samples (ms). */
const latencies = new Map<string, number[]>();

/** The median and 99th percentile of the latencies recorded for `system` at `n`. */
function latencyFields(n: number, system: string): RowFields {
  const list = [...(latencies.get(`${system} ${n}`) ?? [])].sort((a, b) => a - b);
  if (list.length === 0) return { latency_ms: 0 };
  const at = (q: number) => list[Math.min(list.length - 1, Math.floor(q * list.length))]!;
  return { latency_ms: at(0.5), latency_p99_ms: at(0.99), latency_count: list.length };
}

/** A workload whose case opens a loaded store once and runs `op` `perSample` times a sample. */
function queryWorkload(
  systems: ReadonlyMap<string, QuerySystemOpen>,
  spec: {
    name: string;
    unit: string;
    perSample(n: number): number;
    op: Op;
    fields?: (n: number, system: string) => RowFields;
    /** How long (ms) setup runs the operation first, untimed (0: not at all). */
    warmupMs?: number;
  },
): Workload {
  return {
    name: spec.name,
    systems: [...systems.keys()],
    opsPerSample: spec.perSample,
    fields: (n, system) => ({
      unit: spec.unit,
      indexes: 'tag; score; grp, score',
      ...(spec.fields?.(n, system) ?? {}),
    }),
    createCase(system: string, n: number, env: CaseEnv): BenchCase {
      const open = systems.get(system);
      assert(open !== undefined, `${spec.name} has no system ${system}`);
      const data = dataFor(n);
      let store: QueryStore | undefined;
      let dir: string | undefined;
      let round = 0;
      return {
        async setup() {
          latencies.set(`${system} ${n}`, []);
          dir = env.freshDir(system);
          store = open(dir, data);
          checkAnswers(system, store, data);
          // Warm-up operations get indexes of their own, far above the samples': a live update
          // that wrote the value a sample writes again would change nothing, and the sample
          // would wait for a delivery that never comes.
          let warm = 0;
          if ((spec.warmupMs ?? 0) > 0)
            await warmUp(spec.warmupMs!, () => spec.op(store!, data, WARMUP_OP_INDEX_BASE + warm++));
        },
        async beforeSample() {},
        async sample() {
          const perSample = spec.perSample(n);
          const kept = latencies.get(`${system} ${n}`)!;
          for (let k = 0; k < perSample; k++) {
            const ms = await spec.op(store!, data, round * perSample + k);
            if (ms !== undefined && kept.length < LATENCIES_KEPT_MAX) kept.push(ms);
          }
          round++;
        },
        async afterSample() {},
        async teardown() {
          store?.close();
          store = undefined;
          if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** First operation index of a warm-up (samples count from 0). */
export const WARMUP_OP_INDEX_BASE = 1_000_000_000;

/** How long (ms) a query case runs its operation, untimed, before the samples. */
export const WARMUP_MS = 500;
/** Most operations of that warm-up (a bound for very fast operations). */
export const WARMUP_OPS_MAX = 1_000_000;

/** Runs `op` until `ms` have passed (at least once, at most {@link WARMUP_OPS_MAX} times). */
async function warmUp(ms: number, op: () => Promise<unknown> | unknown): Promise<void> {
  const until = performance.now() + ms;
  for (let k = 0; k < WARMUP_OPS_MAX; k++) {
    await op();
    if (performance.now() >= until) return;
  }
}

/** Most latencies kept per system and size (the samples' first ones). */
export const LATENCIES_KEPT_MAX = 100_000;

/**
 * The five workloads over `systems`; each warms up for `warmupMs` (live updates too: without it
 * the first size measured JIT start-up, 1K live updates at 0.39x against 1.46x at 100K).
 */
export function queryWorkloads(
  systems: ReadonlyMap<string, QuerySystemOpen> = QUERY_SYSTEMS,
  warmupMs: number = WARMUP_MS,
): Workload[] {
  return [
    queryWorkload(systems, {
      name: 'query.indexed-eq',
      warmupMs,
      unit: 'query',
      perSample: () => QUERIES_PER_SAMPLE,
      op: (s, d, k) => {
        s.eq(d.eqTags[k % d.eqTags.length]!);
        return undefined;
      },
    }),
    queryWorkload(systems, {
      name: 'query.range',
      warmupMs,
      unit: 'query',
      perSample: () => QUERIES_PER_SAMPLE,
      op: (s, d, k) => {
        const lo = d.rangeStarts[k % d.rangeStarts.length]!;
        s.range(lo, lo + d.rangeWidth);
        return undefined;
      },
    }),
    queryWorkload(systems, {
      name: 'query.scan-filter',
      warmupMs,
      unit: 'full scan',
      perSample: () => 1,
      op: (s) => {
        s.scan();
        return undefined;
      },
    }),
    queryWorkload(systems, {
      name: 'query.group-by',
      warmupMs,
      unit: 'aggregation',
      perSample: () => 1,
      op: (s) => {
        s.groupBy();
        return undefined;
      },
    }),
    queryWorkload(systems, {
      name: 'query.live-update',
      warmupMs,
      unit: 'write until the live result is current',
      perSample: () => LIVE_WRITES_PER_SAMPLE,
      op: async (s, d, k) => {
        const score = 1000 + k;
        const t0 = performance.now();
        const live = await s.liveWrite(k, score);
        const ms = performance.now() - t0;
        assert(
          live.length === d.liveIds.length,
          `live query holds ${live.length} of ${d.liveIds.length} documents`,
        );
        return ms;
      },
      fields: latencyFields,
    }),
  ];
}

/** The `query` suite. */
export const querySuite: Suite = {
  name: 'query',
  description:
    'indexed equality and range queries, a filtered full scan, group-by and live-query update latency vs better-sqlite3',
  systems: QUERY_SYSTEM_NAMES,
  full: { sizes: [1_000, 10_000, 100_000], warmupSamples: 1, samples: 5 },
  quick: { sizes: [1_000], warmupSamples: 1, samples: 3 },
  async open(): Promise<OpenedSuite> {
    const problem = betterSqlite3Problem();
    const systems = new Map(QUERY_SYSTEMS);
    if (problem !== undefined) systems.delete('better-sqlite3');
    return { workloads: queryWorkloads(systems), notes: problem === undefined ? [] : [problem] };
  },
};
