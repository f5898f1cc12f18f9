/**
 * The FileSystem conformance suite: everything the contract in `fs.ts` promises, checked the
 * same way for every implementation (MemoryFs, NodeFs, OpfsFs). An implementation's test file
 * calls {@link runFsConformance} with a factory; the suite registers vitest tests.
 *
 * Durability after a crash cannot be tested generically (only MemoryFs can crash on demand);
 * what can be is that a fresh instance over the same storage sees synced bytes and names.
 */

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileHandle, FileSystem } from './fs.ts';
import { MAX_FILE_NAME_BYTES } from './fs.ts';

/** What a conformance factory returns: a fresh, empty file system and how to dispose of it. */
export interface FsUnderTest {
  /** An empty file system. */
  fs: FileSystem;
  /** Releases the file system's storage after the test. */
  cleanup?: () => void;
  /**
   * A fresh instance over the same storage, as a restarted process would open it. The old
   * instance is not used afterwards (the factory may close it). Omit when not possible.
   */
  reopen?: () => FileSystem | Promise<FileSystem>;
}

/** The error code `fn` throws, or undefined when it returns normally. */
export function errorCodeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? code : `non-Aregula error: ${String(e)}`;
  }
  return undefined;
}

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Creates `name` holding `data`, synced (the name itself is durable only after syncDir). */
function createWith(fs: FileSystem, name: string, data: Uint8Array): void {
  const h = fs.open(name, { create: true, exclusive: true });
  h.write(0, data);
  h.sync();
  h.close();
}

function readAll(fs: FileSystem, name: string): Uint8Array {
  const h = fs.open(name);
  try {
    return h.read(0, h.size());
  } finally {
    h.close();
  }
}

const INVALID_NAMES = [
  '',
  '.',
  '..',
  'a/b',
  'a\\b',
  'a b',
  'ä',
  'x'.repeat(MAX_FILE_NAME_BYTES + 1),
  'a\u0000',
];

/** Registers the conformance tests for one implementation. `makeFs` runs once per test. */
export function runFsConformance(name: string, makeFs: () => FsUnderTest): void {
  describe(`FileSystem conformance: ${name}`, () => {
    let ctx: FsUnderTest;
    let fs: FileSystem;
    beforeEach(() => {
      ctx = makeFs();
      fs = ctx.fs;
    });
    afterEach(() => ctx.cleanup?.());

    registerOpenTests(() => fs);
    registerReadWriteTests(() => fs);
    registerNamespaceTests(() => fs);
    registerHandleTests(() => fs);
    registerValidationTests(() => fs);

    it('a fresh instance over the same storage sees synced bytes and names', async () => {
      if (ctx.reopen === undefined) return;
      const h = fs.open('data.sst', { create: true });
      h.write(0, text('synced bytes'));
      h.sync();
      h.close();
      createWith(fs, 'old', text('to be replaced'));
      createWith(fs, 'new.tmp', text('replacement'));
      fs.rename('new.tmp', 'old');
      createWith(fs, 'gone', text('x'));
      fs.delete('gone');
      fs.syncDir();
      const fresh = await ctx.reopen();
      expect(fresh.list()).toEqual(['data.sst', 'old']);
      expect(readAll(fresh, 'data.sst')).toEqual(text('synced bytes'));
      expect(readAll(fresh, 'old')).toEqual(text('replacement'));
      const again = fresh.open('data.sst');
      expect(again.append(text('!'))).toBe(12);
      again.close();
      expect(readAll(fresh, 'data.sst')).toEqual(text('synced bytes!'));
    });

    it('matches a simple model on random operation sequences', () => {
      fc.assert(
        fc.property(fc.array(commandArb, { maxLength: 50 }), (commands) => {
          runAgainstModel(fs, commands);
        }),
        { numRuns: 100 },
      );
    });
  });
}

