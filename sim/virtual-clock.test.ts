/**
 * VirtualClock: the reading formula against the brief's closed form (offset, drift, jumps),
 * continuity when the drift changes, backward jumps, trace notes, and invalid options.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Scheduler } from './scheduler.ts';
import { DEFAULT_EPOCH_MS, DRIFT_PPM_MAX, VirtualClock } from './virtual-clock.ts';

const invalid = expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' });

/** floor(base + now * (1 + ppm / 1e6)) in exact integer arithmetic, for integer inputs. */
function exactReading(baseMs: number, nowMs: number, driftPpm: number): number {
  const scaled = (BigInt(baseMs) + BigInt(nowMs)) * 1_000_000n + BigInt(nowMs) * BigInt(driftPpm);
  let q = scaled / 1_000_000n;
  if (scaled % 1_000_000n < 0n) q -= 1n;
  return Number(q);
}

describe('VirtualClock', () => {
  it('reads the default epoch at virtual time 0 and follows virtual time', () => {
    const s = new Scheduler();
    const clock = new VirtualClock(s, {});
    expect(DEFAULT_EPOCH_MS).toBe(1_700_000_000_000);
    expect(clock.nowMs()).toBe(DEFAULT_EPOCH_MS);
    s.runUntil(1234.9);
    expect(clock.nowMs()).toBe(DEFAULT_EPOCH_MS + 1234);
  });

  it('adds a constant offset, positive or negative', () => {
    const s = new Scheduler();
    const ahead = new VirtualClock(s, { epochMs: 0, offsetMs: 3_600_000 });
    const behind = new VirtualClock(s, { epochMs: 0, offsetMs: -250 });
    s.runUntil(1000);
    expect(ahead.nowMs()).toBe(3_601_000);
    expect(behind.nowMs()).toBe(750);
  });

  it('scales elapsed time by the drift and floors the result', () => {
    const s = new Scheduler();
    const fast = new VirtualClock(s, { epochMs: 0, driftPpm: 500 });
    const slow = new VirtualClock(s, { epochMs: 0, driftPpm: -500 });
    s.runUntil(3);
    expect(fast.nowMs()).toBe(3); // 3.0015
    expect(slow.nowMs()).toBe(2); // 2.9985
    s.runUntil(1_000_000);
    expect(fast.nowMs()).toBe(1_000_500);
    expect(slow.nowMs()).toBe(999_500);
  });

  it('jumps forward and backward, and notes each jump in the trace', () => {
    const s = new Scheduler();
    const clock = new VirtualClock(s, { epochMs: 10_000, name: 'laptop' });
    s.runUntil(100);
    clock.jump(-5_000);
    expect(clock.nowMs()).toBe(5_100);
    s.runUntil(200);
    expect(clock.nowMs()).toBe(5_200);
    clock.jump(60_000);
    expect(clock.nowMs()).toBe(65_200);
    expect(s.traceTail(2)).toEqual(['100|note clock laptop jump -5000', '200|note clock laptop jump 60000']);
  });

  it('changes drift without a jump in the reading', () => {
    const s = new Scheduler();
    const clock = new VirtualClock(s, { epochMs: 0, driftPpm: 100_000 });
    s.runUntil(1000);
    expect(clock.nowMs()).toBe(1100);
    clock.setDrift(-100_000);
    expect(clock.nowMs()).toBe(1100);
    s.runUntil(2000);
    expect(clock.nowMs()).toBe(2000);
    clock.setDrift(0);
    s.runUntil(3000);
    expect(clock.nowMs()).toBe(3000);
    expect(s.traceTail(1)).toEqual(['2000|note clock clock drift 0ppm']);
  });

  it('does not round a fraction just below a millisecond up across the epoch', () => {
    const s = new Scheduler();
    const clock = new VirtualClock(s, { driftPpm: 1001 });
    s.runUntil(999); // 999 * 1.001001 = 999.999999
    expect(clock.nowMs()).toBe(DEFAULT_EPOCH_MS + 999);
    s.runUntil(1000); // 1001.001
    expect(clock.nowMs()).toBe(DEFAULT_EPOCH_MS + 1001);
  });

  it('reads as if it had run since the world began when built mid-run', () => {
    const s = new Scheduler();
    s.runUntil(10_000);
    const clock = new VirtualClock(s, { epochMs: 0, driftPpm: 1000 });
    expect(clock.nowMs()).toBe(10_010);
  });

  test.prop([
    fc.integer({ min: 0, max: 2_000_000_000_000 }),
    fc.integer({ min: -86_400_000, max: 86_400_000 }),
    fc.integer({ min: -1000, max: 1000 }),
    fc.array(
      fc.record({
        advanceMs: fc.integer({ min: 0, max: 10_000_000 }),
        jumpMs: fc.integer({ min: -3_600_000, max: 3_600_000 }),
      }),
      { maxLength: 20 },
    ),
  ])(
    'is exactly floor(epoch + offset + jumps + now * (1 + ppm / 1e6))',
    (epochMs, offsetMs, driftPpm, steps) => {
      const s = new Scheduler();
      const clock = new VirtualClock(s, { epochMs, offsetMs, driftPpm });
      let jumps = 0;
      for (const step of steps) {
        s.runUntil(s.nowMs + step.advanceMs);
        clock.jump(step.jumpMs);
        jumps += step.jumpMs;
        expect(clock.nowMs()).toBe(exactReading(epochMs + offsetMs + jumps, s.nowMs, driftPpm));
      }
    },
  );

  test.prop([fc.integer({ min: -DRIFT_PPM_MAX, max: DRIFT_PPM_MAX }), fc.nat({ max: 1_000_000 })])(
    'never goes backwards without a jump',
    (driftPpm, stepMs) => {
      const s = new Scheduler();
      const clock = new VirtualClock(s, { driftPpm });
      let last = clock.nowMs();
      for (let i = 0; i < 20; i++) {
        s.runUntil(s.nowMs + stepMs);
        const now = clock.nowMs();
        expect(now).toBeGreaterThanOrEqual(last);
        last = now;
      }
    },
  );

  it('rejects non-finite options, jumps and drifts beyond the bound', () => {
    const s = new Scheduler();
    expect(() => new VirtualClock(s, { epochMs: Number.NaN })).toThrow(invalid);
    expect(() => new VirtualClock(s, { offsetMs: Number.POSITIVE_INFINITY })).toThrow(invalid);
    expect(() => new VirtualClock(s, { driftPpm: DRIFT_PPM_MAX + 1 })).toThrow(invalid);
    expect(() => new VirtualClock(s, { driftPpm: -DRIFT_PPM_MAX - 1 })).toThrow(invalid);
    const clock = new VirtualClock(s, { epochMs: 0 });
    expect(() => clock.jump(Number.NaN)).toThrow(invalid);
    expect(() => clock.setDrift(Number.NaN)).toThrow(invalid);
    expect(() => clock.setDrift(DRIFT_PPM_MAX * 2)).toThrow(invalid);
    expect(clock.nowMs()).toBe(0);
    expect(s.traceTail(5)).toEqual([]);
  });
});
