/**
 * Reconnects wait through the Random and Timers seams: with a seeded random and fake timers,
 * a hub that never answers gives the same sequence of delays every run, each within the
 * backoff's bounds, and a different seed gives another sequence.
 */

import { describe, expect, test } from 'vitest';
import { certify, testIdentity } from '../../test/sdk-hub.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import type { TimerHandle, Timers } from '../sync/transport.ts';
import { nodePlatform } from './node.ts';
import { open } from './open.ts';

const REQUEST_TIMEOUT_MS = 7_777;
const RESYNC_MS = 99_999;
const bounds = { delayMsMin: 100, delayMsMax: 1_600 };

/** Timers that only run when told, recording every delay asked for. */
class FakeTimers implements Timers {
  readonly delays: number[] = [];
  private pending = new Map<number, () => void>();
  private next = 0;
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    this.delays.push(delayMs);
    const id = this.next++;
    this.pending.set(id, fn);
    return id;
  }
  clearTimeout(handle: TimerHandle): void {
    this.pending.delete(handle as number);
  }
  /** Runs the pending timers whose delay is neither a request timeout nor the resync interval. */
  fireBackoffs(): void {
    for (const [id, fn] of [...this.pending]) {
      const i = id;
      if (this.delays[i] === REQUEST_TIMEOUT_MS || this.delays[i] === RESYNC_MS) continue;
      this.pending.delete(id);
      fn();
    }
  }
}

async function delaysFor(seed: number): Promise<number[]> {
  const timers = new FakeTimers();
  const owner = testIdentity(70);
  const identity = testIdentity(71);
  const db = await open({
    storage: new MemoryFs(),
    identity,
    platform: nodePlatform,
    random: new SeededRandom(seed),
    timers,
  });
  const refused = (async () => {
    throw new TypeError('connection refused');
  }) as typeof fetch;
  db.sync.connect('http://hub.invalid', {
    certificate: certify(owner, identity),
    backoff: bounds,
    fetch: refused,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    resyncIntervalMs: RESYNC_MS,
  });
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < 20; i++) await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    timers.fireBackoffs();
  }
  await db.close();
  return timers.delays.filter((d) => d !== REQUEST_TIMEOUT_MS && d !== RESYNC_MS && d !== 0);
}

describe('reconnect delays through the seams', () => {
  test('are the same for a seed, within bounds, and grow to the maximum', async () => {
    const a = await delaysFor(5);
    const b = await delaysFor(5);
    const c = await delaysFor(6);
    expect(a.length).toBeGreaterThanOrEqual(8);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    for (const d of a) {
      expect(d).toBeGreaterThanOrEqual(bounds.delayMsMin / 2);
      expect(d).toBeLessThanOrEqual(bounds.delayMsMax);
    }
    expect(Math.max(...a)).toBeGreaterThan(bounds.delayMsMax / 2);
  });

  test("the platform's `online` signal reconnects at once, without waiting out the backoff", async () => {
    const timers = new FakeTimers();
    const owner = testIdentity(72);
    const identity = testIdentity(73);
    let onOnline: (() => void) | undefined;
    let watching = 0;
    const db = await open({
      storage: new MemoryFs(),
      identity,
      platform: {
        ...nodePlatform,
        leasePeerConnections: () => nodePlatform.leasePeerConnections(),
        watchNetwork: (fn) => {
          onOnline = fn;
          watching++;
          return () => watching--;
        },
      },
      random: new SeededRandom(1),
      timers,
    });
    let challenges = 0;
    const refused = (async (input: RequestInfo | URL) => {
      if (String(input).endsWith('/v1/auth/challenge')) challenges++;
      throw new TypeError('connection refused');
    }) as typeof fetch;
    const settle = async () => {
      for (let i = 0; i < 20; i++) await Promise.resolve();
      await new Promise((r) => setImmediate(r));
    };
    db.sync.connect('http://hub.invalid', {
      certificate: certify(owner, identity),
      fetch: refused,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      resyncIntervalMs: RESYNC_MS,
    });
    await settle();
    const before = challenges;
    expect(before).toBeGreaterThan(0);
    expect(watching).toBe(1);
    await settle(); // no timer fires: without the signal, nothing more is tried
    expect(challenges).toBe(before);
    onOnline!();
    await settle();
    expect(challenges).toBeGreaterThan(before);
    await db.sync.disconnect();
    expect(watching).toBe(0);
    await db.close();
  });
});
