/**
 * The `vector` suite: Aregula's HNSW index (engine/vector) against hnswlib-node (C++ with SIMD
 * distances) on the same seeded data, 128 dimensions, clustered Gaussian and uniform, cosine,
 * M = 16, efConstruction = 200, k = 10, one thread each.
 *
 * Workloads (`variant` names the data, and the ef or target recall, of each table line):
 * - `vector.build`: n inserts into a fresh index; ops/s is inserts per second.
 * - `vector.query`: one row per `ef` in {@link EF_SWEEP}, the same `ef` for both systems: queries
 *   per second over {@link QUERIES} queries, and the `recall` (recall@10 against an exact
 *   double-precision scan) each system reached. These rows are the recall/QPS curve.
 * - `vector.query-at-recall`: queries per second at equal recall: for each target in
 *   {@link TARGET_RECALLS} each system gets the smallest `ef` whose recall@10 on the query set
 *   is at least the target, found by bisection over 10..{@link EF_CALIBRATION_MAX} (recall rises
 *   with `ef`, near enough monotonically); the row carries the `ef` chosen, the `recall` reached
 *   and `reached` (0 when even the largest `ef` falls short, in which case the row measures that
 *   largest `ef`). Both systems are tuned on the same queries they are then timed on, in the
 *   same way, so neither is favoured.
 *
 * Indexes are built once per system, data set and size and shared by the query workloads
 * (the build workload's last sample leaves its index behind); results are deterministic for
 * both systems, so every sample of a row has the same recall.
 */

import { assert } from '../../../engine/assert.ts';
import type { SyntheticKind } from '../../../engine/vector/synthetic.ts';
import type { BenchCase, OpenedSuite, RowFields, Suite, Workload } from '../types.ts';
import type { VectorData } from './data.ts';
import { generateVectorData, K, QUERIES, recallOf, VECTOR_DIMENSION } from './data.ts';
import type { HnswlibConstructor, VectorEngine } from './engines.ts';
import { createEngine, EF_CONSTRUCTION, loadHnswlib, M } from './engines.ts';

/** The `ef` values of `vector.query`. */
export const EF_SWEEP = [10, 20, 40, 80, 160, 320, 640] as const;
/** The recalls at which `vector.query-at-recall` compares the systems. */
export const TARGET_RECALLS = [0.9, 0.95, 0.99] as const;
/** Largest `ef` the calibration tries. */
export const EF_CALIBRATION_MAX = 2048;
/** The data kinds, in run order. */
export const KINDS: readonly SyntheticKind[] = ['clustered', 'uniform'];
/** Systems in table order. */
const SYSTEM_ORDER = ['aregula', 'hnswlib-node'] as const;

/** Shared state of one suite run: data sets, built engines, measured recalls. */
export class VectorBenchState {
  private readonly data = new Map<string, VectorData>();
  private readonly engines = new Map<string, VectorEngine>();
  private readonly recallByEf = new Map<string, Map<number, number>>();

  constructor(private readonly hnswlib: HnswlibConstructor | undefined) {}

  /** The data set of `kind` at size `n`; data and engines of other kinds are dropped (memory). */
  dataFor(kind: SyntheticKind, n: number): VectorData {
    for (const key of [...this.data.keys()]) if (!key.startsWith(`${kind}/`)) this.data.delete(key);
    for (const key of [...this.engines.keys()]) if (!key.includes(`/${kind}/`)) this.engines.delete(key);
    const key = `${kind}/${n}`;
    let d = this.data.get(key);
    if (d === undefined) {
      d = generateVectorData(kind, n);
      this.data.set(key, d);
    }
    return d;
  }

  /** `system`'s engine over `data`, built if `built` and not built yet. */
  engineFor(system: string, data: VectorData, built: boolean): VectorEngine {
    const key = `${system}/${data.kind}/${data.n}`;
    let engine = this.engines.get(key);
    if (engine === undefined) {
      engine = createEngine(system, data, this.hnswlib);
      this.engines.set(key, engine);
    }
    if (built && engine.size() !== data.n) {
      engine.build();
      this.recallByEf.delete(key);
    }
    return engine;
  }

  /** Forgets recalls measured on `engine` (its index was rebuilt). */
  rebuilt(engine: VectorEngine, data: VectorData): void {
    this.recallByEf.delete(`${engine.system}/${data.kind}/${data.n}`);
  }

  /** Recall@K of `engine` at `ef` (measured once per index and `ef`). */
  recallAt(engine: VectorEngine, data: VectorData, ef: number): number {
    const key = `${engine.system}/${data.kind}/${data.n}`;
    let byEf = this.recallByEf.get(key);
    if (byEf === undefined) {
      byEf = new Map();
      this.recallByEf.set(key, byEf);
    }
    let recall = byEf.get(ef);
    if (recall === undefined) {
      engine.queryAll(ef);
      recall = recallOf(data, (q) => engine.labels(q));
      byEf.set(ef, recall);
    }
    return recall;
  }
}

