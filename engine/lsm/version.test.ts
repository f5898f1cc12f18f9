/**
 * Versions and the version set: applyEdit's checks (unknown deletes, duplicate adds,
 * overlapping sequence ranges), table refcounting against a model (a table is reported
 * obsolete exactly once, exactly when no live version holds it), the manifest read back by
 * recovery, and manifest rolling.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { CorruptionError, NoSpaceError } from '../errors.ts';
import { readWholeFile } from '../io/fs.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { EntryKind, encodeInternalKey } from './internal-key.ts';
import { MAX_KEY_BYTES } from './limits.ts';
import { readManifestState } from './recovery.ts';
import {
  applyEdit,
  MANIFEST_ROLL_BYTES,
  tableCovers,
  Version,
  type VersionCounters,
  VersionSet,
} from './version.ts';
import { manifestFileName, type TableMeta } from './version-edit.ts';

const ik = (user: number[] | Uint8Array, seq: number): Uint8Array =>
  encodeInternalKey(user instanceof Uint8Array ? user : Uint8Array.from(user), seq, EntryKind.Value);

/** Table `number` holding sequences [minSeq, maxSeq] over user keys [lo, hi]. */
function table(number: number, minSeq: number, maxSeq: number, lo = [1], hi = [9]): TableMeta {
  return {
    number,
    fileBytes: 100 * number,
    entries: maxSeq - minSeq + 1,
    minSeq,
    maxSeq,
    smallest: ik(lo, maxSeq),
    largest: ik(hi, minSeq),
  };
}

const COUNTERS: VersionCounters = { logNumber: 3, nextFileNumber: 10, lastSequence: 100 };
const MANIFEST = 'MANIFEST-000009';

function corruption(f: () => unknown): CorruptionError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(CorruptionError);
    return err as CorruptionError;
  }
  throw new Error('expected a CorruptionError');
}

const numbers = (tables: readonly TableMeta[]): number[] => tables.map((t) => t.number);

describe('Version', () => {
  it('accepts tables newest first with disjoint sequence ranges', () => {
    const v = new Version([table(3, 21, 30), table(2, 11, 20), table(1, 1, 10)]);
    expect(numbers(v.tables)).toEqual([3, 2, 1]);
    expect(v.refs).toBe(0);
  });

  it('asserts on overlapping, touching or unordered ranges', () => {
    expect(() => new Version([table(2, 10, 20), table(1, 5, 10)])).toThrow(AssertionError);
    expect(() => new Version([table(1, 1, 10), table(2, 11, 20)])).toThrow(AssertionError);
    expect(() => new Version([table(2, 5, 20), table(1, 6, 8)])).toThrow(AssertionError);
  });
});

describe('tableCovers', () => {
  it('is true exactly within the user-key range, bounds included', () => {
    const t = table(1, 1, 5, [2, 0], [4]);
    expect(tableCovers(t, Uint8Array.of(2, 0))).toBe(true);
    expect(tableCovers(t, Uint8Array.of(3))).toBe(true);
    expect(tableCovers(t, Uint8Array.of(4))).toBe(true);
    expect(tableCovers(t, Uint8Array.of(2))).toBe(false);
    expect(tableCovers(t, Uint8Array.of(4, 0))).toBe(false);
    expect(tableCovers(t, Uint8Array.of(1, 255))).toBe(false);
  });
});