function registerOpenTests(getFs: () => FileSystem): void {
  it('opening a missing file without create throws ARE_NOT_FOUND and creates nothing', () => {
    const fs = getFs();
    expect(errorCodeOf(() => fs.open('missing'))).toBe('ARE_NOT_FOUND');
    expect(errorCodeOf(() => fs.open('missing', { exclusive: true }))).toBe('ARE_NOT_FOUND');
    expect(fs.exists('missing')).toBe(false);
    expect(fs.list()).toEqual([]);
  });

  it('open with create makes an empty file that exists and is listed', () => {
    const fs = getFs();
    const h = fs.open('f', { create: true });
    expect(h.name).toBe('f');
    expect(h.size()).toBe(0);
    expect(h.read(0, 10)).toEqual(new Uint8Array(0));
    h.close();
    expect(fs.exists('f')).toBe(true);
    expect(fs.list()).toEqual(['f']);
  });

  it('exclusive create fails on an existing file and leaves it unchanged', () => {
    const fs = getFs();
    createWith(fs, 'f', bytes(1, 2, 3));
    expect(errorCodeOf(() => fs.open('f', { create: true, exclusive: true }))).toBe('ARE_ALREADY_EXISTS');
    expect(readAll(fs, 'f')).toEqual(bytes(1, 2, 3));
  });

  it('non-exclusive create and plain open of an existing file keep its bytes', () => {
    const fs = getFs();
    createWith(fs, 'f', bytes(7, 8));
    const a = fs.open('f', { create: true });
    expect(a.read(0, 10)).toEqual(bytes(7, 8));
    a.close();
    const b = fs.open('f');
    expect(b.size()).toBe(2);
    b.close();
  });

  it('reopening after close sees the same bytes', () => {
    const fs = getFs();
    const h = fs.open('f', { create: true });
    h.write(0, text('hello'));
    h.append(text(' world'));
    h.close();
    expect(readAll(fs, 'f')).toEqual(text('hello world'));
  });
}

