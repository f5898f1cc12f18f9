/**
 * Typed operating errors. Every error the engine raises for a reason outside its own control
 * (corrupt bytes, bad arguments, a full disk, a closed handle) is one of these, with a stable
 * `code` that callers and tools can match on. Messages are for people; codes are for programs.
 */

/** Stable error codes. Never renumber or reuse one. */
export type ErrorCode =
  | 'ARE_ASSERTION'
  | 'ARE_CORRUPTION'
  | 'ARE_INVALID_ARGUMENT'
  | 'ARE_LIMIT_EXCEEDED'
  | 'ARE_NO_SPACE'
  | 'ARE_NOT_FOUND'
  | 'ARE_ALREADY_EXISTS'
  | 'ARE_CLOSED'
  | 'ARE_IO'
  | 'ARE_CRASHED'
  | 'ARE_LOCKED'
  | 'ARE_BAD_SIGNATURE'
  | 'ARE_SEQUENCE_GAP'
  | 'ARE_BROKEN_CHAIN'
  | 'ARE_FORK'
  | 'ARE_PROTOCOL'
  | 'ARE_QUERY_INVALID';

/** Base class of all typed Aregula errors. */
export class AregulaError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Stored bytes fail a checksum or a structural check. Names the file and byte offset. */
export class CorruptionError extends AregulaError {
  /** File whose bytes are corrupt. */
  readonly file: string;
  /** Byte offset of the corrupt region (its start, where known). */
  readonly offset: number;
  constructor(options: { file: string; offset: number; detail: string }) {
    super('ARE_CORRUPTION', `corruption in ${options.file} at offset ${options.offset}: ${options.detail}`);
    this.file = options.file;
    this.offset = options.offset;
  }
}

/** A caller passed a value the API does not accept (wrong type, empty key, bad option). */
export class InvalidArgumentError extends AregulaError {
  constructor(message: string) {
    super('ARE_INVALID_ARGUMENT', message);
  }
}

/** A documented limit (key size, value size, batch size, ...) was exceeded. */
export class LimitExceededError extends AregulaError {
  /** Name of the limit, e.g. `MAX_KEY_BYTES`. */
  readonly limit: string;
  /** The limit's value. */
  readonly max: number;
  /** The value that exceeded it. */
  readonly actual: number;
  constructor(options: { limit: string; max: number; actual: number; what: string }) {
    super(
      'ARE_LIMIT_EXCEEDED',
      `${options.what}: ${options.actual} exceeds ${options.limit} = ${options.max}`,
    );
    this.limit = options.limit;
    this.max = options.max;
    this.actual = options.actual;
  }
}

/** The file system has no room for a write. Nothing past the failed write was applied. */
export class NoSpaceError extends AregulaError {
  constructor(message: string) {
    super('ARE_NO_SPACE', message);
  }
}

/** A named file or record does not exist. */
export class NotFoundError extends AregulaError {
  constructor(message: string) {
    super('ARE_NOT_FOUND', message);
  }
}

/** A file that must not exist yet already does. */
export class AlreadyExistsError extends AregulaError {
  constructor(message: string) {
    super('ARE_ALREADY_EXISTS', message);
  }
}

/** An operation on a closed store, handle or iterator. */
export class ClosedError extends AregulaError {
  constructor(message: string) {
    super('ARE_CLOSED', message);
  }
}

/** An underlying I/O operation failed for a reason other than those above. */
export class IoError extends AregulaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ARE_IO', message, options);
  }
}

/**
 * A simulated power loss happened (injected by a test or the simulator). The process is
 * considered dead: the caller must drop every handle and reopen from the file system.
 */
export class CrashError extends AregulaError {
  constructor(message: string) {
    super('ARE_CRASHED', message);
  }
}

/** The store is already open elsewhere. */
export class LockedError extends AregulaError {
  constructor(message: string) {
    super('ARE_LOCKED', message);
  }
}

/** A peer sent a message that does not follow the sync protocol (malformed, oversized, unexpected). */
export class ProtocolError extends AregulaError {
  constructor(message: string) {
    super('ARE_PROTOCOL', message);
  }
}
