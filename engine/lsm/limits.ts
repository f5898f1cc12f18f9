/**
 * The LSM's documented limits. Each is enforced with a {@link LimitExceededError} naming it;
 * docs/lsm.md lists them. They bound memory per operation and keep every length field of the
 * on-disk formats comfortably inside its encoding.
 */

/** Longest user key, in bytes. Keys must also be at least one byte long. */
export const MAX_KEY_BYTES = 16 * 1024;

/** Longest value, in bytes. */
export const MAX_VALUE_BYTES = 8 * 1024 * 1024;

/** Most operations in one write batch. */
export const MAX_BATCH_OPS = 100_000;

/** Largest encoded write batch (one WAL record), in bytes. */
export const MAX_BATCH_BYTES = 64 * 1024 * 1024;

/** Largest WAL or manifest record payload the reader accepts. */
export const MAX_RECORD_BYTES = MAX_BATCH_BYTES + 64;

/** Most tables (sorted runs) a store may hold before writes wait for compaction. */
export const MAX_TABLES = 64;
