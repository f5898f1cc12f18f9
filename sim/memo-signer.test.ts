/** The memoizing signer answers exactly as the real backend does, and only pays once per input. */

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../engine/errors.ts';
import { identityFromSeed } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { MemoSigner } from './memo-signer.ts';

const alice = identityFromSeed(new Uint8Array(32).fill(1));
const bob = identityFromSeed(new Uint8Array(32).fill(2));
const message = new TextEncoder().encode('entry hash');

describe('MemoSigner', () => {
  it('signs like its backend and remembers its own signatures as valid', () => {
    const memo = new MemoSigner(nodeSigner);
    const sig = memo.sign(alice, message);
    expect(sig).toEqual(nodeSigner.sign(alice, message));
    expect(memo.verify(alice.publicKey, message, sig)).toBe(true);
    expect(memo.stats).toEqual({ hits: 1, misses: 0 });
  });

  it('gives the backend answer for valid, tampered and misattributed signatures, then remembers it', () => {
    const memo = new MemoSigner(nodeSigner);
    const sig = nodeSigner.sign(alice, message);
    const tampered = sig.slice();
    tampered[5] = tampered[5]! ^ 1;
    const cases: [Uint8Array, Uint8Array, boolean][] = [
      [alice.publicKey, sig, true],
      [alice.publicKey, tampered, false],
      [bob.publicKey, sig, false],
    ];
    for (const [key, s, want] of cases) {
      expect(memo.verify(key, message, s)).toBe(want);
      expect(memo.verify(key, message, s)).toBe(want);
    }
    expect(memo.stats).toEqual({ hits: 3, misses: 3 });
    // Another message under a remembered signature is a different question.
    expect(memo.verify(alice.publicKey, new TextEncoder().encode('other'), sig)).toBe(false);
  });

  it('throws on bad arguments every time, never answering them from memory', () => {
    const memo = new MemoSigner(nodeSigner);
    const sig = nodeSigner.sign(alice, message);
    // The same bytes split differently (a 31-byte key and a 65-byte signature) are not a hit.
    const key31 = alice.publicKey.subarray(0, 31);
    const sig65 = new Uint8Array([alice.publicKey[31]!, ...sig]);
    expect(memo.verify(alice.publicKey, message, sig)).toBe(true);
    for (let i = 0; i < 2; i++) {
      expect(() => memo.verify(key31, message, sig65)).toThrow(InvalidArgumentError);
      expect(() => memo.verify(alice.publicKey, 'x' as unknown as Uint8Array, sig)).toThrow(
        InvalidArgumentError,
      );
    }
  });
});
