import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.ts';
import { bytesToHex, hexToBytes } from './hex.ts';

describe('hex', () => {
  it('round-trips and matches Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(bytesToHex(b)).toBe(Buffer.from(b).toString('hex'));
        expect(hexToBytes(bytesToHex(b))).toEqual(b);
      }),
    );
  });

  it('rejects odd lengths, uppercase and non-hex with a typed error', () => {
    for (const bad of ['a', 'AB', 'zz', '0g', ' 00', '00 '])
      expect(() => hexToBytes(bad)).toThrow(InvalidArgumentError);
    expect(() => hexToBytes(5 as unknown as string)).toThrow(InvalidArgumentError);
  });
});
