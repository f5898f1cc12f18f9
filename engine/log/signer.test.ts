/**
 * The two backends must be interchangeable: byte-identical signatures, and the same verdict on
 * every input, honest or crafted. Crafted inputs cover the places where ed25519
 * implementations are known to differ (non-canonical S, small-order and non-canonical keys,
 * cofactored vs cofactorless equations), where the shared rules in signer.ts decide.
 */

import { createPublicKey, verify as rawOpenSslVerify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import { identityFromSeed } from './identity.ts';
import { nodeSigner } from './node-signer.ts';
import { ED25519_ORDER, isCanonicalS, nobleSigner, type Signer } from './signer.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const backends: Signer[] = [nobleSigner, nodeSigner];
const L = ED25519_ORDER;

function numberLE(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

function leBytes(v: bigint, n = 32): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Both backends' verdicts; they must agree, and the test then checks the shared one. */
function verdict(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const a = nobleSigner.verify(publicKey, message, signature);
  const b = nodeSigner.verify(publicKey, message, signature);
  expect(a, `noble and node disagree on pk ${hex(publicKey)} sig ${hex(signature)}`).toBe(b);
  return a;
}

/** OpenSSL's verdict without the shared rules (to show what they guard against). */
function rawOpenSsl(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const spki = Buffer.concat([bytes('302a300506032b6570032100'), publicKey]);
  return rawOpenSslVerify(
    null,
    message,
    createPublicKey({ key: spki, format: 'der', type: 'spki' }),
    signature,
  );
}

const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

/** The eight points of small order, canonically encoded (with both signs where x = 0 allows). */
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
].map(bytes);

/** Non-canonical encodings: y >= p, or x = 0 with the sign bit set. */
const NON_CANONICAL = [
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p (0 mod p)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1 (1 mod p)
  'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = 2^255 - 1
  '0100000000000000000000000000000000000000000000000000000000000080', // identity, x = -0
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // order 2, x = -0
].map(bytes);

/** A point of order 8 (the generator of the torsion subgroup). */
const T8 = ed.Point.fromBytes(SMALL_ORDER[4]!);

describe('signing', () => {
  it('reproduces the RFC 8032 test vectors with both backends', () => {
    for (const v of RFC8032) {
      const id = identityFromSeed(bytes(v.seed));
      expect(hex(id.publicKey)).toBe(v.pk);
      for (const s of backends) {
        expect(hex(s.sign(id, bytes(v.msg))), s.name).toBe(v.sig);
        expect(s.verify(id.publicKey, bytes(v.msg), bytes(v.sig)), s.name).toBe(true);
      }
    }
  });

  it('gives byte-identical signatures that both backends accept, for random keys and messages', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        (seed, msg) => {
          const id = identityFromSeed(seed);
          const a = nobleSigner.sign(id, msg);
          const b = nodeSigner.sign(id, msg);
          expect(hex(a)).toBe(hex(b));
          expect(verdict(id.publicKey, msg, a)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses an identity whose public key does not match its seed, and non-byte messages', () => {
    const a = identityFromSeed(new Uint8Array(32).fill(1));
    const b = identityFromSeed(new Uint8Array(32).fill(2));
    for (const s of backends) {
      expect(() => s.sign({ publicKey: b.publicKey, secretKey: a.secretKey }, new Uint8Array(1))).toThrow(
        InvalidArgumentError,
      );
      expect(() => s.sign(a, 'text' as unknown as Uint8Array)).toThrow(InvalidArgumentError);
    }
  });
});

describe('verification agrees across backends', () => {
  const id = identityFromSeed(new Uint8Array(32).fill(9));
  const other = identityFromSeed(new Uint8Array(32).fill(10));
  const msg = new TextEncoder().encode('aregula entry');
  const sig = nobleSigner.sign(id, msg);

  it('rejects every single-bit flip of a signature', () => {
    for (let bit = 0; bit < 64 * 8; bit++) {
      const bad = sig.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(verdict(id.publicKey, msg, bad), `bit ${bit}`).toBe(false);
    }
  });

  it('rejects every single-bit flip of the message and of the public key', () => {
    for (let bit = 0; bit < msg.length * 8; bit++) {
      const bad = msg.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(verdict(id.publicKey, bad, sig), `message bit ${bit}`).toBe(false);
    }
    for (let bit = 0; bit < 256; bit++) {
      const bad = id.publicKey.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(verdict(bad, msg, sig), `key bit ${bit}`).toBe(false);
    }
  });

  it('rejects a wrong key, an appended byte and a truncated message', () => {
    expect(verdict(other.publicKey, msg, sig)).toBe(false);
    expect(verdict(id.publicKey, new Uint8Array([...msg, 0]), sig)).toBe(false);
    expect(verdict(id.publicKey, msg.subarray(1), sig)).toBe(false);
  });

  it('agrees on random garbage signatures and keys', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        (pk, s) => {
          expect(verdict(pk, msg, s)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects non-canonical S (S + L, S = L, S = 2^256 - 1) although S + L satisfies the equation mod L', () => {
    const s = numberLE(sig.subarray(32));
    expect(s < L).toBe(true);
    for (const bigS of [s + L, L, (1n << 256n) - 1n]) {
      const bad = sig.slice();
      bad.set(leBytes(bigS), 32);
      expect(isCanonicalS(bad)).toBe(false);
      expect(verdict(id.publicKey, msg, bad)).toBe(false);
    }
    const edge = sig.slice();
    edge.set(leBytes(L - 1n), 32);
    expect(isCanonicalS(edge)).toBe(true);
    expect(isCanonicalS(sig)).toBe(true);
  });

  it('rejects small-order public keys, which raw OpenSSL accepts with a trivial signature', () => {
    const trivial = new Uint8Array(64);
    trivial.set(SMALL_ORDER[0]!, 0); // R = identity, S = 0
    expect(rawOpenSsl(SMALL_ORDER[0]!, msg, trivial)).toBe(true); // any message "verifies"
    for (const pk of SMALL_ORDER) {
      for (const r of SMALL_ORDER) {
        const s = new Uint8Array(64);
        s.set(r, 0);
        expect(verdict(pk, msg, s), `pk ${hex(pk)} R ${hex(r)}`).toBe(false);
      }
    }
  });

  it('rejects non-canonical and off-curve public keys', () => {
    const offCurve = leBytes(2n); // y = 2 has no x on the curve
    expect(() => ed.Point.fromBytes(offCurve)).toThrow();
    for (const pk of [...NON_CANONICAL, offCurve]) {
      const s = new Uint8Array(64);
      s.set(SMALL_ORDER[0]!, 0);
      expect(verdict(pk, msg, s), hex(pk)).toBe(false);
      expect(verdict(pk, msg, sig), hex(pk)).toBe(false);
    }
  });

  it('rejects a signature whose R has a small-order component (valid only cofactored)', () => {
    const ext = ed.utils.getExtendedPublicKey(id.secretKey);
    const r = 123456789n;
    const bigR = ed.Point.BASE.multiply(r).add(T8).toBytes();
    const k = numberLE(sha512(new Uint8Array([...bigR, ...id.publicKey, ...msg]))) % L;
    const forged = new Uint8Array(64);
    forged.set(bigR, 0);
    forged.set(leBytes((r + k * ext.scalar) % L), 32);
    expect(ed.verify(forged, msg, id.publicKey)).toBe(true); // @noble's stock (cofactored) verify
    expect(rawOpenSsl(id.publicKey, msg, forged)).toBe(false);
    expect(verdict(id.publicKey, msg, forged)).toBe(false);
  });

  it('agrees on a mixed-order public key (accepted exactly when k T = 0, by both)', () => {
    const ext = ed.utils.getExtendedPublicKey(id.secretKey);
    const mixed = ext.point.add(T8).toBytes();
    const outcomes = new Set<boolean>();
    for (let i = 0; i < 64; i++) {
      const m = new Uint8Array([i]);
      const r = 1000n + BigInt(i);
      const bigR = ed.Point.BASE.multiply(r).toBytes();
      const k = numberLE(sha512(new Uint8Array([...bigR, ...mixed, ...m]))) % L;
      const s = new Uint8Array(64);
      s.set(bigR, 0);
      s.set(leBytes((r + k * ext.scalar) % L), 32);
      const v = verdict(mixed, m, s);
      expect(v).toBe(k % 8n === 0n);
      expect(rawOpenSsl(mixed, m, s)).toBe(v);
      outcomes.add(v);
    }
    expect(outcomes).toEqual(new Set([true, false]));
  });

  it('throws InvalidArgumentError for wrong lengths and types, in both backends', () => {
    for (const s of backends) {
      for (const n of [0, 31, 33])
        expect(() => s.verify(new Uint8Array(n), msg, sig), s.name).toThrow(InvalidArgumentError);
      for (const n of [0, 63, 65])
        expect(() => s.verify(id.publicKey, msg, new Uint8Array(n))).toThrow(InvalidArgumentError);
      expect(() => s.verify(id.publicKey, 'm' as unknown as Uint8Array, sig)).toThrow(InvalidArgumentError);
      expect(() => s.verify([...id.publicKey] as unknown as Uint8Array, msg, sig)).toThrow(
        InvalidArgumentError,
      );
    }
  });

  it('keeps working past the key cache capacity (eviction does not change verdicts)', () => {
    for (let i = 0; i < 4200; i += 97) {
      const pk = leBytes(BigInt(i) * 7919n + 5n);
      verdict(pk, msg, sig);
    }
    expect(verdict(id.publicKey, msg, sig)).toBe(true);
  });
});

describe('sha256', () => {
  it('matches the FIPS 180-2 "abc" vector and agrees across backends on random data', () => {
    const abc = new TextEncoder().encode('abc');
    for (const s of backends)
      expect(hex(s.sha256(abc))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), (d) => {
        expect(hex(nodeSigner.sha256(d))).toBe(hex(nobleSigner.sha256(d)));
      }),
    );
  });
});
