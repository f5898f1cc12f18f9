import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FileSystem } from './fs.ts';
import { readWholeFile, writeFileAtomic } from './fs.ts';
import { errorCodeOf, runFsConformance } from './fs-conformance.ts';
import type { CrashChoices } from './memory-fs.ts';
import { CrashPolicy, MemoryFs } from './memory-fs.ts';
import { SeededRandom } from './random.ts';

runFsConformance('MemoryFs', () => {
  const fs = new MemoryFs();
  return {
    fs,
    // A crash that loses everything unsynced is the strictest "restart" MemoryFs can offer.
    reopen: () => {
      fs.crash(CrashPolicy.loseAll);
      return fs;
    },
  };
});

const enc = new TextEncoder();
const dec = new TextDecoder();

function text(fs: FileSystem, name: string): string {
  return dec.decode(readWholeFile(fs, name));
}

/** Creates `name` with `content`, synced, and makes the name durable. */
function durableFile(fs: MemoryFs, name: string, content: string): void {
  const h = fs.open(name, { create: true });
  h.write(0, enc.encode(content));
  h.sync();
  h.close();
  fs.syncDir();
}

function keep(namespaceOps: number, dataUnits: (file: string, pending: number) => number): CrashChoices {
  return { keepNamespaceOps: () => namespaceOps, keepDataUnits: dataUnits };
}

describe('MemoryFs crash: data', () => {
  it('loseAll drops unsynced bytes and keeps synced ones', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', 'synced');
    const h = fs.open('f');
    h.append(enc.encode('-unsynced'));
    h.write(0, enc.encode('S'));
    expect(fs.pendingDataUnits('f')).toBe(10);
    fs.crash(CrashPolicy.loseAll);
    expect(text(fs, 'f')).toBe('synced');
    expect(fs.pendingDataUnits('f')).toBe(0);
  });

  it('keepAll keeps unsynced bytes and namespace operations', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', 'synced');
    const h = fs.open('f');
    h.append(enc.encode('+more'));
    const g = fs.open('g', { create: true });
    g.append(enc.encode('new'));
    fs.rename('f', 'f2');
    fs.crash(CrashPolicy.keepAll);
    expect(fs.list()).toEqual(['f2', 'g']);
    expect(text(fs, 'f2')).toBe('synced+more');
    expect(text(fs, 'g')).toBe('new');
  });

  it('a crash at every unit k keeps exactly the first k pending units, the last write torn', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', 'abc');
    const h = fs.open('f');
    h.write(3, enc.encode('defg'));
    h.truncate(2);
    h.append(enc.encode('XY'));
    h.close();
    const expected = ['abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'ab', 'abX', 'abXY'];
    expect(fs.pendingDataUnits('f')).toBe(expected.length - 1);
    expected.forEach((want, k) => {
      const copy = fs.clone();
      copy.crash(
        keep(0, (file, pending) => {
          expect(file).toBe('f');
          expect(pending).toBe(7);
          return k;
        }),
      );
      expect(text(copy, 'f'), `k=${k}`).toBe(want);
    });
  });

  it('a torn write past the end keeps its zero gap and its first bytes only', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', '');
    const h = fs.open('f');
    h.write(3, Uint8Array.of(7, 8, 9));
    fs.crash(keep(0, () => 2));
    expect(readWholeFile(fs, 'f')).toEqual(Uint8Array.of(0, 0, 0, 7, 8));
  });

  it('a truncate is one unit, all or nothing', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', 'abcdef');
    const h = fs.open('f');
    h.truncate(1);
    expect(fs.pendingDataUnits('f')).toBe(1);
    const kept = fs.clone();
    kept.crash(keep(0, () => 1));
    expect(text(kept, 'f')).toBe('a');
    fs.crash(keep(0, () => 0));
    expect(text(fs, 'f')).toBe('abcdef');
  });

  it('synced and syncDir-ed data survives every random crash', () => {
    for (let seed = 0; seed < 50; seed++) {
      const fs = new MemoryFs({ random: new SeededRandom(seed) });
      durableFile(fs, 'keep', 'durable');
      const h = fs.open('keep');
      h.append(enc.encode('tail'));
      fs.open('other', { create: true }).append(enc.encode('x'));
      fs.crash();
      expect(text(fs, 'keep').startsWith('durable'), `seed ${seed}`).toBe(true);
    }
  });

  it('every handle dies in a crash: calls throw ARE_CLOSED, close is allowed', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', 'x');
    const h = fs.open('f');
    fs.crash(CrashPolicy.keepAll);
    expect(errorCodeOf(() => h.size())).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => h.read(0, 1))).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => h.append(enc.encode('y')))).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => h.sync())).toBe('ARE_CLOSED');
    h.close();
    h.close();
    expect(text(fs, 'f')).toBe('x');
  });

  it('rejects crash choices out of range', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', 'x');
    fs.open('f').append(enc.encode('ab'));
    expect(errorCodeOf(() => fs.clone().crash(keep(0, () => 3)))).toBe('ARE_INVALID_ARGUMENT');
    expect(errorCodeOf(() => fs.clone().crash(keep(0, () => -1)))).toBe('ARE_INVALID_ARGUMENT');
    expect(errorCodeOf(() => fs.clone().crash(keep(0, () => 0.5)))).toBe('ARE_INVALID_ARGUMENT');
    expect(errorCodeOf(() => fs.clone().crash(keep(1, () => 0)))).toBe('ARE_INVALID_ARGUMENT');
    expect(errorCodeOf(() => fs.pendingDataUnits('missing'))).toBe('ARE_NOT_FOUND');
    expect(errorCodeOf(() => fs.pendingDataUnits('a/b'))).toBe('ARE_INVALID_ARGUMENT');
  });

  it('a random crash policy is deterministic for a seed', () => {
    const fs = new MemoryFs();
    const h = fs.open('f', { create: true });
    for (let i = 0; i < 20; i++) h.append(enc.encode(`record-${i};`));
    const outcomes = [1, 1, 2].map((seed) => {
      const copy = fs.clone();
      copy.crash(CrashPolicy.random(new SeededRandom(seed)));
      return copy.list().length === 0 ? '<gone>' : text(copy, 'f');
    });
    expect(outcomes[0]).toBe(outcomes[1]);
  });
});

