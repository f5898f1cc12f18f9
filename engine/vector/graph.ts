/**
 * The storage of an HNSW graph: every node's vector, layer, tombstone and links in flat typed
 * arrays indexed by a dense internal node number, so that a search reads nothing but typed
 * arrays.
 *
 * Layout:
 * - `store`: the vectors, node `i`'s components at float index `store.at(i)` of `store.heap`,
 *   as stored (normalised under cosine), and the distance kernel (kernel.ts).
 * - `links0`: layer-0 links, a block of `m0 + 1` ints per node: the count, then up to `m0`
 *   neighbour numbers.
 * - `upper` and `upperBase`: the links of layers 1 and up. A node at layer `L >= 1` owns `L`
 *   consecutive blocks of `m + 1` ints (count, then up to `m` neighbours) in the `upper` pool,
 *   starting at `upperBase[i]` (layer `l`'s block at `upperBase[i] + (l - 1) * (m + 1)`); a node
 *   at layer 0 has `upperBase[i] = -1`. Blocks are handed out in insertion order.
 * - `levels`: each node's top layer; `deleted`: 1 for a tombstone.
 * - `visited`: the visit marks of the current search, by epoch (a node is visited when its mark
 *   equals the current epoch), so that starting a search clears nothing.
 *
 * The arrays grow by doubling; a node's number is its position in insertion order until a
 * compaction renumbers the survivors (keeping their order).
 */

import { assert } from '../assert.ts';
import { LimitExceededError } from '../errors.ts';
import { MinHeap } from './heap.ts';
import type { KernelChoice } from './kernel.ts';
import { VectorStore } from './kernel.ts';
import {
  MAX_ELEMENTS,
  MAX_LEVEL,
  MAX_LINK_INTS,
  MAX_STORED_FLOATS,
  REPAIR_CANDIDATES_MAX,
} from './limits.ts';
import type { VectorMetric } from './metric.ts';

/** The fixed parameters of a graph. */
export interface GraphParams {
  /** Components per vector. */
  dimension: number;
  /** The similarity metric. */
  metric: VectorMetric;
  /** Links per node on layers 1 and up (layer 0 keeps up to `2 * m`). */
  m: number;
  /** Beam width while inserting. */
  efConstruction: number;
  /** `scalar` forces the scalar kernel (tests compare it with the SIMD one). */
  kernel: KernelChoice;
}

/** Capacity of a new, empty graph. */
const INITIAL_CAPACITY = 64;

/** The storage and scratch state of one HNSW graph. */
export class HnswGraph {
  /** Components per vector. */
  readonly dim: number;
  /** The similarity metric. */
  readonly metric: VectorMetric;
  /** Most links per node on layers 1 and up. */
  readonly m: number;
  /** Most links per node on layer 0. */
  readonly m0: number;
  /** Beam width while inserting. */
  readonly efConstruction: number;
  /** The level distribution's normalisation, 1 / ln(m). */
  readonly levelMult: number;
  /** Most nodes this graph can hold, from the named limits and its dimension and `m`. */
  readonly maxNodes: number;

  /** Nodes stored, live and tombstoned. */
  count = 0;
  /** Tombstoned nodes. */
  deletedCount = 0;
  /** The entry node of every search, -1 when the graph is empty. */
  entry = -1;
  /** The entry node's layer, the top layer of the graph (0 when empty). */
  maxLevel = 0;
  /** Nodes the arrays have room for. */
  capacity = 0;

  /** The vectors and the distance kernel. */
  readonly store: VectorStore;
  links0: Int32Array;
  levels: Uint8Array;
  deleted: Uint8Array;
  upperBase: Int32Array;
  upper: Int32Array;
  /** Ints of `upper` in use. */
  upperUsed = 0;
  visited: Uint32Array;
  private epoch = 0;

  /** Candidates of the current layer search (a min-heap by distance). */
  readonly candidates: MinHeap;
  /** Results of the current layer search (a max-heap by distance: keys are negated distances). */
  readonly results: MinHeap;
  /** Neighbour selection scratch: candidate nodes, closest first. */
  readonly scratchNodes: Int32Array;
  /** Neighbour selection scratch: the candidates' distances. */
  readonly scratchDistances: Float64Array;
  /** Neighbour selection scratch: the nodes selected. */
  readonly selected: Int32Array;

  constructor(params: GraphParams, capacity = INITIAL_CAPACITY) {
    this.dim = params.dimension;
    this.metric = params.metric;
    this.m = params.m;
    this.m0 = 2 * params.m;
    this.efConstruction = params.efConstruction;
    this.levelMult = 1 / Math.log(params.m);
    this.maxNodes = Math.min(
      MAX_ELEMENTS,
      Math.floor(MAX_STORED_FLOATS / this.dim),
      Math.floor(MAX_LINK_INTS / (this.m0 + 1)),
    );
    const cap = Math.max(1, Math.min(capacity, this.maxNodes));
    this.store = new VectorStore({
      dimension: this.dim,
      metric: params.metric,
      capacity: cap,
      kernel: params.kernel,
    });
    this.links0 = new Int32Array(cap * (this.m0 + 1));
    this.levels = new Uint8Array(cap);
    this.deleted = new Uint8Array(cap);
    this.upperBase = new Int32Array(cap).fill(-1);
    this.upper = new Int32Array(Math.max(this.m + 1, cap >> 2));
    this.visited = new Uint32Array(cap);
    this.capacity = cap;
    this.candidates = new MinHeap(Math.max(64, params.efConstruction));
    this.results = new MinHeap(Math.max(64, params.efConstruction + 1));
    const scratch = Math.max(params.efConstruction + 1, REPAIR_CANDIDATES_MAX, this.m0 + 1);
    this.scratchNodes = new Int32Array(scratch);
    this.scratchDistances = new Float64Array(scratch);
    this.selected = new Int32Array(this.m0 + 1);
  }

