/**
 * An in-memory {@link FileSystem} with an honest durability model, for unit tests, the LSM
 * crash tests and the simulator.
 *
 * It models exactly what the durability contract in `fs.ts` allows a real disk to do, and no
 * more, so that code which survives it relies only on the contract:
 * - Power loss (`crash`). Unsynced data is not lost wholesale but replayed partially: each file
 *   keeps its synced bytes plus a prefix, in order, of the writes, appends and truncates since
 *   its last `sync()`, and the last kept write may be torn at any byte. Creates, renames and
 *   deletes since the last `syncDir()` survive as a prefix in order. A real disk's page cache
 *   flushes in the background, so any such prefix can be what is on the platter; the engine
 *   must recover from every one of them, which is why tests can enumerate them all.
 * - A crash in the middle of a workload (`crashAfter`): the process stops at an exact mutating
 *   operation, so a test can cut a workload at every step and check recovery.
 * - Bit rot (`flipBit`): stored bytes change under the engine, which its checksums must catch
 *   and report as `ARE_CORRUPTION` rather than return wrong data.
 * - A full disk (`capacityBytes`): a write fails with `ARE_NO_SPACE` and changes nothing; the
 *   engine must report it, not corrupt its state.
 *
 * Files are inodes: a name maps to a file object, and an open handle keeps its file across
 * renames and after its name is deleted, as on POSIX.
 */

import { assert } from '../assert.ts';
import { copyRange } from '../bytes.ts';
import {
  AlreadyExistsError,
  ClosedError,
  CrashError,
  InvalidArgumentError,
  NoSpaceError,
  NotFoundError,
} from '../errors.ts';
import type { FileHandle, FileSystem, OpenOptions } from './fs.ts';
import { isValidFileName } from './fs.ts';
import type { Random } from './random.ts';
import { SeededRandom } from './random.ts';

/** Capacity a growable buffer starts with once something is written to it. */
const MIN_BUFFER_BYTES = 64;

/** Explicit choices for {@link MemoryFs.crash}: how much of each pending list survives. */
export interface CrashChoices {
  /**
   * How many of `file`'s pending data units survive (0..pendingUnits). Units are counted in
   * op order: one per byte written or appended, one per truncate. `file` is the file's name in
   * the namespace that survived the crash.
   */
  keepDataUnits(file: string, pendingUnits: number): number;
  /** How many of the pending namespace operations survive, as a prefix (0..pending). */
  keepNamespaceOps(pending: number): number;
}

/** How a crash chooses what survives: uniformly at random, or by explicit choices. */
export type CrashPolicy = { random: Random } | CrashChoices;

const loseAll: CrashChoices = {
  keepDataUnits: () => 0,
  keepNamespaceOps: () => 0,
};

const keepAll: CrashChoices = {
  keepDataUnits: (_file, pendingUnits) => pendingUnits,
  keepNamespaceOps: (pending) => pending,
};

/** Ready-made crash policies. */
export const CrashPolicy = {
  /** Everything not synced is lost: files and namespace revert to their durable state. */
  loseAll,
  /** Everything written so far survives, as if the page cache flushed just before power loss. */
  keepAll,
  /** Uniformly random prefixes drawn from `random`. */
  random(random: Random): CrashPolicy {
    return { random };
  },
};

/** Options for {@link MemoryFs}. */
export interface MemoryFsOptions {
  /** Total bytes all files may hold; a write past it throws `ARE_NO_SPACE`. Default unlimited. */
  capacityBytes?: number;
  /** Randomness for `crash()` without a policy. Default `new SeededRandom(0)`. */
  random?: Random;
}

/** A byte array that grows by doubling, so appends cost amortised O(bytes). */
class GrowableBytes {
  /** Backing store; bytes at and past `length` are always zero. */
  private buf: Uint8Array;
  length: number;

  constructor(initial?: Uint8Array) {
    this.buf = initial ? initial.slice() : new Uint8Array(0);
    this.length = this.buf.length;
  }

