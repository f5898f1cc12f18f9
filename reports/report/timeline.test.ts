import { describe, expect, it } from 'vitest';
import { type ActionInput, parseRunFile, type RunFileInput } from './schema.ts';
import { runFileFixture } from './test-fixtures.ts';
import {
  actionNetSteps,
  buildTimeline,
  downPeriods,
  latencyPoints,
  networkPeriods,
  RATE_BUCKETS,
  ratePoints,
  TIMELINE_OPS_MAX,
  timelineOps,
  traceNetSteps,
} from './timeline.ts';

function fixture(overrides: Record<string, unknown> = {}): RunFileInput {
  return parseRunFile('r.json', { ...runFileFixture(), ...overrides });
}

describe('operations', () => {
  it('pairs each invoke with its completion; one never completed stays open until the end', () => {
    const ops = timelineOps(fixture().history, 1000);
    expect(ops.map((o) => [o.index, o.peer, o.kind, o.outcome, o.startMs, o.endMs, o.error])).toEqual([
      [2, 'pi', 'write', 'ok', 100, 100, undefined],
      [4, 'phone', 'read', 'ok', 150, 180, undefined],
      [7, 'pi', 'write', 'fail', 400, 400, 'DOWN'],
      [11, 'phone', 'write', 'open', 900, 1000, undefined],
    ]);
  });

  it('measures latency of completed operations only', () => {
    const points = latencyPoints(timelineOps(fixture().history, 1000));
    expect(points.map((p) => [p.peer, p.kind, p.outcome, p.timeMs, p.latencyMs])).toEqual([
      ['pi', 'write', 'ok', 100, 0],
      ['phone', 'read', 'ok', 150, 30],
      ['pi', 'write', 'fail', 400, 0],
    ]);
  });

  it(`counts operations in ${RATE_BUCKETS} buckets by kind and outcome`, () => {
    const { widthMs, points } = ratePoints(timelineOps(fixture().history, 1000), 1000);
    expect(widthMs).toBe(20);
    expect(points).toEqual([
      { bucketMs: 100, kind: 'write', outcome: 'ok', count: 1 },
      { bucketMs: 140, kind: 'read', outcome: 'ok', count: 1 },
      { bucketMs: 400, kind: 'write', outcome: 'fail', count: 1 },
      { bucketMs: 900, kind: 'write', outcome: 'open', count: 1 },
    ]);
    expect(ratePoints([], 0).widthMs).toBe(1);
  });
});

describe('peer down periods', () => {
  it('runs from a crash to the restart that came up', () => {
    expect(downPeriods(fixture().history, 1000)).toEqual([
      { peer: 'pi', kind: 'down', startMs: 300, endMs: 700, label: 'down (power loss)', openStart: false },
    ]);
  });

  it('stays open through a failed restart, and to the end when the peer never came back', () => {
    const history = [
      { index: 0, peer: 'pi', kind: 'crash', type: 'info', timeMs: 10, detail: 'power loss' },
      { index: 1, peer: 'pi', kind: 'restart', type: 'info', timeMs: 20, detail: 'failed: ARE_IO' },
      { index: 2, peer: 'pi', kind: 'crash', type: 'info', timeMs: 25, detail: 'disk replaced' },
      { index: 3, peer: 'pi', kind: 'restart', type: 'info', timeMs: 30, detail: 'up' },
      { index: 4, peer: 'tab', kind: 'crash', type: 'info', timeMs: 40 },
    ];
    const run = fixture({ history });
    expect(downPeriods(run.history, 99).map((p) => [p.peer, p.startMs, p.endMs, p.label])).toEqual([
      ['pi', 10, 30, 'down (power loss)'],
      ['tab', 40, 99, 'down (crash) until the end'],
    ]);
  });
});

