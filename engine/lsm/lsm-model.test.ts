/**
 * Model-based test of the LSM against a sorted Map (LevelDB's ModelDB idea): fast-check draws
 * command sequences (puts, deletes, batches, gets, scans, snapshots, flushes, compactions,
 * background steps, clean reopens and crashes) and after each one the store must agree with
 * the model. Tiny memtables and blocks make flushes, compactions and multi-block tables
 * happen within a few dozen commands.
 *
 * Crashes: the model keeps the writes since the last point known durable. After a crash the
 * store must equal the durable state plus some prefix of those writes (the WAL is sequential),
 * and never hold a value that was never written.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CrashPolicy, MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { Lsm, type LsmOptions, WriteBatch } from './lsm.ts';

type Op = { key: string; value: string | undefined };

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/** The model: a map of hex key -> hex value, plus writes not yet known durable. */
class Model {
  durable = new Map<string, string>();
  pending: Op[][] = [];

  current(): Map<string, string> {
    return applyAll(this.durable, this.pending);
  }

  write(ops: Op[], sync: boolean): void {
    this.pending.push(ops);
    if (sync) this.settle(this.pending.length);
  }

  /** Everything up to pending[k) is now durable. */
  settle(k: number): void {
    this.durable = applyAll(this.durable, this.pending.slice(0, k));
    this.pending = this.pending.slice(k);
  }
}

function applyAll(base: Map<string, string>, batches: Op[][]): Map<string, string> {
  const m = new Map(base);
  for (const b of batches) {
    for (const op of b) {
      if (op.value === undefined) m.delete(op.key);
      else m.set(op.key, op.value);
    }
  }
  return m;
}

function sorted(m: Map<string, string>): [string, string][] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function dump(db: Lsm): [string, string][] {
  return [...db.scan()].map(([k, v]) => [hex(k), hex(v)]);
}

interface Real {
  fs: MemoryFs;
  db: Lsm;
  options: LsmOptions;
  snapshots: { snap: ReturnType<Lsm['snapshot']>; state: [string, string][] }[];
}

const OPTIONS: LsmOptions = {
  memtableBytes: 1024,
  blockBytes: 128,
  backgroundWorkPerOp: 1,
  compactionMinRuns: 2,
  blockCacheBytes: 4096,
};

// Keys from a small alphabet so that overwrites, deletes of present keys and shared prefixes
// are common; values sometimes larger than a block.
const keyArb = fc.uint8Array({ minLength: 1, maxLength: 3, max: 3 }).map(hex);
const valueArb = fc
  .oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 400 }) },
  )
  .map(hex);
const opArb: fc.Arbitrary<Op> = fc.record({ key: keyArb, value: fc.option(valueArb, { nil: undefined }) });

function toBatch(ops: Op[]): WriteBatch {
  const b = new WriteBatch();
  for (const op of ops) {
    if (op.value === undefined) b.delete(bytes(op.key));
    else b.put(bytes(op.key), bytes(op.value));
  }
  return b;
}

function releaseAll(r: Real): void {
  for (const s of r.snapshots) s.snap.release();
  r.snapshots = [];
}

type Cmd = fc.Command<Model, Real>;

const writeCmd = (ops: Op[], sync: boolean): Cmd => ({
  check: () => true,
  run(m, r) {
    r.db.write(toBatch(ops), { sync });
    m.write(ops, sync);
  },
  toString: () => `write(${JSON.stringify(ops)}, sync=${sync})`,
});

const getCmd = (key: string): Cmd => ({
  check: () => true,
  run(m, r) {
    const got = r.db.get(bytes(key));
    expect(got === undefined ? undefined : hex(got)).toBe(m.current().get(key));
  },
  toString: () => `get(${key})`,
});

const scanCmd = (lo: string, hi: string, limit: number | undefined): Cmd => ({
  check: () => true,
  run(m, r) {
    const got = [...r.db.scan({ gte: bytes(lo), lt: bytes(hi), limit })].map(([k, v]) => [hex(k), hex(v)]);
    let want = sorted(m.current()).filter(([k]) => k >= lo && k < hi);
    if (limit !== undefined) want = want.slice(0, limit);
    expect(got).toEqual(want);
  },
  toString: () => `scan(${lo}..${hi}, limit=${limit})`,
});

const prefixCmd = (prefix: string): Cmd => ({
  check: () => true,
  run(m, r) {
    const got = [...r.db.scan({ prefix: bytes(prefix) })].map(([k]) => hex(k));
    expect(got).toEqual(
      sorted(m.current())
        .map(([k]) => k)
        .filter((k) => k.startsWith(prefix)),
    );
  },
  toString: () => `prefix(${prefix})`,
});

/** Any mix of the bounds a scan takes (each may be absent), checked against the model. */
interface Bounds {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  prefix?: string;
  limit?: number;
}

const boundsCmd = (b: Bounds): Cmd => ({
  check: () => true,
  run(m, r) {
    const o = Object.fromEntries(
      Object.entries(b).map(([name, v]) => [name, typeof v === 'string' ? bytes(v) : v]),
    );
    const got = [...r.db.scan(o)].map(([k, v]) => [hex(k), hex(v)]);
    let want = sorted(m.current()).filter(
      ([k]) =>
        (b.gt === undefined || k > b.gt) &&
        (b.gte === undefined || k >= b.gte) &&
        (b.lt === undefined || k < b.lt) &&
        (b.lte === undefined || k <= b.lte) &&
        (b.prefix === undefined || k.startsWith(b.prefix)),
    );
    if (b.limit !== undefined) want = want.slice(0, b.limit);
    expect(got).toEqual(want);
  },
  toString: () => `bounds(${JSON.stringify(b)})`,
});

