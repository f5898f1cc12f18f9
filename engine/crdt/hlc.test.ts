/**
 * Hybrid logical clocks: the 10-byte encoding (known bytes, round trip, bytewise order equals
 * timestamp order, every short or misaddressed input rejected), the clock's rules by hand
 * (backward wall jumps, far-future remotes, counter carry, exhaustion, restart from `start`),
 * every malformed number rejected without changing the clock, and a property run of random
 * wall-clock sequences with backward jumps and random remotes (far-future ones included)
 * checked against the rules: strictly increasing, never behind a merged remote, and pulled
 * ahead by remotes only up to the bound.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../io/clock.ts';
import { compareBytes, DecodeError } from '../lsm/coding.ts';
import {
  checkHlc,
  compareHlc,
  DEFAULT_MAX_FORWARD_DRIFT_MS,
  decodeHlc,
  encodeHlc,
  encodeHlcInto,
  HLC_BYTES,
  type Hlc,
  HlcClock,
  isValidHlc,
  MAX_HLC_LOGICAL,
  MAX_HLC_WALL_MS,
  ZERO_HLC,
} from './hlc.ts';

/** A wall clock the test sets by hand. */
class ManualClock implements Clock {
  constructor(public ms: number) {}
  nowMs(): number {
    return this.ms;
  }
}

const edgeWall = fc.constantFrom(
  0,
  1,
  255,
  256,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 40,
  MAX_HLC_WALL_MS - 1,
  MAX_HLC_WALL_MS,
);
const edgeLogical = fc.constantFrom(0, 1, 255, 256, 2 ** 31, MAX_HLC_LOGICAL - 1, MAX_HLC_LOGICAL);
const arbHlc: fc.Arbitrary<Hlc> = fc.record({
  wallMs: fc.oneof(edgeWall, fc.integer({ min: 0, max: MAX_HLC_WALL_MS }), fc.integer({ min: 0, max: 4 })),
  logical: fc.oneof(
    edgeLogical,
    fc.integer({ min: 0, max: MAX_HLC_LOGICAL }),
    fc.integer({ min: 0, max: 4 }),
  ),
});

const BAD_NUMBERS = [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0.5];
const BAD_HLCS: unknown[] = [
  null,
  undefined,
  42,
  'ts',
  {},
  { wallMs: 1 },
  { logical: 1 },
  { wallMs: '1', logical: 0 },
  { wallMs: 1, logical: 1n },
  { wallMs: MAX_HLC_WALL_MS + 1, logical: 0 },
  { wallMs: 0, logical: MAX_HLC_LOGICAL + 1 },
  ...BAD_NUMBERS.map((n) => ({ wallMs: n, logical: 0 })),
  ...BAD_NUMBERS.map((n) => ({ wallMs: 0, logical: n })),
];

describe('compareHlc', () => {
  it('orders by wallMs, then logical', () => {
    expect(compareHlc({ wallMs: 1, logical: 9 }, { wallMs: 2, logical: 0 })).toBeLessThan(0);
    expect(compareHlc({ wallMs: 2, logical: 0 }, { wallMs: 1, logical: 9 })).toBeGreaterThan(0);
    expect(compareHlc({ wallMs: 2, logical: 1 }, { wallMs: 2, logical: 2 })).toBeLessThan(0);
    expect(compareHlc({ wallMs: 2, logical: 3 }, { wallMs: 2, logical: 2 })).toBeGreaterThan(0);
    expect(compareHlc({ wallMs: 2, logical: 2 }, { wallMs: 2, logical: 2 })).toBe(0);
  });

  test.prop([arbHlc, arbHlc])('is antisymmetric and agrees with the pair order', (a, b) => {
    const expected = Math.sign(a.wallMs - b.wallMs) || Math.sign(a.logical - b.logical);
    expect(Math.sign(compareHlc(a, b))).toBe(expected);
    expect(Math.sign(compareHlc(b, a)) + expected).toBe(0);
  });
});

