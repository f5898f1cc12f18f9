/**
 * An HNSW index of fixed-dimension vectors under string ids: the public face of
 * engine/vector. See docs/vector.md for the design, and docs/formats/hnsw.md for the file.
 *
 * Ids are strings, mapped to dense internal node numbers; the graph only ever sees numbers.
 * An update is a delete plus an insert (the old node becomes a tombstone), deletes are
 * tombstones, and a compaction (automatic past a fraction of tombstones, or called) repairs the
 * links around them and drops them. Every change is validated completely before anything is
 * stored, so a rejected change leaves the index exactly as it was. All randomness (the level
 * draws) comes from the injected {@link Random}, so the same changes from the same seed give
 * the same graph and the same saved bytes.
 *
 * {@link HnswIndex.apply} takes a change record, the entry point a database view maintaining
 * the index from its log would call.
 */

import { InvalidArgumentError, NotFoundError } from '../errors.ts';
import type { FileSystem } from '../io/fs.ts';
import type { Random } from '../io/random.ts';
import { compactGraph } from './compact.ts';
import { HnswGraph } from './graph.ts';
import { drawLevel, insertNode } from './insert.ts';
import type { KernelChoice } from './kernel.ts';
import {
  AUTO_COMPACT_MIN_DELETED,
  DEFAULT_COMPACT_DELETED_FRACTION,
  FILTER_VISIT_FRACTION_MAX,
  FILTER_VISIT_MIN,
} from './limits.ts';
import type { VectorMetric } from './metric.ts';
import { prepareVector, scoreOf } from './metric.ts';
import type { HnswOptions, ResolvedOptions, SearchOptions } from './options.ts';
import { checkFraction, checkId, checkRandom, resolveOptions, resolveSearch } from './options.ts';
import { loadGraph, saveGraph } from './persist.ts';
import type { NodeFilter, NodeHits } from './search.ts';
import { scanExact, searchGraph, topResults } from './search.ts';

export type { VectorMetric } from './metric.ts';
export type { HnswOptions, SearchOptions } from './options.ts';

/** One search result. */
export interface VectorHit {
  /** The id the vector was stored under. */
  id: string;
  /** Higher is closer: cosine similarity, inner product, or negated squared L2 (metric.ts). */
  score: number;
}

/** A change to apply: what a log entry or a sync message carries. */
export type VectorChange =
  | { kind: 'upsert'; id: string; vector: ArrayLike<number> }
  | { kind: 'delete'; id: string };

/** Counters and parameters of an index. */
export interface HnswStats {
  dimension: number;
  metric: VectorMetric;
  m: number;
  efConstruction: number;
  efSearch: number;
  /** Live vectors. */
  live: number;
  /** Tombstoned nodes awaiting compaction. */
  deleted: number;
  /** Top layer of the graph. */
  maxLevel: number;
  /** Most nodes (live and tombstoned) this index can hold. */
  maxNodes: number;
}

/** How to open a saved index. */
export interface HnswLoadOptions {
  /** Where later level draws come from. */
  random: Random;
  /** As in {@link HnswOptions}; default 0.3. */
  compactDeletedFraction?: number;
  /** As in {@link HnswOptions}. */
  kernel?: KernelChoice;
}

/** An HNSW index (see the module comment). */
export class HnswIndex {
  private ids: string[];
  private nodeOf: Map<string, number>;
  /** The checked (and normalised) vector of the change or query being handled. */
  private readonly scratch: Float32Array;
  /** True while a search runs: a filter must not use the index. */
  private busy = false;

  private constructor(
    private readonly graph: HnswGraph,
    ids: string[],
    private readonly random: Random,
    private readonly options: ResolvedOptions,
  ) {
    this.ids = ids;
    this.nodeOf = new Map();
    for (let node = 0; node < graph.count; node++) {
      if (graph.deleted[node] === 0) this.nodeOf.set(ids[node]!, node);
    }
    this.scratch = new Float32Array(graph.dim);
  }

  /** An empty index. Throws a typed error for bad options. */
  static create(options: HnswOptions): HnswIndex {
    const resolved = resolveOptions(options);
    const graph = new HnswGraph({ ...resolved, kernel: options.kernel ?? 'auto' });
    return new HnswIndex(graph, [], options.random, resolved);
  }

  /**
   * Opens the index saved in `name` of `fs`. Throws `CorruptionError` when the file fails any
   * check (it never returns an index built from damaged bytes), `NotFoundError` when it is absent.
   */
  static load(fs: FileSystem, name: string, options: HnswLoadOptions): HnswIndex {
    checkRandom(options?.random);
    const fraction = options.compactDeletedFraction ?? DEFAULT_COMPACT_DELETED_FRACTION;
    checkFraction(fraction);
    const { graph, ids, efSearch } = loadGraph(fs, name, options.kernel ?? 'auto');
    const resolved: ResolvedOptions = {
      dimension: graph.dim,
      metric: graph.metric,
      m: graph.m,
      efConstruction: graph.efConstruction,
      efSearch,
      compactDeletedFraction: fraction,
    };
    return new HnswIndex(graph, ids, options.random, resolved);
  }