  /** The live bytes (a view, not a copy). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    this.reserve(end);
    this.buf.set(data, offset);
    if (end > this.length) this.length = end;
  }

  truncate(size: number): void {
    if (size < this.length) this.buf.fill(0, size, this.length);
    else this.reserve(size);
    this.length = size;
  }

  flip(offset: number, bit: number): void {
    assert(offset < this.length, 'flip inside the file');
    this.buf[offset] = this.buf[offset]! ^ (1 << bit);
  }

  clone(): GrowableBytes {
    return new GrowableBytes(this.view());
  }

  private reserve(bytes: number): void {
    if (bytes <= this.buf.length) return;
    let cap = Math.max(this.buf.length, MIN_BUFFER_BYTES);
    while (cap < bytes) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.view());
    this.buf = next;
  }
}

type DataOp = { kind: 'write'; offset: number; data: Uint8Array } | { kind: 'truncate'; size: number };

function opUnits(op: DataOp): number {
  return op.kind === 'write' ? op.data.length : 1;
}

function applyDataOp(bytes: GrowableBytes, op: DataOp, units: number): void {
  if (op.kind === 'truncate') bytes.truncate(op.size);
  else bytes.write(op.offset, op.data.subarray(0, units));
}

/** A file object: durable bytes, current bytes and the data ops in between. */
class Inode {
  current: GrowableBytes;
  durable: GrowableBytes;
  pending: DataOp[] = [];
  pendingUnits = 0;
  openHandles = 0;
  /** True while some name in the current namespace refers to this inode. */
  linked = false;

  constructor(durable: GrowableBytes) {
    this.durable = durable;
    this.current = durable.clone();
  }

  record(op: DataOp): void {
    this.pending.push(op);
    this.pendingUnits += opUnits(op);
    applyDataOp(this.current, op, opUnits(op));
  }

  sync(): void {
    for (const op of this.pending) applyDataOp(this.durable, op, opUnits(op));
    this.pending = [];
    this.pendingUnits = 0;
  }

  /** Durable bytes plus the first `units` pending units, the last op possibly torn. */
  recover(units: number): GrowableBytes {
    const bytes = this.durable.clone();
    let left = units;
    for (const op of this.pending) {
      if (left === 0) break;
      const take = Math.min(left, opUnits(op));
      applyDataOp(bytes, op, take);
      left -= take;
    }
    return bytes;
  }

  clone(): Inode {
    const copy = new Inode(this.durable.clone());
    copy.current = this.current.clone();
    // Pending op payloads are never mutated after they are recorded, so sharing them is safe.
    copy.pending = this.pending.slice();
    copy.pendingUnits = this.pendingUnits;
    return copy;
  }
}

type NamespaceOp =
  | { kind: 'create'; name: string; inode: Inode }
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'delete'; name: string };

