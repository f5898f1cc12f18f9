/**
 * The history: records in order with indexes and virtual times, completions linked to their
 * invokes, misuse refused (completing twice, completing a non-invoke, unknown indexes), and
 * snapshots that later mutation cannot change and that serialise to JSON as recorded.
 */

import { describe, expect, it } from 'vitest';
import { AssertionError } from '../engine/assert.ts';
import { History, jsonSafe } from './history.ts';

function clockAt(start: number): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('History', () => {
  it('records invokes, completions and infos in order, with indexes and virtual times', () => {
    const clock = clockAt(100);
    const h = new History(clock.now);
    const w = h.invoke('p1', 'write', { ops: [{ kind: 'delete', collection: 'c', id: 'x' }] });
    clock.advance(5);
    const r = h.invoke('p2', 'read', { collection: 'c', id: 'x' });
    h.ok(w, { author: 'ab', seq: 1, hlc: { wallMs: 100, logical: 0 } });
    clock.advance(1);
    h.fail(r, 'DOWN');
    h.info('p1', 'crash', 'power loss');
    expect(h.records.map((x) => [x.index, x.peer, x.kind, x.type, x.timeMs, x.invokeIndex])).toEqual([
      [0, 'p1', 'write', 'invoke', 100, undefined],
      [1, 'p2', 'read', 'invoke', 105, undefined],
      [2, 'p1', 'write', 'ok', 105, 0],
      [3, 'p2', 'read', 'fail', 106, 1],
      [4, 'p1', 'crash', 'info', 106, undefined],
    ]);
    expect(h.records[3]!.error).toBe('DOWN');
    expect(h.records[2]!.result).toEqual({ author: 'ab', seq: 1, hlc: { wallMs: 100, logical: 0 } });
    expect(h.completion(w)).toBe(h.records[2]);
    expect(h.completion(r)).toBe(h.records[3]);
    expect(h.completion(4)).toBeUndefined();
  });

  it('keeps a null read result and omits absent fields', () => {
    const h = new History(() => 0);
    const r = h.invoke('p', 'read', { collection: 'c', id: 'x' });
    h.ok(r, null);
    const c = h.invoke('p', 'commit');
    h.ok(c);
    expect(h.records[1]!.result).toBeNull();
    expect('result' in h.records[3]!).toBe(false);
    expect('detail' in h.records[2]!).toBe(false);
    expect(JSON.parse(JSON.stringify(h))).toEqual([
      { index: 0, peer: 'p', kind: 'read', type: 'invoke', timeMs: 0, detail: { collection: 'c', id: 'x' } },
      { index: 1, peer: 'p', kind: 'read', type: 'ok', timeMs: 0, result: null, invokeIndex: 0 },
      { index: 2, peer: 'p', kind: 'commit', type: 'invoke', timeMs: 0 },
      { index: 3, peer: 'p', kind: 'commit', type: 'ok', timeMs: 0, invokeIndex: 2 },
    ]);
  });

  it('refuses to complete an invoke twice, a non-invoke, or an unknown index', () => {
    const h = new History(() => 0);
    const i = h.invoke('p', 'write', { ops: [] });
    h.ok(i, { author: 'ab', seq: 1, hlc: { wallMs: 0, logical: 0 } });
    expect(() => h.ok(i)).toThrow(AssertionError);
    expect(() => h.fail(i, 'X')).toThrow(/already completed/);
    expect(() => h.ok(1)).toThrow(/not an invoke/);
    h.info('p', 'sync', 'hello');
    expect(() => h.fail(2, 'X')).toThrow(/not an invoke/);
    expect(() => h.ok(99)).toThrow(/no record at index 99/);
    expect(() => h.ok(-1)).toThrow(/no record/);
    expect(h.records).toHaveLength(3); // the refused calls recorded nothing
  });

  it('refuses a fail without an error code and leaves the invoke open', () => {
    const h = new History(() => 0);
    const i = h.invoke('p', 'commit');
    expect(() => h.fail(i, undefined as unknown as string)).toThrow(/error code/);
    h.fail(i, 'IO');
    expect(h.completion(i)?.error).toBe('IO');
  });

  it('snapshots details and results: later mutation by the caller changes nothing', () => {
    const h = new History(() => 0);
    const fields: Record<string, unknown> = { a: 1 };
    const ops = [{ kind: 'patch', collection: 'c', id: 'x', fields }];
    const i = h.invoke('p', 'write', { ops });
    const result = { author: 'ab', seq: 1, hlc: { wallMs: 0, logical: 0 } };
    h.ok(i, result);
    fields.a = 2;
    ops.push({ kind: 'patch', collection: 'c', id: 'y', fields: {} });
    result.seq = 7;
    expect(h.records[0]!.detail).toEqual({
      ops: [{ kind: 'patch', collection: 'c', id: 'x', fields: { a: 1 } }],
    });
    expect((h.records[1]!.result as { seq: number }).seq).toBe(1);
    expect(Object.isFrozen(h.records[0])).toBe(true);
  });

  it('toJSON returns copies', () => {
    const h = new History(() => 3);
    h.info('p', 'fault', 'clock jump');
    const json = h.toJSON();
    json[0]!.peer = 'changed';
    expect(h.records[0]!.peer).toBe('p');
  });
});

describe('jsonSafe', () => {
  it('turns bytes into hex, Maps and Sets into JSON, drops undefined and functions', () => {
    const v = {
      key: Uint8Array.of(0, 1, 0xab),
      sub: Uint8Array.of(9, 0xff, 7).subarray(1, 2),
      vector: new Map([
        ['aa', 3],
        ['bb', 4],
      ]),
      byBytes: new Map([[1, 'x']]),
      set: new Set(['a']),
      big: 10n,
      inf: Number.POSITIVE_INFINITY,
      nan: Number.NaN,
      gone: undefined,
      fn: () => 1,
      list: [undefined, 1],
      err: new RangeError('boom'),
    };
    expect(jsonSafe(v)).toEqual({
      key: '0001ab',
      sub: 'ff',
      vector: { aa: 3, bb: 4 },
      byBytes: [[1, 'x']],
      set: ['a'],
      big: '10',
      inf: 'Infinity',
      nan: 'NaN',
      list: [null, 1],
      err: { name: 'RangeError', message: 'boom' },
    });
  });

  it('keeps a __proto__ key as data and cuts cycles at a depth limit', () => {
    const o = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    const copy = jsonSafe(o) as Record<string, unknown>;
    expect(Object.keys(copy)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => JSON.stringify(jsonSafe(cyclic))).not.toThrow();
    expect(JSON.stringify(jsonSafe(cyclic))).toContain('<too deep>');
  });
});
