import { expect as vexpect, test as vtest } from 'vitest';
import { afterEach, beforeEach, describe, expect, it, runRegistered } from './vitest-shim.ts';

vtest('the shim runs hooks in order and reports failures with their reason', async () => {
  const log: string[] = [];
  describe('outer', () => {
    beforeEach(async () => {
      log.push('before-outer');
    });
    afterEach(() => {
      log.push('after-outer');
    });
    describe('inner', () => {
      beforeEach(() => {
        log.push('before-inner');
      });
      it('passes', () => {
        expect(Uint8Array.of(1, 2)).toEqual(Uint8Array.of(1, 2));
        expect({ a: 1, b: undefined }).toEqual({ a: 1 });
        expect([1, [2]]).not.toEqual([1, [3]]);
        log.push('test');
      });
      it('fails on bytes', () => expect(Uint8Array.of(1), 'bytes').toEqual(Uint8Array.of(2)));
      it('fails on identity', () => expect('x').toBe('y'));
      it('fails on a typed array against a plain array', () => expect(Uint8Array.of(1)).toEqual([1]));
    });
  });
  const results = await runRegistered();
  vexpect(results.map((r) => [r.name, r.ok])).toEqual([
    ['outer > inner > passes', true],
    ['outer > inner > fails on bytes', false],
    ['outer > inner > fails on identity', false],
    ['outer > inner > fails on a typed array against a plain array', false],
  ]);
  vexpect(results[1]!.error).toMatch(/bytes: expected Uint8Array\[1\] to equal Uint8Array\[2\]/);
  vexpect(log.slice(0, 4)).toEqual(['before-outer', 'before-inner', 'test', 'after-outer']);
});
