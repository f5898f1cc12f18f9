/**
 * Saving and loading an HNSW graph through the FileSystem seam, in the versioned, CRC-checked
 * format of docs/formats/hnsw.md: a 64-byte header, then four sections (nodes, vectors, links,
 * ids), each `u32 length ‖ payload ‖ u32 masked CRC-32C of the payload`.
 *
 * Saving writes `<name>.tmp`, syncs it, renames it over `<name>` and syncs the directory, so a
 * crash leaves either the old file or the new one. Loading checks every CRC and every structural
 * rule (ranges, counts, link targets, unique ids) and throws {@link CorruptionError} on the
 * first failure: a damaged file never yields an index.
 *
 * The writer streams through a 1 MiB buffer and the reader fills each section's destination in
 * 1 MiB reads, so neither holds a second copy of the vectors.
 */

import { assert } from '../assert.ts';
import { CorruptionError, InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { crc32cUpdate, maskCrc } from '../io/crc32c.ts';
import type { FileHandle, FileSystem } from '../io/fs.ts';
import { isValidFileName } from '../io/fs.ts';
import { HnswGraph } from './graph.ts';
import type { KernelChoice } from './kernel.ts';
import { MAX_ELEMENTS, MAX_LEVEL } from './limits.ts';
import { metricCode } from './metric.ts';
import {
  type DecodedHeader,
  decodeHeader,
  encodeHeader,
  HEADER_BYTES,
  type HnswHeader,
} from './persist-header.ts';
import { decodeIds, decodeLinks, encodeIds } from './persist-sections.ts';

/** Bytes per read or write call. */
const IO_CHUNK_BYTES = 1 << 20;

/** Largest section payload: its length is a u32. */
export const MAX_SECTION_BYTES = 0xffffffff;

/** Deleted flag in a node byte (the low five bits are the node's top layer). */
export const NODE_DELETED_FLAG = 0x80;

// Vectors are copied between the file and Float32Arrays as raw bytes, and the format is
// little-endian: refuse to run where the platform's byte order would silently differ.
assert(new Uint8Array(new Uint16Array([1]).buffer)[0] === 1, 'engine/vector needs a little-endian platform');

/** What a saved index holds besides the graph's own fields. */
export interface SavedIndex {
  graph: HnswGraph;
  /** Id of every node, tombstones included. */
  ids: readonly string[];
  /** The default search beam width. */
  efSearch: number;
}

/** Streams bytes to a file through a buffer, with the CRC of the current section. */
class ChunkWriter {
  private readonly buf = new Uint8Array(IO_CHUNK_BYTES);
  private readonly view = new DataView(this.buf.buffer);
  private pos = 0;
  private fileOffset = 0;
  private crc = 0;
  private crcFrom = -1;
  private sectionStart = 0;
  private sectionLength = 0;

  constructor(private readonly handle: FileHandle) {}

  private ensure(bytes: number): void {
    if (this.pos + bytes > this.buf.length) this.flush();
  }

  flush(): void {
    if (this.crcFrom >= 0) {
      this.crc = crc32cUpdate(this.crc, this.buf, this.crcFrom, this.pos);
      this.crcFrom = 0;
    }
    if (this.pos > 0) this.handle.write(this.fileOffset, this.buf.subarray(0, this.pos));
    this.fileOffset += this.pos;
    this.pos = 0;
  }

  u16(x: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, x, true);
    this.pos += 2;
  }

  u32(x: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, x, true);
    this.pos += 4;
  }

  bytes(data: Uint8Array): void {
    let from = 0;
    while (from < data.length) {
      if (this.pos === this.buf.length) this.flush();
      const n = Math.min(data.length - from, this.buf.length - this.pos);
      this.buf.set(data.subarray(from, from + n), this.pos);
      this.pos += n;
      from += n;
    }
  }

  beginSection(length: number): void {
    if (length > MAX_SECTION_BYTES) {
      throw new LimitExceededError({
        limit: 'MAX_SECTION_BYTES',
        max: MAX_SECTION_BYTES,
        actual: length,
        what: 'HNSW file section',
      });
    }
    this.u32(length);
    this.crc = 0;
    this.crcFrom = this.pos;
    this.sectionStart = this.fileOffset + this.pos;
    this.sectionLength = length;
  }

  endSection(): void {
    assert(this.crcFrom >= 0, 'endSection without beginSection');
    assert(this.fileOffset + this.pos - this.sectionStart === this.sectionLength, 'section length mismatch');
    this.crc = crc32cUpdate(this.crc, this.buf, this.crcFrom, this.pos);
    this.crcFrom = -1;
    this.u32(maskCrc(this.crc));
  }
}

