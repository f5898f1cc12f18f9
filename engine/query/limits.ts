/**
 * Every bound the query layer enforces, in one place. A query over a limit fails fast with a
 * `LimitExceededError` naming the constant, before any document is read, so hostile queries
 * cost time proportional to their (bounded) size.
 */

/** Deepest nesting of and/or/not (a lone leaf is depth 1). */
export const FILTER_DEPTH_MAX = 32;
/** Most nodes (and/or/not and leaves) in one filter. */
export const FILTER_NODES_MAX = 1_000;
/** Most values in one `in` / `nin` list. */
export const IN_VALUES_MAX = 1_000;
/** Largest canonical JSON text of one literal value in a filter, in UTF-8 bytes. */
export const FILTER_VALUE_BYTES_MAX = 64 * 1024;
/** Most JSON text of all literal values in one filter together, in UTF-16 code units. */
export const FILTER_VALUES_CHARS_MAX = 1024 * 1024;
/** Longest field path, in UTF-16 code units. */
export const PATH_CHARS_MAX = 512;
/** Most segments in one field path. */
export const PATH_SEGMENTS_MAX = 16;
/** Most keys in `orderBy`. */
export const SORT_KEYS_MAX = 8;
/** Most paths in `select`. */
export const SELECT_PATHS_MAX = 64;
/** Most keys in `groupBy`. */
export const GROUP_KEYS_MAX = 8;
/** Most aggregates in one aggregate query. */
export const AGGREGATES_MAX = 32;
/** Largest `limit` and `offset`. */
export const ROWS_MAX = 10_000_000;
/** Longest LIKE pattern, in UTF-16 code units (SQLite's default bound is 50,000 bytes). */
export const LIKE_PATTERN_CHARS_MAX = 1_000;
/** Longest regex pattern, in UTF-16 code units. */
export const REGEX_PATTERN_CHARS_MAX = 256;
/** Most states of a compiled regex after expanding counted repetitions. */
export const REGEX_STATES_MAX = 2_000;
/** Longest string a regex is run on, in UTF-16 code units; a longer one is an error. */
export const REGEX_INPUT_CHARS_MAX = 64 * 1024;
/** Largest encoded cursor, in UTF-16 code units. */
export const CURSOR_CHARS_MAX = 64 * 1024;
/** Most distinct groups one aggregate query may produce. */
export const GROUPS_MAX = 1_000_000;
