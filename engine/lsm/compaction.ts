/**
 * Size-tiered compaction picking. Tables are sorted runs ordered newest first; a compaction
 * merges a contiguous window of them (contiguous in age, so sequence ranges stay disjoint and
 * a point read can stop at the first run that holds the key) whose sizes are similar, the way
 * Cassandra's STCS buckets them: a table joins a window when its size is within
 * [BUCKET_LOW, BUCKET_HIGH] times the window's average, and all tables under
 * `smallTableBytes` count as similar. A window of at least `minRuns` tables is compacted.
 *
 * Tiering writes each entry about log_minRuns(data / memtable) times, less than levelling,
 * which suits a write-heavy log store; reads pay with more runs, which bloom filters mostly
 * hide. When the run count grows past `softMaxRuns` anyway (many very differently sized runs),
 * the cheapest window of `minRuns` adjacent runs is merged.
 */

/** Lower size ratio of a bucket. */
export const BUCKET_LOW = 0.5;

/** Upper size ratio of a bucket. */
export const BUCKET_HIGH = 1.5;

/** What the picker considers. */
export interface TieredPolicy {
  /** Fewest similar runs worth merging. */
  minRuns: number;
  /** Most runs merged at once. */
  maxRuns: number;
  /** Runs smaller than this are all "similar". */
  smallTableBytes: number;
  /** Run count above which the cheapest adjacent window is merged regardless of sizes. */
  softMaxRuns: number;
}

/** A window [start, end) of the newest-first table list. */
export interface CompactionPick {
  start: number;
  end: number;
}

/** Chooses the next compaction, or undefined when none is due. */
export function pickTieredCompaction(
  sizes: readonly number[],
  policy: TieredPolicy,
): CompactionPick | undefined {
  // Every start position is tried (at most MAX_TABLES of them): a bucket may begin inside a
  // window that broke off too short, e.g. [10, 14, 20, 20] holds the bucket [14, 20, 20].
  for (let i = 0; i < sizes.length; i++) {
    let sum = sizes[i]!;
    let j = i + 1;
    while (j < sizes.length && j - i < policy.maxRuns) {
      const s = sizes[j]!;
      const avg = sum / (j - i);
      const small = s < policy.smallTableBytes && avg < policy.smallTableBytes;
      if (!small && (s < avg * BUCKET_LOW || s > avg * BUCKET_HIGH)) break;
      sum += s;
      j++;
    }
    if (j - i >= policy.minRuns) return { start: i, end: j };
  }
  if (sizes.length > policy.softMaxRuns) {
    // Clamped so that the window stays inside the list and within maxRuns for any policy.
    return cheapestWindow(sizes, Math.min(policy.minRuns, policy.maxRuns, sizes.length));
  }
  return undefined;
}

function cheapestWindow(sizes: readonly number[], width: number): CompactionPick {
  let best = 0;
  let bestSum = Number.POSITIVE_INFINITY;
  for (let i = 0; i + width <= sizes.length; i++) {
    let sum = 0;
    for (let j = i; j < i + width; j++) sum += sizes[j]!;
    if (sum < bestSum) {
      bestSum = sum;
      best = i;
    }
  }
  return { start: best, end: best + width };
}
