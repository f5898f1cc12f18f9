/**
 * Scheduler: order by time then insertion (against a sorted model), cancel (including heap
 * compaction), runUntil / runUntilIdle semantics, the eventsMax limit, and the trace: its hash
 * against an independent SHA-256 of the expected text, its ring of last lines, and rejection
 * of multi-line labels and notes.
 */

import { createHash } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../engine/assert.ts';
import { LimitExceededError } from '../engine/errors.ts';
import { SimRandom } from './random.ts';
import { EventLimitError, Scheduler, TRACE_TAIL_LINES } from './scheduler.ts';

const invalid = expect.objectContaining({ code: 'ARE_INVALID_ARGUMENT' });

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

describe('ordering', () => {
  it('starts at time 0 with nothing pending', () => {
    const s = new Scheduler();
    expect(s.nowMs).toBe(0);
    expect(s.pending).toBe(0);
    expect(s.executed).toBe(0);
    expect(s.step()).toBe(false);
  });

  it('runs events by time, ties in insertion order, and advances now to each', () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.at(10, 'c', () => log.push(`c@${s.nowMs}`));
    s.at(5, 'a', () => log.push(`a@${s.nowMs}`));
    s.at(10, 'd', () => log.push(`d@${s.nowMs}`));
    s.after(5, 'b', () => log.push(`b@${s.nowMs}`));
    s.at(7.5, 'frac', () => log.push(`frac@${s.nowMs}`));
    while (s.step()) {}
    expect(log).toEqual(['a@5', 'b@5', 'frac@7.5', 'c@10', 'd@10']);
    expect(s.executed).toBe(5);
    expect(s.nowMs).toBe(10);
  });

  it('runs an event scheduled now by a running event after those already queued for now', () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.at(1, 'first', () => s.after(0, 'spawned', () => log.push('spawned')));
    s.at(1, 'second', () => log.push('second'));
    while (s.step()) {}
    expect(log).toEqual(['second', 'spawned']);
  });

  test.prop([fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 })])(
    'matches a stable sort by time',
    (times) => {
      const s = new Scheduler();
      const order: number[] = [];
      times.forEach((t, i) => {
        s.at(t, `e${i}`, () => order.push(i));
      });
      while (s.step()) {}
      const expected = times.map((t, i) => ({ t, i })).sort((x, y) => x.t - y.t || x.i - y.i);
      expect(order).toEqual(expected.map((e) => e.i));
    },
  );

  it('refuses to schedule in the past, at a non-finite time or after a negative delay', () => {
    const s = new Scheduler();
    s.at(10, 'x', () => {});
    s.step();
    expect(() => s.at(9, 'past', () => {})).toThrow(AssertionError);
    expect(() => s.at(Number.NaN, 'nan', () => {})).toThrow(invalid);
    expect(() => s.at(Number.POSITIVE_INFINITY, 'inf', () => {})).toThrow(invalid);
    expect(() => s.after(-1, 'neg', () => {})).toThrow(invalid);
    expect(() => s.after(Number.NaN, 'nan', () => {})).toThrow(invalid);
    expect(s.pending).toBe(0);
    s.at(10, 'now is fine', () => {});
    expect(s.pending).toBe(1);
  });
});

