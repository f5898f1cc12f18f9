/**
 * The {@link FileSystem} seam over a real directory, with `node:fs` synchronous calls. This is
 * one of the few places in the engine allowed to touch `node:fs`.
 *
 * Durability maps directly onto POSIX: `sync()` is `fsync` of the file, `syncDir()` is `fsync`
 * of the directory, which is what makes creates, renames and deletes durable on Linux.
 *
 * Each open file's size is tracked in memory (shared by all handles on the same inode of this
 * instance), so `append` does not `fstat` every time. That assumes no other process writes to
 * the directory, which the store's lock guarantees.
 */

import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { assert } from '../assert.ts';
import type { AregulaError } from '../errors.ts';
import {
  AlreadyExistsError,
  ClosedError,
  InvalidArgumentError,
  IoError,
  NoSpaceError,
  NotFoundError,
} from '../errors.ts';
import type { FileHandle, FileSystem, OpenOptions } from './fs.ts';
import { isValidFileName } from './fs.ts';

/**
 * Maps a `node:fs` error to a typed error: ENOENT to `ARE_NOT_FOUND`, EEXIST to
 * `ARE_ALREADY_EXISTS`, ENOSPC and EDQUOT to `ARE_NO_SPACE`, anything else to `ARE_IO` with the
 * original error as its cause. `what` says what was being done, for the message.
 */
export function mapNodeError(error: unknown, what: string): AregulaError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ENOENT':
      return new NotFoundError(`${what}: not found (${detail})`);
    case 'EEXIST':
      return new AlreadyExistsError(`${what}: already exists (${detail})`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new NoSpaceError(`${what}: no space left (${detail})`);
    default:
      return new IoError(`${what}: ${detail}`, { cause: error });
  }
}

function io<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw mapNodeError(e, what);
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

/** Size of an open inode, shared by every handle this instance has on it. */
interface OpenInode {
  size: number;
  handles: number;
}

/** An open file of a {@link NodeFs}. */
class NodeFileHandle implements FileHandle {
  private fd: number | undefined;

  constructor(
    fd: number,
    readonly name: string,
    private readonly inode: OpenInode,
    private readonly onClose: () => void,
  ) {
    this.fd = fd;
  }

  size(): number {
    this.openFd();
    return this.inode.size;
  }

  read(offset: number, length: number): Uint8Array {
    const fd = this.openFd();
    checkCount('offset', offset);
    checkCount('length', length);
    const want = Math.max(0, Math.min(length, this.inode.size - offset));
    const out = new Uint8Array(want);
    let got = 0;
    try {
      while (got < want) {
        const n = readSync(fd, out, got, want - got, offset + got);
        if (n === 0) break;
        got += n;
      }
    } catch (e) {
      throw mapNodeError(e, `read ${this.name}`);
    }
    return got === want ? out : out.slice(0, got);
  }

  write(offset: number, data: Uint8Array): void {
    const fd = this.openFd();
    checkCount('offset', offset);
    this.writeAt(fd, offset, data);
  }

  append(data: Uint8Array): number {
    const fd = this.openFd();
    const offset = this.inode.size;
    this.writeAt(fd, offset, data);
    return offset;
  }

  truncate(size: number): void {
    const fd = this.openFd();
    checkCount('size', size);
    io(`truncate ${this.name}`, () => ftruncateSync(fd, size));
    this.inode.size = size;
  }

  sync(): void {
    const fd = this.openFd();
    io(`sync ${this.name}`, () => fsyncSync(fd));
  }

  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    this.onClose();
    io(`close ${this.name}`, () => closeSync(fd));
  }

  private writeAt(fd: number, offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (!Number.isSafeInteger(end)) throw new InvalidArgumentError(`write end ${end} is out of range`);
    let done = 0;
    // writeSync may write fewer bytes than asked; a zero-length write must not extend the file.
    // No `io()` wrapper here: its message and closure would be built on every write, the
    // engine's most frequent system call.
    try {
      while (done < data.length) done += writeSync(fd, data, done, data.length - done, offset + done);
    } catch (e) {
      throw mapNodeError(e, `write ${this.name}`);
    }
    if (end > this.inode.size && data.length > 0) this.inode.size = end;
  }

  private openFd(): number {
    if (this.fd === undefined) throw new ClosedError(`${this.name}: handle is closed`);
    return this.fd;
  }
}

/** {@link FileSystem} over one real directory; see the module comment. */
export class NodeFs implements FileSystem {
  /** Open inodes by `dev:ino`, so handles on one file share its size. */
  private readonly inodes = new Map<string, OpenInode>();

  /** Uses directory `dir`, creating it (and its parents) if missing. */
  constructor(readonly dir: string) {
    io(`create directory ${dir}`, () => mkdirSync(dir, { recursive: true }));
  }

  open(name: string, options: OpenOptions = {}): FileHandle {
    checkName(name);
    let flags = constants.O_RDWR;
    if (options.create) flags |= constants.O_CREAT;
    if (options.create && options.exclusive) flags |= constants.O_EXCL;
    const fd = io(`open ${name}`, () => openSync(this.path(name), flags, 0o644));
    try {
      const stat = io(`stat ${name}`, () => fstatSync(fd));
      if (!stat.isFile()) throw new IoError(`open ${name}: not a regular file`);
      const key = `${stat.dev}:${stat.ino}`;
      let inode = this.inodes.get(key);
      if (inode === undefined) {
        inode = { size: stat.size, handles: 0 };
        this.inodes.set(key, inode);
      }
      inode.handles++;
      const shared = inode;
      return new NodeFileHandle(fd, name, shared, () => {
        shared.handles--;
        assert(shared.handles >= 0, 'handle count stays non-negative');
        if (shared.handles === 0) this.inodes.delete(key);
      });
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  exists(name: string): boolean {
    checkName(name);
    const stat = io(`stat ${name}`, () => statSync(this.path(name), { throwIfNoEntry: false }));
    return stat?.isFile() ?? false;
  }

  list(): string[] {
    const entries = io(`list ${this.dir}`, () => readdirSync(this.dir, { withFileTypes: true }));
    return entries
      .filter((e) => e.isFile() && isValidFileName(e.name))
      .map((e) => e.name)
      .sort();
  }

  rename(from: string, to: string): void {
    checkName(from);
    checkName(to);
    io(`rename ${from} to ${to}`, () => renameSync(this.path(from), this.path(to)));
  }

  delete(name: string): void {
    checkName(name);
    io(`delete ${name}`, () => unlinkSync(this.path(name)));
  }

  syncDir(): void {
    const fd = io(`open directory ${this.dir}`, () => openSync(this.dir, constants.O_RDONLY));
    try {
      io(`sync directory ${this.dir}`, () => fsyncSync(fd));
    } finally {
      closeSync(fd);
    }
  }

  private path(name: string): string {
    return join(this.dir, name);
  }
}
