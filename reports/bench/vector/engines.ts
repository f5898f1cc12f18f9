/**
 * The systems of the `vector` suite behind one small interface: build an index over a data
 * set, run every query at a given `ef`, read back the labels found. Both get the same data,
 * the same parameters (cosine, M = 16, efConstruction = 200, k = 10) and one thread.
 *
 * Conversions a system needs before it can take the data (string ids for Aregula, plain number
 * arrays for hnswlib-node, whose binding accepts nothing else) are made once, untimed, when the
 * engine is created: the timed work is the index's own.
 */

import { assert } from '../../../engine/assert.ts';
import { SeededRandom } from '../../../engine/io/random.ts';
import type { VectorHit } from '../../../engine/vector/hnsw-index.ts';
import { HnswIndex } from '../../../engine/vector/hnsw-index.ts';
import type { VectorData } from './data.ts';
import { K } from './data.ts';

/** Links per node (hnswlib's default). */
export const M = 16;
/** Beam width while building. */
export const EF_CONSTRUCTION = 200;
/** Seed of both systems' level draws. */
const LEVEL_SEED = 42;

/** One system's index over one data set. */
export interface VectorEngine {
  readonly system: string;
  /** Builds a fresh index over every vector of the data set (the timed work of `vector.build`). */
  build(): void;
  /** Vectors in the built index. */
  size(): number;
  /** Runs every query at beam width `ef`, keeping the results (the timed work of a query sample). */
  queryAll(ef: number): void;
  /** Labels found for query `q` by the last {@link queryAll}, best first. */
  labels(q: number): ArrayLike<number>;
  /** Drops the index. */
  release(): void;
}

/** Aregula's HnswIndex. */
class AregulaEngine implements VectorEngine {
  readonly system = 'aregula';
  private index: HnswIndex | undefined;
  private readonly ids: string[];
  private readonly rows: Float32Array[];
  private readonly queryRows: Float32Array[];
  private results: VectorHit[][] = [];

  constructor(private readonly data: VectorData) {
    const { dim } = data;
    this.ids = Array.from({ length: data.n }, (_, i) => String(i));
    this.rows = Array.from({ length: data.n }, (_, i) => data.data.subarray(i * dim, (i + 1) * dim));
    this.queryRows = Array.from({ length: data.queries.length / dim }, (_, q) =>
      data.queries.subarray(q * dim, (q + 1) * dim),
    );
  }

  build(): void {
    const index = HnswIndex.create({
      dimension: this.data.dim,
      metric: 'cosine',
      m: M,
      efConstruction: EF_CONSTRUCTION,
      random: new SeededRandom(LEVEL_SEED),
    });
    for (let i = 0; i < this.rows.length; i++) index.upsert(this.ids[i]!, this.rows[i]!);
    this.index = index;
  }

  size(): number {
    return this.index?.size ?? 0;
  }

  queryAll(ef: number): void {
    const index = this.index;
    assert(index !== undefined, 'aregula: query before build');
    const results: VectorHit[][] = new Array(this.queryRows.length);
    for (let q = 0; q < this.queryRows.length; q++)
      results[q] = index.search(this.queryRows[q]!, { k: K, ef });
    this.results = results;
  }

  labels(q: number): ArrayLike<number> {
    return (this.results[q] ?? []).map((hit) => Number(hit.id));
  }

  release(): void {
    this.index = undefined;
    this.results = [];
  }
}

/** The parts of hnswlib-node's index this suite uses. */
interface HnswlibIndex {
  initIndex(maxElements: number, m: number, efConstruction: number, randomSeed: number): void;
  addPoint(point: number[], label: number): void;
  setEf(ef: number): void;
  searchKnn(query: number[], k: number): { neighbors: number[] };
  getCurrentCount(): number;
}

/** hnswlib-node's constructor. */
export type HnswlibConstructor = new (space: 'cosine', dim: number) => HnswlibIndex;

/** hnswlib (C++, SIMD distances) through its Node binding. */
class HnswlibEngine implements VectorEngine {
  readonly system = 'hnswlib-node';
  private index: HnswlibIndex | undefined;
  private readonly rows: number[][];
  private readonly queryRows: number[][];
  private results: number[][] = [];

  constructor(
    private readonly data: VectorData,
    private readonly ctor: HnswlibConstructor,
  ) {
    const { dim } = data;
    this.rows = Array.from({ length: data.n }, (_, i) =>
      Array.from(data.data.subarray(i * dim, (i + 1) * dim)),
    );
    this.queryRows = Array.from({ length: data.queries.length / dim }, (_, q) =>
      Array.from(data.queries.subarray(q * dim, (q + 1) * dim)),
    );
  }

  build(): void {
    const index = new this.ctor('cosine', this.data.dim);
    index.initIndex(this.data.n, M, EF_CONSTRUCTION, LEVEL_SEED);
    for (let i = 0; i < this.rows.length; i++) index.addPoint(this.rows[i]!, i);
    this.index = index;
  }

  size(): number {
    return this.index?.getCurrentCount() ?? 0;
  }

  queryAll(ef: number): void {
    const index = this.index;
    assert(index !== undefined, 'hnswlib-node: query before build');
    index.setEf(ef);
    const results: number[][] = new Array(this.queryRows.length);
    for (let q = 0; q < this.queryRows.length; q++)
      results[q] = index.searchKnn(this.queryRows[q]!, K).neighbors;
    this.results = results;
  }

  labels(q: number): ArrayLike<number> {
    return this.results[q] ?? [];
  }

  release(): void {
    this.index = undefined;
    this.results = [];
  }
}

/** Creates `system`'s engine over `data` (not built yet). */
export function createEngine(
  system: string,
  data: VectorData,
  hnswlib: HnswlibConstructor | undefined,
): VectorEngine {
  if (system === 'aregula') return new AregulaEngine(data);
  assert(system === 'hnswlib-node', `the vector suite has no system ${system}`);
  assert(hnswlib !== undefined, 'hnswlib-node is not available');
  return new HnswlibEngine(data, hnswlib);
}

/** Loads hnswlib-node's constructor, or returns why it cannot be loaded. */
export async function loadHnswlib(): Promise<HnswlibConstructor | string> {
  try {
    const mod = (await import('hnswlib-node')) as {
      default?: { HierarchicalNSW?: unknown };
      HierarchicalNSW?: unknown;
    };
    const ctor = mod.HierarchicalNSW ?? mod.default?.HierarchicalNSW;
    if (typeof ctor !== 'function') return 'hnswlib-node loaded but has no HierarchicalNSW';
    return ctor as HnswlibConstructor;
  } catch (error) {
    // A missing or unbuilt native module is an environment fact to report, not a failure.
    return `hnswlib-node is not available (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
}
