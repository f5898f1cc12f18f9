/**
 * Global test setup. fast-check runs synchronously, so vitest's timeout cannot stop a property
 * whose shrinking runs long; bound every property's total time here instead. A failure found
 * before the limit is still reported, with the smallest counterexample reached so far and the
 * seed that replays it.
 */
import fc from 'fast-check';

fc.configureGlobal({ interruptAfterTimeLimit: 90_000, markInterruptAsFailure: false });