describe('MemoryFs crash: namespace', () => {
  it('creates without syncDir survive as a prefix in order', () => {
    const fs = new MemoryFs();
    for (const n of ['c', 'a', 'b']) fs.open(n, { create: true }).close();
    expect(fs.pendingNamespaceOps()).toBe(3);
    const expected = [[], ['c'], ['a', 'c'], ['a', 'b', 'c']];
    expected.forEach((want, k) => {
      const copy = fs.clone();
      copy.crash(keep(k, () => 0));
      expect(copy.list(), `k=${k}`).toEqual(want);
    });
  });

  it('after syncDir, creates, renames and deletes survive loseAll', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'a', 'A');
    durableFile(fs, 'b', 'B');
    fs.rename('a', 'c');
    fs.delete('b');
    fs.open('d', { create: true }).close();
    fs.syncDir();
    expect(fs.pendingNamespaceOps()).toBe(0);
    fs.crash(CrashPolicy.loseAll);
    expect(fs.list()).toEqual(['c', 'd']);
    expect(text(fs, 'c')).toBe('A');
  });

  it('a delete without syncDir may be undone, bringing back the bytes', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', 'still here');
    fs.delete('f');
    fs.crash(CrashPolicy.loseAll);
    expect(text(fs, 'f')).toBe('still here');
  });

  it('rename over a target is atomic at every crash point: old or new, never mixed', () => {
    const base = new MemoryFs();
    durableFile(base, 'CURRENT', 'old-manifest-0001');
    const probe = base.clone();
    const before = probe.mutatingOps;
    writeFileAtomic(probe, 'CURRENT', enc.encode('new-manifest-0002'));
    const steps = probe.mutatingOps - before;
    expect(steps).toBe(6);
    const seen = new Set<string>();
    for (let n = 0; n <= steps; n++) {
      for (const policy of [
        CrashPolicy.loseAll,
        CrashPolicy.keepAll,
        CrashPolicy.random(new SeededRandom(n)),
      ]) {
        const fs = base.clone();
        fs.crashAfter(n);
        const code = errorCodeOf(() => writeFileAtomic(fs, 'CURRENT', enc.encode('new-manifest-0002')));
        expect(code).toBe(n < steps ? 'ARE_CRASHED' : undefined);
        fs.crash(policy);
        const got = text(fs, 'CURRENT');
        expect(['old-manifest-0001', 'new-manifest-0002'], `n=${n}`).toContain(got);
        seen.add(got);
      }
    }
    expect(seen.size).toBe(2);
  });

  it('the namespace replay follows renames and deletes in order', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'x', 'X');
    fs.rename('x', 'y');
    fs.rename('y', 'z');
    fs.delete('z');
    const lists = [0, 1, 2, 3].map((k) => {
      const copy = fs.clone();
      copy.crash(keep(k, () => 0));
      return copy.list();
    });
    expect(lists).toEqual([['x'], ['y'], ['z'], []]);
  });
});

