/**
 * The memtable: recent writes, sorted, in memory, as a skip list over internal keys (user key
 * ascending, sequence descending). Every version of a key is kept until the memtable is
 * flushed, so a snapshot or an open iterator sees exactly the state at its sequence number
 * while later writes keep arriving.
 *
 * Layout (LevelDB's arena, in typed arrays): each entry's bytes, `internal key ‖ value`, are
 * copied into an append-only byte arena, and the skip-list nodes are rows of integer arrays
 * (`nodes` for where an entry lives, `links` for its tower of next pointers). A memtable of
 * 100K entries is then a handful of large arrays instead of 400K small objects: inserts
 * allocate nothing per entry, the garbage collector has nothing to trace, and a search touches
 * contiguous memory. Each node also keeps the first three bytes of its user key as a small
 * integer, so most comparisons on the search path never read the arena at all.
 *
 * Iteration is safe while inserts happen: an insert writes a fully built node and then links
 * it in with plain stores, and a cursor only ever follows level-0 links (re-reading the arrays,
 * which may have grown, on every step), so it sees each node at most once. Heights come from a
 * fixed internal xorshift generator: they affect speed, never results, so they need not come
 * from the `Random` seam.
 */

import { assert } from '../assert.ts';
import { type EntryKind, TRAILER_BYTES, writeTrailer } from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';
import { hashUserKey, type IndexedNodes, NewestVersionIndex } from './memtable-index.ts';

/** Tallest tower in the skip list (enough for ~4^12 = 16M entries at p = 1/4). */
const MAX_HEIGHT = 12;

/** Approximate per-entry overhead (node row, links) counted towards the size limit. */
const NODE_OVERHEAD_BYTES = 64;

/** Int32 fields per node row: arena chunk, offset in it, internal key length, value length, key prefix, first link. */
const NODE_FIELDS = 6;
const F_CHUNK = 0;
const F_OFFSET = 1;
const F_KEY_LEN = 2;
const F_VALUE_LEN = 3;
const F_PREFIX = 4;
const F_LINKS = 5;

/** The "no node" link. Node 0 is the head, which is never a link target. */
const NIL = 0;

/** First arena chunk; chunks double up to {@link CHUNK_BYTES_MAX}, so tiny memtables stay tiny. */
const CHUNK_BYTES_MIN = 16 * 1024;
/** Largest shared arena chunk. An entry above a quarter of it gets a chunk of its own. */
const CHUNK_BYTES_MAX = 1024 * 1024;

/** Node rows allocated at first. The arrays double when full. */
const INITIAL_NODES = 64;

/** Entries up to this many bytes are copied with a loop; longer ones with `set` (a native copy). */
const COPY_LOOP_BYTES_MAX = 64;

/**
 * The prefix code of a user key: its first three bytes in base 257, an absent byte counting 0
 * and a present byte b counting b + 1. Codes order like the bytes they summarise, including a
 * shorter key before a longer one it starts; equal codes mean equal first bytes and, when a key
 * is shorter than three bytes, equal lengths. The largest code, 257^3 - 1, is a small integer.
 */
function prefixCode(src: Uint8Array, at: number, userKeyLen: number): number {
  const b0 = userKeyLen > 0 ? src[at]! + 1 : 0;
  const b1 = userKeyLen > 1 ? src[at + 1]! + 1 : 0;
  const b2 = userKeyLen > 2 ? src[at + 2]! + 1 : 0;
  return (b0 * 257 + b1) * 257 + b2;
}

/** Reads the 7-byte little-endian sequence number of the trailer at `at`. */
function trailerSeq(buf: Uint8Array, at: number): number {
  let s = 0;
  for (let i = TRAILER_BYTES - 1; i >= 1; i--) s = s * 256 + buf[at + i]!;
  return s;
}

/**
 * Compares the internal key at `a[aAt, aAt + aLen)` with the one at `b[bAt, bAt + bLen)` in
 * internal-key order (user key ascending, then sequence descending, then kind descending).
 * `av` and `bv` are DataViews over the same memory as `a` and `b` (offsets relative to the
 * arrays): user keys are compared four bytes at a time as big-endian words, which order like
 * the bytes. Keys here often share long prefixes (a collection name, an author's 32-byte key),
 * and a word at a time halves the cost of getting past them.
 */
