/**
 * The memtable: recent writes, sorted, in memory, as a skip list over internal keys (user key
 * ascending, sequence descending). Every version of a key is kept until the memtable is
 * flushed, so a snapshot or an open iterator sees exactly the state at its sequence number
 * while later writes keep arriving.
 *
 * Layout (LevelDB's arena, in typed arrays): each entry's bytes, `internal key ‖ value`, are
 * copied into an append-only byte arena, and the skip-list nodes are variable-length rows of
 * one integer array: where an entry lives, the first sixteen bytes of its user key as words,
 * then its tower of next pointers. A node is the offset of its row. A memtable of 100K entries
 * is then a handful of large arrays instead of 400K small objects: inserts allocate nothing per
 * entry and the garbage collector has nothing to trace. Most comparisons on the search path
 * read only a row's words, and a search step reads the next pointer from the row it has just
 * compared, so each step touches one row (the pointers in an array of their own cost a second
 * cache miss per step).
 *
 * Iteration is safe while inserts happen: an insert writes a fully built node and then links
 * it in with plain stores, and a cursor only ever follows level-0 links (re-reading the arrays,
 * which may have grown, on every step), so it sees each node at most once. Heights come from a
 * fixed internal xorshift generator: they affect speed, never results, so they need not come
 * from the `Random` seam.
 */

import { assert } from '../assert.ts';
import { copyBytes } from '../bytes.ts';
import { EntryKind, encodeInternalKey, TRAILER_BYTES, writeTrailer } from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';
import { hashUserKey, type IndexedNodes, NewestVersionIndex } from './memtable-index.ts';

/** Tallest tower in the skip list (enough for ~4^12 = 16M entries at p = 1/4). */
const MAX_HEIGHT = 12;

/** Approximate per-entry overhead (node row, links) counted towards the size limit. */
const NODE_OVERHEAD_BYTES = 64;

/**
 * Int32 fields of a node row: arena chunk, offset in it, internal key length, value length,
 * the user key's first 16 bytes as {@link KEY_WORDS} words (see {@link keyWord}), then the
 * node's height in next pointers (row `[n + F_LINKS, n + F_LINKS + height)`).
 */
const F_CHUNK = 0;
const F_OFFSET = 1;
const F_KEY_LEN = 2;
const F_VALUE_LEN = 3;
const F_WORDS = 4;
/** Words of a user key's start (four bytes each) kept in its node row. */
const KEY_WORDS = 4;
const F_LINKS = F_WORDS + KEY_WORDS;
/** Int32s of the head's row: its fields and a full tower. */
const HEAD_INTS = F_LINKS + MAX_HEIGHT;

/** The "no node" link. Node 0 is the head, which is never a link target. */
const NIL = 0;

/** First arena chunk; chunks double up to {@link CHUNK_BYTES_MAX}, so tiny memtables stay tiny. */
const CHUNK_BYTES_MIN = 16 * 1024;
/** Largest shared arena chunk. An entry above a quarter of it gets a chunk of its own. */
const CHUNK_BYTES_MAX = 1024 * 1024;

/** Int32s of node rows allocated at first. The array doubles when full. */
const INITIAL_NODE_INTS = 1024;
/** Most Int32s of node rows: node offsets must fit an Int32 link. */
const NODE_INTS_MAX = 2 ** 30;

/**
 * Word `w` of a user key's start: bytes `[4w, 4w + 4)` of `src[at, at + userKeyLen)` big-endian,
 * an absent byte counting 0, with the top bit flipped so that signed order is the bytes' order.
 * Words that differ order their keys as the keys' bytes do (a zero pad never exceeds a present
 * byte, and a key that ends inside the words sorts before the keys it starts); equal words
 * leave the keys undecided. A node row keeps its key's words, so most comparisons in a search
 * read only the row: keys of one collection share their first ten or so bytes, and the arena
 * read a comparison then needed was a cache miss per step.
 */
