/**
 * Sorted String Tables: immutable files of internal-key entries in sorted order, written once
 * by a flush or a compaction and then only read. docs/formats/sstable.md is the byte-by-byte
 * specification; in short:
 *
 *   data block*      entries of the table, ~blockBytes each        ┐ each block is followed by
 *   filter block     a bloom filter over the distinct user keys    │ a 5-byte trailer: type (0)
 *   properties block smallest and largest internal key             │ and the masked CRC-32C of
 *   index block      one entry per data block: separator → handle  ┘ block ‖ type
 *   footer           72 bytes: handles, entry count, version, CRC, magic
 *
 * The reader trusts nothing: it checks the footer, then every block's CRC and structure before
 * use, that the blocks tile the file exactly, and that each data block's keys lie between its
 * index neighbours. Any failure is a {@link CorruptionError} naming the file and the offset of
 * the bad block or footer; wrong data is never returned.
 */

import { assert } from '../assert.ts';
import { ClosedError, CorruptionError, InvalidArgumentError } from '../errors.ts';
import { crc32c, maskCrc, unmaskCrc } from '../io/crc32c.ts';
import type { FileHandle, FileSystem } from '../io/fs.ts';
import {
  Block,
  BlockBuilder,
  type BlockCursor,
  type BlockHandle,
  compareInternalKeyAt,
  decodeBlockHandle,
  encodeBlockHandle,
  indexSeparator,
  indexSuccessor,
} from './block.ts';
import type { BlockCache } from './block-cache.ts';
import { BloomFilter, BloomFilterBuilder, type BloomProbe } from './bloom.ts';
import {
  ByteReader,
  ByteWriter,
  bytesEqual,
  compareBytes,
  DecodeError,
  getU32,
  KeyHolder,
} from './coding.ts';
import {
  compareInternalKeys,
  compareUserKeysOf,
  type EntryKind,
  kindOf,
  seekKey,
  seqOf,
  TRAILER_BYTES,
  userKeyOf,
} from './internal-key.ts';
import type { InternalIterator } from './iterator.ts';

/** Format version written in every footer; readers reject any other. */
export const SSTABLE_FORMAT_VERSION = 1;
/** The last 8 bytes of every table: "\x89ARGSST\n" (PNG's trick: catches 7-bit and newline mangling). */
export const SSTABLE_MAGIC: Uint8Array = Uint8Array.of(0x89, 0x41, 0x52, 0x47, 0x53, 0x53, 0x54, 0x0a);
/** Size of the footer at the end of every table. */
export const FOOTER_BYTES = 72;
/** Offset of the footer CRC within the footer (it covers the bytes before it). */
const FOOTER_CRC_AT = 60;
/** Offset of the magic number within the footer. */
const FOOTER_MAGIC_AT = 64;
/** Bytes after every block: a type byte and a masked CRC-32C. */
export const BLOCK_TRAILER_BYTES = 5;
/** Block type byte of an uncompressed block (the only type of format version 1). */
export const BLOCK_TYPE_UNCOMPRESSED = 0;
/** Default target size of a data block before its trailer. */
export const DEFAULT_BLOCK_BYTES = 4096;
/** Default number of entries between restart points in a data block. */
export const DEFAULT_RESTART_INTERVAL = 16;
/** Default bloom filter bits per distinct user key (about 1% false positives). */
export const DEFAULT_BLOOM_BITS_PER_KEY = 10;
/** Largest accepted `bloomBitsPerKey`; past this the rate is already far below 1e-9. */
export const MAX_BLOOM_BITS_PER_KEY = 64;
/** Largest accepted `restartInterval`. */
export const MAX_RESTART_INTERVAL = 1024;
/** Largest accepted `blockBytes` (16 MiB). */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;
/** Index blocks restart at every entry: they are decoded whole at open, so compression buys little. */
const INDEX_RESTART_INTERVAL = 1;

