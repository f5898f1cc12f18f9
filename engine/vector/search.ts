/**
 * Searching an HNSW graph (Malkov and Yashunin, Algorithms 2 and 5): a greedy descent through
 * the upper layers with a beam of one, then a beam search of width `ef` on layer 0.
 *
 * Tombstoned nodes route the search like any other node (removing them would cut paths) but
 * never enter the results. A filter works the same way: nodes it rejects still route, and the
 * beam keeps widening until it holds `ef` accepted nodes, which is post-filtering with an `ef`
 * that adapts to the filter's selectivity. A very selective filter would make that walk visit
 * most of the graph, so past a visit budget the search gives up on the graph and scans every
 * node exactly instead (see {@link FILTER_VISIT_FRACTION_MAX}).
 */

import type { HnswGraph } from './graph.ts';
import { MinHeap } from './heap.ts';

/** Decides whether a live node may enter the results (the caller's filter, by node number). */
export type NodeFilter = (node: number) => boolean;

/**
 * Greedy search on layer `level` from `ep` (the upper-layer step, beam of one): moves to the
 * closest neighbour while one is closer. Returns the node reached.
 */
export function greedyClosest(g: HnswGraph, qAt: number, ep: number, level: number): number {
  const arr = g.linkArray(level);
  let cur = ep;
  let curDist = g.distanceAt(qAt, cur);
  let changed = true;
  while (changed) {
    changed = false;
    const base = g.linkBase(cur, level);
    const count = arr[base]!;
    for (let i = 1; i <= count; i++) {
      const e = arr[base + i]!;
      const d = g.distanceAt(qAt, e);
      if (d < curDist) {
        curDist = d;
        cur = e;
        changed = true;
      }
    }
  }
  return cur;
}

/**
 * Beam search of width `ef` on layer `level` from `ep`, for the vector at float index `qAt` of
 * the heap (the query slot, or the node being inserted). Leaves the accepted nodes closest to
 * the query, at most `ef` of them, in `g.results` (keys are negated distances). A node is
 * accepted when it is live and passes `filter` (when given). Returns false when the search
 * stopped early because it visited more than `visitBudget` nodes; true when it ran to its end.
 */
export function searchLayer(
  g: HnswGraph,
  qAt: number,
  ep: number,
  options: { ef: number; level: number; filter: NodeFilter | undefined; visitBudget: number },
): boolean {
  const { ef, level, filter, visitBudget } = options;
  const cand = g.candidates;
  const res = g.results;
  cand.clear();
  res.clear();
  const epoch = g.nextEpoch();
  const visited = g.visited;
  const deleted = g.deleted;
  const dim = g.dim;
  const kernel = g.store.kernel;
  const vectorBase = g.store.baseAt;
  const arr = g.linkArray(level);
  const stride0 = g.m0 + 1;
  const strideUpper = g.m + 1;
  const upperBase = g.upperBase;
  visited[ep] = epoch;
  const d0 = kernel(qAt, vectorBase + ep * dim, dim);
  cand.push(d0, ep);
  if (deleted[ep] === 0 && (filter === undefined || filter(ep))) res.push(-d0, ep);
  let bound = res.size > 0 ? -res.peekKey() : Number.POSITIVE_INFINITY;
  let visits = 1;
  while (cand.size > 0) {
    if (cand.peekKey() > bound && res.size >= ef) break;
    const c = cand.pop();
    const base = level === 0 ? c * stride0 : upperBase[c]! + (level - 1) * strideUpper;
    const count = arr[base]!;
    for (let i = 1; i <= count; i++) {
      const e = arr[base + i]!;
      if (visited[e] === epoch) continue;
      visited[e] = epoch;
      visits++;
      const d = kernel(qAt, vectorBase + e * dim, dim);
      if (res.size < ef || d < bound) {
        cand.push(d, e);
        if (deleted[e] === 0 && (filter === undefined || filter(e))) {
          res.push(-d, e);
          if (res.size > ef) res.pop();
          bound = -res.peekKey();
        }
      }
    }
    if (visits > visitBudget) return false;
  }
  return true;
}

/** Nodes and their distances, closest first. */
export interface NodeHits {
  nodes: Int32Array;
  distances: Float64Array;
}