describe('MemoryFs crashAfter', () => {
  /** Ten mutating ops: create, write, append, sync, create, rename, truncate, delete, syncDir, sync. */
  function workload(fs: MemoryFs): void {
    const h = fs.open('log', { create: true });
    h.write(0, enc.encode('ab'));
    h.append(enc.encode('cd'));
    h.sync();
    fs.open('tmp', { create: true }).close();
    fs.rename('tmp', 'final');
    h.truncate(1);
    fs.delete('final');
    fs.syncDir();
    h.sync();
  }

  it('counts mutating ops and nothing else', () => {
    const fs = new MemoryFs();
    workload(fs);
    expect(fs.mutatingOps).toBe(10);
    const h = fs.open('log', { create: true });
    h.read(0, 1);
    h.size();
    fs.list();
    fs.exists('log');
    h.close();
    expect(errorCodeOf(() => fs.delete('missing'))).toBe('ARE_NOT_FOUND');
    expect(fs.mutatingOps).toBe(10);
  });

  it('stops at exactly the n+1-th mutating op and keeps throwing until crash()', () => {
    for (let n = 0; n <= 10; n++) {
      const fs = new MemoryFs();
      fs.crashAfter(n);
      const code = errorCodeOf(() => workload(fs));
      expect(fs.mutatingOps, `n=${n}`).toBe(n);
      expect(code).toBe(n < 10 ? 'ARE_CRASHED' : undefined);
      expect(fs.crashed).toBe(n < 10);
      if (n === 10) continue;
      expect(errorCodeOf(() => fs.syncDir())).toBe('ARE_CRASHED');
      expect(errorCodeOf(() => fs.open('other', { create: true }))).toBe('ARE_CRASHED');
      expect(fs.exists('other')).toBe(false);
      expect(fs.mutatingOps).toBe(n);
      fs.crash(CrashPolicy.keepAll);
      expect(fs.crashed).toBe(false);
      fs.open('other', { create: true }).close();
      expect(fs.mutatingOps).toBe(n + 1);
    }
  });

  it('a failed op takes no effect', () => {
    const fs = new MemoryFs();
    const h = fs.open('f', { create: true });
    h.append(enc.encode('abc'));
    fs.crashAfter(0);
    expect(errorCodeOf(() => h.write(0, enc.encode('X')))).toBe('ARE_CRASHED');
    expect(errorCodeOf(() => h.truncate(0))).toBe('ARE_CRASHED');
    expect(errorCodeOf(() => fs.rename('f', 'g'))).toBe('ARE_CRASHED');
    expect(errorCodeOf(() => fs.delete('f'))).toBe('ARE_CRASHED');
    expect(h.read(0, 10)).toEqual(enc.encode('abc'));
    expect(fs.list()).toEqual(['f']);
  });

  it('undefined disarms; bad counts are rejected', () => {
    const fs = new MemoryFs();
    fs.crashAfter(0);
    fs.crashAfter(undefined);
    fs.open('f', { create: true }).close();
    expect(errorCodeOf(() => fs.crashAfter(-1))).toBe('ARE_INVALID_ARGUMENT');
    expect(errorCodeOf(() => fs.crashAfter(1.5))).toBe('ARE_INVALID_ARGUMENT');
  });
});