/** Tuning of a table being written. */
export interface SsTableOptions {
  /** Target data block size in bytes before the trailer (default 4096). */
  blockBytes?: number;
  /** Entries between full keys in a data block (default 16). */
  restartInterval?: number;
  /** Bloom filter bits per distinct user key (default 10; 0 = no filter). */
  bloomBitsPerKey?: number;
}

/** What a finished or opened table holds. */
export interface SsTableMeta {
  /** Size of the whole file. */
  fileBytes: number;
  /** Number of entries (tombstones included). */
  entries: number;
  /** Smallest internal key (empty for a table with no entries). */
  smallest: Uint8Array;
  /** Largest internal key (empty for a table with no entries). */
  largest: Uint8Array;
}

function checkOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `SsTableOptions.${name} must be an integer in ${min}..${max}, got ${value}`,
    );
  }
  return value;
}

/** Most bytes of finished blocks a writer gathers before it appends them to the file in one write. */
const WRITE_BUFFER_BYTES_MAX = 256 * 1024;
/** A writer's first buffer; it doubles up to the maximum, so small tables stay cheap. */
const WRITE_BUFFER_BYTES_MIN = 16 * 1024;

/**
 * Gathers finished blocks (with their trailers) and appends them to the file in large writes:
 * a table of 4 KiB blocks would otherwise cost one system call per block.
 */
class BlockWriteBuffer {
  private buf = new Uint8Array(WRITE_BUFFER_BYTES_MIN);
  private used = 0;
  /** File offset of `buf[0]`: everything before it has been appended. */
  private flushedBytes = 0;

  constructor(private readonly file: FileHandle) {}

  /** Bytes appended or buffered so far: the offset the next block gets. */
  get offset(): number {
    return this.flushedBytes + this.used;
  }

  /** Buffers `contents` and its trailer (type byte, masked CRC32C); returns the block's handle. */
  addBlock(contents: Uint8Array): BlockHandle {
    const total = contents.length + BLOCK_TRAILER_BYTES;
    this.reserve(total);
    const at = this.used;
    const out = this.buf;
    out.set(contents, at);
    out[at + contents.length] = BLOCK_TYPE_UNCOMPRESSED;
    const crc = maskCrc(crc32c(out, at, at + contents.length + 1));
    const c = at + contents.length + 1;
    out[c] = crc & 0xff;
    out[c + 1] = (crc >>> 8) & 0xff;
    out[c + 2] = (crc >>> 16) & 0xff;
    out[c + 3] = (crc >>> 24) & 0xff;
    const handle = { offset: this.flushedBytes + at, size: contents.length };
    this.used += total;
    return handle;
  }

  /** Buffers raw bytes (the footer). */
  addRaw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** Makes room for `bytes` more: grows the buffer up to its maximum, else flushes it. */
  private reserve(bytes: number): void {
    const need = this.used + bytes;
    if (need <= this.buf.length) return;
    if (need <= WRITE_BUFFER_BYTES_MAX) {
      const grown = new Uint8Array(Math.min(WRITE_BUFFER_BYTES_MAX, Math.max(need, this.buf.length * 2)));
      grown.set(this.buf.subarray(0, this.used));
      this.buf = grown;
      return;
    }
    this.flush();
    if (bytes > this.buf.length) this.buf = new Uint8Array(bytes);
  }

  /** Appends everything buffered to the file. */
  flush(): void {
    if (this.used === 0) return;
    const at = this.file.append(this.buf.subarray(0, this.used));
    assert(at === this.flushedBytes, 'nothing else writes to a table being built');
    this.flushedBytes += this.used;
    this.used = 0;
  }
}

/**
 * Writes one table into an empty file. Data blocks are written as soon as they fill, so
 * memory holds one block, the index and 8 bytes per distinct user key (for the filter).
 */
export class SsTableWriter {
  private readonly blockBytes: number;
  private readonly data: BlockBuilder;
  private readonly index = new BlockBuilder(INDEX_RESTART_INTERVAL);
  private readonly filter: BloomFilterBuilder | undefined;
  private readonly out: BlockWriteBuffer;
  private count = 0;
  private smallest: Uint8Array = new Uint8Array(0);
  /** A copy of the last key added (meaningful once `count > 0`). */
  private readonly last = new KeyHolder();
  /** The last written data block, waiting for the next key to pick its separator. */
  private pending: BlockHandle | undefined;
  private finished = false;
  /** Set while a write is in flight; stays set if it throws, since a block may then be lost. */
  private failed = false;

