/**
 * Flushes and compactions on worker threads (node-background.ts) against the same store run
 * inline: random workloads on a real directory with tiny memtables (so many flushes and
 * compactions overlap with writes, reads, snapshots and scans) must agree with a Map model at
 * every check, after `flush()`/`compact()`, and after close and reopen (with or without the
 * workers). A merger that reports failures must surface them as the store's typed sticky error.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptionError, IoError, NoSpaceError } from '../errors.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { NodeFs } from '../io/node-fs.ts';
import type { BackgroundMerger, MergeOutcome } from './background.ts';
import { Lsm, type LsmOptions, WriteBatch } from './lsm.ts';
import { MergeThread, nodeBackgroundMerger } from './node-background.ts';

const root = mkdtempSync(join(tmpdir(), 'aregula-bg-'));
let dirs = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const small: LsmOptions = { memtableBytes: 2048, blockBytes: 256, compactionMinRuns: 2 };

function openBg(dir: string, options: LsmOptions = small): Lsm {
  return Lsm.open(new NodeFs(dir), { ...options, background: nodeBackgroundMerger(dir) });
}

function dump(db: Lsm, snapshot?: ReturnType<Lsm['snapshot']>): [string, string][] {
  return [...db.scan(snapshot ? { snapshot } : {})].map(([k, v]) => [hex(k), hex(v)]);
}

function sortedModel(m: Map<string, string>): [string, string][] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

type Cmd =
  | { kind: 'put'; key: number; value: number }
  | { kind: 'delete'; key: number }
  | { kind: 'batch'; ops: { key: number; value: number | undefined }[] }
  | { kind: 'flush' }
  | { kind: 'compact' }
  | { kind: 'reopen'; workers: boolean };

const keyOf = (k: number) => Uint8Array.of(k >> 8, k & 0xff, 0x6b);
const valueBytes = (v: number) => new Uint8Array(24 + (v % 40)).fill(v & 0xff);

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('put' as const), key: fc.nat(300), value: fc.nat(255) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat(300) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('batch' as const),
      ops: fc.array(fc.record({ key: fc.nat(300), value: fc.option(fc.nat(255), { nil: undefined }) }), {
        minLength: 1,
        maxLength: 40,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), workers: fc.boolean() }) },
);

describe('flushes and compactions on worker threads', () => {
  it('agree with a Map model through writes, snapshots, flushes, compactions and reopens', () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { minLength: 20, maxLength: 160 }), (cmds) => {
        const dir = join(root, `m${dirs++}`);
        let db = openBg(dir);
        const model = new Map<string, string>();
        try {
          for (const [i, c] of cmds.entries()) {
            if (c.kind === 'put') {
              db.put(keyOf(c.key), valueBytes(c.value));
              model.set(hex(keyOf(c.key)), hex(valueBytes(c.value)));
            } else if (c.kind === 'delete') {
              db.delete(keyOf(c.key));
              model.delete(hex(keyOf(c.key)));
            } else if (c.kind === 'batch') {
              const b = new WriteBatch();
              for (const op of c.ops) {
                if (op.value === undefined) b.delete(keyOf(op.key));
                else b.put(keyOf(op.key), valueBytes(op.value));
              }
              db.write(b);
              for (const op of c.ops) {
                if (op.value === undefined) model.delete(hex(keyOf(op.key)));
                else model.set(hex(keyOf(op.key)), hex(valueBytes(op.value)));
              }
            } else if (c.kind === 'flush') db.flush();
            else if (c.kind === 'compact') db.compact();
            else {
              db.close();
              db = c.workers ? openBg(dir) : Lsm.open(new NodeFs(dir), small);
            }
            if (i % 16 === 0) {
              // A snapshot taken now must keep this state while later work runs in the background.
              const snap = db.snapshot();
              const want = sortedModel(model);
              for (let k = 0; k < 40; k++) db.put(keyOf(1000 + k), valueBytes(k));
              db.maintain(1024);
              expect(dump(db, snap)).toEqual(want);
              snap.release();
              for (let k = 0; k < 40; k++) db.delete(keyOf(1000 + k));
            }
          }
          expect(dump(db)).toEqual(sortedModel(model));
          for (const [k, v] of model) expect(hex(db.get(Buffer.from(k, 'hex'))!)).toBe(v);
          db.close();
          const again = Lsm.open(new NodeFs(dir), small);
          expect(dump(again)).toEqual(sortedModel(model));
          again.close();
        } finally {
          db.close();
        }
      }),
      { numRuns: 12 },
    );
  });

  it('leaves the same data as inline work, with tables written by the workers', async () => {
    const dirBg = join(root, `e${dirs++}`);
    const dirInline = join(root, `e${dirs++}`);
    const merger = nodeBackgroundMerger(dirBg);
    // Until the workers have started, a store runs its jobs inline; wait so all of them go out.
    for (let i = 0; i < 1000 && !merger.ready(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(merger.ready()).toBe(true);
    const started = { flushes: 0, compactions: 0 };
    const counting: BackgroundMerger = {
      ...merger,
      start: (task, flush) => {
        started[flush ? 'flushes' : 'compactions']++;
        return merger.start(task, flush);
      },
    };
    const bg = Lsm.open(new NodeFs(dirBg), { memtableBytes: 4096, background: counting });
    const inline = Lsm.open(new NodeFs(dirInline), { memtableBytes: 4096 });
    for (let i = 0; i < 3000; i++) {
      const k = keyOf((i * 7919) % 2000);
      for (const db of [bg, inline]) {
        if (i % 11 === 0) db.delete(k);
        else db.put(k, valueBytes(i));
      }
    }
    bg.flush();
    inline.flush();
    expect(bg.stats().flushes).toBeGreaterThan(10);
    expect(dump(bg)).toEqual(dump(inline));
    bg.compact();
    expect(bg.stats().tables).toBe(1);
    expect(dump(bg)).toEqual(dump(inline));
    expect(started.flushes).toBe(bg.stats().flushes);
    expect(started.compactions).toBe(bg.stats().compactions);
    expect(started.compactions).toBeGreaterThan(1);
    bg.close();
    inline.close();
  });
});

/** A merger that never runs anything and reports `outcome` for every task. */
function failingMerger(outcome: MergeOutcome): BackgroundMerger {
  let next = 1;
  return {
    ready: () => true,
    start: () => next++,
    poll: () => outcome,
    wait: () => outcome,
    close: () => {},
  };
}