function registerReadWriteTests(getFs: () => FileSystem): void {
  it('reads at offsets, short at the end, empty at and past the end', () => {
    const h = getFs().open('f', { create: true });
    h.write(0, bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    expect(h.read(0, 3)).toEqual(bytes(0, 1, 2));
    expect(h.read(4, 2)).toEqual(bytes(4, 5));
    expect(h.read(7, 100)).toEqual(bytes(7, 8, 9));
    expect(h.read(10, 5)).toEqual(new Uint8Array(0));
    expect(h.read(1000, 5)).toEqual(new Uint8Array(0));
    expect(h.read(3, 0)).toEqual(new Uint8Array(0));
    h.close();
  });

  it('reads return copies and writes copy their input', () => {
    const h = getFs().open('f', { create: true });
    const data = bytes(1, 2, 3);
    h.write(0, data);
    data[0] = 99;
    const first = h.read(0, 3);
    first[1] = 99;
    expect(h.read(0, 3)).toEqual(bytes(1, 2, 3));
    h.close();
  });

  it('writes in the middle overwrite and past the end leave a zero gap', () => {
    const h = getFs().open('f', { create: true });
    h.write(0, bytes(1, 2, 3, 4));
    h.write(1, bytes(9, 9));
    expect(h.read(0, 10)).toEqual(bytes(1, 9, 9, 4));
    h.write(6, bytes(5, 6));
    expect(h.size()).toBe(8);
    expect(h.read(0, 10)).toEqual(bytes(1, 9, 9, 4, 0, 0, 5, 6));
    h.write(7, bytes(7, 8));
    expect(h.read(0, 10)).toEqual(bytes(1, 9, 9, 4, 0, 0, 5, 7, 8));
    h.close();
  });

  it('append returns the offset it wrote at', () => {
    const h = getFs().open('f', { create: true });
    expect(h.append(bytes(1, 2))).toBe(0);
    expect(h.append(bytes(3))).toBe(2);
    h.write(5, bytes(6));
    expect(h.append(bytes(7, 8))).toBe(6);
    expect(h.append(new Uint8Array(0))).toBe(8);
    expect(h.size()).toBe(8);
    expect(h.read(0, 8)).toEqual(bytes(1, 2, 3, 0, 0, 6, 7, 8));
    h.close();
  });

  it('truncate shrinks, and extending again reads zeros where bytes were', () => {
    const h = getFs().open('f', { create: true });
    h.write(0, bytes(1, 2, 3, 4, 5));
    h.truncate(2);
    expect(h.size()).toBe(2);
    expect(h.read(0, 10)).toEqual(bytes(1, 2));
    h.truncate(4);
    expect(h.size()).toBe(4);
    expect(h.read(0, 10)).toEqual(bytes(1, 2, 0, 0));
    h.truncate(0);
    expect(h.size()).toBe(0);
    expect(h.append(bytes(9))).toBe(0);
    h.close();
  });

  it('two handles on one file see each other’s writes and sizes', () => {
    const fs = getFs();
    const a = fs.open('f', { create: true });
    const b = fs.open('f');
    a.append(bytes(1, 2));
    expect(b.size()).toBe(2);
    expect(b.append(bytes(3))).toBe(2);
    expect(a.read(0, 10)).toEqual(bytes(1, 2, 3));
    a.close();
    b.close();
  });

  it('sync and syncDir succeed and change nothing visible', () => {
    const fs = getFs();
    const h = fs.open('f', { create: true });
    h.append(bytes(1));
    h.sync();
    h.sync();
    fs.syncDir();
    expect(h.read(0, 5)).toEqual(bytes(1));
    h.close();
    expect(fs.list()).toEqual(['f']);
  });
}

function registerNamespaceTests(getFs: () => FileSystem): void {
  it('list is exact and sorted bytewise', () => {
    const fs = getFs();
    const names = [
      'b',
      'A',
      'a',
      '_x',
      '-y',
      '.z',
      '0',
      'a.log',
      'a-1',
      'B9',
      'x'.repeat(MAX_FILE_NAME_BYTES),
    ];
    for (const n of names) fs.open(n, { create: true }).close();
    const expected = [
      '-y',
      '.z',
      '0',
      'A',
      'B9',
      '_x',
      'a',
      'a-1',
      'a.log',
      'b',
      'x'.repeat(MAX_FILE_NAME_BYTES),
    ];
    expect(fs.list()).toEqual(expected);
    fs.delete('a');
    expect(fs.list()).toEqual(expected.filter((n) => n !== 'a'));
  });

  it('rename moves a file and its bytes', () => {
    const fs = getFs();
    createWith(fs, 'from', bytes(1, 2));
    fs.rename('from', 'to');
    expect(fs.exists('from')).toBe(false);
    expect(fs.list()).toEqual(['to']);
    expect(readAll(fs, 'to')).toEqual(bytes(1, 2));
    expect(errorCodeOf(() => fs.open('from'))).toBe('ARE_NOT_FOUND');
  });

  it('rename replaces an existing target; a handle on the old target keeps the old bytes', () => {
    const fs = getFs();
    createWith(fs, 'target', bytes(1, 1, 1));
    createWith(fs, 'source', bytes(2, 2));
    const old = fs.open('target');
    fs.rename('source', 'target');
    expect(fs.list()).toEqual(['target']);
    expect(readAll(fs, 'target')).toEqual(bytes(2, 2));
    expect(old.read(0, 10)).toEqual(bytes(1, 1, 1));
    old.close();
    expect(readAll(fs, 'target')).toEqual(bytes(2, 2));
  });

  it('an open handle follows its file across rename', () => {
    const fs = getFs();
    const h = fs.open('a', { create: true });
    h.append(bytes(1));
    fs.rename('a', 'b');
    expect(h.append(bytes(2))).toBe(1);
    expect(h.read(0, 10)).toEqual(bytes(1, 2));
    expect(readAll(fs, 'b')).toEqual(bytes(1, 2));
    expect(fs.exists('a')).toBe(false);
    h.close();
  });

  it('rename of a missing file throws ARE_NOT_FOUND and changes nothing', () => {
    const fs = getFs();
    createWith(fs, 'keep', bytes(5));
    expect(errorCodeOf(() => fs.rename('missing', 'keep'))).toBe('ARE_NOT_FOUND');
    expect(fs.list()).toEqual(['keep']);
    expect(readAll(fs, 'keep')).toEqual(bytes(5));
  });

  it('rename onto itself keeps the file', () => {
    const fs = getFs();
    createWith(fs, 'same', bytes(4));
    fs.rename('same', 'same');
    expect(fs.list()).toEqual(['same']);
    expect(readAll(fs, 'same')).toEqual(bytes(4));
  });

  it('delete removes the name; a missing file throws ARE_NOT_FOUND', () => {
    const fs = getFs();
    createWith(fs, 'f', bytes(1));
    createWith(fs, 'g', bytes(2));
    fs.delete('f');
    expect(fs.exists('f')).toBe(false);
    expect(fs.list()).toEqual(['g']);
    expect(errorCodeOf(() => fs.delete('f'))).toBe('ARE_NOT_FOUND');
    expect(errorCodeOf(() => fs.open('f'))).toBe('ARE_NOT_FOUND');
    const fresh = fs.open('f', { create: true, exclusive: true });
    expect(fresh.size()).toBe(0);
    fresh.close();
  });

  it('a handle keeps working after its file is deleted, until closed', () => {
    const fs = getFs();
    const h = fs.open('f', { create: true });
    h.append(bytes(1, 2));
    fs.delete('f');
    expect(h.append(bytes(3))).toBe(2);
    expect(h.read(0, 10)).toEqual(bytes(1, 2, 3));
    h.close();
    expect(fs.list()).toEqual([]);
    const again = fs.open('f', { create: true });
    expect(again.size()).toBe(0);
    again.close();
  });
}

function registerHandleTests(getFs: () => FileSystem): void {
  it('every call on a closed handle throws ARE_CLOSED; closing twice is allowed', () => {
    const h = getFs().open('f', { create: true });
    h.append(bytes(1));
    h.close();
    h.close();
    expect(errorCodeOf(() => h.size())).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => h.read(0, 1))).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => h.write(0, bytes(1)))).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => h.append(bytes(1)))).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => h.truncate(0))).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => h.sync())).toBe('ARE_CLOSED');
    expect(readAll(getFs(), 'f')).toEqual(bytes(1));
  });

  it('closing one handle leaves other handles on the file open', () => {
    const fs = getFs();
    const a = fs.open('f', { create: true });
    const b = fs.open('f');
    a.close();
    b.append(bytes(1));
    expect(b.read(0, 1)).toEqual(bytes(1));
    b.close();
  });
}

