/**
 * The variable-length sections of a saved HNSW index (docs/formats/hnsw.md): the links of
 * every node on every layer, and the ids. Decoding checks every structural rule the graph
 * relies on, so that a file that passes cannot make a search read out of bounds or loop.
 */

import type { CorruptionError } from '../errors.ts';
import type { HnswGraph } from './graph.ts';
import { MAX_ID_LENGTH } from './limits.ts';

/** Longest id in UTF-8 bytes (every UTF-16 code unit is at most 3 UTF-8 bytes). */
export const MAX_ID_BYTES = 3 * MAX_ID_LENGTH;

/** Makes the error for a failed check at `offset` within the section's payload. */
type Corrupt = (offset: number, detail: string) => CorruptionError;

const encoder = new TextEncoder();

/** UTF-8 of the first `count` ids. */
export function encodeIds(ids: readonly string[], count: number): Uint8Array[] {
  const out: Uint8Array[] = new Array(count);
  for (let node = 0; node < count; node++) out[node] = encoder.encode(ids[node]!);
  return out;
}

/**
 * Decodes the links section into `g` (whose layers, counts and upper-layer blocks are already
 * set). For every node, in order, for every layer from 0 to its top: `u16 count` then `count`
 * `u32` neighbours. Each neighbour must be another node that exists on that layer, once.
 */
export function decodeLinks(g: HnswGraph, bytes: Uint8Array, corrupt: Corrupt): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  for (let node = 0; node < g.count; node++) {
    for (let level = 0; level <= g.levels[node]!; level++) {
      if (at + 2 > bytes.length) throw corrupt(at, 'links section ends early');
      const count = v.getUint16(at, true);
      if (count > g.maxLinks(level)) throw corrupt(at, `node ${node} has ${count} links on layer ${level}`);
      if (at + 2 + 4 * count > bytes.length) throw corrupt(at, 'links section ends inside a list');
      const arr = g.linkArray(level);
      const base = g.linkBase(node, level);
      const epoch = g.nextEpoch();
      arr[base] = count;
      for (let i = 0; i < count; i++) {
        const e = v.getUint32(at + 2 + 4 * i, true);
        checkLink(g, { node, level, e, epoch }, () =>
          corrupt(at + 2 + 4 * i, `bad link ${e} of node ${node} on layer ${level}`),
        );
        g.visited[e] = epoch;
        arr[base + 1 + i] = e;
      }
      at += 2 + 4 * count;
    }
  }
  if (at !== bytes.length) throw corrupt(at, 'bytes after the last link list');
}

/** Throws `fail()` unless `e` may be a link of `node` on `level` (not yet seen in this list). */
function checkLink(
  g: HnswGraph,
  link: { node: number; level: number; e: number; epoch: number },
  fail: () => CorruptionError,
): void {
  const { node, level, e, epoch } = link;
  if (e >= g.count || e === node) throw fail();
  if (g.levels[e]! < level) throw fail();
  if (g.visited[e] === epoch) throw fail();
}

/**
 * Decodes the ids section: for every node, `u16 length` then that many bytes of UTF-8. Ids
 * must be valid UTF-8, 1..{@link MAX_ID_LENGTH} code units, and unique among live nodes.
 */
export function decodeIds(g: HnswGraph, bytes: Uint8Array, corrupt: Corrupt): string[] {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ids: string[] = new Array(g.count);
  const live = new Set<string>();
  let at = 0;
  for (let node = 0; node < g.count; node++) {
    if (at + 2 > bytes.length) throw corrupt(at, 'ids section ends early');
    const length = v.getUint16(at, true);
    if (length === 0 || length > MAX_ID_BYTES) throw corrupt(at, `id of node ${node} is ${length} bytes`);
    if (at + 2 + length > bytes.length) throw corrupt(at, 'ids section ends inside an id');
    let id: string;
    try {
      id = decoder.decode(bytes.subarray(at + 2, at + 2 + length));
    } catch {
      // The decoder's own error says only "invalid"; the corruption error says where.
      throw corrupt(at + 2, `id of node ${node} is not valid UTF-8`);
    }
    if (id.length > MAX_ID_LENGTH) throw corrupt(at, `id of node ${node} is longer than MAX_ID_LENGTH`);
    if (g.deleted[node] === 0) {
      if (live.has(id)) throw corrupt(at, `id ${JSON.stringify(id)} names two live nodes`);
      live.add(id);
    }
    ids[node] = id;
    at += 2 + length;
  }
  if (at !== bytes.length) throw corrupt(at, 'bytes after the last id');
  return ids;
}
