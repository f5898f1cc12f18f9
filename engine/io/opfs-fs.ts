/**
 * The {@link FileSystem} seam over the browser's Origin Private File System, for the engine's
 * dedicated worker.
 *
 * OPFS offers synchronous reads and writes (`FileSystemSyncAccessHandle`), but opening a file
 * and creating its access handle are asynchronous, while our seam is synchronous. So, like
 * SQLite's "opfs-sahpool" VFS, we open a pool of physical files up front (the async
 * {@link OpfsFs.open}), keep an access handle open on each, and map logical files onto them:
 *
 * - Each physical file ("slot") starts with a {@link HEADER_BYTES}-byte header naming the
 *   logical file it holds; logical byte i lives at physical byte HEADER_BYTES + i.
 * - The header holds two copies of a small record (magic, version, flags, sequence number,
 *   name, CRC-32C). A header write goes to the older copy, so a torn write leaves the newer
 *   intact copy, which still says what the slot held before the operation.
 * - Sequence numbers are global and increase with every header write. A rename over an
 *   existing file writes the new name into the source slot (flushed) before clearing the
 *   target slot, so a crash in between leaves two slots claiming the name; the higher sequence
 *   number wins when the pool is reopened and the loser is freed. The target thus names the old
 *   or the new file, never neither.
 * - Create, rename and delete flush their header writes before returning. OPFS may persist
 *   writes to different files in any order, so deferring these flushes to `syncDir()` could
 *   let a later namespace operation survive a crash while an earlier one is lost, which the
 *   contract forbids. Namespace operations are therefore durable at once, and `syncDir()` has
 *   nothing left to do.
 * - A deleted file's slot stays busy until its last handle closes, then is truncated to the
 *   header and returns to the free list. Running out of free slots throws `ARE_NO_SPACE`;
 *   `await fs.reserve(n)` grows the pool.
 */

import { assert } from '../assert.ts';
import type { AregulaError } from '../errors.ts';
import {
  AlreadyExistsError,
  ClosedError,
  InvalidArgumentError,
  IoError,
  LockedError,
  NoSpaceError,
  NotFoundError,
} from '../errors.ts';
import { crc32c, maskCrc, unmaskCrc } from './crc32c.ts';
import type { FileHandle, FileSystem, OpenOptions } from './fs.ts';
import { isValidFileName, MAX_FILE_NAME_BYTES } from './fs.ts';

/** Bytes before a slot's logical data: two header copies. */
export const HEADER_BYTES = 512;
/** Bytes of one header copy. */
const COPY_BYTES = HEADER_BYTES / 2;
const MAGIC = 0x4c535241; // "ARSL" little-endian: Aregula slot.
const VERSION = 1;
const FLAG_IN_USE = 1;
const NAME_OFFSET = 18;
const CRC_OFFSET = COPY_BYTES - 4;
/** Slots a pool has when `open` is not told otherwise. */
export const DEFAULT_POOL_SIZE = 32;
/** Physical file names of pool slots; other entries in the directory are left alone. */
const SLOT_PREFIX = 'aregula-slot-';
const SLOT_PATTERN = /^aregula-slot-(\d{6})$/;

/** The part of `FileSystemSyncAccessHandle` we use (the DOM lib lacks this worker-only type). */
export interface OpfsSyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(newSize: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

/** The part of `FileSystemFileHandle` we use. */
export interface OpfsFileHandle {
  createSyncAccessHandle(): Promise<OpfsSyncAccessHandle>;
}

/** The part of `FileSystemDirectoryHandle` we use. */
export interface OpfsDirectoryHandle {
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFileHandle>;
  keys(): AsyncIterable<string>;
}

/** Options for {@link OpfsFs.open}. */
export interface OpfsFsOptions {
  /** Slots to have at least (existing slots are kept). Default {@link DEFAULT_POOL_SIZE}. */
  poolSize?: number;
}

/** Maps an exception from an OPFS call to a typed error. */
function mapOpfsError(error: unknown, what: string): AregulaError {
  const name = (error as { name?: unknown } | undefined)?.name;
  const detail = error instanceof Error ? error.message : String(error);
  if (name === 'QuotaExceededError') return new NoSpaceError(`${what}: storage quota exceeded (${detail})`);
  if (name === 'NoModificationAllowedError') {
    return new LockedError(`${what}: the file is open elsewhere, probably another tab (${detail})`);
  }
  if (name === 'NotFoundError') return new NotFoundError(`${what}: not found (${detail})`);
  return new IoError(`${what}: ${detail}`, { cause: error });
}

function io<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw mapOpfsError(e, what);
  }
}