function compareKeysAt(
  a: Uint8Array,
  av: DataView,
  aAt: number,
  aLen: number,
  b: Uint8Array,
  bv: DataView,
  bAt: number,
  bLen: number,
): number {
  const al = aLen - TRAILER_BYTES;
  const bl = bLen - TRAILER_BYTES;
  const n = Math.min(al, bl);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const x = av.getUint32(aAt + i);
    const y = bv.getUint32(bAt + i);
    if (x !== y) return x < y ? -1 : 1;
  }
  for (; i < n; i++) {
    const d = a[aAt + i]! - b[bAt + i]!;
    if (d !== 0) return d;
  }
  if (al !== bl) return al - bl;
  const sa = trailerSeq(a, aAt + al);
  const sb = trailerSeq(b, bAt + bl);
  if (sa !== sb) return sb - sa;
  return b[bAt + bl]! - a[aAt + al]!;
}

/** A DataView over exactly the memory of `bytes` (offsets relative to the array). */
function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A memtable's arrays, as {@link Memtable.exportParts} hands them to another thread. */
export interface MemtableParts {
  chunks: Uint8Array[];
  nodes: Int32Array;
  links: Int32Array;
  entries: number;
  minSeq: number;
  maxSeq: number;
}

/** Where one entry's user key and value lie in a source buffer. */
export interface EntrySpan {
  keyAt: number;
  keyLen: number;
  valueAt: number;
  valueLen: number;
}

/** A sorted in-memory table of internal entries. */
export class Memtable implements IndexedNodes {
  /** Arena chunks holding `internal key ‖ value` of every entry. */
  private readonly chunks: Uint8Array[] = [];
  /** `chunkViews[i]` is a DataView over `chunks[i]`, for word-wise key comparison. */
  private readonly chunkViews: DataView[] = [];
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkView: DataView = viewOf(this.chunk);
  private chunkUsed = 0;
  private nextChunkBytes = CHUNK_BYTES_MIN;
  /** Node rows, {@link NODE_FIELDS} each; row 0 is the head. */
  private nodes: Int32Array = new Int32Array(INITIAL_NODES * NODE_FIELDS);
  private nodeCount = 1;
  /** Towers of next pointers (node indices, {@link NIL} for none), one slice per node. */
  private links: Int32Array = new Int32Array(INITIAL_NODES * 2);
  private linksUsed = MAX_HEIGHT;
  private height = 1;
  private rngState = 0x2545f491;
  private readonly prev = new Int32Array(MAX_HEIGHT);
  /**
   * The node inserted last ({@link NIL} before the first insert); `prev` then holds the splice
   * just after it. Only inserts write `prev` (lookups search without filling it).
   */
  private last = NIL;
  /**
   * A copy of the key a lookup searches for, with its DataView: made once and grown as needed,
   * instead of a DataView per `find` or seek (a lookup is a short search; the view was a few
   * percent of an indexed query).
   */
  private probe = new Uint8Array(64);
  private probeView = viewOf(this.probe);
  /** Set on a memtable rebuilt from exported parts, which only iterates (and has no index). */
  private readOnly = false;
  /** The node of each user key's newest version, for point lookups (`memtable-index.ts`). */
  private readonly newest = new NewestVersionIndex(this);
  /** Approximate memory used, for the flush threshold. */
  approximateBytes = 0;
  /** Number of entries. */
  entries = 0;
  /** Smallest sequence number inserted (Infinity when empty). */
  minSeq = Number.POSITIVE_INFINITY;
  /** Largest sequence number inserted (-1 when empty). */
  maxSeq = -1;

  constructor() {
    // The head's row: no bytes, and a full tower of NIL links at links[0, MAX_HEIGHT).
    this.nodes[F_LINKS] = 0;
  }