describe('validation', () => {
  it('accepts the extremes', () => {
    expect(isValidHlc(ZERO_HLC)).toBe(true);
    expect(isValidHlc({ wallMs: MAX_HLC_WALL_MS, logical: MAX_HLC_LOGICAL })).toBe(true);
    expect(() => checkHlc({ wallMs: MAX_HLC_WALL_MS, logical: MAX_HLC_LOGICAL })).not.toThrow();
  });

  it.each(BAD_HLCS.map((h) => [h]))('rejects %o', (h) => {
    expect(isValidHlc(h)).toBe(false);
    expect(() => checkHlc(h)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
    expect(() => encodeHlc(h as Hlc)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
  });
});

describe('encoding', () => {
  it('is 6 bytes of wallMs and 4 of logical, big-endian', () => {
    const bytes = encodeHlc({ wallMs: 0x010203040506, logical: 0x0708090a });
    expect([...bytes]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([...encodeHlc({ wallMs: MAX_HLC_WALL_MS, logical: MAX_HLC_LOGICAL })]).toEqual(
      Array(10).fill(255),
    );
    expect([...encodeHlc(ZERO_HLC)]).toEqual(Array(10).fill(0));
    expect(HLC_BYTES).toBe(10);
  });

  test.prop([arbHlc])('round-trips', (h) => {
    const back = decodeHlc(encodeHlc(h));
    expect(back).toEqual({ wallMs: h.wallMs, logical: h.logical });
    expect(Object.isFrozen(back)).toBe(true);
  });

  test.prop([arbHlc, arbHlc])('bytewise order equals timestamp order', (a, b) => {
    expect(Math.sign(compareBytes(encodeHlc(a), encodeHlc(b)))).toBe(Math.sign(compareHlc(a, b)));
  });

  test.prop([arbHlc, fc.nat(20), fc.nat(20)])(
    'encodes into and decodes from an offset',
    (h, before, after) => {
      const buf = new Uint8Array(before + HLC_BYTES + after).fill(0xaa);
      encodeHlcInto(h, buf, before);
      expect(buf.subarray(0, before).every((b) => b === 0xaa)).toBe(true);
      expect(buf.subarray(before + HLC_BYTES).every((b) => b === 0xaa)).toBe(true);
      expect(decodeHlc(buf, before)).toEqual({ wallMs: h.wallMs, logical: h.logical });
    },
  );

  test.prop([fc.uint8Array({ minLength: HLC_BYTES, maxLength: 40 }), fc.nat(30)])(
    'decodes any 10 bytes to a valid timestamp that re-encodes to the same bytes',
    (bytes, at) => {
      const offset = Math.min(at, bytes.length - HLC_BYTES);
      const h = decodeHlc(bytes, offset);
      expect(isValidHlc(h)).toBe(true);
      expect(encodeHlc(h)).toEqual(bytes.slice(offset, offset + HLC_BYTES));
    },
  );

  test.prop([fc.uint8Array({ maxLength: 30 }), fc.nat(40)])(
    'rejects fewer than 10 bytes with a DecodeError at the offset',
    (bytes, offset) => {
      fc.pre(bytes.length - offset < HLC_BYTES);
      let caught: unknown;
      try {
        decodeHlc(bytes, offset);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(DecodeError);
      expect((caught as DecodeError).offset).toBe(offset);
    },
  );

  it('rejects bad offsets and non-byte input', () => {
    const buf = new Uint8Array(20);
    for (const offset of [...BAD_NUMBERS, 2 ** 53]) {
      expect(() => decodeHlc(buf, offset)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
      expect(() => encodeHlcInto(ZERO_HLC, buf, offset)).toThrow(
        expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }),
      );
    }
    expect(() => decodeHlc([1, 2, 3] as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }),
    );
    expect(() => encodeHlcInto(ZERO_HLC, new Uint8Array(19), 10)).toThrow(
      expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }),
    );
    expect(() => encodeHlcInto(ZERO_HLC, [] as unknown as Uint8Array, 0)).toThrow(
      expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }),
    );
  });
});