  /** Saves the index to `name` of `fs`, atomically (a crash leaves the old file or the new one). */
  save(fs: FileSystem, name: string): void {
    this.checkNotBusy();
    saveGraph(fs, name, { graph: this.graph, ids: this.ids, efSearch: this.options.efSearch });
  }

  /** Components per vector. */
  get dimension(): number {
    return this.graph.dim;
  }

  /** The similarity metric. */
  get metric(): VectorMetric {
    return this.graph.metric;
  }

  /** Number of live vectors. */
  get size(): number {
    return this.graph.liveCount;
  }

  /** True when a vector is stored under `id`. */
  has(id: string): boolean {
    return this.nodeOf.has(id);
  }

  /** The vector stored under `id` as stored (normalised under cosine), a copy; or undefined. */
  getVector(id: string): Float32Array | undefined {
    const node = this.nodeOf.get(id);
    if (node === undefined) return undefined;
    const at = this.graph.store.at(node);
    return this.graph.store.heap.slice(at, at + this.graph.dim);
  }

  /** Like {@link getVector}, but throws `NotFoundError` when nothing is stored under `id`. */
  mustGetVector(id: string): Float32Array {
    const v = this.getVector(id);
    if (v === undefined) throw new NotFoundError(`no vector stored under id ${JSON.stringify(id)}`);
    return v;
  }

  /** The live ids, in internal order (insertion order, updates moving to the end). */
  *liveIds(): IterableIterator<string> {
    for (let node = 0; node < this.graph.count; node++) {
      if (this.graph.deleted[node] === 0) yield this.ids[node]!;
    }
  }

  /**
   * Stores `vector` under `id`, replacing what was there. Returns false when the same vector
   * (as stored) was already there, which changes nothing. Throws a typed error, storing
   * nothing, for a bad id or vector or when the index is full.
   */
  upsert(id: string, vector: ArrayLike<number>): boolean {
    this.checkNotBusy();
    checkId(id);
    const g = this.graph;
    prepareVector(vector, {
      dimension: g.dim,
      metric: g.metric,
      what: `vector of ${JSON.stringify(id)}`,
      out: this.scratch,
    });
    const old = this.nodeOf.get(id);
    if (old !== undefined && this.storedEquals(old)) return false;
    if (g.count + 1 > g.maxNodes && g.deletedCount > 0) this.compact();
    g.checkRoom(1);
    const level = drawLevel(this.random, g.levelMult);
    // Read again: the compaction above may have renumbered the old node.
    const previous = this.nodeOf.get(id);
    if (previous !== undefined) this.tombstone(previous);
    const node = insertNode(g, this.scratch, level);
    this.ids[node] = id;
    this.nodeOf.set(id, node);
    if (previous !== undefined) this.maybeCompact();
    return true;
  }

  /** Removes the vector under `id`; returns false when there was none. */
  delete(id: string): boolean {
    this.checkNotBusy();
    checkId(id);
    const node = this.nodeOf.get(id);
    if (node === undefined) return false;
    this.tombstone(node);
    this.nodeOf.delete(id);
    this.maybeCompact();
    return true;
  }

  /** Applies one change (upsert or delete). */
  apply(change: VectorChange): void {
    if (change === null || typeof change !== 'object')
      throw new InvalidArgumentError('a change must be an object');
    if (change.kind === 'upsert') this.upsert(change.id, change.vector);
    else if (change.kind === 'delete') this.delete(change.id);
    else throw new InvalidArgumentError(`unknown change kind ${String((change as { kind: unknown }).kind)}`);
  }

  /**
   * The `k` stored vectors closest to `query` (approximately: HNSW), best first; equal scores
   * in id order. With a filter, only ids it accepts; a very selective filter switches to an
   * exact scan (docs/vector.md). Never more than `k` results, fewer only when fewer match.
   */
  search(query: ArrayLike<number>, options: SearchOptions): VectorHit[] {
    return this.runSearch(query, options, false);
  }

  /** Like {@link search}, but exact: a scan of every vector (for checks and small indexes). */
  searchExact(query: ArrayLike<number>, options: SearchOptions): VectorHit[] {
    return this.runSearch(query, options, true);
  }

  /**
   * The score of the vector stored under `id` against `query`, exactly as a search would report
   * it; undefined when nothing is stored under `id`. Live subscriptions use it to test one
   * changed vector against their current results without a search.
   */
  score(query: ArrayLike<number>, id: string): number | undefined {
    this.checkNotBusy();
    const g = this.graph;
    prepareVector(query, { dimension: g.dim, metric: g.metric, what: 'query', out: this.scratch });
    const node = this.nodeOf.get(id);
    if (node === undefined) return undefined;
    g.store.setQuery(this.scratch);
    return scoreOf(g.distanceAt(g.store.queryAt, node));
  }