  /** Live nodes. */
  get liveCount(): number {
    return this.count - this.deletedCount;
  }

  /** Throws {@link LimitExceededError} when `nodes` more nodes would not fit. */
  checkRoom(nodes: number): void {
    if (this.count + nodes <= this.maxNodes) return;
    throw new LimitExceededError({
      limit: 'maxNodes',
      max: this.maxNodes,
      actual: this.count + nodes,
      what: `HNSW nodes (live and tombstoned; MAX_ELEMENTS, MAX_STORED_FLOATS / dimension, MAX_LINK_INTS / (2m + 1))`,
    });
  }

  /** Grows the per-node arrays to hold at least `nodes` nodes. */
  ensureCapacity(nodes: number): void {
    if (nodes <= this.capacity) return;
    assert(nodes <= this.maxNodes, 'graph capacity asked past maxNodes');
    const cap = Math.min(this.maxNodes, Math.max(nodes, this.capacity * 2));
    this.store.ensureCapacity(cap);
    this.links0 = grownInt32(this.links0, cap * (this.m0 + 1));
    this.levels = grownUint8(this.levels, cap);
    this.deleted = grownUint8(this.deleted, cap);
    const base = new Int32Array(cap).fill(-1);
    base.set(this.upperBase);
    this.upperBase = base;
    // Fresh marks are all 0 and the epoch only grows, so old marks never look current.
    this.visited = grownUint32(this.visited, cap);
    this.capacity = cap;
  }

  /**
   * Appends a node with `vector[0, dim)` at top layer `level` and no links; returns its number.
   * The caller has checked room with {@link checkRoom}.
   */
  addNode(vector: Float32Array, level: number): number {
    assert(Number.isInteger(level), 'level must be an integer');
    assert(level >= 0, 'level must be non-negative');
    assert(level <= MAX_LEVEL, 'level exceeds MAX_LEVEL');
    const node = this.count;
    this.ensureCapacity(node + 1);
    this.store.setNode(node, vector);
    this.links0[node * (this.m0 + 1)] = 0;
    this.levels[node] = level;
    this.deleted[node] = 0;
    this.upperBase[node] = level === 0 ? -1 : this.allocateUpper(level);
    this.count = node + 1;
    return node;
  }

  /** Reserves `level` zeroed blocks of the upper pool; returns the first one's offset. */
  allocateUpper(level: number): number {
    const ints = level * (this.m + 1);
    if (this.upperUsed + ints > this.upper.length) {
      this.upper = grownInt32(this.upper, Math.max(this.upperUsed + ints, this.upper.length * 2));
    }
    const at = this.upperUsed;
    this.upper.fill(0, at, at + ints);
    this.upperUsed = at + ints;
    return at;
  }

  /** The array holding layer `level`'s links. */
  linkArray(level: number): Int32Array {
    return level === 0 ? this.links0 : this.upper;
  }

  /** Offset in {@link linkArray} of `node`'s block at `level` (its count, then its links). */
  linkBase(node: number, level: number): number {
    return level === 0 ? node * (this.m0 + 1) : this.upperBase[node]! + (level - 1) * (this.m + 1);
  }

  /** Most links a node keeps at `level`. */
  maxLinks(level: number): number {
    return level === 0 ? this.m0 : this.m;
  }

  /** Starts a new visit epoch; returns the mark that means "visited in this search". */
  nextEpoch(): number {
    if (this.epoch === 0xffffffff) {
      this.visited.fill(0);
      this.epoch = 0;
    }
    this.epoch += 1;
    return this.epoch;
  }

  /** Distance from the vector at float index `at` of the heap (a query or a node) to `node`. */
  distanceAt(at: number, node: number): number {
    return this.store.kernel(at, this.store.at(node), this.dim);
  }

  /** Distance between two nodes. */
  nodeDistance(a: number, b: number): number {
    return this.store.kernel(this.store.at(a), this.store.at(b), this.dim);
  }
}

function grownInt32(a: Int32Array, length: number): Int32Array {
  const b = new Int32Array(length);
  b.set(a.subarray(0, Math.min(a.length, length)));
  return b;
}

function grownUint8(a: Uint8Array, length: number): Uint8Array {
  const b = new Uint8Array(length);
  b.set(a.subarray(0, Math.min(a.length, length)));
  return b;
}

function grownUint32(a: Uint32Array, length: number): Uint32Array {
  const b = new Uint32Array(length);
  b.set(a.subarray(0, Math.min(a.length, length)));
  return b;
}