  /**
   * The arrays a cursor needs (arena chunks, node rows, links), for handing a full memtable to
   * another thread that flushes it. The receiver gets copies; this memtable is unchanged.
   */
  exportParts(): MemtableParts {
    return {
      chunks: this.chunks.slice(),
      nodes: this.nodes.subarray(0, this.nodeCount * NODE_FIELDS),
      links: this.links.subarray(0, this.linksUsed),
      entries: this.entries,
      minSeq: this.minSeq,
      maxSeq: this.maxSeq,
    };
  }

  /** A read-only memtable over parts made by {@link exportParts} (for iteration; never insert into it). */
  static fromParts(parts: MemtableParts): Memtable {
    const m = new Memtable();
    m.chunks.push(...parts.chunks);
    for (const c of parts.chunks) m.chunkViews.push(viewOf(c));
    m.nodes = parts.nodes;
    m.links = parts.links;
    m.nodeCount = parts.nodes.length / NODE_FIELDS;
    m.linksUsed = parts.links.length;
    m.entries = parts.entries;
    m.minSeq = parts.minSeq;
    m.maxSeq = parts.maxSeq;
    // Inserting would grow arrays that may be views of a larger buffer: refuse it.
    m.readOnly = true;
    return m;
  }

  private randomHeight(): number {
    let h = 1;
    while (h < MAX_HEIGHT) {
      let x = this.rngState;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.rngState = x >>> 0;
      if ((this.rngState & 3) !== 0) break;
      h++;
    }
    return h;
  }

  /** Compares node `n` (not the head) with the key at `key[at, at + len)`, of prefix code `prefix`. */
  private compareNode(
    n: number,
    key: Uint8Array,
    keyView: DataView,
    at: number,
    len: number,
    prefix: number,
  ): number {
    const row = n * NODE_FIELDS;
    const p = this.nodes[row + F_PREFIX]!;
    if (p !== prefix) return p - prefix;
    const c = this.nodes[row + F_CHUNK]!;
    return compareKeysAt(
      this.chunks[c]!,
      this.chunkViews[c]!,
      this.nodes[row + F_OFFSET]!,
      this.nodes[row + F_KEY_LEN]!,
      key,
      keyView,
      at,
      len,
    );
  }

  /**
   * Finds the first node >= the internal key at `key[at, at + len)` (NIL when none), filling
   * `prev` with the last node < it per level when asked to. `keyView` is a DataView over `key`.
   */
  private findGreaterOrEqual(
    key: Uint8Array,
    keyView: DataView,
    at: number,
    len: number,
    fillPrev: boolean,
  ): number {
    const prefix = prefixCode(key, at, len - TRAILER_BYTES);
    const nodes = this.nodes;
    const links = this.links;
    let x = 0;
    for (let level = this.height - 1; level >= 0; level--) {
      for (;;) {
        const nx = links[nodes[x * NODE_FIELDS + F_LINKS]! + level]!;
        if (nx !== NIL && this.compareNode(nx, key, keyView, at, len, prefix) < 0) x = nx;
        else break;
      }
      if (fillPrev) this.prev[level] = x;
    }
    return links[nodes[x * NODE_FIELDS + F_LINKS]!]!;
  }

  /** True when node `n` holds the same user key and sequence as the key at `key[at, at + len)`. */
  private sameKeyAndSeq(n: number, key: Uint8Array, at: number, len: number): boolean {
    const ul = len - TRAILER_BYTES;
    if (n === NIL || !this.nodeHasUserKey(n, key, at, ul)) return false;
    return this.nodeSeq(n) === trailerSeq(key, at + ul);
  }

  /** Inserts one entry, copying `userKey` and `value`. The (key, seq) pair must be new. */
  add(seq: number, kind: EntryKind, userKey: Uint8Array, value: Uint8Array): void {
    const at = this.allocate(userKey.length + TRAILER_BYTES + value.length);
    const buf = this.chunk;
    copyBytes(userKey, 0, userKey.length, buf, at);
    writeTrailer(buf, at + userKey.length, seq, kind);
    copyBytes(value, 0, value.length, buf, at + userKey.length + TRAILER_BYTES);
    this.insertStored(seq, at, userKey.length + TRAILER_BYTES, value.length);
  }