function registerValidationTests(getFs: () => FileSystem): void {
  it('invalid names throw ARE_INVALID_ARGUMENT everywhere and create nothing', () => {
    const fs = getFs();
    createWith(fs, 'ok', bytes(1));
    for (const bad of INVALID_NAMES) {
      expect(
        errorCodeOf(() => fs.open(bad, { create: true })),
        bad,
      ).toBe('ARE_INVALID_ARGUMENT');
      expect(
        errorCodeOf(() => fs.exists(bad)),
        bad,
      ).toBe('ARE_INVALID_ARGUMENT');
      expect(
        errorCodeOf(() => fs.delete(bad)),
        bad,
      ).toBe('ARE_INVALID_ARGUMENT');
      expect(
        errorCodeOf(() => fs.rename('ok', bad)),
        bad,
      ).toBe('ARE_INVALID_ARGUMENT');
      expect(
        errorCodeOf(() => fs.rename(bad, 'ok')),
        bad,
      ).toBe('ARE_INVALID_ARGUMENT');
    }
    expect(fs.list()).toEqual(['ok']);
  });

  it('bad offsets, lengths and sizes throw ARE_INVALID_ARGUMENT and change nothing', () => {
    const h = getFs().open('f', { create: true });
    h.write(0, bytes(1, 2, 3));
    const bad = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5];
    for (const v of bad) {
      expect(
        errorCodeOf(() => h.read(v, 1)),
        `read offset ${v}`,
      ).toBe('ARE_INVALID_ARGUMENT');
      expect(
        errorCodeOf(() => h.read(0, v)),
        `read length ${v}`,
      ).toBe('ARE_INVALID_ARGUMENT');
      expect(
        errorCodeOf(() => h.write(v, bytes(9))),
        `write offset ${v}`,
      ).toBe('ARE_INVALID_ARGUMENT');
      expect(
        errorCodeOf(() => h.truncate(v)),
        `truncate ${v}`,
      ).toBe('ARE_INVALID_ARGUMENT');
    }
    expect(h.read(0, 10)).toEqual(bytes(1, 2, 3));
    h.close();
  });
}

/** One step of the random model test. Handles are picked by index modulo the open count. */
type Command =
  | { op: 'open'; name: string; create: boolean }
  | { op: 'close'; h: number }
  | { op: 'write'; h: number; offset: number; data: Uint8Array }
  | { op: 'append'; h: number; data: Uint8Array }
  | { op: 'truncate'; h: number; size: number }
  | { op: 'read'; h: number; offset: number; length: number }
  | { op: 'sync'; h: number }
  | { op: 'rename'; from: string; to: string }
  | { op: 'delete'; name: string }
  | { op: 'syncDir' };

const MODEL_NAMES = ['a', 'b', 'c.log', 'D'];
const MAX_MODEL_HANDLES = 6;

