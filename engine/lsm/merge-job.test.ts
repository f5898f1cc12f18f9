/**
 * Merge jobs (flush and compaction) from a memtable into a MemoryFs table: the drop rules on
 * hand-built cases and against a model, the guarantee behind them (every reader at or above
 * the smallest snapshot sees the same thing before and after), the output table read back with
 * SsTableReader with the right metadata, stepping by budget, and the all-dropped case.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { type CrashChoices, MemoryFs } from '../io/memory-fs.ts';
import { compareBytes } from './coding.ts';
import { EntryKind, encodeInternalKey, kindOf, MAX_SEQUENCE, seqOf, userKeyOf } from './internal-key.ts';
import { Memtable } from './memtable.ts';
import { MergeJob } from './merge-job.ts';
import { SsTableReader } from './sstable.ts';
import type { TableMeta } from './version-edit.ts';

interface Entry {
  key: number[];
  seq: number;
  kind: EntryKind;
  value: number[];
}

const OUTPUT = '000042.sst';
const hex = (b: Uint8Array | number[]): string => Buffer.from(b).toString('hex');

function memtableOf(entries: readonly Entry[]): Memtable {
  const m = new Memtable();
  for (const e of entries) m.add(e.seq, e.kind, Uint8Array.from(e.key), Uint8Array.from(e.value));
  return m;
}

interface RunResult {
  fs: MemoryFs;
  job: MergeJob;
  meta: TableMeta | undefined;
  olderAsked: string[];
}

/** Runs a merge job over `entries` to completion, `budget` entries per step. */
function run(
  entries: readonly Entry[],
  smallestSnapshot: number,
  olderMayContain: (userKey: Uint8Array) => boolean = () => false,
  budget = 1 << 16,
): RunResult {
  const fs = new MemoryFs();
  const output = fs.open(OUTPUT, { create: true });
  const olderAsked: string[] = [];
  const job = new MergeJob({
    input: memtableOf(entries).iterator(),
    output,
    outputNumber: 42,
    smallestSnapshot,
    olderMayContain: (k) => {
      olderAsked.push(hex(k));
      return olderMayContain(k);
    },
    table: { blockBytes: 64, restartInterval: 2, bloomBitsPerKey: 10 },
  });
  while (!job.step(budget)) {
    /* keep stepping */
  }
  const meta = job.finish();
  output.close();
  return { fs, job, meta, olderAsked };
}

/** What the output table holds, in order. */
function readBack(fs: MemoryFs): { key: string; seq: number; kind: EntryKind; value: string }[] {
  const reader = SsTableReader.open({ fs, name: OUTPUT });
  const out: { key: string; seq: number; kind: EntryKind; value: string }[] = [];
  const it = reader.iterator();
  for (it.seekToFirst(); it.valid(); it.next()) {
    const k = it.key();
    out.push({ key: hex(userKeyOf(k)), seq: seqOf(k), kind: kindOf(k), value: hex(it.value()) });
  }
  reader.close();
  return out;
}

const kept = (fs: MemoryFs): string[] => readBack(fs).map((e) => `${e.key}@${e.seq}`);