describe('background failures', () => {
  const cases: [string, MergeOutcome, new (...args: never[]) => Error][] = [
    ['ARE_NO_SPACE', { ok: false, code: 'ARE_NO_SPACE', message: 'disk full' }, NoSpaceError],
    [
      'ARE_CORRUPTION',
      { ok: false, code: 'ARE_CORRUPTION', message: 'bad block', file: '000007.sst', offset: 96 },
      CorruptionError,
    ],
    ['other codes', { ok: false, code: 'ARE_IO', message: 'device gone' }, IoError],
  ];
  for (const [name, outcome, type] of cases) {
    it(`${name}: becomes the sticky error of the next write, reads keep working`, () => {
      const db = Lsm.open(new MemoryFs(), { memtableBytes: 1024, background: failingMerger(outcome) });
      let thrown: unknown;
      try {
        for (let i = 0; i < 500; i++) db.put(keyOf(i), valueBytes(i));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(type);
      if (thrown instanceof CorruptionError) expect(thrown.file).toBe('000007.sst');
      expect(() => db.put(keyOf(1), valueBytes(1))).toThrow(type);
      expect(db.get(keyOf(0))).toEqual(valueBytes(0));
      db.close();
    });
  }
});

describe('a worker that cannot start', () => {
  it('is never ready, and fails a task sent anyway with ARE_IO instead of leaving a store waiting forever', () => {
    const thread = new MergeThread(new URL('file:///nonexistent/aregula-worker.ts'));
    expect(thread.ready()).toBe(false);
    const task = { output: 1, memtable: undefined, inputs: [], older: [], smallestSnapshot: 0, table: {} };
    thread.send({ kind: 'task', id: 1, dir: root, task });
    const outcome = thread.wait(1);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.code).toBe('ARE_IO');
      expect(outcome.message).toMatch(/failed/);
    }
  });
});

describe('a worker that stops answering', () => {
  it('fails the task it was given with ARE_IO after the bounded wait, and every later task too', () => {
    const thread = new MergeThread(new URL('./testdata/silent-worker.mjs', import.meta.url));
    for (let i = 0; i < 200 && !thread.ready(); i++)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    expect(thread.ready()).toBe(true);
    const task = { output: 1, memtable: undefined, inputs: [], older: [], smallestSnapshot: 0, table: {} };
    thread.send({ kind: 'task', id: 1, dir: root, task });
    const outcome = thread.wait(1, 300);
    expect(outcome).toMatchObject({ ok: false, code: 'ARE_IO' });
    if (!outcome.ok) expect(outcome.message).toMatch(/did not answer within 300 ms/);
    expect(thread.ready()).toBe(false);
    thread.send({ kind: 'task', id: 2, dir: root, task });
    expect(thread.wait(2, 300)).toMatchObject({ ok: false, code: 'ARE_IO' });
  });
});