const nameArb = fc.constantFrom(...MODEL_NAMES);
const handleArb = fc.nat({ max: MAX_MODEL_HANDLES - 1 });
const dataArb = fc.uint8Array({ maxLength: 40 });
const offsetArb = fc.nat({ max: 120 });

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('open'), name: nameArb, create: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('close'), h: handleArb }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant('write'), h: handleArb, offset: offsetArb, data: dataArb }),
    weight: 3,
  },
  { arbitrary: fc.record({ op: fc.constant('append'), h: handleArb, data: dataArb }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('truncate'), h: handleArb, size: offsetArb }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant('read'), h: handleArb, offset: offsetArb, length: offsetArb }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant('sync'), h: handleArb }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('rename'), from: nameArb, to: nameArb }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('delete'), name: nameArb }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('syncDir') }), weight: 1 },
);

/** The model: names map to file ids, ids to contents (so handles follow files like inodes). */
class Model {
  names = new Map<string, number>();
  files = new Map<number, Uint8Array>();
  private nextId = 0;

  create(name: string): number {
    const id = this.nextId++;
    this.names.set(name, id);
    this.files.set(id, new Uint8Array(0));
    return id;
  }

  write(id: number, offset: number, data: Uint8Array): void {
    if (data.length === 0) return;
    const old = this.files.get(id)!;
    const next = new Uint8Array(Math.max(old.length, offset + data.length));
    next.set(old);
    next.set(data, offset);
    this.files.set(id, next);
  }

  truncate(id: number, size: number): void {
    const next = new Uint8Array(size);
    next.set(this.files.get(id)!.subarray(0, size));
    this.files.set(id, next);
  }
}

interface OpenHandle {
  handle: FileHandle;
  id: number;
}

function runAgainstModel(fs: FileSystem, commands: Command[]): void {
  for (const n of fs.list()) fs.delete(n);
  const model = new Model();
  const open: OpenHandle[] = [];
  try {
    for (const c of commands) step(fs, model, open, c);
    expect(fs.list()).toEqual([...model.names.keys()].sort());
    for (const [n, id] of model.names) expect(readAll(fs, n), n).toEqual(model.files.get(id));
  } finally {
    for (const o of open) o.handle.close();
  }
}

function step(fs: FileSystem, model: Model, open: OpenHandle[], c: Command): void {
  if (c.op === 'open' || c.op === 'rename' || c.op === 'delete' || c.op === 'syncDir') {
    namespaceStep(fs, model, open, c);
    return;
  }
  if (open.length === 0) return;
  const index = c.h % open.length;
  const { handle, id } = open[index]!;
  const content = (): Uint8Array => model.files.get(id)!;
  switch (c.op) {
    case 'close':
      handle.close();
      open.splice(index, 1);
      return;
    case 'write':
      handle.write(c.offset, c.data);
      model.write(id, c.offset, c.data);
      break;
    case 'append':
      expect(handle.append(c.data)).toBe(content().length);
      model.write(id, content().length, c.data);
      break;
    case 'truncate':
      handle.truncate(c.size);
      model.truncate(id, c.size);
      break;
    case 'read':
      expect(handle.read(c.offset, c.length)).toEqual(content().slice(c.offset, c.offset + c.length));
      break;
    case 'sync':
      handle.sync();
      break;
  }
  expect(handle.size()).toBe(content().length);
}

function namespaceStep(
  fs: FileSystem,
  model: Model,
  open: OpenHandle[],
  c: Extract<Command, { op: 'open' | 'rename' | 'delete' | 'syncDir' }>,
): void {
  switch (c.op) {
    case 'open': {
      let id = model.names.get(c.name);
      if (id === undefined && !c.create) {
        expect(errorCodeOf(() => fs.open(c.name))).toBe('ARE_NOT_FOUND');
        return;
      }
      if (open.length === MAX_MODEL_HANDLES) open.shift()!.handle.close();
      const handle = fs.open(c.name, { create: c.create });
      if (id === undefined) id = model.create(c.name);
      open.push({ handle, id });
      return;
    }
    case 'rename': {
      const id = model.names.get(c.from);
      if (id === undefined) {
        expect(errorCodeOf(() => fs.rename(c.from, c.to))).toBe('ARE_NOT_FOUND');
        return;
      }
      fs.rename(c.from, c.to);
      model.names.delete(c.from);
      model.names.set(c.to, id);
      return;
    }
    case 'delete': {
      if (!model.names.has(c.name)) {
        expect(errorCodeOf(() => fs.delete(c.name))).toBe('ARE_NOT_FOUND');
        return;
      }
      fs.delete(c.name);
      model.names.delete(c.name);
      return;
    }
    case 'syncDir':
      fs.syncDir();
      return;
  }
}