describe('drop rules, by hand', () => {
  const a = [0x61];
  const b = [0x62];

  it('keeps versions above the smallest snapshot and the newest one at or below it', () => {
    const { fs, job } = run(
      [
        { key: a, seq: 10, kind: EntryKind.Value, value: [1] },
        { key: a, seq: 7, kind: EntryKind.Value, value: [2] },
        { key: a, seq: 3, kind: EntryKind.Value, value: [3] },
        { key: a, seq: 1, kind: EntryKind.Value, value: [4] },
      ],
      8,
    );
    expect(kept(fs)).toEqual(['61@10', '61@7']);
    expect(job.entriesRead).toBe(4);
    expect(job.entriesDropped).toBe(2);
  });

  it('keeps every version when all are above the snapshot', () => {
    const entries = [10, 9, 8].map((seq) => ({ key: a, seq, kind: EntryKind.Value, value: [seq] }));
    expect(kept(run(entries, 7).fs)).toEqual(['61@10', '61@9', '61@8']);
  });

  it('drops a shadowed version exactly when a newer one is at or below the snapshot', () => {
    const entries = [5, 4].map((seq) => ({ key: a, seq, kind: EntryKind.Value, value: [seq] }));
    expect(kept(run(entries, 4).fs)).toEqual(['61@5', '61@4']);
    expect(kept(run(entries, 5).fs)).toEqual(['61@5']);
  });

  it('drops a tombstone at or below the snapshot only when no older table may hold the key', () => {
    const entries = [
      { key: b, seq: 5, kind: EntryKind.Delete, value: [] },
      { key: b, seq: 2, kind: EntryKind.Value, value: [9] },
    ];
    const none = run(entries, 8, () => false);
    expect(none.meta).toBeUndefined();
    expect(none.olderAsked).toEqual(['62']);
    const older = run(entries, 8, () => true);
    expect(readBack(older.fs)).toEqual([{ key: '62', seq: 5, kind: EntryKind.Delete, value: '' }]);
    // At the snapshot exactly, the tombstone is still droppable.
    expect(run(entries, 5, () => false).meta).toBeUndefined();
  });

  it('keeps a tombstone above the snapshot without asking about older tables', () => {
    const entries = [
      { key: b, seq: 9, kind: EntryKind.Delete, value: [] },
      { key: b, seq: 2, kind: EntryKind.Value, value: [9] },
    ];
    const r = run(entries, 8, () => false);
    expect(kept(r.fs)).toEqual(['62@9', '62@2']);
    expect(r.olderAsked).toEqual([]);
  });

  it('drops an older tombstone under a newer visible value', () => {
    const entries = [
      { key: b, seq: 6, kind: EntryKind.Value, value: [1] },
      { key: b, seq: 4, kind: EntryKind.Delete, value: [] },
      { key: b, seq: 2, kind: EntryKind.Value, value: [2] },
    ];
    expect(kept(run(entries, 10, () => true).fs)).toEqual(['62@6']);
  });

  it('returns undefined from finish() when the input is empty', () => {
    const r = run([], MAX_SEQUENCE);
    expect(r.meta).toBeUndefined();
    expect(r.job.entriesRead).toBe(0);
  });
});

describe('stepping', () => {
  const entries: Entry[] = Array.from({ length: 30 }, (_, i) => ({
    key: [i % 7],
    seq: i + 1,
    kind: i % 5 === 0 ? EntryKind.Delete : EntryKind.Value,
    value: [i],
  }));

  it('reads exactly `budget` entries per step until the input ends', () => {
    const fs = new MemoryFs();
    const job = new MergeJob({
      input: memtableOf(entries).iterator(),
      output: fs.open(OUTPUT, { create: true }),
      outputNumber: 42,
      smallestSnapshot: 0,
      olderMayContain: () => true,
      table: {},
    });
    expect(job.done).toBe(false);
    expect(() => job.finish()).toThrow(AssertionError);
    let steps = 0;
    while (!job.step(7)) {
      steps++;
      expect(job.entriesRead).toBe(7 * steps);
      expect(job.done).toBe(false);
    }
    expect(job.done).toBe(true);
    expect(job.entriesRead).toBe(30);
    expect(job.step(7)).toBe(true);
    expect(job.entriesRead).toBe(30);
    expect(job.finish()?.entries).toBe(30);
  });

  test.prop([fc.integer({ min: 1, max: 40 }), fc.nat({ max: 31 })])(
    'gives the same table whatever the budget',
    (budget, snapshot) => {
      const whole = run(entries, snapshot, (k) => k[0]! % 2 === 0);
      const stepped = run(entries, snapshot, (k) => k[0]! % 2 === 0, budget);
      expect(readBack(stepped.fs)).toEqual(readBack(whole.fs));
      expect(stepped.meta).toEqual(whole.meta);
    },
  );

  it('syncs the output: its data survives a crash that loses everything unsynced', () => {
    const r = run(entries, 0);
    const keepNamesLoseData: CrashChoices = {
      keepDataUnits: () => 0,
      keepNamespaceOps: (pending) => pending,
    };
    const before = readBack(r.fs);
    r.fs.crash(keepNamesLoseData);
    expect(readBack(r.fs)).toEqual(before);
  });
});