/** Saves `saved` to `name` in `fs`, atomically (see the module comment). */
export function saveGraph(fs: FileSystem, name: string, saved: SavedIndex): void {
  const tmp = `${name}.tmp`;
  if (!isValidFileName(name) || !isValidFileName(tmp)) {
    throw new InvalidArgumentError(`${JSON.stringify(name)} is not a valid file name for an HNSW index`);
  }
  const { graph: g } = saved;
  const encodedIds = encodeIds(saved.ids, g.count);
  const h = fs.open(tmp, { create: true });
  try {
    h.truncate(0);
    const w = new ChunkWriter(h);
    w.bytes(encodeHeader(headerOf(saved)));
    writeNodes(w, g);
    w.beginSection(g.count * g.dim * 4);
    w.bytes(g.store.nodeBytes(g.count));
    w.endSection();
    writeLinks(w, g);
    w.beginSection(encodedIds.reduce((sum, id) => sum + 2 + id.length, 0));
    for (const id of encodedIds) {
      w.u16(id.length);
      w.bytes(id);
    }
    w.endSection();
    w.flush();
    h.sync();
  } finally {
    h.close();
  }
  fs.rename(tmp, name);
  fs.syncDir();
}

function headerOf(saved: SavedIndex): HnswHeader {
  const g = saved.graph;
  return {
    metricCode: metricCode(g.metric),
    dimension: g.dim,
    m: g.m,
    efConstruction: g.efConstruction,
    efSearch: saved.efSearch,
    nodeCount: g.count,
    deletedCount: g.deletedCount,
    entryPoint: g.entry,
    maxLevel: g.maxLevel,
  };
}

function writeNodes(w: ChunkWriter, g: HnswGraph): void {
  w.beginSection(g.count);
  const bytes = new Uint8Array(g.count);
  for (let node = 0; node < g.count; node++) {
    bytes[node] = g.levels[node]! | (g.deleted[node] !== 0 ? NODE_DELETED_FLAG : 0);
  }
  w.bytes(bytes);
  w.endSection();
}

function writeLinks(w: ChunkWriter, g: HnswGraph): void {
  let length = 0;
  for (let node = 0; node < g.count; node++) {
    for (let level = 0; level <= g.levels[node]!; level++) {
      length += 2 + 4 * g.linkArray(level)[g.linkBase(node, level)]!;
    }
  }
  w.beginSection(length);
  for (let node = 0; node < g.count; node++) {
    for (let level = 0; level <= g.levels[node]!; level++) {
      const arr = g.linkArray(level);
      const base = g.linkBase(node, level);
      const count = arr[base]!;
      w.u16(count);
      for (let i = 1; i <= count; i++) w.u32(arr[base + i]!);
    }
  }
  w.endSection();
}

/** Reads a file section by section, checking lengths and CRCs. */
class SectionReader {
  offset = 0;
  constructor(
    private readonly handle: FileHandle,
    readonly file: string,
    readonly size: number,
  ) {}

  corrupt(offset: number, detail: string): CorruptionError {
    return new CorruptionError({ file: this.file, offset, detail });
  }

  /** Reads exactly `n` bytes at the current offset. */
  take(n: number, what: string): Uint8Array {
    if (this.offset + n > this.size) throw this.corrupt(this.offset, `file ends inside the ${what}`);
    const out = this.handle.read(this.offset, n);
    if (out.length !== n) throw this.corrupt(this.offset, `short read in the ${what}`);
    this.offset += n;
    return out;
  }

  /**
   * Reads a section whose payload must be `expected` bytes (when given) into `target` (or a
   * fresh array), checking its CRC. Returns the payload and its offset.
   */
  section(
    what: string,
    expected: number | undefined,
    target?: Uint8Array,
  ): { bytes: Uint8Array; at: number } {
    const lengthAt = this.offset;
    const length = new DataView(this.take(4, `${what} section length`).buffer).getUint32(0, true);
    if (expected !== undefined && length !== expected) {
      throw this.corrupt(lengthAt, `${what} section is ${length} bytes, expected ${expected}`);
    }
    if (this.offset + length + 4 > this.size)
      throw this.corrupt(lengthAt, `${what} section runs past the end of the file`);
    const at = this.offset;
    const bytes = target ?? new Uint8Array(length);
    let crc = 0;
    for (let from = 0; from < length; from += IO_CHUNK_BYTES) {
      const chunk = this.take(Math.min(IO_CHUNK_BYTES, length - from), `${what} section`);
      bytes.set(chunk, from);
      crc = crc32cUpdate(crc, chunk);
    }
    const stored = new DataView(this.take(4, `${what} section CRC`).buffer).getUint32(0, true);
    if (stored !== maskCrc(crc)) throw this.corrupt(at, `${what} section fails its CRC`);
    return { bytes, at };
  }
}

