/**
 * The time seam. The engine never calls `Date.now`: wall-clock time comes from a `Clock`,
 * which the simulator implements per peer with its own offset, drift and jumps.
 */

/** A wall clock. */
export interface Clock {
  /** Milliseconds since the Unix epoch, as this device believes it to be. May jump backwards. */
  nowMs(): number;
}

/** The real wall clock. */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
};