describe('against a model', () => {
  const entriesArb: fc.Arbitrary<Entry[]> = fc
    .array(
      fc.record({
        key: fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 2 }),
        kind: fc.constantFrom(EntryKind.Delete, EntryKind.Value, EntryKind.Value),
        value: fc.array(fc.nat({ max: 255 }), { maxLength: 3 }),
      }),
      { maxLength: 50 },
    )
    .chain((raw) =>
      fc
        .shuffledSubarray(
          raw.map((_, i) => i + 1),
          { minLength: raw.length, maxLength: raw.length },
        )
        .map((seqs) =>
          raw.map((r, i) => ({ ...r, seq: seqs[i]!, value: r.kind === EntryKind.Value ? r.value : [] })),
        ),
    );
  const olderArb = fc.uniqueArray(fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 2 }).map(hex), {
    maxLength: 20,
  });

  /** Versions of each user key, newest first. */
  function versionsByKey(entries: readonly Entry[]): Map<string, Entry[]> {
    const by = new Map<string, Entry[]>();
    for (const e of entries) by.set(hex(e.key), [...(by.get(hex(e.key)) ?? []), e]);
    for (const vs of by.values()) vs.sort((x, y) => y.seq - x.seq);
    return by;
  }

  /** The model: which versions the documented rules keep, in output order. */
  function modelKept(entries: readonly Entry[], snapshot: number, older: ReadonlySet<string>): Entry[] {
    const out: Entry[] = [];
    const by = versionsByKey(entries);
    const keys = [...by.keys()].sort((x, y) => compareBytes(Buffer.from(x, 'hex'), Buffer.from(y, 'hex')));
    for (const k of keys) {
      const vs = by.get(k)!;
      vs.forEach((v, i) => {
        const shadowed = vs.slice(0, i).some((newer) => newer.seq <= snapshot);
        const deadTombstone = v.kind === EntryKind.Delete && v.seq <= snapshot && !older.has(k);
        if (!shadowed && !deadTombstone) out.push(v);
      });
    }
    return out;
  }

  /** What a reader at `seq` sees for `key`: its newest version at or below seq. */
  function visible(versions: readonly Entry[] | undefined, seq: number): Entry | undefined {
    return versions?.find((v) => v.seq <= seq);
  }

  test.prop([entriesArb, fc.nat({ max: 55 }), olderArb])(
    'keeps exactly what the rules keep, and every reader at or above the snapshot sees the same',
    (entries, snapshot, olderList) => {
      const older = new Set(olderList);
      const r = run(entries, snapshot, (k) => older.has(hex(k)));
      const want = modelKept(entries, snapshot, older);
      const got = r.meta === undefined ? [] : readBack(r.fs);
      expect(got).toEqual(
        want.map((e) => ({ key: hex(e.key), seq: e.seq, kind: e.kind, value: hex(e.value) })),
      );
      expect(r.job.entriesRead).toBe(entries.length);
      expect(r.job.entriesDropped).toBe(entries.length - want.length);

      // The guarantee: for readers at any sequence >= snapshot, each key looks the same, except
      // that a visible tombstone over nothing older may vanish altogether.
      const before = versionsByKey(entries);
      const after = versionsByKey(want);
      const maxSeq = entries.length + 1;
      for (const [k, versions] of before) {
        for (let s = snapshot; s <= maxSeq; s++) {
          const b = visible(versions, s);
          const a = visible(after.get(k), s);
          if (b?.kind === EntryKind.Delete && a === undefined) {
            expect(older.has(k)).toBe(false);
          } else {
            expect(a).toEqual(b);
          }
        }
      }

      if (want.length === 0) {
        expect(r.meta).toBeUndefined();
        return;
      }
      const meta = r.meta!;
      expect(meta.number).toBe(42);
      expect(meta.entries).toBe(want.length);
      expect(meta.minSeq).toBe(Math.min(...want.map((e) => e.seq)));
      expect(meta.maxSeq).toBe(Math.max(...want.map((e) => e.seq)));
      const first = want[0]!;
      const last = want[want.length - 1]!;
      expect(meta.smallest).toEqual(encodeInternalKey(Uint8Array.from(first.key), first.seq, first.kind));
      expect(meta.largest).toEqual(encodeInternalKey(Uint8Array.from(last.key), last.seq, last.kind));
      const reader = SsTableReader.open({ fs: r.fs, name: OUTPUT });
      expect(reader.meta.fileBytes).toBe(meta.fileBytes);
      expect(reader.meta.entries).toBe(meta.entries);
      expect(reader.meta.smallest).toEqual(meta.smallest);
      expect(reader.meta.largest).toEqual(meta.largest);
      reader.close();
      const h = r.fs.open(OUTPUT);
      expect(h.size()).toBe(meta.fileBytes);
      h.close();
    },
  );
});