describe('applyEdit', () => {
  const base = [table(2, 11, 20), table(1, 1, 10)];

  it('deletes and adds, returning tables newest first without changing its input', () => {
    const out = applyEdit(base, { deleted: [1], added: [table(4, 31, 40), table(3, 21, 30)] }, MANIFEST);
    expect(numbers(out)).toEqual([4, 3, 2]);
    expect(numbers(base)).toEqual([2, 1]);
    const reordered = applyEdit(base, { deleted: [], added: [table(0, 0, 0)] }, MANIFEST);
    expect(numbers(reordered)).toEqual([2, 1, 0]);
  });

  it('replaces inputs with a compacted table covering their ranges', () => {
    const three = [table(3, 21, 30), ...base];
    const out = applyEdit(three, { deleted: [2, 3], added: [table(4, 11, 30)] }, MANIFEST);
    expect(numbers(out)).toEqual([4, 1]);
  });

  it('rejects deleting an unknown table, naming the manifest', () => {
    const err = corruption(() => applyEdit(base, { deleted: [7], added: [] }, MANIFEST));
    expect(err.file).toBe(MANIFEST);
    expect(err.message).toContain('unknown table 7');
    corruption(() => applyEdit(base, { deleted: [1, 1], added: [] }, MANIFEST));
    corruption(() => applyEdit([], { deleted: [1], added: [] }, MANIFEST));
  });

  it('rejects adding a table number that is already live, or twice in one edit', () => {
    corruption(() => applyEdit(base, { deleted: [], added: [table(2, 31, 40)] }, MANIFEST));
    corruption(() => applyEdit([], { deleted: [], added: [table(5, 1, 2), table(5, 3, 4)] }, MANIFEST));
  });

  it('allows deleting and re-adding a number in one edit', () => {
    const out = applyEdit(base, { deleted: [2], added: [table(2, 11, 20)] }, MANIFEST);
    expect(numbers(out)).toEqual([2, 1]);
  });

  it('rejects overlapping sequence ranges, including touching and equal ones', () => {
    for (const t of [
      table(3, 15, 25),
      table(3, 20, 30),
      table(3, 12, 13),
      table(3, 1, 100),
      table(3, 11, 20),
    ]) {
      const err = corruption(() => applyEdit(base, { deleted: [], added: [t] }, MANIFEST));
      expect(err.message).toContain('overlapping');
      expect(err.file).toBe(MANIFEST);
    }
    const ok = applyEdit(base, { deleted: [], added: [table(3, 21, 21)] }, MANIFEST);
    expect(numbers(ok)).toEqual([3, 2, 1]);
  });
});

/** A version set over a fresh MemoryFs, with its first manifest written. */
function newSet(tables: readonly TableMeta[] = [], counters: VersionCounters = COUNTERS) {
  const fs = new MemoryFs();
  const obsolete: number[] = [];
  const vs = new VersionSet(fs, tables, counters, (n) => obsolete.push(n));
  expect(vs.writeSnapshot()).toBe(0);
  return { fs, vs, obsolete };
}