describe('network periods', () => {
  it('reads partitions, isolations, blocks and heals from trace notes', () => {
    const trace = [
      '100|write pi',
      '120.5|note net isolate pi',
      '130|note net block phone->pi',
      '140|note net unblock phone->pi',
      '150|note net partition pi,tab | phone',
      '200|note net heal',
      '300|note liveness: heal, restart, stop faults',
      '300|note net calm',
      'garbage line',
    ];
    const { steps, startMs, livenessMs } = traceNetSteps(trace);
    expect(startMs).toBe(100);
    expect(livenessMs).toBe(300);
    expect(steps.map((s) => s.op)).toEqual([
      'isolate',
      'block',
      'unblock',
      'partition',
      'heal',
      'heal',
      'heal',
    ]);
    const periods = networkPeriods(steps, { knownFromMs: 100, endMs: 500, openBeforeStart: true });
    expect(periods.map((p) => [p.kind, p.peer, p.startMs, p.endMs, p.label])).toEqual([
      ['block', 'phone', 130, 140, 'link to pi cut'],
      ['isolate', 'pi', 120.5, 200, 'isolated'],
      ['partition', undefined, 150, 200, 'partition pi,tab | phone'],
    ]);
  });

  it('shades from the tail’s start a cut that was already open when the tail begins', () => {
    const { steps, startMs } = traceNetSteps([
      '500|net pi->phone #3',
      '600|note net heal',
      '610|note net unblock a->b',
    ]);
    const periods = networkPeriods(steps, { knownFromMs: startMs!, endMs: 900, openBeforeStart: true });
    expect(periods.map((p) => [p.kind, p.peer, p.startMs, p.endMs, p.openStart])).toEqual([
      ['partition', undefined, 500, 600, true],
      ['block', 'a', 500, 610, true],
    ]);
  });

  it('does not invent a cut from the liveness phase’s unconditional calm', () => {
    const { steps, startMs } = traceNetSteps(['500|note liveness: heal', '500|note net calm']);
    expect(networkPeriods(steps, { knownFromMs: startMs!, endMs: 900, openBeforeStart: true })).toEqual([]);
  });

  it('closes a cut still open at the end of the run, and replaces a partition by the next one', () => {
    const { steps } = traceNetSteps([
      '1|note net partition a | b',
      '5|note net partition a,b | c',
      '7|note net isolate c',
    ]);
    const periods = networkPeriods(steps, { knownFromMs: 1, endMs: 9, openBeforeStart: false });
    expect(periods.map((p) => [p.kind, p.startMs, p.endMs, p.label])).toEqual([
      ['partition', 1, 5, 'partition a | b'],
      ['partition', 5, 9, 'partition a,b | c'],
      ['isolate', 7, 9, 'isolated'],
    ]);
  });

  it('reads network steps from performed actions only', () => {
    const actions: ActionInput[] = [
      { id: 0, timeMs: 10, kind: 'partition', performed: true, detail: { groups: [['a'], ['b', 'c']] } },
      { id: 1, timeMs: 20, kind: 'isolate', performed: false, peer: 'a' },
      { id: 2, timeMs: 30, kind: 'block', performed: true, peer: 'a', detail: { to: 'b' } },
      { id: 3, timeMs: 40, kind: 'heal', performed: true },
      { id: 4, timeMs: 50, kind: 'write', performed: true, peer: 'a' },
      { id: 5, timeMs: 60, kind: 'block', performed: true, peer: 'a', detail: 'malformed' },
    ];
    const steps = actionNetSteps(actions);
    expect(steps.map((s) => [s.op, s.timeMs])).toEqual([
      ['partition', 10],
      ['block', 30],
      ['heal', 40],
    ]);
    expect(steps[0]?.groups).toBe('a | b,c');
  });
});

describe('the whole timeline', () => {
  it('takes network periods from the trace tail when the file has no actions', () => {
    const t = buildTimeline(fixture());
    expect(t.peers).toEqual(['pi', 'phone']);
    expect(t.endMs).toBe(1000);
    expect(t.networkSource).toBe('trace-tail');
    expect(t.traceStartMs).toBe(200);
    expect(t.nemesis.map((p) => [p.kind, p.peer, p.startMs, p.endMs])).toEqual([
      ['down', 'pi', 300, 700],
      ['partition', undefined, 250, 600],
    ]);
    expect(t.events.map((e) => [e.peer, e.kind, e.timeMs, e.label])).toEqual([
      ['pi', 'restart', 0, 'up'],
      ['phone', 'restart', 0, 'up'],
      ['pi', 'crash', 300, 'power loss'],
      ['pi', 'restart', 700, 'up'],
      ['phone', 'sync', 800, 'hello'],
    ]);
  });

  it('prefers the actions, closing their open cuts when the liveness phase begins', () => {
    const actions = [{ id: 0, timeMs: 100, kind: 'isolate', performed: true, peer: 'phone' }];
    const t = buildTimeline(fixture({ actions }));
    expect(t.networkSource).toBe('actions');
    expect(t.nemesis.filter((p) => p.kind !== 'down')).toEqual([
      { peer: 'phone', kind: 'isolate', startMs: 100, endMs: 950, label: 'isolated', openStart: false },
    ]);
  });

  it('has no network periods without actions or net notes, and adds lanes for peers only a period names', () => {
    const t = buildTimeline(
      fixture({
        trace_tail: [],
        actions: [{ id: 0, timeMs: 5, kind: 'isolate', performed: true, peer: 'hub' }],
      }),
    );
    expect(t.peers).toEqual(['pi', 'phone', 'hub']);
    expect(buildTimeline(fixture({ trace_tail: [] })).networkSource).toBe('none');
  });

  it(`draws at most ${TIMELINE_OPS_MAX} operations, the last ones, and counts the rest`, () => {
    const history: Record<string, unknown>[] = [];
    for (let i = 0; i < TIMELINE_OPS_MAX + 10; i++) {
      history.push({ index: 2 * i, peer: 'pi', kind: 'write', type: 'invoke', timeMs: i });
      history.push({
        index: 2 * i + 1,
        peer: 'pi',
        kind: 'write',
        type: 'ok',
        timeMs: i,
        invokeIndex: 2 * i,
      });
    }
    const t = buildTimeline(fixture({ history }));
    expect(t.ops).toHaveLength(TIMELINE_OPS_MAX);
    expect(t.opsHidden).toBe(10);
    expect(t.ops[0]?.startMs).toBe(10);
  });
});