  constructor(file: FileHandle, options: SsTableOptions = {}) {
    this.blockBytes = checkOption(
      'blockBytes',
      options.blockBytes ?? DEFAULT_BLOCK_BYTES,
      1,
      MAX_BLOCK_BYTES,
    );
    const restart = options.restartInterval ?? DEFAULT_RESTART_INTERVAL;
    this.data = new BlockBuilder(checkOption('restartInterval', restart, 1, MAX_RESTART_INTERVAL));
    const bits = options.bloomBitsPerKey ?? DEFAULT_BLOOM_BITS_PER_KEY;
    checkOption('bloomBitsPerKey', bits, 0, MAX_BLOOM_BITS_PER_KEY);
    this.filter = bits > 0 ? new BloomFilterBuilder(bits) : undefined;
    assert(file.size() === 0, 'an SSTable is written into an empty file');
    this.out = new BlockWriteBuffer(file);
  }

  /** Entries added so far. */
  get entries(): number {
    return this.count;
  }

  /** Bytes written plus bytes buffered (block, index, filter), to decide when to split outputs. */
  estimatedBytes(): number {
    const tail = this.index.estimatedBytes() + (this.filter?.estimatedBytes() ?? 0) + FOOTER_BYTES;
    return this.out.offset + this.data.estimatedBytes() + tail + 3 * BLOCK_TRAILER_BYTES;
  }

  /** Adds an entry; `ikey` must be an internal key greater than every key added before. */
  add(ikey: Uint8Array, value: Uint8Array): void {
    assert(!this.finished, 'add() after finish()');
    assert(!this.failed, 'add() after a failed write');
    assert(ikey.length >= TRAILER_BYTES, 'SSTable keys are internal keys');
    const lastKey = this.last.view;
    if (this.count > 0) assert(compareInternalKeys(ikey, lastKey) > 0, 'SSTable keys strictly increase');
    if (this.pending !== undefined) {
      this.index.add(indexSeparator(lastKey, ikey), encodeBlockHandle(this.pending));
      this.pending = undefined;
    }
    if (this.filter !== undefined && (this.count === 0 || compareUserKeysOf(ikey, lastKey) !== 0)) {
      this.filter.addUserKeyOf(ikey);
    }
    this.data.add(ikey, value);
    this.last.set(ikey);
    if (this.count === 0) this.smallest = ikey.slice();
    this.count++;
    if (this.data.estimatedBytes() >= this.blockBytes) this.flushData();
  }

  private flushData(): void {
    // The view is copied into the write buffer at once, before the builder is used again.
    this.pending = this.append(this.data.finishView());
  }

  private append(contents: Uint8Array): BlockHandle {
    this.failed = true;
    const h = this.out.addBlock(contents);
    this.failed = false;
    return h;
  }

  /** Writes the last data block, the filter, properties, index and footer. Does not sync or close. */
  finish(): SsTableMeta {
    assert(!this.finished, 'finish() called twice');
    assert(!this.failed, 'finish() after a failed write');
    this.finished = true;
    if (this.data.entries > 0) this.flushData();
    if (this.pending !== undefined) {
      this.index.add(indexSuccessor(this.last.view), encodeBlockHandle(this.pending));
      this.pending = undefined;
    }
    const filter = this.append(this.filter?.finish() ?? new Uint8Array(0));
    const props = this.append(
      new ByteWriter(64).lengthPrefixed(this.smallest).lengthPrefixed(this.last.view).finish(),
    );
    const index = this.append(this.index.finish());
    const w = new ByteWriter(FOOTER_BYTES);
    for (const h of [filter, props, index]) w.u64(h.offset).u64(h.size);
    w.u64(this.count).u32(SSTABLE_FORMAT_VERSION);
    w.u32(maskCrc(crc32c(w.peek())));
    w.bytes(SSTABLE_MAGIC);
    assert(w.length === FOOTER_BYTES, 'footer has its fixed size');
    this.failed = true;
    this.out.addRaw(w.finish());
    this.out.flush();
    this.failed = false;
    return {
      fileBytes: this.out.offset,
      entries: this.count,
      smallest: this.smallest,
      largest: this.last.view.slice(),
    };
  }
}

