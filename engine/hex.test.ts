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
    for (const bad of [
      'a',
      'AB',
      'aB',
      'zz',
      '0g',
      ' 00',
      '00 ',
      '0\u0660',
      '\u00e9a',
      'ab\n',
      '/0',
      ':0',
      '`0',
    ])
      expect(() => hexToBytes(bad)).toThrow(InvalidArgumentError);
    expect(() => hexToBytes(5 as unknown as string)).toThrow(InvalidArgumentError);
  });

  it('accepts exactly the strings of lowercase hex digit pairs', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.array(fc.constantFrom(...'0123456789abcdefAFg /:`'), { maxLength: 12 }).map((a) => a.join('')),
        ),
        (text) => {
          const valid = /^(?:[0-9a-f]{2})*$/.test(text);
          if (valid) expect(hexToBytes(text)).toEqual(new Uint8Array(Buffer.from(text, 'hex')));
          else expect(() => hexToBytes(text)).toThrow(InvalidArgumentError);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