describe('cancel', () => {
  it('stops a pending event and is a no-op for run, cancelled or unknown ids', () => {
    const s = new Scheduler();
    const log: string[] = [];
    const a = s.at(1, 'a', () => log.push('a'));
    const b = s.at(2, 'b', () => log.push('b'));
    s.at(3, 'c', () => s.cancel(b));
    expect(s.pending).toBe(3);
    s.cancel(a);
    s.cancel(a);
    s.cancel(12345);
    expect(s.pending).toBe(2);
    s.step(); // b at 2 runs: cancelling it from c comes too late
    s.step();
    expect(log).toEqual(['b']);
    expect(s.pending).toBe(0);
    expect(s.step()).toBe(false);
    expect(s.executed).toBe(2);
  });

  it('lets an event cancel a later one', () => {
    const s = new Scheduler();
    const log: string[] = [];
    const late = s.at(5, 'late', () => log.push('late'));
    s.at(1, 'early', () => s.cancel(late));
    s.runUntil(10);
    expect(log).toEqual([]);
    expect(s.executed).toBe(1);
  });

  it('keeps the order of survivors when many cancels compact the heap', () => {
    const s = new Scheduler();
    const r = new SimRandom(11);
    const ran: number[] = [];
    const ids: number[] = [];
    const times: number[] = [];
    for (let i = 0; i < 6000; i++) {
      const t = r.int(1000);
      times.push(t);
      ids.push(s.at(t, `e${i}`, () => ran.push(i)));
    }
    const cancelled = new Set<number>();
    for (let i = 0; i < 6000; i++) {
      if (r.chance(0.8)) {
        s.cancel(ids[i]!);
        cancelled.add(i);
      }
    }
    expect(s.pending).toBe(6000 - cancelled.size);
    s.runUntil(1000);
    const expected = times
      .map((t, i) => ({ t, i }))
      .filter((e) => !cancelled.has(e.i))
      .sort((x, y) => x.t - y.t || x.i - y.i)
      .map((e) => e.i);
    expect(ran).toEqual(expected);
  });
});

describe('running', () => {
  it('runUntil runs events up to and including the time, then sets now to it', () => {
    const s = new Scheduler();
    const log: number[] = [];
    for (const t of [1, 5, 10, 11]) s.at(t, `t${t}`, () => log.push(t));
    s.at(2, 'spawner', () => s.at(9, 'spawned', () => log.push(9)));
    s.runUntil(10);
    expect(log).toEqual([1, 5, 9, 10]);
    expect(s.nowMs).toBe(10);
    expect(s.pending).toBe(1);
    s.runUntil(10.5);
    expect(s.nowMs).toBe(10.5);
    expect(log).toEqual([1, 5, 9, 10]);
    expect(() => s.runUntil(3)).toThrow(AssertionError);
    expect(() => s.runUntil(Number.NaN)).toThrow(invalid);
  });

  it('runUntilIdle returns true when the queue drains, leaving now at the last event', () => {
    const s = new Scheduler();
    let n = 0;
    const tick = (): void => {
      n++;
      if (n < 5) s.after(10, 'tick', tick);
    };
    s.after(10, 'tick', tick);
    expect(s.runUntilIdle(1000)).toBe(true);
    expect(n).toBe(5);
    expect(s.nowMs).toBe(50);
    expect(s.runUntilIdle(1000)).toBe(true);
    expect(s.nowMs).toBe(50);
  });

  it('runUntilIdle returns false when events remain after the limit, and now becomes the limit', () => {
    const s = new Scheduler();
    const tick = (): void => {
      s.after(10, 'tick', tick);
    };
    s.after(10, 'tick', tick);
    expect(s.runUntilIdle(95)).toBe(false);
    expect(s.executed).toBe(9);
    expect(s.nowMs).toBe(95);
    expect(s.pending).toBe(1);
    expect(() => s.runUntilIdle(90)).toThrow(AssertionError);
  });

  it('throws a typed error instead of running past eventsMax', () => {
    const s = new Scheduler({ eventsMax: 100 });
    const forever = (): void => {
      s.after(1, 'forever', forever);
    };
    s.after(1, 'forever', forever);
    let caught: unknown;
    try {
      s.runUntilIdle(1e9);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EventLimitError);
    expect(caught).toBeInstanceOf(LimitExceededError);
    expect(caught).toMatchObject({ code: 'ARE_LIMIT_EXCEEDED', limit: 'eventsMax', max: 100 });
    expect(s.executed).toBe(100);
    expect(s.pending).toBe(1);
    expect(() => s.step()).toThrow(EventLimitError);
  });

  it('allows exactly eventsMax events, and 0 means none', () => {
    const s = new Scheduler({ eventsMax: 3 });
    for (let i = 0; i < 3; i++) s.at(i, `e${i}`, () => {});
    expect(s.runUntilIdle(10)).toBe(true);
    const none = new Scheduler({ eventsMax: 0 });
    expect(none.step()).toBe(false);
    none.at(0, 'x', () => {});
    expect(() => none.step()).toThrow(EventLimitError);
  });

  it('rejects a bad eventsMax', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new Scheduler({ eventsMax: bad })).toThrow(invalid);
    }
  });

  it('propagates an exception from an event, counting it as run', () => {
    const s = new Scheduler();
    s.at(1, 'boom', () => {
      throw new Error('boom');
    });
    s.at(2, 'after', () => {});
    expect(() => s.step()).toThrow('boom');
    expect(s.executed).toBe(1);
    expect(s.nowMs).toBe(1);
    expect(s.step()).toBe(true);
  });
});