describe('HlcClock by hand', () => {
  it('uses the wall clock when it moves forward and the counter when it does not', () => {
    const wall = new ManualClock(1000);
    const c = new HlcClock({ clock: wall });
    expect(c.peek()).toEqual(ZERO_HLC);
    expect(c.now()).toEqual({ wallMs: 1000, logical: 0 });
    expect(c.now()).toEqual({ wallMs: 1000, logical: 1 });
    wall.ms = 500; // the wall clock jumps backwards
    expect(c.now()).toEqual({ wallMs: 1000, logical: 2 });
    expect(c.now()).toEqual({ wallMs: 1000, logical: 3 });
    wall.ms = 2000;
    expect(c.now()).toEqual({ wallMs: 2000, logical: 0 });
    expect(c.peek()).toEqual({ wallMs: 2000, logical: 0 });
  });

  it('follows the worked example in docs/crdt.md', () => {
    const wall = new ManualClock(1000);
    const c = new HlcClock({ clock: wall, maxForwardDriftMs: 100 });
    const at = (ms: number) => {
      wall.ms = ms;
      return c;
    };
    expect(at(1000).now()).toEqual({ wallMs: 1000, logical: 0 });
    expect(at(1000).now()).toEqual({ wallMs: 1000, logical: 1 });
    expect(at(500).now()).toEqual({ wallMs: 1000, logical: 2 });
    at(1000).observe({ wallMs: 1100, logical: 7 });
    expect(c.peek()).toEqual({ wallMs: 1100, logical: 7 });
    expect(at(1000).now()).toEqual({ wallMs: 1100, logical: 8 });
    at(1000).observe({ wallMs: 9_999_999, logical: 0 });
    expect(c.peek()).toEqual({ wallMs: 1100, logical: 8 });
    expect(at(1000).now()).toEqual({ wallMs: 1100, logical: 9 });
    expect(at(1200).now()).toEqual({ wallMs: 1200, logical: 0 });
    expect([...encodeHlc({ wallMs: 1_700_000_000_000, logical: 3 })]).toEqual([
      0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x00, 0x03,
    ]);
  });

  it('merges a remote within the bound exactly', () => {
    const wall = new ManualClock(1000);
    const c = new HlcClock({ clock: wall, maxForwardDriftMs: 100 });
    c.observe({ wallMs: 1100, logical: 7 }); // exactly at the bound
    expect(c.peek()).toEqual({ wallMs: 1100, logical: 7 });
    expect(c.now()).toEqual({ wallMs: 1100, logical: 8 });
    c.observe({ wallMs: 900, logical: 50 }); // older than local: no effect
    expect(c.now()).toEqual({ wallMs: 1100, logical: 9 });
  });

  it('accepts a far-future remote but moves only up to the bound', () => {
    const wall = new ManualClock(1000);
    const c = new HlcClock({ clock: wall, maxForwardDriftMs: 100 });
    expect(() => c.observe({ wallMs: 1101, logical: 3 })).not.toThrow();
    expect(c.peek()).toEqual({ wallMs: 1100, logical: 0 });
    expect(c.now()).toEqual({ wallMs: 1100, logical: 1 });
    c.observe({ wallMs: MAX_HLC_WALL_MS, logical: MAX_HLC_LOGICAL }); // years ahead
    expect(c.peek()).toEqual({ wallMs: 1100, logical: 1 }); // already at the bound
    expect(c.now()).toEqual({ wallMs: 1100, logical: 2 }); // only the counter steps
    wall.ms = 1050;
    c.observe({ wallMs: 9_999_999, logical: 0 });
    expect(c.peek()).toEqual({ wallMs: 1150, logical: 0 }); // the bound moves with the wall
    wall.ms = 1200; // the wall catches up: back to wall time
    expect(c.now()).toEqual({ wallMs: 1200, logical: 0 });
  });

  it('never pulls ahead of the wall when the bound is 0', () => {
    const wall = new ManualClock(1000);
    const c = new HlcClock({ clock: wall, maxForwardDriftMs: 0 });
    c.observe({ wallMs: 1001, logical: 0 });
    expect(c.now()).toEqual({ wallMs: 1000, logical: 1 });
    c.observe({ wallMs: 1000, logical: 40 });
    expect(c.now()).toEqual({ wallMs: 1000, logical: 41 });
  });

  it('defaults the bound to five minutes', () => {
    expect(DEFAULT_MAX_FORWARD_DRIFT_MS).toBe(300_000);
    const c = new HlcClock({ clock: new ManualClock(0) });
    expect(c.maxForwardDriftMs).toBe(DEFAULT_MAX_FORWARD_DRIFT_MS);
    c.observe({ wallMs: 300_001, logical: 0 });
    expect(c.peek()).toEqual({ wallMs: 300_000, logical: 0 });
  });

  it('caps the bound at the largest wallMs', () => {
    const wall = new ManualClock(MAX_HLC_WALL_MS - 5);
    const c = new HlcClock({ clock: wall, maxForwardDriftMs: 1000 });
    c.observe({ wallMs: MAX_HLC_WALL_MS, logical: 4 });
    expect(c.peek()).toEqual({ wallMs: MAX_HLC_WALL_MS, logical: 4 });
  });

  it('carries a full counter into the next millisecond', () => {
    const wall = new ManualClock(5);
    const c = new HlcClock({ clock: wall, start: { wallMs: 1000, logical: MAX_HLC_LOGICAL } });
    expect(c.now()).toEqual({ wallMs: 1001, logical: 0 });
    c.observe({ wallMs: 1001, logical: MAX_HLC_LOGICAL }); // within the bound
    expect(c.now()).toEqual({ wallMs: 1002, logical: 0 });
  });

  it('throws LimitExceededError when the timestamp space is exhausted, and stays put', () => {
    const top = { wallMs: MAX_HLC_WALL_MS, logical: MAX_HLC_LOGICAL };
    const c = new HlcClock({ clock: new ManualClock(0), start: top });
    expect(() => c.now()).toThrow(
      expect.objectContaining({ code: 'ARE_LIMIT_EXCEEDED', limit: 'MAX_HLC_WALL_MS' }),
    );
    expect(c.peek()).toEqual(top);
  });

  it('continues after its start across a restart whose wall clock went back', () => {
    const c = new HlcClock({ clock: new ManualClock(10), start: { wallMs: 5000, logical: 3 } });
    expect(c.peek()).toEqual({ wallMs: 5000, logical: 3 });
    expect(c.now()).toEqual({ wallMs: 5000, logical: 4 });
  });

  it('returns frozen timestamps and copies merged ones', () => {
    const c = new HlcClock({ clock: new ManualClock(7) });
    expect(Object.isFrozen(c.now())).toBe(true);
    const remote = { wallMs: 8, logical: 1 };
    c.observe(remote);
    remote.logical = 99;
    expect(c.peek()).toEqual({ wallMs: 8, logical: 1 });
    expect(Object.isFrozen(c.peek())).toBe(true);
  });
});