/** What a footer says, after its magic, CRC and version were checked. */
interface Footer {
  at: number;
  filter: BlockHandle;
  props: BlockHandle;
  index: BlockHandle;
  entries: number;
}

/** Reads a table's structure (footer, filter, properties, index), checking all of it. */
class TableLoader {
  constructor(
    private readonly file: FileHandle,
    private readonly name: string,
  ) {}

  corrupt(offset: number, detail: string): CorruptionError {
    return new CorruptionError({ file: this.name, offset, detail });
  }

  /** Runs `decode`, turning a {@link DecodeError} into a corruption of the block at `offset`. */
  decoding<T>(offset: number, what: string, decode: () => T): T {
    try {
      return decode();
    } catch (e) {
      if (e instanceof DecodeError) throw this.corrupt(offset, `${what}: ${e.message} (at +${e.offset})`);
      throw e;
    }
  }

  footer(): Footer {
    const size = this.file.size();
    if (size < FOOTER_BYTES) throw this.corrupt(0, `file of ${size} bytes is shorter than a footer`);
    const at = size - FOOTER_BYTES;
    const f = this.file.read(at, FOOTER_BYTES);
    if (f.length !== FOOTER_BYTES) throw this.corrupt(at, 'footer read came back short');
    if (!bytesEqual(f.subarray(FOOTER_MAGIC_AT), SSTABLE_MAGIC)) throw this.corrupt(at, 'bad magic number');
    if (unmaskCrc(getU32(f, FOOTER_CRC_AT)) !== crc32c(f, 0, FOOTER_CRC_AT)) {
      throw this.corrupt(at, 'footer checksum mismatch');
    }
    const version = getU32(f, FOOTER_CRC_AT - 4);
    if (version !== SSTABLE_FORMAT_VERSION) throw this.corrupt(at, `unsupported format version ${version}`);
    return this.decoding(at, 'footer', () => {
      const r = new ByteReader(f);
      const handle = (): BlockHandle => ({ offset: r.u64(), size: r.u64() });
      return { at, filter: handle(), props: handle(), index: handle(), entries: r.u64() };
    });
  }

  /**
   * Checks that filter, properties and index blocks follow each other up to the footer. With
   * every field a non-negative safe integer, the chain ending at the footer also proves each
   * handle lies inside the file, exactly (each sum is at most the footer offset).
   */
  checkTail(f: Footer): void {
    const tiled =
      f.index.offset + f.index.size + BLOCK_TRAILER_BYTES === f.at &&
      f.props.offset + f.props.size + BLOCK_TRAILER_BYTES === f.index.offset &&
      f.filter.offset + f.filter.size + BLOCK_TRAILER_BYTES === f.props.offset;
    if (!tiled) throw this.corrupt(f.at, 'filter, properties and index blocks do not tile the file');
  }

  /** Reads a block and checks its trailer; returns the block bytes. */
  block(h: BlockHandle, what: string): Uint8Array {
    const raw = this.file.read(h.offset, h.size + BLOCK_TRAILER_BYTES);
    if (raw.length !== h.size + BLOCK_TRAILER_BYTES)
      throw this.corrupt(h.offset, `${what} read came back short`);
    if (unmaskCrc(getU32(raw, h.size + 1)) !== crc32c(raw, 0, h.size + 1)) {
      throw this.corrupt(h.offset, `${what} checksum mismatch`);
    }
    if (raw[h.size] !== BLOCK_TYPE_UNCOMPRESSED) throw this.corrupt(h.offset, `${what} has unknown type`);
    return raw.subarray(0, h.size);
  }

