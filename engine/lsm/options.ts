/**
 * The store's options, per-write options, snapshot and stats types, and the validation that
 * turns user options into checked values with defaults (a bad value fails at open).
 */

import { InvalidArgumentError } from '../errors.ts';
import type { BackgroundMerger } from './background.ts';
import { MAX_BLOCK_BYTES, MAX_BLOOM_BITS_PER_KEY } from './sstable.ts';

/** Tuning options. Every field has a sensible default. */
export interface LsmOptions {
  /** Memtable size that triggers a flush. Default {@link DEFAULT_MEMTABLE_BYTES} (16 MiB). */
  memtableBytes?: number;
  /** Target data block size. Default 4096. */
  blockBytes?: number;
  /** Bloom filter bits per key; 0 disables filters. Default 10. */
  bloomBitsPerKey?: number;
  /**
   * Block cache capacity. Default 32 MiB: a cached block has had its CRC and structure
   * verified once, and in JavaScript that verification, not the read, is most of a miss's
   * cost, so the cache is sized to hold a personal app's working set.
   */
  blockCacheBytes?: number;
  /** Entries of background merge work each written operation pays for. Default 8. */
  backgroundWorkPerOp?: number;
  /** Fewest similar runs that trigger a compaction. Default 4. */
  compactionMinRuns?: number;
  /**
   * Runs flushes and compactions on other threads (background.ts; `nodeBackgroundMerger` for
   * a `NodeFs`). Without one they run inline, in slices paid for by writes. The store owns it
   * from here on and closes it with itself.
   */
  background?: BackgroundMerger;
}

/** Per-write options. */
export interface WriteOptions {
  /** Sync the WAL before returning: the write, and every earlier one, survives a crash. */
  sync?: boolean;
}

/** A consistent point-in-time view for reads. Release it when done. */
export interface Snapshot {
  /** Sequence number of the last write the snapshot sees. */
  readonly seq: number;
  /** Stops pinning old versions of keys. Idempotent. */
  release(): void;
}

/** Counters for tests, benchmarks and operators. */
export interface LsmStats {
  lastSequence: number;
  tables: number;
  tableBytes: number;
  memtableBytes: number;
  flushes: number;
  compactions: number;
  recoveredRecords: number;
  recoveredTornBytes: number;
}

const MIN_MEMTABLE_BYTES = 1024;

/**
 * Default memtable size. 16 MiB rather than LevelDB's 4 MB (RocksDB's default is 64 MB): a
 * document write puts its feed entry and its document row in the memtable, so a sync of 100K
 * entries writes about 30 MB, and at 4 MiB that was eight flushes with their compactions; at 16
 * MiB a fresh device's initial sync applied about 29% more entries per CPU second, and seed
 * writes cost 10-20% less. The price: up to two memtables (32 MiB) in memory and up to 16 MiB
 * of WAL to replay at open.
 */
export const DEFAULT_MEMTABLE_BYTES = 16 * 1024 * 1024;
/** Default block cache capacity (see {@link LsmOptions.blockCacheBytes}). */
export const DEFAULT_BLOCK_CACHE_BYTES = 32 * 1024 * 1024;
/** Largest value `put` encodes in the store's reused batch (larger ones get their own). */
export const SINGLE_BATCH_REUSE_BYTES_MAX = 64 * 1024;

function intOption(name: string, v: number | undefined, fallback: number, min: number, max: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return x;
}

/** Validates options eagerly, so a bad value fails at open rather than at some later flush. */
export function checkOptions(o: LsmOptions): Required<Omit<LsmOptions, 'background'>> {
  return {
    memtableBytes: intOption(
      'memtableBytes',
      o.memtableBytes,
      DEFAULT_MEMTABLE_BYTES,
      MIN_MEMTABLE_BYTES,
      1 << 30,
    ),
    blockBytes: intOption('blockBytes', o.blockBytes, 4096, 64, MAX_BLOCK_BYTES),
    bloomBitsPerKey: intOption('bloomBitsPerKey', o.bloomBitsPerKey, 10, 0, MAX_BLOOM_BITS_PER_KEY),
    blockCacheBytes: intOption('blockCacheBytes', o.blockCacheBytes, DEFAULT_BLOCK_CACHE_BYTES, 0, 2 ** 40),
    backgroundWorkPerOp: intOption('backgroundWorkPerOp', o.backgroundWorkPerOp, 8, 1, 1 << 20),
    compactionMinRuns: intOption('compactionMinRuns', o.compactionMinRuns, 4, 2, 32),
  };
}
