/**
 * Where the feed store checks, and so may keep, signatures in a run of new entries of one
 * author (feed-store.ts, "Signatures"): pure and crypto-free.
 */

import type { Entry } from './entry.ts';

/**
 * Ingest keeps a verified signature at least every this many entries of a remote feed, where
 * the author signed within that distance, so that the store can serve the feed in ranges of
 * about this size (a sync message holds 256 entries by default). One signature check each.
 */
export const SIGNED_RANGE_ENTRIES_MAX = 256;

/** Like {@link SIGNED_RANGE_ENTRIES_MAX}, in body bytes (a sync message's default size). */
export const SIGNED_RANGE_BYTES_MAX = 1024 * 1024;

/**
 * Where ingest checks (and keeps) signatures in a run of new entries of one author: indexes,
 * ascending, ending with the run's last entry. From the start of the run, or just after the
 * previous end, a range runs to the last entry if the rest fits within
 * {@link SIGNED_RANGE_ENTRIES_MAX} and {@link SIGNED_RANGE_BYTES_MAX}; otherwise to the last
 * signed entry that fits, or, when the author signed nothing within the bounds, to the first
 * signed entry past them. A run within the bounds therefore costs one check. Crypto-free:
 * a missing or bad signature at an end is found by verification.
 */
export function signedRangeEnds(entries: readonly Entry[]): number[] {
  const ends: number[] = [];
  for (let start = 0; start < entries.length; ) {
    const end = rangeEnd(entries, start);
    ends.push(end);
    start = end + 1;
  }
  return ends;
}

function rangeEnd(entries: readonly Entry[], start: number): number {
  const lastAt = entries.length - 1;
  let end = -1;
  let bodyBytes = 0;
  for (let i = start; i < lastAt; i++) {
    bodyBytes += entries[i]!.body.length;
    const fits = i - start < SIGNED_RANGE_ENTRIES_MAX && bodyBytes <= SIGNED_RANGE_BYTES_MAX;
    if (!fits && end >= 0) return end;
    if (entries[i]!.signature === undefined) continue;
    if (!fits) return i;
    end = i;
  }
  // The last entry: the range ends there if it fits, else at the last signed entry that does.
  bodyBytes += entries[lastAt]!.body.length;
  const fits = lastAt - start < SIGNED_RANGE_ENTRIES_MAX && bodyBytes <= SIGNED_RANGE_BYTES_MAX;
  return !fits && end >= 0 ? end : lastAt;
}
