/**
 * Invariant checks that stay on in production.
 *
 * An invariant failure means the engine's own reasoning is wrong (a bug), not that the input
 * was bad: bad input gets a typed {@link AregulaError} instead. Where data integrity is at
 * stake we would rather stop than write something wrong, so these are never compiled out.
 * Split compound conditions into separate calls so the message names the one that failed.
 */

/** Thrown when an internal invariant does not hold. Code `ARE_ASSERTION`. */
export class AssertionError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'ARE_ASSERTION';
  override readonly name = 'AssertionError';
}

/** Asserts `cond`; throws {@link AssertionError} with `msg` otherwise. */
export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new AssertionError(msg);
}