/**
 * The `k` closest nodes in `g.results`, closest first, nodes at equal distance ordered by
 * `compareTies` (also at the k-th place). Drains the heap into typed arrays (ascending), so
 * only runs of equal distance, which are rare, need the comparator.
 */
export function topResults(g: HnswGraph, k: number, compareTies: (a: number, b: number) => number): NodeHits {
  const res = g.results;
  const n = res.size;
  const nodes = new Int32Array(n);
  const distances = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    distances[i] = -res.peekKey();
    nodes[i] = res.pop();
  }
  // Take the first k, plus every node tied with the k-th, and order each run of ties.
  let end = Math.min(k, n);
  while (end > 0 && end < n && distances[end] === distances[end - 1]) end++;
  for (let i = 1; i < end; i++) {
    const node = nodes[i]!;
    const d = distances[i]!;
    let j = i - 1;
    while (j >= 0 && distances[j] === d && compareTies(nodes[j]!, node) > 0) {
      nodes[j + 1] = nodes[j]!;
      j--;
    }
    nodes[j + 1] = node;
  }
  const count = Math.min(k, n);
  return { nodes: nodes.subarray(0, count), distances: distances.subarray(0, count) };
}

/**
 * Approximate k-nearest search over the whole graph: descends to layer 0 and runs a beam of
 * width `ef` there. Returns false when the filtered walk exceeded `visitBudget` (the caller then
 * scans); the accepted nodes are left in `g.results` either way.
 */
export function searchGraph(
  g: HnswGraph,
  qAt: number,
  options: { ef: number; filter: NodeFilter | undefined; visitBudget: number },
): boolean {
  g.results.clear();
  if (g.entry < 0) return true;
  let ep = g.entry;
  for (let level = g.maxLevel; level > 0; level--) ep = greedyClosest(g, qAt, ep, level);
  return searchLayer(g, qAt, ep, {
    ef: options.ef,
    level: 0,
    filter: options.filter,
    visitBudget: options.visitBudget,
  });
}

/**
 * Exact search: the `k` accepted nodes closest to `q`, by a scan of every node. Returns them
 * closest first, nodes at equal distance ordered by `compareTies` (which also decides who stays
 * at the k-th place). A bounded max-heap of distances gives the running k-th distance; every
 * node within it is kept, so a tie at the boundary is resolved by the final sort, not by the
 * heap's arbitrary order among equal keys.
 */
export function scanExact(
  g: HnswGraph,
  qAt: number,
  options: { k: number; filter: NodeFilter | undefined; compareTies: (a: number, b: number) => number },
): NodeHits {
  const { k, filter } = options;
  const heap = new MinHeap(k + 1);
  const keptNodes: number[] = [];
  const keptDistances: number[] = [];
  const deleted = g.deleted;
  for (let node = 0; node < g.count; node++) {
    if (deleted[node] !== 0) continue;
    const d = g.distanceAt(qAt, node);
    if (heap.size >= k && d > -heap.peekKey()) continue;
    if (filter !== undefined && !filter(node)) continue;
    keptNodes.push(node);
    keptDistances.push(d);
    heap.push(-d, node);
    if (heap.size > k) heap.pop();
  }
  const threshold = heap.size >= k ? -heap.peekKey() : Number.POSITIVE_INFINITY;
  const order: number[] = [];
  for (let i = 0; i < keptNodes.length; i++) if (keptDistances[i]! <= threshold) order.push(i);
  return sortedHits({
    nodes: keptNodes,
    distances: keptDistances,
    order,
    k,
    compareTies: options.compareTies,
  });
}

/**
 * The first `k` of the entries `order` picks from `nodes`/`distances`, sorted by distance and
 * then by `compareTies`.
 */
export function sortedHits(options: {
  nodes: ArrayLike<number>;
  distances: ArrayLike<number>;
  order: number[];
  k: number;
  compareTies: (a: number, b: number) => number;
}): NodeHits {
  const { nodes, distances, order, compareTies } = options;
  order.sort((a, b) => {
    const da = distances[a]!;
    const db = distances[b]!;
    if (da !== db) return da < db ? -1 : 1;
    return compareTies(nodes[a]!, nodes[b]!);
  });
  const n = Math.min(options.k, order.length);
  const out: NodeHits = { nodes: new Int32Array(n), distances: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    out.nodes[i] = nodes[order[i]!]!;
    out.distances[i] = distances[order[i]!]!;
  }
  return out;
}
