/**
 * Named limits and defaults of the HNSW index. Options outside a limit are refused with a typed
 * error before anything is stored; the limits also bound every array the index allocates, so
 * that no input can make it ask for more memory than a typed array can hold.
 */

/** Largest vector dimension an index accepts (embedding models today stay well under it). */
export const MAX_DIMENSION = 4096;

/** Smallest `m` (links per node on the upper layers): below 2 the graph degenerates to lists. */
export const MIN_M = 2;

/** Largest `m`. Layer 0 keeps up to `2 * m` links per node, so this also bounds its degree. */
export const MAX_M = 128;

/** Largest `ef` (query-time beam width) and `efConstruction`. */
export const MAX_EF = 10_000;

/** Largest `k` a search may ask for. */
export const MAX_K = 10_000;

/** Most nodes (live and tombstoned) one index holds. */
export const MAX_ELEMENTS = 1 << 24;

/**
 * Most float components stored (nodes times dimension): 2^28 floats, 1 GiB of vectors. Keeps the
 * vector array and the vector section of a saved file far below the 4 GiB a typed array or a
 * u32 section length can address.
 */
export const MAX_STORED_FLOATS = 1 << 28;

/** Most link slots in the layer-0 adjacency array (nodes times `2 * m + 1`): 2^28, 1 GiB. */
export const MAX_LINK_INTS = 1 << 28;

/**
 * Highest layer a node may be drawn for. With `m = 2` (the steepest level distribution) a draw
 * reaches 16 with probability 2^-16 per insert; capping there changes the distribution
 * negligibly and bounds the per-node layer count and the u8 level field of the file format.
 */
export const MAX_LEVEL = 16;

/** Longest id, in UTF-16 code units (at most 1,536 UTF-8 bytes, within the format's u16). */
export const MAX_ID_LENGTH = 512;

/** Default links per node on the upper layers (hnswlib's default too). */
export const DEFAULT_M = 16;

/** Default beam width while building. */
export const DEFAULT_EF_CONSTRUCTION = 200;

/** Default beam width of a search when the query gives none (raised to `k` when smaller). */
export const DEFAULT_EF_SEARCH = 64;

/**
 * Default fraction of tombstoned nodes above which a delete compacts the index. Tombstones
 * still route searches, so they cost time (every visit computes a distance) but not recall;
 * at 30% a search does at most about 1.4 times the work of a compacted index.
 */
export const DEFAULT_COMPACT_DELETED_FRACTION = 0.3;

/** Tombstones an index tolerates before automatic compaction is considered at all. */
export const AUTO_COMPACT_MIN_DELETED = 64;

/**
 * A filtered search that has visited more than this fraction of the nodes falls back to an
 * exact scan: the filter is so selective that the graph walk would soon visit everything, and
 * a linear scan of the same nodes is cheaper per node and exact.
 */
export const FILTER_VISIT_FRACTION_MAX = 0.3;

/** A filtered search may always visit at least this many nodes before the fallback applies. */
export const FILTER_VISIT_MIN = 2048;

/**
 * Most candidates a compaction considers when it reconnects one node's list (its own live
 * links plus those of its deleted neighbours), keeping the closest; bounds compaction time.
 */
export const REPAIR_CANDIDATES_MAX = 512;
