/**
 * Crash tests: power loss at every byte of the last WAL record, and at every file-system step
 * of flush, compaction, incremental background work and open. After each crash the store
 * must reopen to exactly the synced state (or, where the crashed write itself may or may not
 * have landed, to one of the two), and keep working.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CrashError } from '../errors.ts';
import { CrashPolicy, MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { Lsm, type LsmOptions } from './lsm.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
type KV = [string, string | undefined];

const OPTIONS: LsmOptions = {
  memtableBytes: 1024,
  blockBytes: 128,
  backgroundWorkPerOp: 2,
  compactionMinRuns: 2,
};

function dump(db: Lsm): [string, string][] {
  return [...db.scan()].map(([k, v]) => [hex(k), hex(v)]);
}

function modelOf(writes: readonly KV[]): [string, string][] {
  const m = new Map<string, string>();
  for (const [k, v] of writes) {
    if (v === undefined) m.delete(k);
    else m.set(k, v);
  }
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function apply(db: Lsm, [k, v]: KV, sync: boolean): void {
  if (v === undefined) db.delete(bytes(k), { sync });
  else db.put(bytes(k), bytes(v), { sync });
}

const writesArb = fc.array(
  fc.tuple(
    fc.uint8Array({ minLength: 1, maxLength: 3, max: 7 }).map(hex),
    fc.option(fc.uint8Array({ maxLength: 40 }).map(hex), { nil: undefined }),
  ),
  { minLength: 1, maxLength: 80 },
);

/** The three ways a crash may treat unsynced bytes. */
const policies = (seed: number) => [
  { name: 'loseAll', policy: CrashPolicy.loseAll },
  { name: 'keepAll', policy: CrashPolicy.keepAll },
  { name: `random(${seed})`, policy: CrashPolicy.random(new SeededRandom(seed)) },
];

describe('crash at every byte of the last WAL record', () => {
  it('drops a torn last record and keeps every synced write', () => {
    fc.assert(
      fc.property(
        writesArb,
        fc.tuple(fc.string({ maxLength: 3 }), fc.uint8Array({ maxLength: 300 })),
        (writes, last) => {
          const fs = new MemoryFs();
          const db = Lsm.open(fs, { memtableBytes: 1 << 20 });
          for (const w of writes) apply(db, w, true);
          const lastKv: KV = [hex(new TextEncoder().encode(`z${last[0]}`)), hex(last[1])];
          apply(db, lastKv, false);
          const wal = fs.list().filter((f) => f.endsWith('.log'));
          expect(wal).toHaveLength(1);
          const units = fs.pendingDataUnits(wal[0]!);
          expect(units).toBeGreaterThan(13);
          for (let k = 0; k <= units; k++) {
            const copy = fs.clone();
            copy.crash({
              keepDataUnits: (_file, pending) => Math.min(k, pending),
              keepNamespaceOps: (n) => n,
            });
            const reopened = Lsm.open(copy);
            const want = k === units ? modelOf([...writes, lastKv]) : modelOf(writes);
            expect(dump(reopened), `kept ${k} of ${units} bytes`).toEqual(want);
            expect(reopened.stats().recoveredTornBytes).toBe(k === units ? 0 : k);
            reopened.close();
          }
          db.close();
        },
      ),
      { numRuns: 15 },
    );
  });
});

/**
 * Runs `setup` then `action` on a fresh store with a crash armed after `n` mutating
 * operations of `action`. Returns the file system after the crash, or undefined when the
 * action completed before step `n`.
 */
function crashDuring(
  n: number,
  setup: (db: Lsm) => void,
  action: (db: Lsm) => void,
  policy: Parameters<MemoryFs['crash']>[0],
): MemoryFs | undefined {
  const fs = new MemoryFs();
  const db = Lsm.open(fs, OPTIONS);
  setup(db);
  fs.crashAfter(n);
  try {
    action(db);
  } catch (err) {
    expect(err).toBeInstanceOf(CrashError);
  }
  if (!fs.crashed) {
    fs.crashAfter(undefined);
    db.close();
    return undefined;
  }
  fs.crash(policy);
  return fs;
}

/** Crashes `action` at every step under every policy; the store must reopen to `want`. */
function everyStep(setup: (db: Lsm) => void, action: (db: Lsm) => void, want: [string, string][]): number {
  let steps = 0;
  for (let n = 0; ; n++) {
    let completed = false;
    for (const { name, policy } of policies(n)) {
      const fs = crashDuring(n, setup, action, policy);
      if (fs === undefined) {
        completed = true;
        break;
      }
      const db = Lsm.open(fs, OPTIONS);
      expect(dump(db), `crash at step ${n}, ${name}`).toEqual(want);
      db.put(bytes('ff'), bytes('01'), { sync: true });
      db.close();
      const again = Lsm.open(fs, OPTIONS);
      expect(again.get(bytes('ff'))).toEqual(bytes('01'));
      again.close();
    }
    if (completed) return steps;
    steps++;
    expect(steps).toBeLessThan(5000);
  }
}

