import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import { SeededRandom } from '../io/random.ts';
import { checkIdentity, generateIdentity, identityFromSeed } from './identity.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/** A seeded byte source, as the simulator passes one. */
function seededBytes(seed: number): (n: number) => Uint8Array {
  const r = new SeededRandom(seed);
  return (n) => Uint8Array.from({ length: n }, () => r.int(256));
}

describe('identityFromSeed', () => {
  it('derives the RFC 8032 test 1 public key', () => {
    const id = identityFromSeed(bytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
    expect(hex(id.publicKey)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(id.secretKey).toHaveLength(32);
  });

  it('copies the seed, so changing the caller array later does not change the identity', () => {
    const seed = new Uint8Array(32).fill(5);
    const id = identityFromSeed(seed);
    seed.fill(6);
    expect(hex(id.secretKey)).toBe('05'.repeat(32));
  });

  it('refuses seeds of the wrong length or type', () => {
    for (const n of [0, 31, 33, 64])
      expect(() => identityFromSeed(new Uint8Array(n))).toThrow(InvalidArgumentError);
    expect(() => identityFromSeed([1, 2, 3] as unknown as Uint8Array)).toThrow(InvalidArgumentError);
  });
});

describe('generateIdentity', () => {
  it('is reproducible from a seeded source and differs between seeds', () => {
    const a = generateIdentity(seededBytes(1));
    const b = generateIdentity(seededBytes(1));
    const c = generateIdentity(seededBytes(2));
    expect(hex(a.publicKey)).toBe(hex(b.publicKey));
    expect(hex(a.secretKey)).toBe(hex(b.secretKey));
    expect(hex(a.publicKey)).not.toBe(hex(c.publicKey));
  });

  it('asks the source for exactly 32 bytes and refuses a source that returns another count', () => {
    const asked: number[] = [];
    generateIdentity((n) => {
      asked.push(n);
      return new Uint8Array(n);
    });
    expect(asked).toEqual([32]);
    expect(() => generateIdentity(() => new Uint8Array(16))).toThrow(InvalidArgumentError);
  });
});

describe('checkIdentity', () => {
  it('accepts a derived pair and refuses a public key that is not the seed’s', () => {
    const a = identityFromSeed(new Uint8Array(32).fill(1));
    const b = identityFromSeed(new Uint8Array(32).fill(2));
    expect(() => checkIdentity(a)).not.toThrow();
    expect(() => checkIdentity({ publicKey: b.publicKey, secretKey: a.secretKey })).toThrow(
      /does not belong/,
    );
    expect(() => checkIdentity({ publicKey: a.publicKey.subarray(1), secretKey: a.secretKey })).toThrow(
      InvalidArgumentError,
    );
    expect(() => checkIdentity(null as unknown as typeof a)).toThrow(InvalidArgumentError);
  });
});
