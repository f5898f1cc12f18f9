import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { SpareBatch } from './spare-batch.ts';

describe('SpareBatch', () => {
  it('hands back the batch it was given, emptied', () => {
    const spare = new SpareBatch(1024);
    const a = spare.take();
    a.put(Uint8Array.of(1), Uint8Array.of(2));
    spare.giveBack(a);
    const b = spare.take();
    expect(b).toBe(a);
    expect(b.count).toBe(0);
  });

  it('gives a write started inside another a batch of its own', () => {
    const spare = new SpareBatch(1024);
    spare.giveBack(spare.take());
    const outer = spare.take();
    const inner = spare.take();
    expect(inner).not.toBe(outer);
  });

  it('drops a batch grown past its bound instead of keeping it', () => {
    const spare = new SpareBatch(64);
    const big = spare.take();
    big.put(Uint8Array.of(1), new Uint8Array(100));
    spare.giveBack(big);
    expect(spare.take()).not.toBe(big);
  });

  it('refuses a bound that is not a byte count', () => {
    expect(() => new SpareBatch(-1)).toThrow(AssertionError);
    expect(() => new SpareBatch(1.5)).toThrow(AssertionError);
  });
});