  filter(h: BlockHandle): BloomFilter | undefined {
    const bytes = this.block(h, 'filter block');
    if (bytes.length === 0) return undefined;
    return this.decoding(h.offset, 'filter block', () => BloomFilter.decode(bytes));
  }

  props(h: BlockHandle): { smallest: Uint8Array; largest: Uint8Array } {
    const bytes = this.block(h, 'properties block');
    return this.decoding(h.offset, 'properties block', () => {
      const r = new ByteReader(bytes);
      const smallest = r.lengthPrefixed().slice();
      const largest = r.lengthPrefixed().slice();
      if (r.remaining() !== 0) throw new DecodeError('bytes after the properties', r.pos);
      return { smallest, largest };
    });
  }

  /** Decodes the index; checks the data blocks tile the file from 0 to the filter block. */
  index(f: Footer): { separators: Uint8Array[]; handles: BlockHandle[] } {
    const bytes = this.block(f.index, 'index block');
    const separators: Uint8Array[] = [];
    const handles: BlockHandle[] = [];
    this.decoding(f.index.offset, 'index block', () => {
      const c = Block.decode(bytes).cursor();
      let expected = 0;
      for (c.seekToFirst(); c.valid(); c.next()) {
        const h = decodeBlockHandle(c.value());
        if (h.offset !== expected)
          throw new DecodeError(`data block at ${h.offset}, expected ${expected}`, 0);
        expected = h.offset + h.size + BLOCK_TRAILER_BYTES;
        separators.push(c.key().slice());
        handles.push(h);
      }
      if (expected !== f.filter.offset)
        throw new DecodeError('data blocks do not end at the filter block', 0);
    });
    return { separators, handles };
  }
}

/** Checks the properties agree with the footer and the index. */
function checkSummary(
  loader: TableLoader,
  f: Footer,
  p: { smallest: Uint8Array; largest: Uint8Array },
  separators: Uint8Array[],
): void {
  const last = separators[separators.length - 1];
  if (last === undefined) {
    if (f.entries !== 0 || p.smallest.length !== 0 || p.largest.length !== 0) {
      throw loader.corrupt(f.props.offset, 'a table without data blocks claims entries');
    }
    return;
  }
  if (f.entries < separators.length) throw loader.corrupt(f.at, 'fewer entries than data blocks');
  const ok =
    p.smallest.length >= TRAILER_BYTES &&
    p.largest.length >= TRAILER_BYTES &&
    compareInternalKeys(p.smallest, p.largest) <= 0 &&
    compareInternalKeys(p.smallest, separators[0]!) <= 0 &&
    compareInternalKeys(p.largest, last) <= 0;
  if (!ok) throw loader.corrupt(f.props.offset, 'smallest/largest keys disagree with the index');
}

/** Options of {@link SsTableReader.open}. */
export interface SsTableOpenOptions {
  fs: FileSystem;
  name: string;
  /** Shared cache for data blocks; without one every block read goes to the file. */
  cache?: BlockCache;
  /** Cache id of this file (its file number); a private id is allocated when absent. */
  fileNumber?: number;
}

/** One value found by {@link SsTableReader.find}. */
export interface FoundEntry {
  kind: EntryKind;
  /** A copy of the value (empty for a tombstone). */
  value: Uint8Array;
  seq: number;
}

/** Everything {@link SsTableReader.open} loads and checks before any data block is read. */
interface TableParts {
  name: string;
  meta: SsTableMeta;
  footerAt: number;
  filter: BloomFilter | undefined;
  separators: Uint8Array[];
  handles: BlockHandle[];
}

/**
 * The index's separators packed into one array, for {@link SsTableReader.findBlock}: a seek's
 * binary search then reads one buffer instead of a separate array (two objects) per probe,
 * which at 100K documents was a cache miss or two per probe in every table a query seeks.
 */
class PackedKeys {
  /** The keys' bytes, one after the other. */
  readonly bytes: Uint8Array;
  /** Where key i starts in {@link bytes}; entry `count` is the end of the last key. */
  readonly starts: Uint32Array;