describe('HlcClock rejects bad input', () => {
  const badWalls = [
    ...BAD_NUMBERS,
    MAX_HLC_WALL_MS + 1,
    '5' as unknown as number,
    undefined as unknown as number,
  ];

  it.each(badWalls.map((w) => [w]))('a wall reading of %o, from now() and observe(), unchanged', (w) => {
    const wall = new ManualClock(100);
    const c = new HlcClock({ clock: wall });
    c.now();
    wall.ms = w;
    expect(() => c.now()).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
    expect(() => c.observe({ wallMs: 200, logical: 0 })).toThrow(
      expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }),
    );
    expect(c.peek()).toEqual({ wallMs: 100, logical: 0 });
  });

  it.each(BAD_HLCS.map((h) => [h]))('a remote of %o, unchanged', (h) => {
    const c = new HlcClock({ clock: new ManualClock(100) });
    c.now();
    expect(() => c.observe(h as Hlc)).toThrow(expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }));
    expect(c.peek()).toEqual({ wallMs: 100, logical: 0 });
  });

  it('bad options', () => {
    const clock = new ManualClock(0);
    for (const drift of [...BAD_NUMBERS, MAX_HLC_WALL_MS + 1]) {
      expect(() => new HlcClock({ clock, maxForwardDriftMs: drift })).toThrow(
        expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }),
      );
    }
    // `undefined` and `null` mean "no start" (the default).
    for (const start of BAD_HLCS.filter((h) => h !== undefined && h !== null)) {
      expect(() => new HlcClock({ clock, start: start as Hlc })).toThrow(
        expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }),
      );
    }
    for (const bad of [undefined, null, {}, { clock: {} }, { clock: { nowMs: 5 } }]) {
      expect(() => new HlcClock(bad as never)).toThrow(
        expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' }),
      );
    }
  });
});

type Action = { kind: 'tick'; wallMs: number } | { kind: 'observe'; wallMs: number; remote: Hlc };

const BASE_MS = 1_700_000_000_000;
/** Wall readings near a base with frequent small backward jumps and rare large ones. */
const arbWall = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: BASE_MS - 3000, max: BASE_MS + 3000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: BASE_MS }) },
  { weight: 1, arbitrary: fc.constantFrom(0, BASE_MS + 50_000) },
);
/** Remotes near the base, far in the future, or at the very top; counters near both ends. */
const arbRemote: fc.Arbitrary<Hlc> = fc.record({
  wallMs: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: BASE_MS - 3000, max: BASE_MS + 6000 }) },
    { weight: 2, arbitrary: fc.integer({ min: BASE_MS, max: MAX_HLC_WALL_MS }) },
    { weight: 1, arbitrary: fc.constant(MAX_HLC_WALL_MS) },
  ),
  logical: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }) },
    { weight: 1, arbitrary: fc.integer({ min: MAX_HLC_LOGICAL - 2, max: MAX_HLC_LOGICAL }) },
  ),
});
const arbAction: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('tick' as const), wallMs: arbWall }),
  fc.record({ kind: fc.constant('observe' as const), wallMs: arbWall, remote: arbRemote }),
);

function maxHlc(a: Hlc, b: Hlc): Hlc {
  return compareHlc(a, b) >= 0 ? a : b;
}