describe('MemoryFs bit rot, capacity and clone', () => {
  it('flipBit changes exactly one bit, in current and durable bytes', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', 'AAAA');
    fs.flipBit('f', 2, 0);
    expect(text(fs, 'f')).toBe('AA@A');
    fs.crash(CrashPolicy.loseAll);
    expect(text(fs, 'f')).toBe('AA@A');
    fs.flipBit('f', 3, 7);
    expect(readWholeFile(fs, 'f')).toEqual(Uint8Array.of(0x41, 0x41, 0x40, 0xc1));
  });

  it('flipBit rejects bad arguments', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', 'AB');
    expect(errorCodeOf(() => fs.flipBit('f', 2, 0))).toBe('ARE_INVALID_ARGUMENT');
    expect(errorCodeOf(() => fs.flipBit('f', 0, 8))).toBe('ARE_INVALID_ARGUMENT');
    expect(errorCodeOf(() => fs.flipBit('f', -1, 0))).toBe('ARE_INVALID_ARGUMENT');
    expect(errorCodeOf(() => fs.flipBit('missing', 0, 0))).toBe('ARE_NOT_FOUND');
    expect(text(fs, 'f')).toBe('AB');
  });

  it('a write past capacity throws ARE_NO_SPACE and changes nothing', () => {
    const fs = new MemoryFs({ capacityBytes: 10 });
    const h = fs.open('a', { create: true });
    h.append(new Uint8Array(6));
    const g = fs.open('b', { create: true });
    g.append(new Uint8Array(4));
    expect(fs.totalBytes()).toBe(10);
    const ops = fs.mutatingOps;
    const units = fs.pendingDataUnits('a');
    expect(errorCodeOf(() => h.append(Uint8Array.of(1)))).toBe('ARE_NO_SPACE');
    expect(errorCodeOf(() => h.write(5, Uint8Array.of(1, 2)))).toBe('ARE_NO_SPACE');
    expect(errorCodeOf(() => g.truncate(5))).toBe('ARE_NO_SPACE');
    expect(h.size()).toBe(6);
    expect(g.size()).toBe(4);
    expect(fs.mutatingOps).toBe(ops);
    expect(fs.pendingDataUnits('a')).toBe(units);
    h.write(0, Uint8Array.of(9, 9));
    expect(h.read(0, 2)).toEqual(Uint8Array.of(9, 9));
    g.truncate(1);
    h.append(Uint8Array.of(1, 2, 3));
    expect(fs.totalBytes()).toBe(10);
  });

  it('space is freed by delete only when the last handle closes', () => {
    const fs = new MemoryFs({ capacityBytes: 8 });
    const h = fs.open('a', { create: true });
    h.append(new Uint8Array(8));
    fs.delete('a');
    expect(fs.totalBytes()).toBe(8);
    const g = fs.open('b', { create: true });
    expect(errorCodeOf(() => g.append(Uint8Array.of(1)))).toBe('ARE_NO_SPACE');
    h.close();
    expect(fs.totalBytes()).toBe(0);
    g.append(new Uint8Array(8));
    fs.capacityBytes = undefined;
    g.append(new Uint8Array(100));
    expect(
      errorCodeOf(() => {
        fs.capacityBytes = -1;
      }),
    ).toBe('ARE_INVALID_ARGUMENT');
  });

  it('clones are independent, both ways', () => {
    const fs = new MemoryFs();
    durableFile(fs, 'f', 'base');
    const h = fs.open('f');
    h.append(enc.encode('+pending'));
    const copy = fs.clone();
    expect(copy.pendingDataUnits('f')).toBe(8);
    copy.open('f').append(enc.encode('+copy'));
    copy.open('g', { create: true }).close();
    copy.crash(CrashPolicy.loseAll);
    expect(text(copy, 'f')).toBe('base');
    expect(h.read(0, 100)).toEqual(enc.encode('base+pending'));
    expect(fs.list()).toEqual(['f']);
    h.append(enc.encode('!'));
    const copy2 = fs.clone();
    fs.crash(CrashPolicy.loseAll);
    expect(text(copy2, 'f')).toBe('base+pending!');
    copy2.crash(CrashPolicy.keepAll);
    expect(text(copy2, 'f')).toBe('base+pending!');
  });
});

/** One step of the random crash workload. */
type Op =
  | { op: 'create'; file: number }
  | { op: 'write'; file: number; offset: number; data: Uint8Array }
  | { op: 'append'; file: number; data: Uint8Array }
  | { op: 'truncate'; file: number; size: number }
  | { op: 'sync'; file: number }
  | { op: 'rename'; from: number; to: number }
  | { op: 'delete'; file: number }
  | { op: 'syncDir' };

const FILES = ['f0', 'f1', 'f2'];
const fileArb = fc.nat({ max: FILES.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('create'), file: fileArb }),
  fc.record({
    op: fc.constant('write'),
    file: fileArb,
    offset: fc.nat(40),
    data: fc.uint8Array({ maxLength: 12 }),
  }),
  fc.record({ op: fc.constant('append'), file: fileArb, data: fc.uint8Array({ maxLength: 12 }) }),
  fc.record({ op: fc.constant('truncate'), file: fileArb, size: fc.nat(40) }),
  fc.record({ op: fc.constant('sync'), file: fileArb }),
  fc.record({ op: fc.constant('rename'), from: fileArb, to: fileArb }),
  fc.record({ op: fc.constant('delete'), file: fileArb }),
  fc.record({ op: fc.constant('syncDir') }),
);

type ModelOp = { offset: number; data: Uint8Array } | { size: number };