function checkName(name: string): void {
  if (!isValidFileName(name)) throw new InvalidArgumentError(`invalid file name: ${JSON.stringify(name)}`);
}

function checkCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative integer, got ${value}`);
  }
}

/** One decoded header copy. `name` is undefined for a free slot. */
interface HeaderRecord {
  seq: number;
  name: string | undefined;
}

/** Encodes one header copy. */
function encodeHeader(record: HeaderRecord): Uint8Array {
  const out = new Uint8Array(COPY_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, VERSION, true);
  view.setUint16(6, record.name === undefined ? 0 : FLAG_IN_USE, true);
  view.setUint32(8, record.seq % 2 ** 32, true);
  view.setUint32(12, Math.floor(record.seq / 2 ** 32), true);
  const name = record.name ?? '';
  view.setUint16(16, name.length, true);
  for (let i = 0; i < name.length; i++) out[NAME_OFFSET + i] = name.charCodeAt(i);
  view.setUint32(CRC_OFFSET, maskCrc(crc32c(out, 0, CRC_OFFSET)), true);
  return out;
}

/** Decodes one header copy; undefined when it is not a valid, intact record. */
function decodeHeader(bytes: Uint8Array): HeaderRecord | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, COPY_BYTES);
  if (view.getUint32(0, true) !== MAGIC) return undefined;
  if (unmaskCrc(view.getUint32(CRC_OFFSET, true)) !== crc32c(bytes, 0, CRC_OFFSET)) return undefined;
  if (view.getUint16(4, true) !== VERSION) return undefined;
  const flags = view.getUint16(6, true);
  const seq = view.getUint32(8, true) + view.getUint32(12, true) * 2 ** 32;
  const length = view.getUint16(16, true);
  if (flags === 0) return { seq, name: undefined };
  if (flags !== FLAG_IN_USE || length > MAX_FILE_NAME_BYTES) return undefined;
  const name = String.fromCharCode(...bytes.subarray(NAME_OFFSET, NAME_OFFSET + length));
  return isValidFileName(name) ? { seq, name } : undefined;
}

/** A physical pool file with its open access handle. */
class Slot {
  /** Logical name while linked; undefined when free or deleted-but-open. */
  name: string | undefined;
  /** Holds a logical file (linked, or deleted with handles still open). */
  busy = false;
  handles = 0;
  /** Logical size in bytes. */
  size = 0;
  /** Sequence number of the newest valid header copy (0 if none). */
  seq = 0;
  /** Index (0 or 1) of the newest valid header copy; the next write goes to the other. */
  newestCopy = 1;

  constructor(
    readonly fileName: string,
    readonly sah: OpfsSyncAccessHandle,
  ) {}
}

/** An open logical file of an {@link OpfsFs}. */
class OpfsFileHandleImpl implements FileHandle {
  private closed = false;

  constructor(
    private readonly fs: OpfsFs,
    private readonly slot: Slot,
    readonly name: string,
    private readonly onClose: (slot: Slot) => void,
  ) {}

  size(): number {
    this.checkOpen();
    return this.slot.size;
  }

  read(offset: number, length: number): Uint8Array {
    this.checkOpen();
    checkCount('offset', offset);
    checkCount('length', length);
    const want = Math.max(0, Math.min(length, this.slot.size - offset));
    if (want === 0) return new Uint8Array(0);
    const out = new Uint8Array(want);
    const got = io(`read ${this.name}`, () => this.slot.sah.read(out, { at: HEADER_BYTES + offset }));
    return got === want ? out : out.slice(0, got);
  }

  write(offset: number, data: Uint8Array): void {
    this.checkOpen();
    checkCount('offset', offset);
    this.writeAt(offset, data);
  }

  append(data: Uint8Array): number {
    this.checkOpen();
    const offset = this.slot.size;
    this.writeAt(offset, data);
    return offset;
  }

  truncate(size: number): void {
    this.checkOpen();
    checkCount('size', size);
    io(`truncate ${this.name}`, () => this.slot.sah.truncate(HEADER_BYTES + size));
    this.slot.size = size;
  }

  sync(): void {
    this.checkOpen();
    io(`sync ${this.name}`, () => this.slot.sah.flush());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.fs.isClosed) this.onClose(this.slot);
  }

  private writeAt(offset: number, data: Uint8Array): void {
    const end = HEADER_BYTES + offset + data.length;
    if (!Number.isSafeInteger(end)) throw new InvalidArgumentError(`write end ${end} is out of range`);
    // OPFS extends the file for a zero-length write past its end; our contract does not.
    if (data.length === 0) return;
    const n = io(`write ${this.name}`, () => this.slot.sah.write(data, { at: HEADER_BYTES + offset }));
    if (n !== data.length) throw new IoError(`write ${this.name}: wrote ${n} of ${data.length} bytes`);
    if (offset + n > this.slot.size) this.slot.size = offset + n;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError(`${this.name}: handle is closed`);
    if (this.fs.isClosed) throw new ClosedError(`${this.name}: its OpfsFs is closed`);
  }
}

/** {@link FileSystem} over an OPFS directory through a pool of slots; see the module comment. */
export class OpfsFs implements FileSystem {
  private readonly slots: Slot[] = [];
  private readonly free: Slot[] = [];
  private readonly byName = new Map<string, Slot>();
  private nextSeq = 1;
  private nextSlotIndex = 0;
  private closed = false;

  private constructor(private readonly dir: OpfsDirectoryHandle) {}

  /**
   * Opens (or creates) a pool in `dir`: opens every existing slot, adds slots up to
   * `poolSize`, and rebuilds the name map from the headers. `dir` should hold nothing else
   * that is written concurrently; entries that are not slots are ignored.
   */
  static async open(
    dir: FileSystemDirectoryHandle | OpfsDirectoryHandle,
    options: OpfsFsOptions = {},
  ): Promise<OpfsFs> {
    const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    checkCount('poolSize', poolSize);
    // The DOM lib types omit the worker-only createSyncAccessHandle and the async iterators,
    // which every browser with OPFS sync access handles provides.
    const fs = new OpfsFs(dir as unknown as OpfsDirectoryHandle);
    try {
      const existing: string[] = [];
      for await (const key of fs.dir.keys()) if (SLOT_PATTERN.test(key)) existing.push(key);
      existing.sort();
      for (const fileName of existing) {
        fs.nextSlotIndex = Math.max(fs.nextSlotIndex, Number(SLOT_PATTERN.exec(fileName)![1]) + 1);
        fs.slots.push(await fs.openSlot(fileName));
      }
      fs.loadHeaders();
      await fs.addSlots(poolSize - fs.slots.length);
    } catch (e) {
      fs.close();
      throw e;
    }
    return fs;
  }

  /** Physical slots in the pool. */
  get slotCount(): number {
    return this.slots.length;
  }

  /** Slots free for new files. */
  get freeSlotCount(): number {
    return this.free.length;
  }

  /** True after {@link close}. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Grows the pool so that at least `freeSlots` slots are free. */
  async reserve(freeSlots: number): Promise<void> {
    checkCount('freeSlots', freeSlots);
    this.checkOpen();
    await this.addSlots(freeSlots - this.free.length);
  }

  /** Closes every access handle. Handles and the file system then throw `ARE_CLOSED`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) slot.sah.close();
  }

  open(name: string, options: OpenOptions = {}): FileHandle {
    checkName(name);
    this.checkOpen();
    let slot = this.byName.get(name);
    if (slot !== undefined && options.create && options.exclusive) {
      throw new AlreadyExistsError(`${name} already exists`);
    }
    if (slot === undefined) {
      if (!options.create) throw new NotFoundError(`${name} does not exist`);
      slot = this.create(name);
    }
    slot.handles++;
    return new OpfsFileHandleImpl(this, slot, name, (s) => this.handleClosed(s));
  }

  exists(name: string): boolean {
    checkName(name);
    this.checkOpen();
    return this.byName.has(name);
  }

  list(): string[] {
    this.checkOpen();
    return [...this.byName.keys()].sort();
  }

  rename(from: string, to: string): void {
    checkName(from);
    checkName(to);
    this.checkOpen();
    const source = this.byName.get(from);
    if (source === undefined) throw new NotFoundError(`cannot rename ${from}: it does not exist`);
    if (from === to) return;
    const target = this.byName.get(to);
    // Source header first: a crash before the target is cleared leaves a duplicate that the
    // higher sequence number resolves in favour of the new file.
    this.writeHeader(source, to);
    this.byName.delete(from);
    this.byName.set(to, source);
    source.name = to;
    if (target !== undefined) this.unlink(target);
  }

  delete(name: string): void {
    checkName(name);
    this.checkOpen();
    const slot = this.byName.get(name);
    if (slot === undefined) throw new NotFoundError(`cannot delete ${name}: it does not exist`);
    this.byName.delete(name);
    this.unlink(slot);
  }

  syncDir(): void {
    this.checkOpen();
    // Every header write was flushed by the operation that made it; see the module comment.
  }

  private create(name: string): Slot {
    const slot = this.free.pop();
    if (slot === undefined) {
      throw new NoSpaceError(
        `OPFS slot pool is full (${this.slots.length} slots, all in use): cannot create ${name}; ` +
          'grow the pool with `await fs.reserve(n)` or a larger poolSize',
      );
    }
    try {
      // A slot is truncated when freed, but that may have failed; a new file must start empty.
      io(`clear slot ${slot.fileName}`, () => slot.sah.truncate(HEADER_BYTES));
      this.writeHeader(slot, name);
    } catch (e) {
      this.free.push(slot);
      throw e;
    }
    slot.name = name;
    slot.busy = true;
    slot.size = 0;
    this.byName.set(name, slot);
    return slot;
  }

  /** Clears a slot's name on disk; frees it now or when its last handle closes. */
  private unlink(slot: Slot): void {
    slot.name = undefined;
    this.writeHeader(slot, undefined);
    if (slot.handles === 0) this.release(slot);
  }

  private handleClosed(slot: Slot): void {
    slot.handles--;
    assert(slot.handles >= 0, 'slot handle count stays non-negative');
    if (slot.handles === 0 && slot.name === undefined) this.release(slot);
  }

  /** Returns an unnamed slot with no handles to the free list, dropping its data. */
  private release(slot: Slot): void {
    assert(slot.name === undefined, 'released slot is unnamed');
    assert(slot.handles === 0, 'released slot has no handles');
    slot.busy = false;
    slot.size = 0;
    this.free.push(slot);
    io(`free slot ${slot.fileName}`, () => slot.sah.truncate(HEADER_BYTES));
  }

  /** Writes and flushes the older header copy of `slot`. */
  private writeHeader(slot: Slot, name: string | undefined): void {
    const seq = this.nextSeq++;
    const copy = 1 - slot.newestCopy;
    const bytes = encodeHeader({ seq, name });
    io(`write header of ${slot.fileName}`, () => {
      const n = slot.sah.write(bytes, { at: copy * COPY_BYTES });
      if (n !== bytes.length) throw new IoError(`short header write: ${n} of ${bytes.length} bytes`);
      slot.sah.flush();
    });
    slot.newestCopy = copy;
    slot.seq = seq;
  }

  /** Reads every slot's header, rebuilds the name map and frees what no name claims. */
  private loadHeaders(): void {
    const claims = new Map<string, Slot>();
    const losers: Slot[] = [];
    for (const slot of this.slots) {
      const name = this.readHeader(slot);
      if (name === undefined) continue;
      const rival = claims.get(name);
      if (rival === undefined || rival.seq < slot.seq) {
        claims.set(name, slot);
        if (rival !== undefined) losers.push(rival);
      } else {
        losers.push(slot);
      }
    }
    for (const [name, slot] of claims) {
      slot.name = name;
      slot.busy = true;
      slot.size = Math.max(0, io(`size of ${slot.fileName}`, () => slot.sah.getSize()) - HEADER_BYTES);
      this.byName.set(name, slot);
    }
    // A rename interrupted before clearing its target leaves a loser; clear it so that it
    // cannot resurface if the winner is deleted later.
    for (const slot of losers) this.writeHeader(slot, undefined);
    for (const slot of this.slots) if (!slot.busy) this.release(slot);
  }

  /** Decodes a slot's newest valid header copy; returns the name it claims, if any. */
  private readHeader(slot: Slot): string | undefined {
    const bytes = new Uint8Array(HEADER_BYTES);
    io(`read header of ${slot.fileName}`, () => slot.sah.read(bytes, { at: 0 }));
    let best: HeaderRecord | undefined;
    for (const copy of [0, 1]) {
      const record = decodeHeader(bytes.subarray(copy * COPY_BYTES, (copy + 1) * COPY_BYTES));
      if (record === undefined || (best !== undefined && record.seq <= best.seq)) continue;
      best = record;
      slot.newestCopy = copy;
    }
    if (best === undefined) return undefined;
    slot.seq = best.seq;
    this.nextSeq = Math.max(this.nextSeq, best.seq + 1);
    return best.name;
  }

  private async addSlots(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const fileName = `${SLOT_PREFIX}${String(this.nextSlotIndex++).padStart(6, '0')}`;
      const slot = await this.openSlot(fileName, { create: true });
      if (this.closed) {
        slot.sah.close();
        throw new ClosedError('OpfsFs was closed while its pool was growing');
      }
      this.slots.push(slot);
      this.release(slot);
    }
  }

  private async openSlot(fileName: string, options: { create?: boolean } = {}): Promise<Slot> {
    try {
      const file = await this.dir.getFileHandle(fileName, options);
      return new Slot(fileName, await file.createSyncAccessHandle());
    } catch (e) {
      throw mapOpfsError(e, `open slot ${fileName}`);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('OpfsFs is closed');
  }
}