  /**
   * Inserts one entry whose user key is `src[keyAt, keyAt + keyLen)` and whose value is
   * `src[valueAt, valueAt + valueLen)`, copying both, so `src` may be reused afterwards. This
   * is how a write batch's encoded record goes in without slicing it into per-entry arrays.
   */
  addFrom(seq: number, kind: EntryKind, src: Uint8Array, span: EntrySpan): void {
    const ikeyLen = span.keyLen + TRAILER_BYTES;
    const at = this.allocate(ikeyLen + span.valueLen);
    const buf = this.chunk;
    copyBytes(src, span.keyAt, span.keyLen, buf, at);
    writeTrailer(buf, at + span.keyLen, seq, kind);
    copyBytes(src, span.valueAt, span.valueLen, buf, at + ikeyLen);
    this.insertStored(seq, at, ikeyLen, span.valueLen);
  }

  /**
   * Links in the entry just written at `chunk[at, ...)`: its internal key of `keyLen` bytes,
   * then its value. The search compares against the stored bytes themselves, so an insert
   * builds no key array.
   */
  private insertStored(seq: number, at: number, keyLen: number, valueLen: number): void {
    assert(!this.readOnly, 'memtable: insert into a memtable rebuilt from parts');
    const buf = this.chunk;
    let found: number;
    if (this.fingerFits(buf, at, keyLen)) found = this.links[this.nodes[this.last * NODE_FIELDS + F_LINKS]!]!;
    else {
      // The search rewrites `prev`: until `link` sets it again, there is no finger.
      this.last = NIL;
      found = this.findGreaterOrEqual(buf, this.chunkView, at, keyLen, true);
    }
    // The same (key, seq) with the other kind sorts right after or right before the new key.
    assert(!this.sameKeyAndSeq(found, buf, at, keyLen), 'memtable: duplicate sequence');
    assert(!this.sameKeyAndSeq(this.prev[0]!, buf, at, keyLen), 'memtable: duplicate sequence');
    this.link(at, keyLen, valueLen, prefixCode(buf, at, keyLen - TRAILER_BYTES));
    const ul = keyLen - TRAILER_BYTES;
    this.newest.put(hashUserKey(buf, at, ul), this.nodeCount - 1, seq, buf, at, ul);
    this.entries++;
    this.approximateBytes += keyLen + valueLen + NODE_OVERHEAD_BYTES;
    if (seq < this.minSeq) this.minSeq = seq;
    if (seq > this.maxSeq) this.maxSeq = seq;
  }

  /**
   * True when the key at `buf[at, at + keyLen)` goes right after the last inserted node: it
   * sorts after that node and before the node's successor. Then no node lies between the two,
   * so `prev` as the last insert left it (that node below its height, the search's nodes above)
   * is exactly the new key's splice, and the search from the top is skipped. Keys inserted in
   * order (an author's feed entries in a received batch) take this path.
   */
  private fingerFits(buf: Uint8Array, at: number, keyLen: number): boolean {
    const last = this.last;
    if (last === NIL) return false;
    const prefix = prefixCode(buf, at, keyLen - TRAILER_BYTES);
    const view = this.chunkView;
    if (this.compareNode(last, buf, view, at, keyLen, prefix) >= 0) return false;
    const next = this.links[this.nodes[last * NODE_FIELDS + F_LINKS]!]!;
    return next === NIL || this.compareNode(next, buf, view, at, keyLen, prefix) > 0;
  }

