/**
 * A {@link FileSystem} wrapper that can make everything written so far durable on demand.
 *
 * The hub must not acknowledge a push before its entries are on disk, but the database applies
 * remote entries with an unsynced write (a peer would re-send them; a hub's client counts on
 * the acknowledgement instead). Rather than reach into the database, the hub stores it on this
 * wrapper and calls {@link FlushableFs.flush} before answering: it syncs every open file with
 * unsynced writes and the directory when names changed, which by the seam's durability
 * contract makes every earlier write durable (the database's WAL included).
 */

import type { FileHandle, FileSystem, OpenOptions } from '../engine/io/fs.ts';

class TrackedHandle implements FileHandle {
  dirty = false;
  constructor(
    private readonly inner: FileHandle,
    private readonly owner: FlushableFs,
  ) {}
  get name(): string {
    return this.inner.name;
  }
  size(): number {
    return this.inner.size();
  }
  read(offset: number, length: number): Uint8Array {
    return this.inner.read(offset, length);
  }
  write(offset: number, data: Uint8Array): void {
    this.dirty = true;
    this.inner.write(offset, data);
  }
  append(data: Uint8Array): number {
    this.dirty = true;
    return this.inner.append(data);
  }
  truncate(size: number): void {
    this.dirty = true;
    this.inner.truncate(size);
  }
  sync(): void {
    this.inner.sync();
    this.dirty = false;
  }
  close(): void {
    // Closing does not sync: a dirty handle's bytes stay as durable as the inner file system
    // makes them. The hub flushes before it closes anything it acknowledged.
    this.owner.forget(this);
    this.inner.close();
  }
  syncIfDirty(): void {
    if (this.dirty) this.sync();
  }
}

/** A file system whose pending writes can all be synced at once. */
export class FlushableFs implements FileSystem {
  private readonly open_ = new Set<TrackedHandle>();
  private namesChanged = false;

  constructor(private readonly inner: FileSystem) {}

  open(name: string, options?: OpenOptions): FileHandle {
    const existed = options?.create === true ? this.inner.exists(name) : true;
    const handle = new TrackedHandle(this.inner.open(name, options), this);
    if (!existed) this.namesChanged = true;
    this.open_.add(handle);
    return handle;
  }
  exists(name: string): boolean {
    return this.inner.exists(name);
  }
  list(): string[] {
    return this.inner.list();
  }
  rename(from: string, to: string): void {
    this.namesChanged = true;
    this.inner.rename(from, to);
  }
  delete(name: string): void {
    this.namesChanged = true;
    this.inner.delete(name);
  }
  syncDir(): void {
    this.inner.syncDir();
    this.namesChanged = false;
  }

  /** @internal A handle was closed. */
  forget(handle: TrackedHandle): void {
    this.open_.delete(handle);
  }

  /** Syncs every open file with unsynced writes, then the directory if a name changed. */
  flush(): void {
    for (const h of this.open_) h.syncIfDirty();
    if (this.namesChanged) this.syncDir();
  }
}
