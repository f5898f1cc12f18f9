/**
 * Test-only, in-memory fake of the few OPFS APIs that {@link OpfsFs} uses, so that the
 * conformance suite and OpfsFs's own tests run in Node. It follows the browser's behaviour
 * where OpfsFs depends on it: one sync access handle per file at a time
 * (`NoModificationAllowedError`), `InvalidStateError` on a closed access handle, writes past
 * the end zero-fill, `QuotaExceededError` over a quota, `NotFoundError` for missing entries.
 *
 * It also models flushing, so tests can check what survives power loss: {@link
 * FakeOpfsDirectory.crash} reverts every file to its bytes at its last `flush()` and kills all
 * access handles, and {@link FakeOpfsDirectory.failFlushesAfter} makes the process "die" at an
 * exact flush.
 */

import type { OpfsDirectoryHandle, OpfsFileHandle, OpfsSyncAccessHandle } from './opfs-fs.ts';

function domError(name: string, message: string): DOMException {
  return new DOMException(message, name);
}

/** A fake OPFS file: current bytes, bytes as of the last flush, and its access-handle lock. */
export class FakeOpfsFile implements OpfsFileHandle {
  readonly kind = 'file';
  /** Current contents, including unflushed writes. */
  bytes = new Uint8Array(0);
  /** Contents as of the last flush (what survives {@link FakeOpfsDirectory.crash}). */
  flushed = new Uint8Array(0);
  /** The open access handle, if any. */
  handle: FakeSyncAccessHandle | undefined;

  constructor(
    readonly name: string,
    private readonly dir: FakeOpfsDirectory,
  ) {}

  async createSyncAccessHandle(): Promise<FakeSyncAccessHandle> {
    if (this.handle !== undefined) {
      throw domError('NoModificationAllowedError', `${this.name} already has an open access handle`);
    }
    this.handle = new FakeSyncAccessHandle(this, this.dir);
    return this.handle;
  }
}

/** A fake `FileSystemSyncAccessHandle`. */
export class FakeSyncAccessHandle implements OpfsSyncAccessHandle {
  private closed = false;

  constructor(
    private readonly file: FakeOpfsFile,
    private readonly dir: FakeOpfsDirectory,
  ) {}

  read(buffer: Uint8Array, options: { at: number }): number {
    this.checkOpen();
    const src = this.file.bytes.subarray(Math.min(options.at, this.file.bytes.length));
    const n = Math.min(buffer.length, src.length);
    buffer.set(src.subarray(0, n));
    return n;
  }

  write(buffer: Uint8Array, options: { at: number }): number {
    this.checkOpen();
    const end = options.at + buffer.length;
    this.resize(Math.max(end, this.file.bytes.length));
    this.file.bytes.set(buffer, options.at);
    return buffer.length;
  }

  truncate(newSize: number): void {
    this.checkOpen();
    this.resize(newSize);
  }

  getSize(): number {
    this.checkOpen();
    return this.file.bytes.length;
  }

  flush(): void {
    this.checkOpen();
    this.dir.beforeFlush();
    this.file.flushed = this.file.bytes.slice();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.file.handle === this) this.file.handle = undefined;
  }

  /** Marks the handle dead without releasing anything (used by a simulated crash). */
  kill(): void {
    this.closed = true;
  }

  private resize(size: number): void {
    const old = this.file.bytes;
    if (size === old.length) return;
    if (size > old.length) this.dir.checkQuota(size - old.length);
    const next = new Uint8Array(size);
    next.set(old.subarray(0, Math.min(size, old.length)));
    this.file.bytes = next;
  }

  private checkOpen(): void {
    if (this.closed) throw domError('InvalidStateError', 'the access handle is closed');
    this.dir.checkAlive();
  }
}

/** A fake `FileSystemDirectoryHandle` holding files only. */
export class FakeOpfsDirectory implements OpfsDirectoryHandle {
  readonly kind = 'directory';
  /** Total bytes all files may hold; growing past it throws `QuotaExceededError`. */
  quotaBytes: number | undefined;
  private readonly files = new Map<string, FakeOpfsFile>();
  private flushesLeft: number | undefined;
  private dead = false;

  async getFileHandle(name: string, options: { create?: boolean } = {}): Promise<FakeOpfsFile> {
    this.checkAlive();
    let file = this.files.get(name);
    if (file === undefined) {
      if (!options.create) throw domError('NotFoundError', `${name} not found`);
      file = new FakeOpfsFile(name, this);
      this.files.set(name, file);
    }
    return file;
  }

  async removeEntry(name: string): Promise<void> {
    this.checkAlive();
    const file = this.files.get(name);
    if (file === undefined) throw domError('NotFoundError', `${name} not found`);
    if (file.handle !== undefined) throw domError('NoModificationAllowedError', `${name} is open`);
    this.files.delete(name);
  }

  async *keys(): AsyncGenerator<string> {
    for (const name of [...this.files.keys()]) yield name;
  }

  async *entries(): AsyncGenerator<[string, FakeOpfsFile]> {
    for (const entry of [...this.files.entries()]) yield entry;
  }

  async *values(): AsyncGenerator<FakeOpfsFile> {
    for (const file of [...this.files.values()]) yield file;
  }

  /** The file called `name` (for tests that inspect or corrupt raw bytes). */
  file(name: string): FakeOpfsFile {
    const file = this.files.get(name);
    if (file === undefined) throw new Error(`fake OPFS: no file ${name}`);
    return file;
  }

  /** Names of all entries, sorted. */
  names(): string[] {
    return [...this.files.keys()].sort();
  }

  /**
   * Lets `flushes` more flushes succeed; the next one, and every call after it, throws as if
   * the process died, until {@link crash}. `undefined` disarms.
   */
  failFlushesAfter(flushes: number | undefined): void {
    this.flushesLeft = flushes;
  }

  /**
   * Simulated power loss: every file reverts to its bytes at its last flush, and every access
   * handle dies (calls throw, and their locks are released for a new `OpfsFs`).
   */
  crash(): void {
    for (const file of this.files.values()) {
      file.handle?.kill();
      file.handle = undefined;
      file.bytes = file.flushed.slice();
    }
    this.flushesLeft = undefined;
    this.dead = false;
  }

  /** @internal Called by access handles before each flush. */
  beforeFlush(): void {
    if (this.flushesLeft === 0) {
      this.dead = true;
      this.checkAlive();
    }
    if (this.flushesLeft !== undefined) this.flushesLeft--;
  }

  /** @internal Throws if the simulated process has died. */
  checkAlive(): void {
    if (this.dead) throw domError('InvalidStateError', 'fake OPFS: simulated crash');
  }

  /** @internal Throws `QuotaExceededError` if growing by `bytes` would exceed the quota. */
  checkQuota(bytes: number): void {
    if (this.quotaBytes === undefined) return;
    let used = 0;
    for (const file of this.files.values()) used += file.bytes.length;
    if (used + bytes > this.quotaBytes) throw domError('QuotaExceededError', 'fake OPFS quota exceeded');
  }
}