describe('VersionSet refcounting', () => {
  it('reports a deleted table at once when nothing pins it', () => {
    const { vs, obsolete } = newSet([table(2, 11, 20), table(1, 1, 10)]);
    vs.logAndApply({ deleted: [1], added: [] });
    expect(obsolete).toEqual([1]);
    expect(vs.isLive(1)).toBe(false);
    expect(vs.isLive(2)).toBe(true);
  });

  it('keeps a table until the last version holding it is unpinned', () => {
    const { vs, obsolete } = newSet([table(2, 11, 20), table(1, 1, 10)]);
    const old = vs.current;
    vs.ref(old);
    vs.ref(old);
    vs.logAndApply({ deleted: [1, 2], added: [table(11, 1, 20)] });
    const middle = vs.current;
    vs.ref(middle);
    vs.logAndApply({ deleted: [11], added: [table(12, 1, 20)] });
    expect(obsolete).toEqual([]);
    expect(vs.isLive(1)).toBe(true);
    vs.unref(old);
    expect(obsolete).toEqual([]);
    vs.unref(old);
    expect(obsolete.sort()).toEqual([1, 2]);
    expect(vs.isLive(11)).toBe(true);
    vs.unref(middle);
    expect(obsolete.sort((a, b) => a - b)).toEqual([1, 2, 11]);
    expect(vs.isLive(12)).toBe(true);
    expect(() => vs.unref(middle)).toThrow(AssertionError);
  });

  it('does not report a table that moves from one version to the next', () => {
    const { vs, obsolete } = newSet([table(1, 1, 10)]);
    const old = vs.current;
    vs.ref(old);
    vs.logAndApply({ deleted: [], added: [table(2, 11, 20)] });
    vs.unref(old);
    expect(obsolete).toEqual([]);
    expect(vs.isLive(1)).toBe(true);
  });

  type Step = { op: 'edit'; del: number[]; add: number } | { op: 'pin' } | { op: 'unpin'; which: number };
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      op: fc.constant('edit' as const),
      del: fc.array(fc.nat(), { maxLength: 3 }),
      add: fc.nat({ max: 2 }),
    }),
    fc.constant({ op: 'pin' as const }),
    fc.record({ op: fc.constant('unpin' as const), which: fc.nat() }),
  );

  test.prop([fc.array(stepArb, { maxLength: 40 })])(
    'a table is reported exactly once, exactly when no live version holds it',
    (steps) => {
      const { vs, obsolete } = newSet();
      const pins: Version[] = [];
      const created: number[] = [];
      let nextSeq = 1;
      const check = () => {
        const live = new Set<number>();
        for (const v of [vs.current, ...pins]) for (const t of v.tables) live.add(t.number);
        for (const n of created) expect(vs.isLive(n)).toBe(live.has(n));
        const dead = created.filter((n) => !live.has(n)).sort((a, b) => a - b);
        expect([...obsolete].sort((a, b) => a - b)).toEqual(dead);
      };
      for (const s of steps) {
        if (s.op === 'pin') {
          vs.ref(vs.current);
          pins.push(vs.current);
        } else if (s.op === 'unpin') {
          if (pins.length === 0) continue;
          const [v] = pins.splice(s.which % pins.length, 1);
          vs.unref(v!);
        } else {
          const cur = vs.current.tables;
          const del = [
            ...new Set(s.del.filter(() => cur.length > 0).map((i) => cur[i % cur.length]!.number)),
          ];
          const added: TableMeta[] = [];
          for (let i = 0; i < s.add; i++) {
            const n = vs.newFileNumber();
            added.push(table(n, nextSeq, nextSeq + 4));
            nextSeq += 5;
            created.push(n);
          }
          vs.logAndApply({ deleted: del, added, lastSequence: nextSeq - 1 });
        }
        check();
      }
      while (pins.length > 0) vs.unref(pins.pop()!);
      check();
    },
  );
});