describe('crash at every step of flush and compaction', () => {
  const writes: KV[] = [];
  for (let i = 0; i < 120; i++)
    writes.push([hex(Uint8Array.of(i % 23, i % 5)), i % 7 === 0 ? undefined : hex(Uint8Array.of(i))]);
  const setup = (db: Lsm) => {
    for (const w of writes) apply(db, w, true);
  };
  const want = modelOf(writes);

  it('flush: every crash point reopens to the synced state', () => {
    const steps = everyStep(setup, (db) => db.flush(), want);
    expect(steps).toBeGreaterThan(3);
  });

  it('major compaction: every crash point reopens to the synced state', () => {
    const steps = everyStep(setup, (db) => db.compact(), want);
    expect(steps).toBeGreaterThan(5);
  });

  it('close and reopen: every crash point reopens to the synced state', () => {
    const steps = everyStep(
      setup,
      (db) => {
        db.close();
        Lsm.open((db as unknown as { fs: MemoryFs }).fs, OPTIONS).close();
      },
      want,
    );
    expect(steps).toBeGreaterThan(3);
  });
});

describe('crash at every step of background work during writes', () => {
  const writes: KV[] = [];
  for (let i = 0; i < 90; i++)
    writes.push([hex(Uint8Array.of(i % 17)), i % 9 === 0 ? undefined : hex(Uint8Array.of(i, i))]);

  /**
   * Crashes a run of writes at every step. `syncEvery` = 1 syncs every write; larger values
   * leave runs of unsynced writes, and then the store must hold a prefix of the writes that
   * includes every acknowledged write up to the last acknowledged synced one.
   */
  function crashEveryStep(syncEvery: number): number {
    let finished = false;
    let n = 0;
    for (; !finished; n += 1) {
      for (const { name, policy } of policies(n)) {
        const fs = new MemoryFs();
        const db = Lsm.open(fs, OPTIONS);
        fs.crashAfter(n);
        let acked = 0;
        let durable = 0;
        for (let i = 0; i < writes.length; i++) {
          const sync = (i + 1) % syncEvery === 0;
          try {
            apply(db, writes[i]!, sync);
            acked++;
            if (sync) durable = acked;
          } catch (err) {
            expect(err).toBeInstanceOf(CrashError);
            break;
          }
        }
        if (!fs.crashed) {
          finished = true;
          fs.crashAfter(undefined);
          db.close();
          break;
        }
        fs.crash(policy);
        const reopened = Lsm.open(fs, OPTIONS);
        const got = JSON.stringify(dump(reopened));
        let match = false;
        for (let k = durable; k <= acked + 1 && !match; k++)
          match = JSON.stringify(modelOf(writes.slice(0, k))) === got;
        expect(match, `crash at step ${n} (${name}): ${acked} acked, ${durable} durable; got ${got}`).toBe(
          true,
        );
        reopened.close();
      }
      expect(n).toBeLessThan(20000);
    }
    return n;
  }

  it('every write synced: keeps every acknowledged write, and the crashed one at most', () => {
    expect(crashEveryStep(1)).toBeGreaterThan(100);
  });

  it('every fifth write synced: recovers a prefix that includes every synced write', () => {
    expect(crashEveryStep(5)).toBeGreaterThan(30);
  });
});

describe('crash while creating a new store', () => {
  it('every crash point leaves a store that opens (empty) and works', () => {
    let n = 0;
    for (; ; n++) {
      const fs = new MemoryFs();
      fs.crashAfter(n);
      let opened: Lsm | undefined;
      try {
        opened = Lsm.open(fs, OPTIONS);
      } catch (err) {
        expect(err).toBeInstanceOf(CrashError);
      }
      if (opened !== undefined) {
        fs.crashAfter(undefined);
        opened.close();
        break;
      }
      for (const { name, policy } of policies(n)) {
        const copy = fs.clone();
        copy.crash(policy);
        const db = Lsm.open(copy, OPTIONS);
        expect(dump(db), `crash at step ${n} (${name})`).toEqual([]);
        db.put(bytes('01'), bytes('02'), { sync: true });
        db.close();
        expect(dump(Lsm.open(copy, OPTIONS))).toEqual([['01', '02']]);
      }
    }
    expect(n).toBeGreaterThan(3);
  });
});