const boundsArb: fc.Arbitrary<Bounds> = fc.record(
  {
    gt: keyArb,
    gte: keyArb,
    lt: keyArb,
    lte: keyArb,
    prefix: fc.uint8Array({ minLength: 1, maxLength: 2, max: 3 }).map(hex),
    limit: fc.nat(5),
  },
  { requiredKeys: [] },
);

const snapshotCmd: Cmd = {
  check: () => true,
  run(m, r) {
    r.snapshots.push({ snap: r.db.snapshot(), state: sorted(m.current()) });
  },
  toString: () => 'snapshot()',
};

const checkSnapshotsCmd: Cmd = {
  check: () => true,
  run(_m, r) {
    for (const s of r.snapshots) {
      const got = [...r.db.scan({ snapshot: s.snap })].map(([k, v]) => [hex(k), hex(v)]);
      expect(got).toEqual(s.state);
      for (const [k, v] of s.state) expect(hex(r.db.get(bytes(k), { snapshot: s.snap })!)).toBe(v);
    }
  },
  toString: () => 'checkSnapshots()',
};

const flushCmd: Cmd = {
  check: () => true,
  run(m, r) {
    r.db.flush();
    m.settle(m.pending.length);
  },
  toString: () => 'flush()',
};

const compactCmd: Cmd = {
  check: () => true,
  run(m, r) {
    r.db.compact();
    m.settle(m.pending.length);
    expect(r.db.stats().tables).toBeLessThanOrEqual(1);
  },
  toString: () => 'compact()',
};

const maintainCmd = (budget: number): Cmd => ({
  check: () => true,
  run(_m, r) {
    r.db.maintain(budget);
  },
  toString: () => `maintain(${budget})`,
});

const reopenCmd: Cmd = {
  check: () => true,
  run(m, r) {
    releaseAll(r);
    r.db.close();
    r.db = Lsm.open(r.fs, r.options);
    m.settle(m.pending.length);
    expect(dump(r.db)).toEqual(sorted(m.current()));
  },
  toString: () => 'reopen()',
};

const crashCmd = (seed: number): Cmd => ({
  check: () => true,
  run(m, r) {
    r.snapshots = [];
    r.fs.crash(CrashPolicy.random(new SeededRandom(seed)));
    r.db = Lsm.open(r.fs, r.options);
    const got = dump(r.db);
    // The recovered state must be the durable state plus a prefix of the later writes.
    for (let k = m.pending.length; k >= 0; k--) {
      const candidate = sorted(applyAll(m.durable, m.pending.slice(0, k)));
      if (JSON.stringify(candidate) === JSON.stringify(got)) {
        m.settle(k);
        m.pending = [];
        return;
      }
    }
    expect.fail(`recovered state is no prefix of the history: ${JSON.stringify(got)}`);
  },
  toString: () => `crash(seed=${seed})`,
});

const commands = [
  fc.tuple(fc.array(opArb, { minLength: 1, maxLength: 6 }), fc.boolean()).map(([ops, s]) => writeCmd(ops, s)),
  opArb.map((op) => writeCmd([op], false)),
  opArb.map((op) => writeCmd([op], false)),
  keyArb.map(getCmd),
  fc.tuple(keyArb, keyArb, fc.option(fc.nat(5), { nil: undefined })).map(([a, b, l]) => scanCmd(a, b, l)),
  fc.uint8Array({ minLength: 1, maxLength: 2, max: 3 }).map((p) => prefixCmd(hex(p))),
  boundsArb.map(boundsCmd),
  fc.constant(snapshotCmd),
  fc.constant(checkSnapshotsCmd),
  fc.constant(flushCmd),
  fc.constant(compactCmd),
  fc.nat(300).map(maintainCmd),
  fc.constant(reopenCmd),
  fc.nat().map(crashCmd),
];

describe('LSM against a sorted-Map model', () => {
  it('agrees with the model over random command sequences (with crashes)', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 200, size: 'large' }), (cmds) => {
        const fs = new MemoryFs();
        const real: Real = { fs, db: Lsm.open(fs, OPTIONS), options: OPTIONS, snapshots: [] };
        try {
          fc.modelRun(() => ({ model: new Model(), real }), cmds);
          expect(dump(real.db)).toEqual(dump(real.db));
        } finally {
          releaseAll(real);
          real.db.close();
        }
      }),
      { numRuns: Number(process.env.LSM_MODEL_RUNS ?? 400) },
    );
  });

  it('agrees with the model with default-sized tables and many writes', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 200, maxLength: 2000 }),
        fc.integer({ min: 1, max: 8 }),
        (ops, w) => {
          const fs = new MemoryFs();
          const options = { memtableBytes: 4096, backgroundWorkPerOp: w };
          let db = Lsm.open(fs, options);
          const model = new Map<string, string>();
          for (const op of ops) {
            if (op.value === undefined) {
              db.delete(bytes(op.key));
              model.delete(op.key);
            } else {
              db.put(bytes(op.key), bytes(op.value));
              model.set(op.key, op.value);
            }
          }
          expect(dump(db)).toEqual(sorted(model));
          db.close();
          db = Lsm.open(fs, options);
          expect(dump(db)).toEqual(sorted(model));
          db.compact();
          expect(dump(db)).toEqual(sorted(model));
          db.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