  constructor(keys: readonly Uint8Array[]) {
    let total = 0;
    for (const k of keys) total += k.length;
    this.bytes = new Uint8Array(total);
    this.starts = new Uint32Array(keys.length + 1);
    let at = 0;
    for (let i = 0; i < keys.length; i++) {
      this.starts[i] = at;
      this.bytes.set(keys[i]!, at);
      at += keys[i]!.length;
    }
    this.starts[keys.length] = at;
  }

  /** Index of the first key >= `target` by {@link compareInternalKeys} (the key count when none). */
  lowerBound(target: Uint8Array): number {
    const { bytes, starts } = this;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = starts[mid]!;
      if (compareInternalKeyAt(bytes, at, starts[mid + 1]! - at, target) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** An open table. Filter, properties and index stay in memory; data blocks go through the cache. */
export class SsTableReader {
  private closed = false;
  /** The table's file name. */
  readonly name: string;
  /** Size, entry count and key range. */
  readonly meta: SsTableMeta;
  /** The index's separators, packed for seeks. */
  private readonly packed: PackedKeys;

  private constructor(
    private readonly file: FileHandle,
    private readonly parts: TableParts,
    private readonly cache: BlockCache | undefined,
    private readonly cacheId: number,
  ) {
    this.name = parts.name;
    this.meta = parts.meta;
    this.packed = new PackedKeys(parts.separators);
  }

  /** Opens a table and checks its footer, filter, properties and index. */
  static open(options: SsTableOpenOptions): SsTableReader {
    const file = options.fs.open(options.name);
    try {
      const loader = new TableLoader(file, options.name);
      const f = loader.footer();
      loader.checkTail(f);
      const filter = loader.filter(f.filter);
      const p = loader.props(f.props);
      const { separators, handles } = loader.index(f);
      checkSummary(loader, f, p, separators);
      const meta = { fileBytes: f.at + FOOTER_BYTES, entries: f.entries, ...p };
      const parts = { name: options.name, meta, footerAt: f.at, filter, separators, handles };
      const cacheId = options.fileNumber ?? options.cache?.newFileId() ?? 0;
      return new SsTableReader(file, parts, options.cache, cacheId);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Number of data blocks. */
  get blockCount(): number {
    return this.parts.handles.length;
  }

  /**
   * False only when the table certainly holds no version of `userKey`. `probe`, when given,
   * holds `userKey`'s filter hashes (a lookup across tables hashes the key once).
   */
  mayContain(userKey: Uint8Array, probe?: BloomProbe): boolean {
    this.checkOpen();
    const filter = this.parts.filter;
    if (filter === undefined) return true;
    return probe === undefined ? filter.mayContain(userKey) : filter.mayContainProbe(probe);
  }

  /** The newest version of `userKey` with sequence <= `seq`, or undefined (`probe`: see {@link mayContain}). */
  find(userKey: Uint8Array, seq: number, probe?: BloomProbe): FoundEntry | undefined {
    if (!this.mayContain(userKey, probe)) return undefined;
    const target = seekKey(userKey, seq);
    const i = this.findBlock(target);
    if (i === this.parts.handles.length) return undefined;
    let c = this.dataBlock(i).cursor();
    c.seek(target);
    // The target may fall between block i's last key and its separator: the answer then
    // starts block i + 1.
    if (!c.valid() && i + 1 < this.parts.handles.length) {
      c = this.dataBlock(i + 1).cursor();
      c.seekToFirst();
    }
    if (!c.valid()) return undefined;
    const k = c.key();
    if (compareBytes(userKeyOf(k), userKey) !== 0) return undefined;
    return { kind: kindOf(k), value: c.value().slice(), seq: seqOf(k) };
  }

  /** A cursor over every entry; blocks are read lazily, through the cache. */
  iterator(): InternalIterator {
    this.checkOpen();
    return new TableIterator(this);
  }

  /** Releases the file. Cursors still positioned keep their current block only. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }

  /** Index of the first data block whose separator is >= `target` (blockCount when none). */
  findBlock(target: Uint8Array): number {
    return this.packed.lowerBound(target);
  }

  /** Data block `i`, from the cache or read and checked (CRC, structure, key range). */
  dataBlock(i: number): Block {
    this.checkOpen();
    assert(i >= 0, 'data block index is not negative');
    assert(i < this.parts.handles.length, 'data block index is below the block count');
    const h = this.parts.handles[i]!;
    const cached = this.cache?.get(this.cacheId, h.offset);
    if (cached !== undefined) return cached;
    const loader = new TableLoader(this.file, this.name);
    const bytes = loader.block(h, 'data block');
    const block = loader.decoding(h.offset, 'data block', () => Block.decode(bytes));
    this.checkRange(block, i, loader);
    this.cache?.insert(this.cacheId, h.offset, block);
    return block;
  }

  private checkRange(block: Block, i: number, loader: TableLoader): void {
    const at = this.parts.handles[i]!.offset;
    if (block.entries === 0) throw loader.corrupt(at, 'empty data block');
    if (i > 0 && compareInternalKeys(block.firstKey, this.parts.separators[i - 1]!) <= 0) {
      throw loader.corrupt(at, 'data block starts before its index range');
    }
    if (compareInternalKeys(block.lastKey, this.parts.separators[i]!) > 0) {
      throw loader.corrupt(at, 'data block ends after its index separator');
    }
    if (i === 0 && !bytesEqual(block.firstKey, this.meta.smallest)) {
      throw loader.corrupt(at, 'first key differs from the recorded smallest key');
    }
    if (i === this.parts.handles.length - 1 && !bytesEqual(block.lastKey, this.meta.largest)) {
      throw loader.corrupt(at, 'last key differs from the recorded largest key');
    }
  }

  /** Corruption of the entry count, found when a full scan ends. */
  countMismatch(seen: number): CorruptionError {
    const detail = `footer counts ${this.meta.entries} entries, the blocks hold ${seen}`;
    return new CorruptionError({ file: this.name, offset: this.parts.footerAt, detail });
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError(`SSTable ${this.name} is closed`);
  }
}

/** Two-level cursor: the in-memory index picks a block, a block cursor walks it. */
class TableIterator implements InternalIterator {
  private blockIndex = 0;
  private cursor: BlockCursor | undefined;
  /** Entries in blocks entered since seekToFirst, or -1 after a seek (no count check). */
  private scanned = -1;

  constructor(private readonly table: SsTableReader) {}

  valid(): boolean {
    return this.cursor?.valid() === true;
  }

  seekToFirst(): void {
    this.scanned = 0;
    this.enter(0);
    this.cursor?.seekToFirst();
    this.skipExhausted();
  }

  seek(target: Uint8Array): void {
    assert(target.length >= TRAILER_BYTES, 'seek target is an internal key');
    this.scanned = -1;
    this.enter(this.table.findBlock(target));
    this.cursor?.seek(target);
    this.skipExhausted();
  }

  next(): void {
    assert(this.cursor !== undefined, 'next() needs a valid cursor');
    this.cursor.next();
    this.skipExhausted();
  }

  key(): Uint8Array {
    assert(this.cursor !== undefined, 'key() needs a valid cursor');
    return this.cursor.key();
  }

  value(): Uint8Array {
    assert(this.cursor !== undefined, 'value() needs a valid cursor');
    return this.cursor.value();
  }

  private enter(i: number): void {
    this.cursor = undefined;
    this.blockIndex = i;
    if (i >= this.table.blockCount) {
      if (this.scanned >= 0 && this.scanned !== this.table.meta.entries) {
        throw this.table.countMismatch(this.scanned);
      }
      return;
    }
    const block = this.table.dataBlock(i);
    if (this.scanned >= 0) this.scanned += block.entries;
    this.cursor = block.cursor();
  }

  private skipExhausted(): void {
    while (this.cursor !== undefined && !this.cursor.valid()) {
      this.enter(this.blockIndex + 1);
      this.cursor?.seekToFirst();
    }
  }
}