function applyNamespaceOp(names: Map<string, Inode>, op: NamespaceOp): void {
  if (op.kind === 'create') {
    names.set(op.name, op.inode);
  } else if (op.kind === 'delete') {
    names.delete(op.name);
  } else {
    const inode = names.get(op.from);
    assert(inode !== undefined, 'replayed rename source exists');
    names.delete(op.from);
    names.set(op.to, inode);
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

function checkChoice(what: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new InvalidArgumentError(`crash policy: ${what} must be an integer in [0, ${max}], got ${value}`);
  }
  return value;
}

function toChoices(policy: CrashPolicy): CrashChoices {
  if ('random' in policy) {
    const { random } = policy;
    return {
      keepDataUnits: (_file, pendingUnits) => random.int(pendingUnits + 1),
      keepNamespaceOps: (pending) => random.int(pending + 1),
    };
  }
  return policy;
}

/** The whole mutable state of a MemoryFs, shared with its handles. */
class State {
  names = new Map<string, Inode>();
  durableNames = new Map<string, Inode>();
  pendingNamespace: NamespaceOp[] = [];
  /** Bumped by every crash; handles from an older epoch are dead. */
  epoch = 0;
  usedBytes = 0;
  capacityBytes: number | undefined;
  /** Mutating ops still allowed before the armed crash; undefined when not armed. */
  opsUntilCrash: number | undefined;
  tripped = false;
  mutatingOps = 0;

  constructor(readonly random: Random) {}

  /** Throws CrashError if the armed fault has fired; call before a mutation takes effect. */
  gate(what: string): void {
    if (!this.tripped && this.opsUntilCrash === 0) this.tripped = true;
    if (this.tripped) throw new CrashError(`simulated crash: ${what} not performed`);
  }

  /** Records that a mutation took effect; call right after `gate` and before applying it. */
  commit(): void {
    if (this.opsUntilCrash !== undefined) this.opsUntilCrash--;
    this.mutatingOps++;
  }

  /** Throws NoSpaceError if `inode` growing to `newSize` would exceed the capacity. */
  checkSpace(inode: Inode, newSize: number): void {
    const growth = newSize - inode.current.length;
    if (this.capacityBytes === undefined || growth <= 0) return;
    if (this.usedBytes + growth > this.capacityBytes) {
      throw new NoSpaceError(
        `no space: ${this.usedBytes} + ${growth} bytes exceeds capacity ${this.capacityBytes}`,
      );
    }
  }

  /** Applies a data op to a live inode, keeping `usedBytes` in step. */
  applyData(inode: Inode, op: DataOp): void {
    const before = inode.current.length;
    inode.record(op);
    this.usedBytes += inode.current.length - before;
  }

  unlink(inode: Inode): void {
    inode.linked = false;
    this.releaseIfDead(inode);
  }

  releaseIfDead(inode: Inode): void {
    if (!inode.linked && inode.openHandles === 0) this.usedBytes -= inode.current.length;
  }

  recomputeUsage(): void {
    this.usedBytes = 0;
    for (const inode of this.names.values()) {
      inode.linked = true;
      this.usedBytes += inode.current.length;
    }
  }
}

/** An open file of a {@link MemoryFs}. */
class MemoryFileHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly state: State,
    private readonly inode: Inode,
    readonly name: string,
    private readonly epoch: number,
  ) {}

  size(): number {
    this.checkOpen();
    return this.inode.current.length;
  }

  read(offset: number, length: number): Uint8Array {
    this.checkOpen();
    checkCount('offset', offset);
    checkCount('length', length);
    const bytes = this.inode.current;
    const start = Math.min(offset, bytes.length);
    const end = Math.min(offset + length, bytes.length);
    return bytes.view().slice(start, end);
  }

  write(offset: number, data: Uint8Array): void {
    this.checkOpen();
    checkCount('offset', offset);
    this.writeAt(offset, data, 'write');
  }

  append(data: Uint8Array): number {
    this.checkOpen();
    const offset = this.inode.current.length;
    this.writeAt(offset, data, 'append');
    return offset;
  }

  truncate(size: number): void {
    this.checkOpen();
    checkCount('size', size);
    this.state.checkSpace(this.inode, size);
    this.state.gate(`truncate ${this.name}`);
    this.state.commit();
    this.state.applyData(this.inode, { kind: 'truncate', size });
  }

  sync(): void {
    this.checkOpen();
    this.state.gate(`sync ${this.name}`);
    this.state.commit();
    this.inode.sync();
  }

  close(): void {
    // A handle killed by a crash counts as closed already, so closing it is allowed too.
    if (this.closed || this.epoch !== this.state.epoch) return;
    this.closed = true;
    this.inode.openHandles--;
    this.state.releaseIfDead(this.inode);
  }

  private writeAt(offset: number, data: Uint8Array, what: string): void {
    const end = offset + data.length;
    if (!Number.isSafeInteger(end)) throw new InvalidArgumentError(`write end ${end} is out of range`);
    if (data.length > 0) this.state.checkSpace(this.inode, end);
    this.state.gate(`${what} ${this.name}`);
    this.state.commit();
    if (data.length === 0) return;
    this.state.applyData(this.inode, { kind: 'write', offset, data: copyRange(data, 0, data.length) });
  }

  private checkOpen(): void {
    if (this.epoch !== this.state.epoch) throw new ClosedError(`${this.name}: handle died in a crash`);
    if (this.closed) throw new ClosedError(`${this.name}: handle is closed`);
  }
}

