import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IoError } from '../errors.ts';
import { errorCodeOf, runFsConformance } from './fs-conformance.ts';
import { mapNodeError, NodeFs } from './node-fs.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'aregula-node-fs-'));
}

runFsConformance('NodeFs', () => {
  const dir = tempDir();
  return {
    fs: new NodeFs(dir),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
    reopen: () => new NodeFs(dir),
  };
});

describe('NodeFs specifics', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates its directory, parents included', () => {
    const nested = join(dir, 'a', 'b');
    const fs = new NodeFs(nested);
    fs.open('f', { create: true }).close();
    expect(readFileSync(join(nested, 'f')).length).toBe(0);
  });

  it('stores logical bytes at the same physical offsets', () => {
    const fs = new NodeFs(dir);
    const h = fs.open('f', { create: true });
    h.write(2, Uint8Array.of(1, 2));
    h.append(Uint8Array.of(3));
    h.close();
    expect([...readFileSync(join(dir, 'f'))]).toEqual([0, 0, 1, 2, 3]);
  });

  it('sees a file written outside it with its real size', () => {
    writeFileSync(join(dir, 'ext'), Uint8Array.of(5, 6, 7));
    const h = new NodeFs(dir).open('ext');
    expect(h.size()).toBe(3);
    expect(h.append(Uint8Array.of(8))).toBe(3);
    h.close();
    expect([...readFileSync(join(dir, 'ext'))]).toEqual([5, 6, 7, 8]);
  });

  it('lists only regular files with valid names', () => {
    const fs = new NodeFs(dir);
    fs.open('good', { create: true }).close();
    writeFileSync(join(dir, 'bad name'), '');
    writeFileSync(join(dir, 'ümlaut'), '');
    mkdirSync(join(dir, 'subdir'));
    expect(fs.list()).toEqual(['good']);
    expect(fs.exists('subdir')).toBe(false);
  });

  it('opening a directory is an I/O error with the cause attached', () => {
    mkdirSync(join(dir, 'subdir'));
    const fs = new NodeFs(dir);
    let caught: unknown;
    try {
      fs.open('subdir');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(IoError);
    expect((caught as IoError).code).toBe('ARE_IO');
    expect(((caught as IoError).cause as NodeJS.ErrnoException).code).toBe('EISDIR');
  });

  it('a directory that cannot be created is an I/O error', () => {
    writeFileSync(join(dir, 'file'), '');
    expect(errorCodeOf(() => new NodeFs(join(dir, 'file', 'sub')))).toBe('ARE_IO');
  });

  it('maps errno codes to typed errors', () => {
    const err = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
    expect(mapNodeError(err('ENOENT'), 'x').code).toBe('ARE_NOT_FOUND');
    expect(mapNodeError(err('EEXIST'), 'x').code).toBe('ARE_ALREADY_EXISTS');
    expect(mapNodeError(err('ENOSPC'), 'x').code).toBe('ARE_NO_SPACE');
    expect(mapNodeError(err('EDQUOT'), 'x').code).toBe('ARE_NO_SPACE');
    const other = err('EACCES');
    const mapped = mapNodeError(other, 'open f');
    expect(mapped.code).toBe('ARE_IO');
    expect(mapped.cause).toBe(other);
    expect(mapped.message).toContain('open f');
    expect(mapNodeError('weird', 'x').code).toBe('ARE_IO');
  });

  it('handles on one file opened at different times share its size', () => {
    const fs = new NodeFs(dir);
    const a = fs.open('f', { create: true });
    a.append(Uint8Array.of(1));
    const b = fs.open('f');
    a.append(Uint8Array.of(2));
    expect(b.append(Uint8Array.of(3))).toBe(2);
    a.close();
    const c = fs.open('f');
    expect(c.size()).toBe(3);
    b.close();
    c.close();
  });
});