describe('HlcClock properties', () => {
  test.prop(
    [
      fc.array(arbAction, { maxLength: 120 }),
      fc.constantFrom(0, 1, 100, 2500, DEFAULT_MAX_FORWARD_DRIFT_MS),
      fc.oneof(fc.constant(ZERO_HLC), arbRemote),
    ],
    { numRuns: 300 },
  )(
    'stays strictly increasing, never behind a merged remote, and bounded ahead',
    (actions, driftMs, start) => {
      const wall = new ManualClock(0);
      const c = new HlcClock({ clock: wall, maxForwardDriftMs: driftMs, start });
      // `floor` is the greatest timestamp issued or merged (remotes bounded as the rules say).
      let floor = start;
      let maxWallMs = -Infinity;
      let carries = 0;
      for (const action of actions) {
        wall.ms = action.wallMs;
        maxWallMs = Math.max(maxWallMs, action.wallMs);
        const before = c.peek();
        if (action.kind === 'observe') {
          c.observe(action.remote); // never throws, however far ahead the remote is
          const capMs = Math.min(action.wallMs + driftMs, MAX_HLC_WALL_MS);
          const withinBound = action.remote.wallMs <= capMs;
          floor = maxHlc(floor, withinBound ? action.remote : { wallMs: capMs, logical: 0 });
          // A remote moves the clock to at most max(before, wall + bound).
          expect(c.peek().wallMs).toBeLessThanOrEqual(Math.max(before.wallMs, capMs));
          if (withinBound) expect(compareHlc(c.peek(), action.remote)).toBeGreaterThanOrEqual(0);
          else expect(c.peek().wallMs).toBeGreaterThanOrEqual(capMs);
        } else {
          if (before.wallMs === MAX_HLC_WALL_MS && before.logical === MAX_HLC_LOGICAL) {
            expect(() => c.now()).toThrow(expect.objectContaining({ code: 'ARE_LIMIT_EXCEEDED' }));
            expect(c.peek()).toEqual(before);
            continue;
          }
          const t = c.now();
          expect(compareHlc(t, floor)).toBeGreaterThan(0);
          if (action.wallMs > floor.wallMs) {
            expect(t).toEqual({ wallMs: action.wallMs, logical: 0 });
          } else if (floor.logical === MAX_HLC_LOGICAL) {
            expect(t).toEqual({ wallMs: floor.wallMs + 1, logical: 0 });
            carries++;
          } else {
            expect(t).toEqual({ wallMs: floor.wallMs, logical: floor.logical + 1 });
          }
          floor = t;
        }
        expect(c.peek()).toEqual(floor);
        // Remotes pull the clock at most the bound past the greatest wall reading (plus carries).
        expect(c.peek().wallMs).toBeLessThanOrEqual(
          Math.max(start.wallMs, Math.min(maxWallMs + driftMs, MAX_HLC_WALL_MS)) + carries,
        );
      }
    },
  );

  test.prop([fc.array(fc.tuple(arbWall, fc.nat(2000), fc.boolean()), { maxLength: 60 }), fc.nat(10_000)], {
    numRuns: 150,
  })(
    'two peers, one with a clock hours ahead, each stay increasing and the slow one stays bounded',
    (steps, driftMs) => {
      const hoursMs = 3 * 3600 * 1000;
      const slowWall = new ManualClock(0);
      const fastWall = new ManualClock(0);
      const slow = new HlcClock({ clock: slowWall, maxForwardDriftMs: driftMs });
      const fast = new HlcClock({ clock: fastWall, maxForwardDriftMs: driftMs });
      let lastSlow = ZERO_HLC;
      let lastFast = ZERO_HLC;
      let maxSlowWallMs = 0;
      for (const [slowMs, jitterMs, slowSends] of steps) {
        slowWall.ms = slowMs;
        fastWall.ms = slowMs + hoursMs + jitterMs;
        maxSlowWallMs = Math.max(maxSlowWallMs, slowMs);
        const sent = slowSends ? slow.now() : fast.now();
        (slowSends ? fast : slow).observe(sent);
        const s = slow.now();
        const f = fast.now();
        expect(compareHlc(s, lastSlow)).toBeGreaterThan(0);
        expect(compareHlc(f, lastFast)).toBeGreaterThan(0);
        // What the fast peer received from the slow one is within its bound, so it dominates it.
        if (slowSends && sent.wallMs <= fastWall.ms + driftMs) expect(compareHlc(f, sent)).toBeGreaterThan(0);
        expect(s.wallMs).toBeLessThanOrEqual(maxSlowWallMs + driftMs);
        lastSlow = s;
        lastFast = f;
      }
    },
  );
});