/** In-memory {@link FileSystem} with fault injection; see the module comment. */
export class MemoryFs implements FileSystem {
  private state: State;

  constructor(options: MemoryFsOptions = {}) {
    this.state = new State(options.random ?? new SeededRandom(0));
    this.capacityBytes = options.capacityBytes;
  }

  /** Mutating operations performed so far (those that took effect), across crashes. */
  get mutatingOps(): number {
    return this.state.mutatingOps;
  }

  /** Total bytes all files may hold, or undefined for unlimited. */
  get capacityBytes(): number | undefined {
    return this.state.capacityBytes;
  }

  set capacityBytes(bytes: number | undefined) {
    if (bytes !== undefined) checkCount('capacityBytes', bytes);
    this.state.capacityBytes = bytes;
  }

  open(name: string, options: OpenOptions = {}): FileHandle {
    checkName(name);
    const s = this.state;
    let inode = s.names.get(name);
    if (inode !== undefined && options.create && options.exclusive) {
      throw new AlreadyExistsError(`${name} already exists`);
    }
    if (inode === undefined) {
      if (!options.create) throw new NotFoundError(`${name} does not exist`);
      s.gate(`create ${name}`);
      s.commit();
      inode = new Inode(new GrowableBytes());
      inode.linked = true;
      s.names.set(name, inode);
      s.pendingNamespace.push({ kind: 'create', name, inode });
    }
    inode.openHandles++;
    return new MemoryFileHandle(s, inode, name, s.epoch);
  }

  exists(name: string): boolean {
    checkName(name);
    return this.state.names.has(name);
  }

  list(): string[] {
    return [...this.state.names.keys()].sort();
  }

  rename(from: string, to: string): void {
    checkName(from);
    checkName(to);
    const s = this.state;
    const inode = s.names.get(from);
    if (inode === undefined) throw new NotFoundError(`cannot rename ${from}: it does not exist`);
    s.gate(`rename ${from} to ${to}`);
    s.commit();
    if (from === to) return;
    const replaced = s.names.get(to);
    s.names.delete(from);
    s.names.set(to, inode);
    if (replaced !== undefined) s.unlink(replaced);
    s.pendingNamespace.push({ kind: 'rename', from, to });
  }

  delete(name: string): void {
    checkName(name);
    const s = this.state;
    const inode = s.names.get(name);
    if (inode === undefined) throw new NotFoundError(`cannot delete ${name}: it does not exist`);
    s.gate(`delete ${name}`);
    s.commit();
    s.names.delete(name);
    s.unlink(inode);
    s.pendingNamespace.push({ kind: 'delete', name });
  }

  syncDir(): void {
    const s = this.state;
    s.gate('syncDir');
    s.commit();
    s.durableNames = new Map(s.names);
    s.pendingNamespace = [];
  }

  /** Total current size of all files, counting deleted files that are still open. */
  totalBytes(): number {
    return this.state.usedBytes;
  }

  /** Pending (unsynced) data units of `name`: bytes written since its last sync plus one per truncate. */
  pendingDataUnits(name: string): number {
    return this.inodeOf(name).pendingUnits;
  }

  /** Creates, renames and deletes since the last `syncDir()`. */
  pendingNamespaceOps(): number {
    return this.state.pendingNamespace.length;
  }