  /** Reserves `bytes` in the arena and returns their offset in the current chunk. */
  private allocate(bytes: number): number {
    if (this.chunkUsed + bytes > this.chunk.length) {
      // A shared chunk grows (doubling) until it is big enough for this entry too.
      const shared = bytes <= CHUNK_BYTES_MAX / 4;
      while (shared && this.nextChunkBytes < bytes) this.nextChunkBytes *= 2;
      const size = shared ? this.nextChunkBytes : bytes;
      if (shared) this.nextChunkBytes = Math.min(CHUNK_BYTES_MAX, size * 2);
      this.chunk = new Uint8Array(size);
      this.chunkView = viewOf(this.chunk);
      this.chunks.push(this.chunk);
      this.chunkViews.push(this.chunkView);
      this.chunkUsed = 0;
    }
    const offset = this.chunkUsed;
    this.chunkUsed += bytes;
    return offset;
  }

  /**
   * Writes a node row for the entry at `chunk[offset, ...)` and links it in after the nodes
   * left in `prev` by the last search.
   */
  private link(offset: number, keyLen: number, valueLen: number, prefix: number): void {
    const h = this.randomHeight();
    const prev = this.prev;
    if (h > this.height) {
      for (let i = this.height; i < h; i++) prev[i] = 0;
      this.height = h;
    }
    this.ensureCapacity(h);
    const n = this.nodeCount;
    const row = n * NODE_FIELDS;
    const base = this.linksUsed;
    const nodes = this.nodes;
    const links = this.links;
    nodes[row + F_CHUNK] = this.chunks.length - 1;
    nodes[row + F_OFFSET] = offset;
    nodes[row + F_KEY_LEN] = keyLen;
    nodes[row + F_VALUE_LEN] = valueLen;
    nodes[row + F_PREFIX] = prefix;
    nodes[row + F_LINKS] = base;
    for (let i = 0; i < h; i++) {
      const p = nodes[prev[i]! * NODE_FIELDS + F_LINKS]! + i;
      links[base + i] = links[p]!;
      links[p] = n;
      // `prev` becomes the splice just after the new node, for the next insert's finger.
      prev[i] = n;
    }
    this.nodeCount = n + 1;
    this.linksUsed = base + h;
    this.last = n;
  }

  /** Grows the node and link arrays to take one more node of height `h`. */
  private ensureCapacity(h: number): void {
    if ((this.nodeCount + 1) * NODE_FIELDS > this.nodes.length) {
      const grown = new Int32Array(this.nodes.length * 2);
      grown.set(this.nodes);
      this.nodes = grown;
    }
    if (this.linksUsed + h > this.links.length) {
      const grown = new Int32Array(Math.max(this.links.length * 2, this.linksUsed + h));
      grown.set(this.links);
      this.links = grown;
    }
  }

  /**
   * The newest version of `userKey` with sequence <= `seqMax`, or undefined when the memtable
   * holds none. `seekKey` is `encodeInternalKey(userKey, seqMax, Value)`, built once by the
   * caller. The value is a view of the arena: it never changes, but copy it to keep it
   * without keeping the whole memtable alive.
   */
  find(seekKey: Uint8Array): { kind: EntryKind; value: Uint8Array } | undefined {
    if (!this.readOnly) {
      // The index answers unless the newest version is above `seqMax` (a snapshot's read).
      const ul = seekKey.length - TRAILER_BYTES;
      const newest = this.newest.get(hashUserKey(seekKey, 0, ul), seekKey, 0, ul);
      if (newest === NIL) return undefined;
      if (this.nodeSeq(newest) <= trailerSeq(seekKey, ul)) return this.entryOf(newest);
    }
    const n = this.searchFor(seekKey);
    if (n === NIL || !this.nodeHasUserKey(n, seekKey, 0, seekKey.length - TRAILER_BYTES)) return undefined;
    return this.entryOf(n);
  }

  /** A cursor over every entry in internal-key order. */
  iterator(): InternalIterator {
    return new MemtableIterator(this);
  }

  /** The kind and value of node `n`. */
  private entryOf(n: number): { kind: EntryKind; value: Uint8Array } {
    const row = n * NODE_FIELDS;
    const buf = this.chunks[this.nodes[row + F_CHUNK]!]!;
    const at = this.nodes[row + F_OFFSET]!;
    const len = this.nodes[row + F_KEY_LEN]!;
    const valueAt = at + len;
    return {
      kind: buf[at + len - TRAILER_BYTES] as EntryKind,
      value: buf.subarray(valueAt, valueAt + this.nodes[row + F_VALUE_LEN]!),
    };
  }