/** A reference model of the crash semantics, written independently of MemoryFs. */
class CrashModel {
  private nextId = 0;
  names = new Map<string, number>();
  durableNames = new Map<string, number>();
  pendingNames: Array<Map<string, number>> = [];
  durable = new Map<number, Uint8Array>();
  pending = new Map<number, ModelOp[]>();

  create(name: string): void {
    const id = this.nextId++;
    this.durable.set(id, new Uint8Array(0));
    this.pending.set(id, []);
    this.names.set(name, id);
    this.pendingNames.push(new Map(this.names));
  }

  rename(from: string, to: string): void {
    const id = this.names.get(from)!;
    this.names.delete(from);
    this.names.set(to, id);
    this.pendingNames.push(new Map(this.names));
  }

  remove(name: string): void {
    this.names.delete(name);
    this.pendingNames.push(new Map(this.names));
  }

  syncDir(): void {
    this.durableNames = new Map(this.names);
    this.pendingNames = [];
  }

  sync(id: number): void {
    this.durable.set(id, this.contents(id, Number.POSITIVE_INFINITY));
    this.pending.set(id, []);
  }

  /** Durable bytes of `id` plus its first `units` pending units. */
  contents(id: number, units: number): Uint8Array {
    let bytes = this.durable.get(id)!;
    let left = units;
    for (const op of this.pending.get(id)!) {
      if (left <= 0) break;
      if ('size' in op) {
        const next = new Uint8Array(op.size);
        next.set(bytes.subarray(0, op.size));
        bytes = next;
        left -= 1;
      } else {
        const data = op.data.subarray(0, Math.min(left, op.data.length));
        const next = new Uint8Array(Math.max(bytes.length, op.offset + data.length));
        next.set(bytes);
        next.set(data, op.offset);
        bytes = next;
        left -= op.data.length;
      }
    }
    return bytes;
  }

  /** Every state a crash may leave, as a predicate on the recovered file system. */
  allowed(fs: MemoryFs): boolean {
    const namespaces = [this.durableNames, ...this.pendingNames];
    return namespaces.some((names) => {
      if (fs.list().join() !== [...names.keys()].sort().join()) return false;
      return [...names].every(([name, id]) => {
        const got = readWholeFile(fs, name);
        const units = this.pending.get(id)!.reduce((n, op) => n + ('size' in op ? 1 : op.data.length), 0);
        for (let k = 0; k <= units; k++) if (sameBytes(got, this.contents(id, k))) return true;
        return false;
      });
    });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function applyOp(fs: MemoryFs, model: CrashModel, op: Op): void {
  if (op.op === 'syncDir') {
    fs.syncDir();
    model.syncDir();
    return;
  }
  if (op.op === 'rename') {
    const [from, to] = [FILES[op.from]!, FILES[op.to]!];
    if (!model.names.has(from) || from === to) return;
    fs.rename(from, to);
    model.rename(from, to);
    return;
  }
  const name = FILES[op.file]!;
  const id = model.names.get(name);
  if (op.op === 'create') {
    if (id !== undefined) return;
    fs.open(name, { create: true }).close();
    model.create(name);
    return;
  }
  if (id === undefined) return;
  if (op.op === 'delete') {
    fs.delete(name);
    model.remove(name);
    return;
  }
  const h = fs.open(name);
  const pending = model.pending.get(id)!;
  if (op.op === 'sync') {
    h.sync();
    model.sync(id);
  } else if (op.op === 'truncate') {
    h.truncate(op.size);
    pending.push({ size: op.size });
  } else {
    const offset = op.op === 'append' ? h.size() : op.offset;
    h.write(offset, op.data);
    if (op.data.length > 0) pending.push({ offset, data: op.data.slice() });
  }
  h.close();
}

describe('MemoryFs crash property', () => {
  it('after any crash, names are a namespace prefix and every file is durable + a torn prefix', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), fc.integer(), (ops, seed) => {
        const fs = new MemoryFs();
        const model = new CrashModel();
        for (const op of ops) applyOp(fs, model, op);
        fs.crash(CrashPolicy.random(new SeededRandom(seed)));
        expect(model.allowed(fs)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('loseAll recovers exactly the synced state', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        const fs = new MemoryFs();
        const model = new CrashModel();
        for (const op of ops) applyOp(fs, model, op);
        fs.crash(CrashPolicy.loseAll);
        expect(fs.list()).toEqual([...model.durableNames.keys()].sort());
        for (const [name, id] of model.durableNames)
          expect(readWholeFile(fs, name)).toEqual(model.contents(id, 0));
      }),
      { numRuns: 200 },
    );
  });
});
