import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpfsDirectory } from './fake-opfs.ts';
import { readWholeFile } from './fs.ts';
import { errorCodeOf, runFsConformance } from './fs-conformance.ts';
import { HEADER_BYTES, OpfsFs } from './opfs-fs.ts';

const POOL = 16;
const enc = new TextEncoder();
const dec = new TextDecoder();

describe('OpfsFs on the fake OPFS', () => {
  let dir: FakeOpfsDirectory;
  let fs: OpfsFs;
  beforeEach(async () => {
    dir = new FakeOpfsDirectory();
    fs = await OpfsFs.open(dir, { poolSize: POOL });
  });

  runFsConformance('OpfsFs (fake OPFS)', () => ({
    fs,
    cleanup: () => fs.close(),
    reopen: async () => {
      fs.close();
      fs = await OpfsFs.open(dir, { poolSize: POOL });
      return fs;
    },
  }));
});

describe('OpfsFs pool', () => {
  let dir: FakeOpfsDirectory;
  let fs: OpfsFs;
  beforeEach(async () => {
    dir = new FakeOpfsDirectory();
    fs = await OpfsFs.open(dir, { poolSize: 4 });
  });
  afterEach(() => fs.close());

  async function reopen(options: { crash?: boolean } = {}): Promise<OpfsFs> {
    if (options.crash) dir.crash();
    else fs.close();
    fs = await OpfsFs.open(dir, { poolSize: 4 });
    return fs;
  }

  function write(name: string, content: string): void {
    const h = fs.open(name, { create: true });
    h.truncate(0);
    h.write(0, enc.encode(content));
    h.sync();
    h.close();
  }

  /** The header copy (0 or 1) of `slot` whose name field reads `name`, or -1. */
  function copyNaming(slot: string, name: string): number {
    const bytes = dir.file(slot).bytes;
    return (
      [0, 1].find((c) => dec.decode(bytes.subarray(c * 256 + 18, c * 256 + 18 + name.length)) === name) ?? -1
    );
  }

  function slotOf(name: string): string {
    const hit = dir.names().find((n) => n.startsWith('aregula-slot-') && copyNaming(n, name) >= 0);
    if (hit === undefined) throw new Error(`no slot holds ${name}`);
    return hit;
  }

  it('pre-creates the pool, each slot holding just its header', () => {
    expect(dir.names()).toEqual([0, 1, 2, 3].map((i) => `aregula-slot-00000${i}`));
    for (const n of dir.names()) expect(dir.file(n).bytes.length).toBe(HEADER_BYTES);
    expect(fs.slotCount).toBe(4);
    expect(fs.freeSlotCount).toBe(4);
  });

  it('stores logical byte i at physical byte HEADER_BYTES + i', () => {
    write('data', 'abc');
    const raw = dir.file(slotOf('data')).bytes;
    expect(raw.length).toBe(HEADER_BYTES + 3);
    expect(dec.decode(raw.subarray(HEADER_BYTES))).toBe('abc');
  });

  it('running out of slots throws ARE_NO_SPACE naming the fix; reserve grows the pool', async () => {
    for (const n of ['a', 'b', 'c', 'd']) fs.open(n, { create: true }).close();
    let message = '';
    try {
      fs.open('e', { create: true });
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ARE_NO_SPACE');
      message = (e as Error).message;
    }
    expect(message).toContain('reserve');
    expect(fs.list()).toEqual(['a', 'b', 'c', 'd']);
    await fs.reserve(2);
    expect(fs.slotCount).toBe(6);
    expect(fs.freeSlotCount).toBe(2);
    await fs.reserve(1);
    expect(fs.slotCount).toBe(6);
    fs.open('e', { create: true }).close();
    await reopen();
    expect(fs.slotCount).toBe(6);
    expect(fs.list()).toEqual(['a', 'b', 'c', 'd', 'e']);
    await expect(fs.reserve(-1)).rejects.toMatchObject({ code: 'ARE_INVALID_ARGUMENT' });
    await expect(fs.reserve(1.5)).rejects.toMatchObject({ code: 'ARE_INVALID_ARGUMENT' });
  });

  it('a deleted file keeps its slot until its last handle closes', () => {
    const h = fs.open('f', { create: true });
    h.append(enc.encode('x'));
    const g = fs.open('f');
    fs.delete('f');
    expect(fs.freeSlotCount).toBe(3);
    h.close();
    expect(fs.freeSlotCount).toBe(3);
    g.close();
    expect(fs.freeSlotCount).toBe(4);
    const reused = fs.open('f', { create: true });
    expect(reused.size()).toBe(0);
    reused.close();
  });

  it('a rename over a target frees the target slot', () => {
    write('a', 'new');
    write('b', 'old');
    fs.rename('a', 'b');
    expect(fs.freeSlotCount).toBe(3);
  });

  it('create, rename and delete are durable at once; synced data survives a crash', async () => {
    write('keep', 'kept');
    write('moved', 'moved data');
    fs.rename('moved', 'renamed');
    write('gone', 'x');
    fs.delete('gone');
    const h = fs.open('keep');
    h.append(enc.encode('-unsynced'));
    await reopen({ crash: true });
    expect(fs.list()).toEqual(['keep', 'renamed']);
    expect(dec.decode(readWholeFile(fs, 'keep'))).toBe('kept');
    expect(dec.decode(readWholeFile(fs, 'renamed'))).toBe('moved data');
    expect(fs.freeSlotCount).toBe(2);
  });

  it('a crash between a rename’s two header writes keeps the new file under the name', async () => {
    write('CURRENT', 'old');
    write('CURRENT.tmp', 'new');
    dir.failFlushesAfter(1);
    expect(errorCodeOf(() => fs.rename('CURRENT.tmp', 'CURRENT'))).toBe('ARE_IO');
    await reopen({ crash: true });
    expect(fs.list()).toEqual(['CURRENT']);
    expect(dec.decode(readWholeFile(fs, 'CURRENT'))).toBe('new');
    expect(fs.freeSlotCount).toBe(3);
    fs.delete('CURRENT');
    await reopen();
    expect(fs.list()).toEqual([]);
  });

  it('a crash before a rename’s first header flush keeps the old state', async () => {
    write('CURRENT', 'old');
    write('CURRENT.tmp', 'new');
    dir.failFlushesAfter(0);
    expect(errorCodeOf(() => fs.rename('CURRENT.tmp', 'CURRENT'))).toBe('ARE_IO');
    await reopen({ crash: true });
    expect(fs.list()).toEqual(['CURRENT', 'CURRENT.tmp']);
    expect(dec.decode(readWholeFile(fs, 'CURRENT'))).toBe('old');
  });

  it('a torn newest header copy falls back to the older copy', async () => {
    write('a', 'data');
    fs.rename('a', 'b');
    fs.close();
    const slot = dir.file(slotOf('b'));
    const newest = copyNaming(slot.name, 'b') * 256;
    expect(copyNaming(slot.name, 'a') * 256).toBe(256 - newest);
    slot.bytes[newest + 20] = slot.bytes[newest + 20]! ^ 0xff;
    fs = await OpfsFs.open(dir, { poolSize: 4 });
    expect(fs.list()).toEqual(['a']);
    expect(dec.decode(readWholeFile(fs, 'a'))).toBe('data');
  });

  it('a slot with no intact header copy is free and reused empty', async () => {
    write('a', 'data');
    fs.close();
    const slot = dir.file(slotOf('a'));
    slot.bytes[4] = slot.bytes[4]! ^ 1;
    slot.bytes[256 + 4] = slot.bytes[256 + 4]! ^ 1;
    fs = await OpfsFs.open(dir, { poolSize: 4 });
    expect(fs.list()).toEqual([]);
    expect(fs.freeSlotCount).toBe(4);
    expect(slot.bytes.length).toBe(HEADER_BYTES);
  });

  it('ignores directory entries that are not slots, and keeps extra slots', async () => {
    await dir.getFileHandle('unrelated.txt', { create: true });
    fs.close();
    fs = await OpfsFs.open(dir, { poolSize: 2 });
    expect(fs.slotCount).toBe(4);
    expect(dir.names()).toContain('unrelated.txt');
  });

  it('a second instance on an open pool fails with ARE_LOCKED', async () => {
    await expect(OpfsFs.open(dir, { poolSize: 4 })).rejects.toMatchObject({ code: 'ARE_LOCKED' });
    expect(fs.list()).toEqual([]);
  });

  it('quota exhaustion is ARE_NO_SPACE', () => {
    const h = fs.open('f', { create: true });
    dir.quotaBytes = 4 * HEADER_BYTES + 10;
    h.append(new Uint8Array(10));
    expect(errorCodeOf(() => h.append(new Uint8Array(1)))).toBe('ARE_NO_SPACE');
    expect(h.size()).toBe(10);
    h.close();
  });

  it('after close, the file system and its handles throw ARE_CLOSED', () => {
    const h = fs.open('f', { create: true });
    fs.close();
    fs.close();
    expect(errorCodeOf(() => h.size())).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => fs.list())).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => fs.open('f'))).toBe('ARE_CLOSED');
    expect(errorCodeOf(() => fs.syncDir())).toBe('ARE_CLOSED');
    h.close();
  });

  it('rejects a bad pool size', async () => {
    await expect(OpfsFs.open(new FakeOpfsDirectory(), { poolSize: -1 })).rejects.toMatchObject({
      code: 'ARE_INVALID_ARGUMENT',
    });
  });
});
