/**
 * Inserting into an HNSW graph (Malkov and Yashunin, Algorithms 1 and 4), following hnswlib's
 * choices where the paper leaves room, since hnswlib is what we are measured against:
 * - a new node links to `m` neighbours on every layer, chosen by the heuristic among the
 *   `efConstruction` closest nodes found; a neighbour whose list is full (`m`, or `2m` on
 *   layer 0) re-selects its list by the same heuristic over its old links plus the new node;
 * - the next layer's search starts from the closest selected neighbour;
 * - tombstoned nodes route the search but are not linked to, except a tombstoned entry point,
 *   which is kept as a candidate so that a new node is always reachable from the entry.
 *
 * The heuristic keeps a candidate only if it is closer to the base node than to every
 * candidate already kept, which spreads links over directions and keeps clustered data
 * navigable.
 */

import type { Random } from '../io/random.ts';
import type { HnswGraph } from './graph.ts';
import { MAX_LEVEL } from './limits.ts';
import { greedyClosest, searchLayer } from './search.ts';

/** Draws a node's top layer: floor(-ln(U) / ln(m)) with U uniform in (0, 1], capped at {@link MAX_LEVEL}. */
export function drawLevel(random: Random, levelMult: number): number {
  const u = random.next();
  const level = Math.floor(-Math.log(1 - u) * levelMult);
  return Math.min(level, MAX_LEVEL);
}

/**
 * Selects at most `max` of the first `count` candidates in `g.scratchNodes` (closest first,
 * distances to the base node in `g.scratchDistances`) by the heuristic, into `g.selected`.
 * Returns how many were selected. Fewer than `max` candidates are all kept, as in hnswlib.
 */
export function selectNeighbours(g: HnswGraph, count: number, max: number): number {
  const nodes = g.scratchNodes;
  const dists = g.scratchDistances;
  const sel = g.selected;
  if (count < max) {
    for (let i = 0; i < count; i++) sel[i] = nodes[i]!;
    return count;
  }
  let n = 0;
  for (let i = 0; i < count && n < max; i++) {
    const c = nodes[i]!;
    const dc = dists[i]!;
    let good = true;
    for (let j = 0; j < n; j++) {
      if (g.nodeDistance(c, sel[j]!) < dc) {
        good = false;
        break;
      }
    }
    if (good) sel[n++] = c;
  }
  return n;
}

/** Sorts the first `count` scratch candidates by distance, then node number (insertion sort). */
export function sortScratch(g: HnswGraph, count: number): void {
  const nodes = g.scratchNodes;
  const dists = g.scratchDistances;
  for (let i = 1; i < count; i++) {
    const node = nodes[i]!;
    const d = dists[i]!;
    let j = i - 1;
    while (j >= 0 && (dists[j]! > d || (dists[j] === d && nodes[j]! > node))) {
      nodes[j + 1] = nodes[j]!;
      dists[j + 1] = dists[j]!;
      j--;
    }
    nodes[j + 1] = node;
    dists[j + 1] = d;
  }
}

/** Writes `g.selected[0, count)` as `node`'s links at `level`. */
function writeSelected(g: HnswGraph, node: number, level: number, count: number): void {
  const arr = g.linkArray(level);
  const base = g.linkBase(node, level);
  arr[base] = count;
  for (let i = 0; i < count; i++) arr[base + 1 + i] = g.selected[i]!;
}

/** Adds a link `from -> to` at `level`, re-selecting `from`'s list when it is full. */
function addLink(g: HnswGraph, from: number, to: number, level: number): void {
  const arr = g.linkArray(level);
  const base = g.linkBase(from, level);
  const count = arr[base]!;
  const max = g.maxLinks(level);
  if (count < max) {
    arr[base + 1 + count] = to;
    arr[base] = count + 1;
    return;
  }
  const nodes = g.scratchNodes;
  const dists = g.scratchDistances;
  for (let i = 0; i < count; i++) {
    const e = arr[base + 1 + i]!;
    nodes[i] = e;
    dists[i] = g.nodeDistance(from, e);
  }
  nodes[count] = to;
  dists[count] = g.nodeDistance(from, to);
  sortScratch(g, count + 1);
  writeSelected(g, from, level, selectNeighbours(g, count + 1, max));
}

/**
 * Links `node` at `level` to neighbours chosen from `g.results` (left there by a layer search)
 * and links them back. Returns the closest neighbour chosen, or -1 when there was none.
 */
function connect(g: HnswGraph, node: number, level: number): number {
  const res = g.results;
  const n = res.size;
  const nodes = g.scratchNodes;
  const dists = g.scratchDistances;
  for (let i = n - 1; i >= 0; i--) {
    dists[i] = -res.peekKey();
    nodes[i] = res.pop();
  }
  const count = selectNeighbours(g, n, g.m);
  writeSelected(g, node, level, count);
  const arr = g.linkArray(level);
  const base = g.linkBase(node, level);
  // Read the neighbours back from the node's own list: addLink reuses the scratch arrays.
  for (let i = 0; i < count; i++) addLink(g, arr[base + 1 + i]!, node, level);
  return count > 0 ? arr[base + 1]! : -1;
}

/**
 * Inserts `vector[0, dim)` (already checked and, under cosine, normalised) as a new node at top
 * layer `level`; returns its node number. The caller has checked room.
 */
export function insertNode(g: HnswGraph, vector: Float32Array, level: number): number {
  const node = g.addNode(vector, level);
  const qAt = g.store.at(node);
  if (g.entry < 0) {
    g.entry = node;
    g.maxLevel = level;
    return node;
  }
  let ep = g.entry;
  for (let l = g.maxLevel; l > level; l--) ep = greedyClosest(g, qAt, ep, l);
  for (let l = Math.min(level, g.maxLevel); l >= 0; l--) {
    searchLayer(g, qAt, ep, {
      ef: g.efConstruction,
      level: l,
      filter: undefined,
      visitBudget: Number.POSITIVE_INFINITY,
    });
    if (g.deleted[ep] !== 0) {
      g.results.push(-g.distanceAt(qAt, ep), ep);
      if (g.results.size > g.efConstruction) g.results.pop();
    }
    const closest = connect(g, node, l);
    if (closest >= 0) ep = closest;
  }
  if (level > g.maxLevel) {
    g.entry = node;
    g.maxLevel = level;
  }
  return node;
}