describe('trace', () => {
  it('hashes each event and note as "time|label" lines', () => {
    const s = new Scheduler();
    s.note('start');
    s.at(3, 'net a->b #1', () => s.note('write k1'));
    s.at(4.25, 'timer', () => {});
    s.at(9, 'cancelled', () => {});
    s.cancel(2);
    s.runUntil(20);
    const text = '0|note start\n3|net a->b #1\n3|note write k1\n4.25|timer\n';
    expect(s.traceHash()).toBe(sha256Hex(text));
    expect(s.traceTail(10)).toEqual(['0|note start', '3|net a->b #1', '3|note write k1', '4.25|timer']);
  });

  it('hashes the empty trace as SHA-256 of nothing', () => {
    expect(new Scheduler().traceHash()).toBe(sha256Hex(''));
  });

  it('agrees with a one-shot hash over a long trace, read at several points', () => {
    const s = new Scheduler();
    let text = '';
    for (let i = 0; i < 20_000; i++) {
      s.at(i, `event number ${i}`, () => {});
      s.step();
      text += `${i}|event number ${i}\n`;
      if (i % 7000 === 0) expect(s.traceHash()).toBe(sha256Hex(text));
    }
    expect(text.length).toBeGreaterThan(3 * 64 * 1024);
    expect(s.traceHash()).toBe(sha256Hex(text));
    expect(s.traceHash()).toBe(sha256Hex(text));
  });

  it('keeps the last lines in a bounded ring', () => {
    const s = new Scheduler();
    const total = TRACE_TAIL_LINES + 123;
    for (let i = 0; i < total; i++) s.note(`n${i}`);
    expect(s.traceTail(3)).toEqual([`0|note n${total - 3}`, `0|note n${total - 2}`, `0|note n${total - 1}`]);
    const all = s.traceTail(total);
    expect(all).toHaveLength(TRACE_TAIL_LINES);
    expect(all[0]).toBe(`0|note n${total - TRACE_TAIL_LINES}`);
    expect(s.traceTail(0)).toEqual([]);
    expect(() => s.traceTail(-1)).toThrow(invalid);
  });

  it('rejects labels and notes that span lines', () => {
    const s = new Scheduler();
    expect(() => s.at(1, 'a\nb', () => {})).toThrow(invalid);
    expect(() => s.note('x\ny')).toThrow(invalid);
    expect(s.pending).toBe(0);
    expect(s.traceTail(5)).toEqual([]);
  });

  test.prop([fc.integer()])('the same seed gives the same trace hash; another seed another', (seed) => {
    expect(randomWorkloadHash(seed)).toBe(randomWorkloadHash(seed));
    expect(randomWorkloadHash(seed)).not.toBe(randomWorkloadHash(seed + 1));
  });
});

/** Events that spawn and cancel events at random times, all drawn from `seed`. */
function randomWorkloadHash(seed: number): string {
  const s = new Scheduler();
  const r = new SimRandom(seed);
  const ids: number[] = [];
  let n = 0;
  const spawn = (): void => {
    const id = n++;
    ids.push(
      s.after(r.exponential(10), `job ${id}`, () => {
        if (r.chance(0.1)) s.note(`job ${id} writes ${r.int(100)}`);
        if (r.chance(0.2) && ids.length > 0) s.cancel(r.pick(ids));
        if (n < 300) spawn();
        if (n < 300 && r.chance(0.5)) spawn();
      }),
    );
  };
  spawn();
  s.runUntilIdle(1e9);
  return s.traceHash();
}