  /**
   * Simulated power loss. Every open handle dies (further calls throw `ARE_CLOSED`), an armed
   * `crashAfter` is cleared, and the files become what a disk could hold afterwards: see
   * {@link CrashPolicy}. The default policy draws from this instance's `random`.
   */
  crash(policy: CrashPolicy = { random: this.state.random }): void {
    const s = this.state;
    const choices = toChoices(policy);
    const pendingOps = s.pendingNamespace.length;
    const keptOps = checkChoice('keepNamespaceOps', choices.keepNamespaceOps(pendingOps), pendingOps);
    const survivors = new Map(s.durableNames);
    for (const op of s.pendingNamespace.slice(0, keptOps)) applyNamespaceOp(survivors, op);
    const names = new Map<string, Inode>();
    // Sorted so that a random policy draws in the same order on every run.
    for (const name of [...survivors.keys()].sort()) {
      const inode = survivors.get(name)!;
      const units = checkChoice(
        'keepDataUnits',
        choices.keepDataUnits(name, inode.pendingUnits),
        inode.pendingUnits,
      );
      names.set(name, new Inode(inode.recover(units)));
    }
    s.names = names;
    s.durableNames = new Map(names);
    s.pendingNamespace = [];
    s.epoch++;
    s.opsUntilCrash = undefined;
    s.tripped = false;
    s.recomputeUsage();
  }

  /**
   * Arms a crash: `ops` more mutating operations succeed, then the next one and every later
   * one throw `ARE_CRASHED` without taking effect, until `crash()`. `undefined` disarms.
   * Mutating operations: write, append, truncate, sync, open creating a new file, rename,
   * delete, syncDir.
   */
  crashAfter(ops: number | undefined): void {
    if (ops !== undefined) checkCount('ops', ops);
    this.state.opsUntilCrash = ops;
    this.state.tripped = false;
  }

  /** True once an armed `crashAfter` has fired (until `crash()`). */
  get crashed(): boolean {
    return this.state.tripped;
  }

  /** Flips bit `bit` (0..7) of byte `byteOffset` of `name`, in its current and its durable bytes. */
  flipBit(name: string, byteOffset: number, bit: number): void {
    const inode = this.inodeOf(name);
    checkCount('byteOffset', byteOffset);
    if (!Number.isInteger(bit) || bit < 0 || bit > 7)
      throw new InvalidArgumentError(`bit must be 0..7, got ${bit}`);
    if (byteOffset >= inode.current.length) {
      throw new InvalidArgumentError(`${name}: byte ${byteOffset} is past its end (${inode.current.length})`);
    }
    inode.current.flip(byteOffset, bit);
    if (byteOffset < inode.durable.length) inode.durable.flip(byteOffset, bit);
  }

  /**
   * A deep copy of the files, pending operations and fault settings, with no open handles.
   * Crashing the copy leaves this instance untouched, so a test can try every crash point.
   */
  clone(random: Random = new SeededRandom(0)): MemoryFs {
    const s = this.state;
    const copies = new Map<Inode, Inode>();
    const copy = (inode: Inode): Inode => {
      let c = copies.get(inode);
      if (c === undefined) {
        c = inode.clone();
        copies.set(inode, c);
      }
      return c;
    };
    const fs = new MemoryFs({ capacityBytes: s.capacityBytes, random });
    const t = fs.state;
    for (const [name, inode] of s.names) t.names.set(name, copy(inode));
    for (const [name, inode] of s.durableNames) t.durableNames.set(name, copy(inode));
    t.pendingNamespace = s.pendingNamespace.map((op) =>
      op.kind === 'create' ? { kind: 'create', name: op.name, inode: copy(op.inode) } : op,
    );
    t.mutatingOps = s.mutatingOps;
    t.opsUntilCrash = s.opsUntilCrash;
    t.tripped = s.tripped;
    t.recomputeUsage();
    return fs;
  }

  private inodeOf(name: string): Inode {
    checkName(name);
    const inode = this.state.names.get(name);
    if (inode === undefined) throw new NotFoundError(`${name} does not exist`);
    return inode;
  }
}