describe('VersionSet and the manifest', () => {
  it('asserts when an edit is applied before a manifest exists', () => {
    const vs = new VersionSet(new MemoryFs(), [], COUNTERS, () => {});
    expect(() => vs.logAndApply({ deleted: [], added: [] })).toThrow(AssertionError);
  });

  it('writes CURRENT naming the first manifest, which holds the snapshot', () => {
    const { fs, vs } = newSet([table(1, 1, 10)]);
    const name = manifestFileName(vs.currentManifestNumber);
    expect(vs.currentManifestNumber).toBe(COUNTERS.nextFileNumber);
    expect(new TextDecoder().decode(readWholeFile(fs, 'CURRENT'))).toBe(`${name}\n`);
    const state = readManifestState(fs)!;
    expect(state.manifestName).toBe(name);
    expect(state.tables).toEqual([table(1, 1, 10)]);
    expect(state.counters).toEqual({ ...COUNTERS, nextFileNumber: COUNTERS.nextFileNumber + 1 });
  });

  it('does not alias the counters it was given', () => {
    const counters = { ...COUNTERS };
    const { vs } = newSet([], counters);
    vs.newFileNumber();
    expect(counters).toEqual(COUNTERS);
  });

  test.prop([
    fc.array(fc.record({ del: fc.nat({ max: 3 }), add: fc.nat({ max: 2 }), log: fc.boolean() }), {
      maxLength: 20,
    }),
  ])('reading the manifest back gives the same tables and counters after every edit', (edits) => {
    const { fs, vs } = newSet();
    let nextSeq = 1;
    for (const e of edits) {
      const cur = vs.current.tables;
      const deleted = cur.slice(0, Math.min(e.del, cur.length)).map((t) => t.number);
      const added: TableMeta[] = [];
      for (let i = 0; i < e.add; i++) {
        added.push(table(vs.newFileNumber(), nextSeq, nextSeq + 2, [i + 1], [i + 5]));
        nextSeq += 3;
      }
      const logNumber = e.log ? vs.newFileNumber() : undefined;
      vs.logAndApply({
        deleted,
        added,
        lastSequence: nextSeq - 1,
        ...(logNumber === undefined ? {} : { logNumber }),
      });
      const state = readManifestState(fs)!;
      expect(state.tables).toEqual(vs.current.tables);
      expect(state.counters).toEqual(vs.counters);
      expect(state.manifestName).toBe(manifestFileName(vs.currentManifestNumber));
    }
  });

  it('leaves everything unchanged when applyEdit rejects an edit', () => {
    const { fs, vs, obsolete } = newSet([table(1, 1, 10)]);
    const manifest = manifestFileName(vs.currentManifestNumber);
    const bytesBefore = readWholeFile(fs, manifest);
    const before = vs.current;
    const countersBefore = { ...vs.counters };
    corruption(() => vs.logAndApply({ deleted: [5], added: [], logNumber: 77, lastSequence: 500 }));
    corruption(() => vs.logAndApply({ deleted: [], added: [table(2, 5, 15)], lastSequence: 500 }));
    expect(vs.current).toBe(before);
    expect(vs.counters).toEqual(countersBefore);
    expect(readWholeFile(fs, manifest)).toEqual(bytesBefore);
    expect(obsolete).toEqual([]);
  });

  it('keeps the version and manifest readable when the disk is full', () => {
    const { fs, vs } = newSet([table(1, 1, 10)]);
    fs.capacityBytes = fs.totalBytes();
    expect(() => vs.logAndApply({ deleted: [], added: [table(2, 11, 20)] })).toThrow(NoSpaceError);
    expect(numbers(vs.current.tables)).toEqual([1]);
    expect(numbers(readManifestState(fs)!.tables)).toEqual([1]);
  });

  it('rolls to a fresh manifest past MANIFEST_ROLL_BYTES, deleting the old one', () => {
    const { fs, vs, obsolete } = newSet();
    const first = vs.currentManifestNumber;
    const longKey = (b: number) => new Uint8Array(MAX_KEY_BYTES).fill(b);
    let prev: number | undefined;
    let edits = 0;
    let seq = 1;
    // Each edit replaces the one table by a new one with ~32 KiB of boundary keys.
    while (vs.currentManifestNumber === first) {
      const n = vs.newFileNumber();
      const t: TableMeta = {
        ...table(n, seq, seq),
        smallest: ik(longKey(1), seq),
        largest: ik(longKey(2), seq),
      };
      seq++;
      vs.logAndApply({ deleted: prev === undefined ? [] : [prev], added: [t], lastSequence: seq });
      prev = n;
      edits++;
      expect(edits).toBeLessThan(1000);
    }
    expect(edits).toBeGreaterThan(MANIFEST_ROLL_BYTES / (2 * (MAX_KEY_BYTES + 8)) - 2);
    expect(fs.exists(manifestFileName(first))).toBe(false);
    const second = vs.currentManifestNumber;
    expect(second).toBeGreaterThan(first);
    expect(vs.counters.nextFileNumber).toBeGreaterThan(second);
    let state = readManifestState(fs)!;
    expect(state.manifestName).toBe(manifestFileName(second));
    expect(state.tables).toEqual(vs.current.tables);
    expect(state.counters).toEqual(vs.counters);
    // The fresh manifest holds one snapshot, far below the roll size.
    expect(readWholeFile(fs, manifestFileName(second)).length).toBeLessThan(2 * (MAX_KEY_BYTES + 100));
    expect(obsolete.length).toBe(edits - 1);
    // Later edits go to the new manifest and read back too.
    vs.logAndApply({ deleted: [prev!], added: [], lastSequence: seq + 1 });
    state = readManifestState(fs)!;
    expect(state.tables).toEqual([]);
    expect(state.counters).toEqual(vs.counters);
    vs.close();
  });
});
