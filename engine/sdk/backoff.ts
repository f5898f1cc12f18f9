/**
 * Reconnect delays: exponential backoff with "equal jitter" (half of each delay fixed, half
 * random), so that devices that lost the hub together do not all come back in the same
 * instant, and a long outage costs at most one attempt per {@link RECONNECT_DELAY_MS_MAX}.
 * Randomness comes through the `Random` seam, so tests and the simulator get the same delays
 * for the same seed.
 */

import { InvalidArgumentError } from '../errors.ts';
import type { Random } from '../io/random.ts';

/** First reconnect delay after a failure, ms. */
export const RECONNECT_DELAY_MS_MIN = 200;
/** Longest reconnect delay, ms: after a long offline stretch, catch-up starts within this. */
export const RECONNECT_DELAY_MS_MAX = 30_000;
/** Failures past which the delay stops doubling (2^30 times the minimum is past any maximum). */
const DOUBLINGS_MAX = 30;

/** Bounds of a backoff. */
export interface BackoffBounds {
  /** First delay, ms (> 0). */
  delayMsMin: number;
  /** Longest delay, ms (>= `delayMsMin`). */
  delayMsMax: number;
}

/** The default bounds ({@link RECONNECT_DELAY_MS_MIN} to {@link RECONNECT_DELAY_MS_MAX}). */
export const DEFAULT_BACKOFF: BackoffBounds = Object.freeze({
  delayMsMin: RECONNECT_DELAY_MS_MIN,
  delayMsMax: RECONNECT_DELAY_MS_MAX,
});

/** Throws {@link InvalidArgumentError} unless `bounds` are positive integers in order. */
export function checkBackoff(bounds: BackoffBounds): void {
  const { delayMsMin, delayMsMax } = bounds;
  if (!Number.isSafeInteger(delayMsMin) || delayMsMin < 1)
    throw new InvalidArgumentError(`backoff delayMsMin must be an integer >= 1, got ${String(delayMsMin)}`);
  if (!Number.isSafeInteger(delayMsMax) || delayMsMax < delayMsMin)
    throw new InvalidArgumentError(
      `backoff delayMsMax must be an integer >= delayMsMin (${delayMsMin}), got ${String(delayMsMax)}`,
    );
}

/**
 * The delay before the next attempt after `failures` failures in a row (1 for the first):
 * the ceiling `min * 2^(failures-1)`, capped at `max`, of which half is fixed and half drawn
 * from `random`. Always within `[ceiling / 2, ceiling]`.
 */
export function backoffDelayMs(
  failures: number,
  random: Random,
  bounds: BackoffBounds = DEFAULT_BACKOFF,
): number {
  if (!Number.isSafeInteger(failures) || failures < 1)
    throw new InvalidArgumentError(`failures must be an integer >= 1, got ${String(failures)}`);
  const doublings = Math.min(DOUBLINGS_MAX, failures - 1);
  const ceiling = Math.min(bounds.delayMsMax, bounds.delayMsMin * 2 ** doublings);
  return Math.round(ceiling / 2 + (random.next() * ceiling) / 2);
}