function keyWord(src: Uint8Array, at: number, userKeyLen: number, w: number): number {
  let x = 0;
  for (let i = 4 * w; i < 4 * w + 4; i++) x = x * 256 + (i < userKeyLen ? src[at + i]! : 0);
  return (x ^ 0x80000000) | 0;
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
  /**
   * Node rows (fields, then next pointers: node offsets, {@link NIL} for none); the head's row
   * is at 0. A node is its row's offset.
   */
  private nodes: Int32Array = new Int32Array(INITIAL_NODE_INTS);
  /** Int32s of {@link nodes} in use. */
  private nodesUsed = HEAD_INTS;
  /** The last node linked in. */
  private lastNode = NIL;
  private height = 1;
  private rngState = 0x2545f491;
  /**
   * Two fingers: `fingers[f]` is the splice (per level, the last node before it) just after
   * node `fingerLast[f]` ({@link NIL}: no finger), as the insert of that node left it. An
   * insert that lands right after a finger's node links in there without a search. Two,
   * because a local write alternates two regions of keys: its feed entry, in order after the
   * previous one, and its document's row, anywhere. `recent` is the finger the last insert
   * used or made; only it is sure to be current, and the other is checked level by level
   * before use. Only inserts write fingers (lookups search without filling one).
   */
  private readonly fingers = [new Int32Array(MAX_HEIGHT), new Int32Array(MAX_HEIGHT)] as const;
  private readonly fingerLast = [NIL, NIL];
  private recent = 0;
  /**
   * A copy of the key a lookup searches for, with its DataView: made once and grown as needed,
   * instead of a DataView per `find` or seek (a lookup is a short search; the view was a few
   * percent of an indexed query).
   */
  private probe = new Uint8Array(64);
  private probeView = viewOf(this.probe);
  /** The words ({@link keyWord}) of the key being searched for or inserted. */
  private w0 = 0;
  private w1 = 0;
  private w2 = 0;
  private w3 = 0;
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

  // The head's row (no bytes, a full tower of NIL links) is the zeros the array starts with.

  /**
   * The arrays a cursor needs (arena chunks, node rows, links), for handing a full memtable to
   * another thread that flushes it. The receiver gets copies; this memtable is unchanged.
   */
  exportParts(): MemtableParts {
    return {
      chunks: this.chunks.slice(),
      nodes: this.nodes.subarray(0, this.nodesUsed),
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
    m.nodesUsed = parts.nodes.length;
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

  /**
   * Sets the words of the key at `key[at, at + len)` (an internal key) that
   * {@link compareNode} compares rows with; every search and insert starts with this.
   */
  private setProbeWords(key: Uint8Array, view: DataView, at: number, len: number): void {
    const ul = len - TRAILER_BYTES;
    if (ul >= 4 * KEY_WORDS) {
      // The whole words are in the key: four reads instead of sixteen bytes one at a time.
      this.w0 = (view.getUint32(at) ^ 0x80000000) | 0;
      this.w1 = (view.getUint32(at + 4) ^ 0x80000000) | 0;
      this.w2 = (view.getUint32(at + 8) ^ 0x80000000) | 0;
      this.w3 = (view.getUint32(at + 12) ^ 0x80000000) | 0;
      return;
    }
    this.w0 = keyWord(key, at, ul, 0);
    this.w1 = keyWord(key, at, ul, 1);
    this.w2 = keyWord(key, at, ul, 2);
    this.w3 = keyWord(key, at, ul, 3);
  }

  /**
   * Compares node `n` (not the head) with the key at `key[at, at + len)`, whose words
   * {@link setProbeWords} set: by the row's words, and by the arena's bytes only when those tie.
   */
  private compareNode(n: number, key: Uint8Array, keyView: DataView, at: number, len: number): number {
    const nodes = this.nodes;
    let d = nodes[n + F_WORDS]! - this.w0;
    if (d !== 0) return d;
    d = nodes[n + F_WORDS + 1]! - this.w1;
    if (d !== 0) return d;
    d = nodes[n + F_WORDS + 2]! - this.w2;
    if (d !== 0) return d;
    d = nodes[n + F_WORDS + 3]! - this.w3;
    if (d !== 0) return d;
    const c = nodes[n + F_CHUNK]!;
    return compareKeysAt(
      this.chunks[c]!,
      this.chunkViews[c]!,
      nodes[n + F_OFFSET]!,
      nodes[n + F_KEY_LEN]!,
      key,
      keyView,
      at,
      len,
    );
  }

  /**
   * Finds the first node >= the internal key at `key[at, at + len)` (NIL when none), filling
   * `prev`, when given, with the last node < it per level. `keyView` is a DataView over `key`;
   * the key's words must be set ({@link setProbeWords}).
   */
  private findGreaterOrEqual(
    key: Uint8Array,
    keyView: DataView,
    at: number,
    len: number,
    prev: Int32Array | undefined,
  ): number {
    const nodes = this.nodes;
    let x = 0;
    for (let level = this.height - 1; level >= 0; level--) {
      for (;;) {
        const nx = nodes[x + F_LINKS + level]!;
        if (nx !== NIL && this.compareNode(nx, key, keyView, at, len) < 0) x = nx;
        else break;
      }
      if (prev !== undefined) prev[level] = x;
    }
    return nodes[x + F_LINKS]!;
  }

  /** True when node `n` holds the same user key and sequence as the key at `key[at, at + len)`. */
  private sameKeyAndSeq(n: number, key: Uint8Array, at: number, len: number): boolean {
    if (n === NIL) return false;
    // Cheapest first: the row's length and words (the probe's are the key's, set by the
    // insert), then the sequence, and the arena's key bytes only when all of those agree.
    const nodes = this.nodes;
    if (nodes[n + F_KEY_LEN] !== len) return false;
    if (nodes[n + F_WORDS] !== this.w0 || nodes[n + F_WORDS + 1] !== this.w1) return false;
    if (nodes[n + F_WORDS + 2] !== this.w2 || nodes[n + F_WORDS + 3] !== this.w3) return false;
    const ul = len - TRAILER_BYTES;
    if (this.nodeSeq(n) !== trailerSeq(key, at + ul)) return false;
    return this.nodeHasUserKey(n, key, at, ul);
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
    const gap = span.valueAt - (span.keyAt + span.keyLen);
    if (gap >= 0 && gap <= TRAILER_BYTES && span.valueLen > 0) {
      // The key and the value lie close together in `src` (a batch record: only the value's
      // length between them), so one copy takes both and the value is moved up in place to
      // make room for the trailer: one view and copy fewer than copying them apart.
      copyBytes(src, span.keyAt, span.valueAt + span.valueLen, buf, at);
      const from = at + span.keyLen + gap;
      buf.copyWithin(at + ikeyLen, from, from + span.valueLen);
    } else {
      copyBytes(src, span.keyAt, span.keyAt + span.keyLen, buf, at);
      copyBytes(src, span.valueAt, span.valueAt + span.valueLen, buf, at + ikeyLen);
    }
    writeTrailer(buf, at + span.keyLen, seq, kind);
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
    this.setProbeWords(buf, this.chunkView, at, keyLen);
    let f = this.fittingFinger(buf, at, keyLen);
    let found: number;
    if (f >= 0) found = this.nodes[this.fingers[f]![0]! + F_LINKS]!;
    else {
      // The search overwrites the finger used least recently: until `link` sets it again, it
      // is no finger.
      f = 1 - this.recent;
      this.fingerLast[f] = NIL;
      found = this.findGreaterOrEqual(buf, this.chunkView, at, keyLen, this.fingers[f]);
    }
    // The same (key, seq) with the other kind sorts right after or right before the new key.
    assert(!this.sameKeyAndSeq(found, buf, at, keyLen), 'memtable: duplicate sequence');
    assert(!this.sameKeyAndSeq(this.fingers[f]![0]!, buf, at, keyLen), 'memtable: duplicate sequence');
    this.link(at, keyLen, valueLen, f);
    const ul = keyLen - TRAILER_BYTES;
    this.newest.put(hashUserKey(buf, at, ul), this.lastNode, seq, buf, at, ul);
    this.entries++;
    this.approximateBytes += keyLen + valueLen + NODE_OVERHEAD_BYTES;
    if (seq < this.minSeq) this.minSeq = seq;
    if (seq > this.maxSeq) this.maxSeq = seq;
  }

  /**
   * The finger (0 or 1) whose node the key at `buf[at, at + keyLen)` goes right after, or -1.
   * It fits when the key sorts after the finger's node and, on every level, before the node
   * that follows the finger's splice there: then the splice is exactly the key's, and the
   * search from the top is skipped. The recent finger is current (no insert since), so its
   * level 0 decides; the other may have had nodes inserted into its splice since, so every
   * level is checked (those nodes are ones the last searches touched, still in cache).
   */
  private fittingFinger(buf: Uint8Array, at: number, keyLen: number): number {
    const recent = this.recent;
    if (this.fingerFits(recent, buf, at, keyLen, 1)) return recent;
    if (this.fingerFits(1 - recent, buf, at, keyLen, this.height)) return 1 - recent;
    return -1;
  }

  /** Whether finger `f` fits the key (see {@link fittingFinger}), checking its lowest `levels`. */
  private fingerFits(f: number, buf: Uint8Array, at: number, keyLen: number, levels: number): boolean {
    const last = this.fingerLast[f]!;
    if (last === NIL) return false;
    const view = this.chunkView;
    if (this.compareNode(last, buf, view, at, keyLen) >= 0) return false;
    const prev = this.fingers[f]!;
    for (let i = 0; i < levels; i++) {
      const next = this.nodes[prev[i]! + F_LINKS + i]!;
      if (next !== NIL && this.compareNode(next, buf, view, at, keyLen) <= 0) return false;
    }
    return true;
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
   * Writes a node row for the entry at `chunk[offset, ...)`, whose words the probe holds, and
   * links it in at finger `f`'s splice, which then becomes the splice just after it.
   */
  private link(offset: number, keyLen: number, valueLen: number, f: number): void {
    const h = this.randomHeight();
    const prev = this.fingers[f]!;
    if (h > this.height) {
      // New levels start at the head, in both fingers.
      for (let i = this.height; i < h; i++) {
        prev[i] = 0;
        this.fingers[1 - f]![i] = 0;
      }
      this.height = h;
    }
    this.ensureCapacity(h);
    const n = this.nodesUsed;
    const nodes = this.nodes;
    nodes[n + F_CHUNK] = this.chunks.length - 1;
    nodes[n + F_OFFSET] = offset;
    nodes[n + F_KEY_LEN] = keyLen;
    nodes[n + F_VALUE_LEN] = valueLen;
    nodes[n + F_WORDS] = this.w0;
    nodes[n + F_WORDS + 1] = this.w1;
    nodes[n + F_WORDS + 2] = this.w2;
    nodes[n + F_WORDS + 3] = this.w3;
    for (let i = 0; i < h; i++) {
      const p = prev[i]! + F_LINKS + i;
      nodes[n + F_LINKS + i] = nodes[p]!;
      nodes[p] = n;
      // `prev` becomes the splice just after the new node, for the next insert's finger.
      prev[i] = n;
    }
    this.nodesUsed = n + F_LINKS + h;
    this.lastNode = n;
    this.fingerLast[f] = n;
    this.recent = f;
  }

  /** Grows the node array to take one more node of height `h`. */
  private ensureCapacity(h: number): void {
    const need = this.nodesUsed + F_LINKS + h;
    if (need <= this.nodes.length) return;
    // Nodes are offsets in the array, stored in Int32s: far more than any memtable's entries.
    assert(2 * this.nodes.length <= NODE_INTS_MAX, 'memtable: node rows past the largest offset');
    const grown = new Int32Array(2 * this.nodes.length);
    grown.set(this.nodes);
    this.nodes = grown;
  }

  /**
   * The newest version of `userKey` with sequence <= `seqMax`, or undefined when the memtable
   * holds none. The index answers without an internal key, which is built only when the skip
   * list must be searched (a snapshot's read below the newest version, or a memtable without an
   * index). The value is a view of the arena: it never changes, but copy it to keep it without
   * keeping the whole memtable alive.
   */
  find(userKey: Uint8Array, seqMax: number): { kind: EntryKind; value: Uint8Array } | undefined {
    const ul = userKey.length;
    if (!this.readOnly) {
      // The index answers unless the newest version is above `seqMax` (a snapshot's read).
      const newest = this.newest.get(hashUserKey(userKey, 0, ul), userKey, 0, ul);
      if (newest === NIL) return undefined;
      if (this.nodeSeq(newest) <= seqMax) return this.entryOf(newest);
    }
    const ikey = encodeInternalKey(userKey, seqMax, EntryKind.Value);
    const n = this.searchFor(ikey);
    if (n === NIL || !this.nodeHasUserKey(n, ikey, 0, ul)) return undefined;
    return this.entryOf(n);
  }

  /** A cursor over every entry in internal-key order. */
  iterator(): InternalIterator {
    return new MemtableIterator(this);
  }

  /** The kind and value of node `n`. */
  private entryOf(n: number): { kind: EntryKind; value: Uint8Array } {
    const buf = this.chunks[this.nodes[n + F_CHUNK]!]!;
    const at = this.nodes[n + F_OFFSET]!;
    const len = this.nodes[n + F_KEY_LEN]!;
    const valueAt = at + len;
    return {
      kind: buf[at + len - TRAILER_BYTES] as EntryKind,
      value: buf.subarray(valueAt, valueAt + this.nodes[n + F_VALUE_LEN]!),
    };
  }

  /** @internal Whether node `n` holds the user key at `key[at, at + len)` (for the index). */
  nodeHasUserKey(n: number, key: Uint8Array, at: number, len: number): boolean {
    if (this.nodes[n + F_KEY_LEN]! - TRAILER_BYTES !== len) return false;
    const buf = this.chunks[this.nodes[n + F_CHUNK]!]!;
    const nodeAt = this.nodes[n + F_OFFSET]!;
    for (let i = 0; i < len; i++) if (buf[nodeAt + i] !== key[at + i]) return false;
    return true;
  }

  /** @internal The sequence number of node `n`. */
  nodeSeq(n: number): number {
    const buf = this.chunks[this.nodes[n + F_CHUNK]!]!;
    return trailerSeq(buf, this.nodes[n + F_OFFSET]! + this.nodes[n + F_KEY_LEN]! - TRAILER_BYTES);
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
    this.setProbeWords(this.probe, this.probeView, 0, n);
    return this.findGreaterOrEqual(this.probe, this.probeView, 0, n, undefined);
  }

  /**
   * @internal Whether every level's list is in strictly ascending internal-key order and level
   * 0 holds every node (for tests: a splice taken from a stale finger would break an upper level,
   * which iteration, on level 0, never shows).
   */
  levelsInOrder(): boolean {
    for (let level = 0; level < this.height; level++) {
      let count = 0;
      let x = this.nodes[F_LINKS + level]!;
      for (let guard = 0; x !== NIL; guard++) {
        if (guard >= this.entries) return false;
        const next = this.nodes[x + F_LINKS + level]!;
        if (next !== NIL) {
          const key = this.nodeKey(next);
          this.setProbeWords(key, viewOf(key), 0, key.length);
          if (this.compareNode(x, key, viewOf(key), 0, key.length) >= 0) return false;
        }
        count++;
        x = next;
      }
      if (level === 0 && count !== this.entries) return false;
    }
    return true;
  }

  /** @internal The node after `n` on level 0 (0 when none); `n` = 0 is the head. */
  nextNode(n: number): number {
    return this.nodes[n + F_LINKS]!;
  }

  /** @internal The internal key of node `n` (a view of the arena). */
  nodeKey(n: number): Uint8Array {
    const at = this.nodes[n + F_OFFSET]!;
    return this.chunks[this.nodes[n + F_CHUNK]!]!.subarray(at, at + this.nodes[n + F_KEY_LEN]!);
  }

  /** @internal The value of node `n` (a view of the arena). */
  nodeValue(n: number): Uint8Array {
    const at = this.nodes[n + F_OFFSET]! + this.nodes[n + F_KEY_LEN]!;
    return this.chunks[this.nodes[n + F_CHUNK]!]!.subarray(at, at + this.nodes[n + F_VALUE_LEN]!);
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