  /** @internal Whether node `n` holds the user key at `key[at, at + len)` (for the index). */
  nodeHasUserKey(n: number, key: Uint8Array, at: number, len: number): boolean {
    const row = n * NODE_FIELDS;
    if (this.nodes[row + F_KEY_LEN]! - TRAILER_BYTES !== len) return false;
    const buf = this.chunks[this.nodes[row + F_CHUNK]!]!;
    const nodeAt = this.nodes[row + F_OFFSET]!;
    for (let i = 0; i < len; i++) if (buf[nodeAt + i] !== key[at + i]) return false;
    return true;
  }

  /** @internal The sequence number of node `n`. */
  nodeSeq(n: number): number {
    const row = n * NODE_FIELDS;
    const buf = this.chunks[this.nodes[row + F_CHUNK]!]!;
    return trailerSeq(buf, this.nodes[row + F_OFFSET]! + this.nodes[row + F_KEY_LEN]! - TRAILER_BYTES);
  }

  /** @internal The first node >= `ikey` (0 when none), for the iterator's seek. */
  seekNode(ikey: Uint8Array): number {
    return this.searchFor(ikey);
  }

  /** The first node >= internal key `ikey` (NIL when none), searched through the probe copy. */
  private searchFor(ikey: Uint8Array): number {
    const n = ikey.length;
    if (n > this.probe.length) {
      this.probe = new Uint8Array(Math.max(n, 2 * this.probe.length));
      this.probeView = viewOf(this.probe);
    }
    copyBytes(ikey, 0, n, this.probe, 0);
    return this.findGreaterOrEqual(this.probe, this.probeView, 0, n, false);
  }

  /** @internal The node after `n` on level 0 (0 when none); `n` = 0 is the head. */
  nextNode(n: number): number {
    return this.links[this.nodes[n * NODE_FIELDS + F_LINKS]!]!;
  }

  /** @internal The internal key of node `n` (a view of the arena). */
  nodeKey(n: number): Uint8Array {
    const row = n * NODE_FIELDS;
    const at = this.nodes[row + F_OFFSET]!;
    return this.chunks[this.nodes[row + F_CHUNK]!]!.subarray(at, at + this.nodes[row + F_KEY_LEN]!);
  }

  /** @internal The value of node `n` (a view of the arena). */
  nodeValue(n: number): Uint8Array {
    const row = n * NODE_FIELDS;
    const at = this.nodes[row + F_OFFSET]! + this.nodes[row + F_KEY_LEN]!;
    return this.chunks[this.nodes[row + F_CHUNK]!]!.subarray(at, at + this.nodes[row + F_VALUE_LEN]!);
  }
}

/** Copies `src[from, from + length)` to `dst[to, ...)`: a loop for short runs, `set` for long ones. */
function copyBytes(src: Uint8Array, from: number, length: number, dst: Uint8Array, to: number): void {
  if (length <= COPY_LOOP_BYTES_MAX) {
    for (let i = 0; i < length; i++) dst[to + i] = src[from + i]!;
  } else {
    dst.set(src.subarray(from, from + length), to);
  }
}

class MemtableIterator implements InternalIterator {
  private node = NIL;

  constructor(private readonly table: Memtable) {}

  valid(): boolean {
    return this.node !== NIL;
  }

  seekToFirst(): void {
    this.node = this.table.nextNode(0);
  }

  seek(target: Uint8Array): void {
    this.node = this.table.seekNode(target);
  }

  next(): void {
    assert(this.node !== NIL, 'memtable iterator: next() past the end');
    this.node = this.table.nextNode(this.node);
  }

  key(): Uint8Array {
    assert(this.node !== NIL, 'memtable iterator: key() past the end');
    return this.table.nodeKey(this.node);
  }

  value(): Uint8Array {
    assert(this.node !== NIL, 'memtable iterator: value() past the end');
    return this.table.nodeValue(this.node);
  }
}
