/**
 * The file-system seam. Every byte the engine stores goes through this interface, so that the
 * same engine runs on memory (tests, the simulator), on disk (Node) and on OPFS (browser).
 *
 * The seam is synchronous on purpose: OPFS sync access handles (in a worker), `node:fs` sync
 * calls and memory are all synchronous, so there is no promise ordering for the simulator to
 * make deterministic and no `await` on the hot read path.
 *
 * Namespace: one flat directory per `FileSystem`. Names are 1..{@link MAX_FILE_NAME_BYTES}
 * characters from `[A-Za-z0-9._-]`, not `.` or `..`. A store that wants two directories uses
 * two `FileSystem` instances.
 *
 * Durability contract (what the engine may rely on, and all it may rely on):
 * - Bytes written to a file survive a crash only after `FileHandle.sync()` returns.
 * - Creating, renaming and deleting files survive a crash only after `FileSystem.syncDir()`
 *   returns. Before that, a crash may keep any prefix, in order, of the pending namespace
 *   operations.
 * - `rename(from, to)` atomically replaces `to`: after a crash `to` names either the old or
 *   the new file, never a mixture.
 * - The last write before a crash may be torn at any byte (a prefix of it survives).
 */

/** Longest file name accepted by every implementation. */
export const MAX_FILE_NAME_BYTES = 128;

const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

/** True when `name` is a valid file name for the seam (see the module comment). */
export function isValidFileName(name: string): boolean {
  if (name.length === 0) return false;
  if (name.length > MAX_FILE_NAME_BYTES) return false;
  if (name === '.' || name === '..') return false;
  return NAME_PATTERN.test(name);
}

/** How to open a file. */
export interface OpenOptions {
  /** Create the file (empty) if it does not exist. Default false: a missing file throws `ARE_NOT_FOUND`. */
  create?: boolean;
  /** With `create`: fail with `ARE_ALREADY_EXISTS` if the file exists. */
  exclusive?: boolean;
}

/** An open file. Reads and writes address absolute byte offsets. */
export interface FileHandle {
  /** The file's name within its `FileSystem`. */
  readonly name: string;
  /** Current size in bytes, including writes not yet synced. */
  size(): number;
  /**
   * Reads up to `length` bytes at `offset`. Returns fewer only when the file ends first (an
   * empty array at or past the end). The result is a fresh copy the caller may keep.
   */
  read(offset: number, length: number): Uint8Array;
  /** Writes `data` at `offset`, extending the file if needed (a gap reads as zeros). */
  write(offset: number, data: Uint8Array): void;
  /** Appends `data` at the end; returns the offset it was written at. */
  append(data: Uint8Array): number;
  /** Shrinks or zero-extends the file to `size` bytes. */
  truncate(size: number): void;
  /** Makes every write so far durable (fsync). */
  sync(): void;
  /** Releases the handle. Further calls throw `ARE_CLOSED`. Closing twice is allowed. */
  close(): void;
}

/** A flat directory of files. */
export interface FileSystem {
  /** Opens (and with `create`, creates) a file. */
  open(name: string, options?: OpenOptions): FileHandle;
  /** True when the file exists. */
  exists(name: string): boolean;
  /** Names of all files, sorted bytewise. */
  list(): string[];
  /** Atomically renames `from` to `to`, replacing `to` if it exists. */
  rename(from: string, to: string): void;
  /** Deletes a file. Deleting a missing file throws `ARE_NOT_FOUND`. */
  delete(name: string): void;
  /** Makes every create, rename and delete so far durable (fsync of the directory). */
  syncDir(): void;
}

/** Reads a whole file (convenience for small files such as CURRENT). */
export function readWholeFile(fs: FileSystem, name: string): Uint8Array {
  const h = fs.open(name);
  try {
    return h.read(0, h.size());
  } finally {
    h.close();
  }
}

/**
 * Writes a whole file durably and atomically: writes `name`.tmp, syncs it, renames it over
 * `name` and syncs the directory. After a crash `name` holds either the old or the new bytes.
 */
export function writeFileAtomic(fs: FileSystem, name: string, data: Uint8Array): void {
  const tmp = `${name}.tmp`;
  const h = fs.open(tmp, { create: true });
  try {
    h.truncate(0);
    h.write(0, data);
    h.sync();
  } finally {
    h.close();
  }
  fs.rename(tmp, name);
  fs.syncDir();
}