/** The smallest `ef` in [K, EF_CALIBRATION_MAX] whose recall is at least `target` (see the module comment). */
export function calibrateEf(
  recallAt: (ef: number) => number,
  target: number,
): { ef: number; recall: number; reached: boolean } {
  if (recallAt(EF_CALIBRATION_MAX) < target) {
    return { ef: EF_CALIBRATION_MAX, recall: recallAt(EF_CALIBRATION_MAX), reached: false };
  }
  if (recallAt(K) >= target) return { ef: K, recall: recallAt(K), reached: true };
  let lo = K;
  let hi = EF_CALIBRATION_MAX;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (recallAt(mid) >= target) hi = mid;
    else lo = mid;
  }
  return { ef: hi, recall: recallAt(hi), reached: true };
}

/** Fields common to every row of the suite. */
function commonFields(kind: SyntheticKind): RowFields {
  return { data: kind, dim: VECTOR_DIMENSION, metric: 'cosine', m: M, ef_construction: EF_CONSTRUCTION };
}

/** `vector.build` on `kind`. */
function buildWorkload(state: VectorBenchState, kind: SyntheticKind, systems: readonly string[]): Workload {
  return {
    name: 'vector.build',
    systems,
    opsPerSample: (n) => n,
    fields: () => ({ unit: 'insert', variant: kind, ...commonFields(kind) }),
    createCase(system: string, n: number): BenchCase {
      let engine: VectorEngine | undefined;
      let data: VectorData | undefined;
      return {
        async setup() {
          data = state.dataFor(kind, n);
          engine = state.engineFor(system, data, false);
        },
        async beforeSample() {
          engine!.release();
        },
        async sample() {
          engine!.build();
        },
        async afterSample() {
          assert(engine!.size() === n, `${system} built ${engine!.size()} of ${n} vectors`);
          state.rebuilt(engine!, data!);
        },
        async teardown() {},
      };
    },
  };
}

/** A query workload on `kind` whose `ef` per system comes from `efFor` (fixed or calibrated). */
function queryWorkload(spec: {
  state: VectorBenchState;
  kind: SyntheticKind;
  systems: readonly string[];
  name: string;
  variant: string;
  efFor: (engine: VectorEngine, data: VectorData) => { ef: number; extra: RowFields };
}): Workload {
  const { state, kind } = spec;
  const measured = new Map<string, RowFields>();
  return {
    name: spec.name,
    systems: spec.systems,
    opsPerSample: () => QUERIES,
    fields(n: number, system: string): RowFields {
      const m = measured.get(`${system}/${n}`);
      assert(m !== undefined, `${spec.name} ${spec.variant}: no measurement for ${system} at n=${n}`);
      return { unit: 'query', variant: spec.variant, ...commonFields(kind), k: K, ...m };
    },
    createCase(system: string, n: number): BenchCase {
      let engine: VectorEngine | undefined;
      let data: VectorData | undefined;
      let ef = 0;
      return {
        async setup() {
          data = state.dataFor(kind, n);
          engine = state.engineFor(system, data, true);
          const chosen = spec.efFor(engine, data);
          ef = chosen.ef;
          measured.set(`${system}/${n}`, { ef, recall: state.recallAt(engine, data, ef), ...chosen.extra });
        },
        async beforeSample() {},
        async sample() {
          engine!.queryAll(ef);
        },
        async afterSample() {
          const recall = recallOf(data!, (q) => engine!.labels(q));
          assert(
            recall === measured.get(`${system}/${n}`)!.recall,
            `${system}: recall changed between samples`,
          );
        },
        async teardown() {},
      };
    },
  };
}

/** Every workload of the suite over `systems`. */
export function vectorWorkloads(state: VectorBenchState, systems: readonly string[]): Workload[] {
  const workloads: Workload[] = [];
  for (const kind of KINDS) {
    workloads.push(buildWorkload(state, kind, systems));
    for (const ef of EF_SWEEP) {
      workloads.push(
        queryWorkload({
          state,
          kind,
          systems,
          name: 'vector.query',
          variant: `${kind} ef=${ef}`,
          efFor: () => ({ ef, extra: {} }),
        }),
      );
    }
    for (const target of TARGET_RECALLS) {
      workloads.push(
        queryWorkload({
          state,
          kind,
          systems,
          name: 'vector.query-at-recall',
          variant: `${kind} recall>=${target}`,
          efFor(engine, data) {
            const c = calibrateEf((ef) => state.recallAt(engine, data, ef), target);
            return { ef: c.ef, extra: { target_recall: target, reached: c.reached ? 1 : 0 } };
          },
        }),
      );
    }
  }
  return workloads;
}

/** The `vector` suite. */
export const vectorSuite: Suite = {
  name: 'vector',
  description:
    'HNSW build, and queries per second by ef and at equal recall@10, vs hnswlib-node (128 dims, cosine)',
  systems: SYSTEM_ORDER,
  full: { sizes: [1_000, 10_000, 100_000], warmupSamples: 0, samples: 3 },
  quick: { sizes: [2_000], warmupSamples: 0, samples: 3 },
  async open(): Promise<OpenedSuite> {
    const loaded = await loadHnswlib();
    const hnswlib = typeof loaded === 'string' ? undefined : loaded;
    const notes = typeof loaded === 'string' ? [`vector: ${loaded}; measuring aregula alone`] : [];
    const systems = SYSTEM_ORDER.filter((s) => s === 'aregula' || hnswlib !== undefined);
    return { workloads: vectorWorkloads(new VectorBenchState(hnswlib), systems), notes };
  },
};
