/**
 * Compaction: removes tombstoned nodes from the graph for good, repairing the links around
 * them first so that recall holds (the "delete consolidation" of FreshDiskANN, Singh et al.
 * 2021, with hnswlib's selection heuristic):
 *
 * 1. Repair. For every live node `u` and every layer `l` where `u` links to a tombstone, the new
 *    candidate list is `u`'s live links plus the live links (at `l`) of each tombstone `u`
 *    linked to: the paths that went through a tombstone become direct links. The closest
 *    {@link REPAIR_CANDIDATES_MAX} candidates go through the heuristic, keeping at most the
 *    layer's degree.
 * 2. Entry point. If the entry point was a tombstone, the live node with the highest layer
 *    (lowest number among equals) becomes the entry, and the graph's top layer drops to its.
 * 3. Renumbering. Survivors keep their order and are numbered densely from 0; vectors, layers
 *    and layer-0 links move down in place, the upper-layer pool is re-packed.
 *
 * Everything is a pure function of the graph's state, so compaction keeps the index
 * deterministic.
 */

import { assert } from '../assert.ts';
import type { HnswGraph } from './graph.ts';
import { selectNeighbours } from './insert.ts';
import { REPAIR_CANDIDATES_MAX } from './limits.ts';

/**
 * Compacts `g` (see the module comment). Returns the renumbering, old node number to new, -1
 * for a removed node; the caller renumbers whatever it keeps per node (ids).
 */
export function compactGraph(g: HnswGraph): Int32Array {
  const oldCount = g.count;
  for (let u = 0; u < oldCount; u++) {
    if (g.deleted[u] !== 0) continue;
    for (let level = 0; level <= g.levels[u]!; level++) repairList(g, u, level);
  }
  const renumber = new Int32Array(oldCount).fill(-1);
  let live = 0;
  for (let u = 0; u < oldCount; u++) if (g.deleted[u] === 0) renumber[u] = live++;
  const newEntry = chooseEntry(g);
  moveNodes(g, renumber, live);
  g.entry = newEntry < 0 ? -1 : renumber[newEntry]!;
  g.maxLevel = newEntry < 0 ? 0 : g.levels[g.entry]!;
  return renumber;
}

/** True when `u`'s list at `level` links to a tombstone. */
function linksToTombstone(g: HnswGraph, u: number, level: number): boolean {
  const arr = g.linkArray(level);
  const base = g.linkBase(u, level);
  const count = arr[base]!;
  for (let i = 1; i <= count; i++) if (g.deleted[arr[base + i]!] !== 0) return true;
  return false;
}

/** Replaces `u`'s list at `level` when it links to a tombstone (step 1). */
function repairList(g: HnswGraph, u: number, level: number): void {
  if (!linksToTombstone(g, u, level)) return;
  const arr = g.linkArray(level);
  const base = g.linkBase(u, level);
  const count = arr[base]!;
  const epoch = g.nextEpoch();
  g.visited[u] = epoch;
  const cands: number[] = [];
  const add = (e: number): void => {
    if (g.visited[e] === epoch || g.deleted[e] !== 0) return;
    g.visited[e] = epoch;
    cands.push(e);
  };
  for (let i = 1; i <= count; i++) {
    const e = arr[base + i]!;
    if (g.deleted[e] === 0) {
      add(e);
      continue;
    }
    const eBase = g.linkBase(e, level);
    const eCount = arr[eBase]!;
    for (let j = 1; j <= eCount; j++) add(arr[eBase + j]!);
  }
  const dists = cands.map((e) => g.nodeDistance(u, e));
  const order = cands.map((_, i) => i);
  order.sort((a, b) => dists[a]! - dists[b]! || cands[a]! - cands[b]!);
  const n = Math.min(order.length, REPAIR_CANDIDATES_MAX);
  for (let i = 0; i < n; i++) {
    g.scratchNodes[i] = cands[order[i]!]!;
    g.scratchDistances[i] = dists[order[i]!]!;
  }
  const selected = selectNeighbours(g, n, g.maxLinks(level));
  arr[base] = selected;
  for (let i = 0; i < selected; i++) arr[base + 1 + i] = g.selected[i]!;
}

/** The entry point after compaction (old numbering), -1 when no node is live (step 2). */
function chooseEntry(g: HnswGraph): number {
  if (g.entry >= 0 && g.deleted[g.entry] === 0) return g.entry;
  let best = -1;
  for (let u = 0; u < g.count; u++) {
    if (g.deleted[u] !== 0) continue;
    if (best < 0 || g.levels[u]! > g.levels[best]!) best = u;
  }
  return best;
}

/** Moves the survivors to their new numbers and re-packs the upper layers (step 3). */
function moveNodes(g: HnswGraph, renumber: Int32Array, live: number): void {
  const dim = g.dim;
  const stride0 = g.m0 + 1;
  const strideUpper = g.m + 1;
  let upperInts = 0;
  for (let u = 0; u < g.count; u++) if (renumber[u]! >= 0) upperInts += g.levels[u]! * strideUpper;
  const upper = new Int32Array(Math.max(strideUpper, upperInts));
  let upperUsed = 0;
  for (let u = 0; u < g.count; u++) {
    const v = renumber[u]!;
    if (v < 0) continue;
    assert(v <= u, 'compaction renumbering must not move a node up');
    g.store.heap.copyWithin(g.store.at(v), g.store.at(u), g.store.at(u) + dim);
    remapBlock(g.links0, u * stride0, g.links0, v * stride0, renumber);
    const level = g.levels[u]!;
    const oldBase = g.upperBase[u]!;
    g.levels[v] = level;
    g.deleted[v] = 0;
    if (level === 0) {
      g.upperBase[v] = -1;
      continue;
    }
    g.upperBase[v] = upperUsed;
    for (let l = 0; l < level; l++) {
      remapBlock(g.upper, oldBase + l * strideUpper, upper, upperUsed + l * strideUpper, renumber);
    }
    upperUsed += level * strideUpper;
  }
  g.upper = upper;
  g.upperUsed = upperUsed;
  g.count = live;
  g.deletedCount = 0;
}

/** Copies one link block (count, links) from `src` to `dst`, renumbering the links. */
function remapBlock(src: Int32Array, from: number, dst: Int32Array, to: number, renumber: Int32Array): void {
  const count = src[from]!;
  dst[to] = count;
  for (let i = 1; i <= count; i++) {
    const e = renumber[src[from + i]!]!;
    assert(e >= 0, 'a live node still links to a removed node after repair');
    dst[to + i] = e;
  }
}