  /**
   * Up to `count` live ids spread evenly over the internal order (deterministic: no random
   * draw), for estimating what fraction of the index a filter accepts.
   */
  sampleIds(count: number): string[] {
    const g = this.graph;
    const out: string[] = [];
    if (count <= 0 || g.liveCount === 0) return out;
    const step = Math.max(1, Math.floor(g.count / count));
    for (let node = 0; node < g.count && out.length < count; node += step) {
      // A tombstone's slot gives the next live node after it, so deletes do not shrink the sample.
      let n = node;
      while (n < g.count && g.deleted[n] !== 0) n++;
      if (n < g.count && (out.length === 0 || out[out.length - 1] !== this.ids[n])) out.push(this.ids[n]!);
    }
    return out;
  }

  /** Removes every tombstone, repairing the links around them (compact.ts). */
  compact(): void {
    this.checkNotBusy();
    if (this.graph.deletedCount === 0) return;
    const renumber = compactGraph(this.graph);
    const ids: string[] = new Array(this.graph.count);
    for (let old = 0; old < renumber.length; old++) {
      const node = renumber[old]!;
      if (node >= 0) ids[node] = this.ids[old]!;
    }
    this.ids = ids;
    this.nodeOf = new Map();
    for (let node = 0; node < ids.length; node++) this.nodeOf.set(ids[node]!, node);
  }

  /** Counters and parameters. */
  stats(): HnswStats {
    const g = this.graph;
    return {
      dimension: g.dim,
      metric: g.metric,
      m: g.m,
      efConstruction: g.efConstruction,
      efSearch: this.options.efSearch,
      live: g.liveCount,
      deleted: g.deletedCount,
      maxLevel: g.maxLevel,
      maxNodes: g.maxNodes,
    };
  }

  private runSearch(query: ArrayLike<number>, options: SearchOptions, exact: boolean): VectorHit[] {
    this.checkNotBusy();
    const { k, ef } = resolveSearch(options, this.options.efSearch);
    const g = this.graph;
    prepareVector(query, { dimension: g.dim, metric: g.metric, what: 'query', out: this.scratch });
    if (g.liveCount === 0) return [];
    g.store.setQuery(this.scratch);
    const filter = options.filter;
    const ids = this.ids;
    const nodeFilter: NodeFilter | undefined =
      filter === undefined ? undefined : (node) => filter(ids[node]!) === true;
    const compareTies = (a: number, b: number): number =>
      ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0;
    let hits: NodeHits;
    this.busy = true;
    try {
      hits = exact ? this.scan(k, nodeFilter, compareTies) : this.walk(k, ef, nodeFilter, compareTies);
    } finally {
      this.busy = false;
    }
    const out: VectorHit[] = new Array(hits.nodes.length);
    for (let i = 0; i < hits.nodes.length; i++) {
      out[i] = { id: ids[hits.nodes[i]!]!, score: scoreOf(hits.distances[i]!) };
    }
    return out;
  }

  /** The graph search, falling back to a scan (see search.ts). */
  private walk(
    k: number,
    ef: number,
    filter: NodeFilter | undefined,
    compareTies: (a: number, b: number) => number,
  ): NodeHits {
    const g = this.graph;
    const visitBudget =
      filter === undefined
        ? Number.POSITIVE_INFINITY
        : Math.max(FILTER_VISIT_MIN, g.count * FILTER_VISIT_FRACTION_MAX);
    const complete = searchGraph(g, g.store.queryAt, { ef, filter, visitBudget });
    if (!complete || g.results.size < Math.min(k, g.liveCount)) return this.scan(k, filter, compareTies);
    return topResults(g, k, compareTies);
  }

  private scan(
    k: number,
    filter: NodeFilter | undefined,
    compareTies: (a: number, b: number) => number,
  ): NodeHits {
    return scanExact(this.graph, this.graph.store.queryAt, { k, filter, compareTies });
  }

  private storedEquals(node: number): boolean {
    const dim = this.graph.dim;
    const heap = this.graph.store.heap;
    const base = this.graph.store.at(node);
    for (let i = 0; i < dim; i++) if (heap[base + i] !== this.scratch[i]) return false;
    return true;
  }

  private tombstone(node: number): void {
    this.graph.deleted[node] = 1;
    this.graph.deletedCount += 1;
  }

  private maybeCompact(): void {
    const g = this.graph;
    if (g.deletedCount < AUTO_COMPACT_MIN_DELETED) return;
    if (g.deletedCount > this.options.compactDeletedFraction * g.count) this.compact();
  }

  private checkNotBusy(): void {
    if (this.busy) throw new InvalidArgumentError('an HNSW index was used from inside its own search filter');
  }
}