/**
 * Loads the graph saved in `name`. Throws `NotFoundError` when the file is missing and
 * {@link CorruptionError} when any check fails.
 */
export function loadGraph(
  fs: FileSystem,
  name: string,
  kernel: KernelChoice,
): SavedIndex & { ids: string[] } {
  const h = fs.open(name);
  try {
    const r = new SectionReader(h, name, h.size());
    const header = decodeHeader(r.take(HEADER_BYTES, 'header'), (offset, detail) =>
      r.corrupt(offset, detail),
    );
    const g = graphFor(header, r, kernel);
    readNodes(r, g, header);
    const vectorBytes = g.count * g.dim * 4;
    const vectors = r.section('vectors', vectorBytes, g.store.nodeBytes(g.count));
    const heap = g.store.heap;
    const from = g.store.at(0);
    for (let i = 0; i < g.count * g.dim; i++) {
      if (!Number.isFinite(heap[from + i]!))
        throw r.corrupt(vectors.at + 4 * i, 'a vector component is not finite');
    }
    const links = r.section('links', undefined);
    decodeLinks(g, links.bytes, (offset, detail) => r.corrupt(links.at + offset, detail));
    const idSection = r.section('ids', undefined);
    const ids = decodeIds(g, idSection.bytes, (offset, detail) => r.corrupt(idSection.at + offset, detail));
    if (r.offset !== r.size) throw r.corrupt(r.offset, `${r.size - r.offset} bytes after the last section`);
    return { graph: g, ids, efSearch: header.efSearch };
  } finally {
    h.close();
  }
}

/** An empty graph with the header's parameters and room for its nodes. */
function graphFor(header: DecodedHeader, r: SectionReader, kernel: KernelChoice): HnswGraph {
  // Allocate nothing larger than the file can back: the vector section alone needs this much.
  if (header.nodeCount * header.dimension * 4 > r.size)
    throw r.corrupt(28, 'node count larger than the file can hold');
  const g = new HnswGraph(
    {
      dimension: header.dimension,
      metric: header.metric,
      m: header.m,
      efConstruction: header.efConstruction,
      kernel,
    },
    Math.max(1, Math.min(header.nodeCount, MAX_ELEMENTS)),
  );
  if (header.nodeCount > g.maxNodes)
    throw r.corrupt(28, `node count ${header.nodeCount} exceeds the index limit ${g.maxNodes}`);
  g.ensureCapacity(header.nodeCount);
  return g;
}

/** Reads the nodes section into `g` (layers, tombstones, upper-layer blocks) and checks it. */
function readNodes(r: SectionReader, g: HnswGraph, header: HnswHeader): void {
  const { bytes, at } = r.section('nodes', header.nodeCount);
  let deleted = 0;
  let top = 0;
  for (let node = 0; node < header.nodeCount; node++) {
    const b = bytes[node]!;
    const level = b & ~NODE_DELETED_FLAG;
    if (level > MAX_LEVEL) throw r.corrupt(at + node, `node ${node} has layer ${level}, above MAX_LEVEL`);
    g.levels[node] = level;
    g.deleted[node] = b & NODE_DELETED_FLAG ? 1 : 0;
    g.upperBase[node] = level === 0 ? -1 : g.allocateUpper(level);
    deleted += g.deleted[node]!;
    top = Math.max(top, level);
  }
  if (deleted !== header.deletedCount) {
    throw r.corrupt(at, `${deleted} tombstones, but the header says ${header.deletedCount}`);
  }
  if (header.nodeCount > 0 && g.levels[header.entryPoint] !== header.maxLevel) {
    throw r.corrupt(at + header.entryPoint, 'the entry point is not at the top layer the header names');
  }
  if (top !== header.maxLevel)
    throw r.corrupt(at, `top layer is ${top}, but the header says ${header.maxLevel}`);
  g.count = header.nodeCount;
  g.deletedCount = deleted;
  g.entry = header.entryPoint;
  g.maxLevel = header.maxLevel;
}
