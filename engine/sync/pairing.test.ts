import { describe, expect, test } from 'vitest';
import { identityFromSeed } from '../log/identity.ts';
import { nodeSigner } from '../log/node-signer.ts';
import { nobleSigner } from '../log/signer.ts';
import {
  CERTIFICATE_BYTES,
  CHALLENGE_BYTES,
  certificateProblem,
  createChallenge,
  decodeCertificate,
  decodeChallenge,
  decodeRevocation,
  issueCertificate,
  issueRevocation,
  REVOCATION_BYTES,
  signChallenge,
  verifyChallengeSignature,
  verifyRevocation,
} from './pairing.ts';

const id = (n: number) => identityFromSeed(new Uint8Array(32).fill(n));
const owner = id(1);
const device = id(2);
const other = id(3);

describe('device certificates', () => {
  const cert = issueCertificate({
    owner,
    device: device.publicKey,
    issuedAtMs: 1000,
    expiresAtMs: 5000,
    signer: nodeSigner,
  });

  test('encode to 149 bytes with the documented layout', () => {
    expect(cert.bytes.length).toBe(CERTIFICATE_BYTES);
    expect(new TextDecoder().decode(cert.bytes.subarray(0, 4))).toBe('ARDC');
    expect(cert.bytes[4]).toBe(1);
    expect(cert.bytes.subarray(5, 37)).toEqual(owner.publicKey);
    expect(cert.bytes.subarray(37, 69)).toEqual(device.publicKey);
    const view = new DataView(cert.bytes.buffer, cert.bytes.byteOffset);
    expect(view.getUint32(69, true)).toBe(1000);
    expect(view.getUint32(77, true)).toBe(5000);
    expect(decodeCertificate(cert.bytes)).toEqual(cert);
  });

  test('are valid for their owner until they expire, under both signers', () => {
    for (const signer of [nodeSigner, nobleSigner]) {
      expect(certificateProblem(cert, { owner: owner.publicKey, nowMs: 4999, signer })).toBeUndefined();
      expect(certificateProblem(cert, { owner: owner.publicKey, nowMs: 5000, signer })).toMatch(/expired/);
      expect(certificateProblem(cert, { owner: other.publicKey, nowMs: 0, signer })).toMatch(
        /another replica set/,
      );
    }
    const forever = issueCertificate({ owner, device: device.publicKey, issuedAtMs: 1, signer: nodeSigner });
    expect(
      certificateProblem(forever, { owner: owner.publicKey, nowMs: 2 ** 52, signer: nodeSigner }),
    ).toBeUndefined();
  });

  test('any changed byte before the signature breaks the signature, or the format', () => {
    for (let i = 5; i < CERTIFICATE_BYTES; i++) {
      const bytes = cert.bytes.slice();
      bytes[i]! ^= 0x01;
      let problem: string | undefined;
      try {
        const c = decodeCertificate(bytes);
        problem =
          certificateProblem(c, { owner: owner.publicKey, nowMs: 0, signer: nodeSigner }) ?? 'accepted';
      } catch (err) {
        problem = (err as Error).message;
      }
      expect(problem, `byte ${i}`).not.toBe('accepted');
    }
    for (const bad of [new Uint8Array(148), new Uint8Array(150)])
      expect(() => decodeCertificate(bad)).toThrow(/149 bytes/);
    const wrongMagic = cert.bytes.slice();
    wrongMagic[0] = 0;
    expect(() => decodeCertificate(wrongMagic)).toThrow(/magic/);
    const v2 = cert.bytes.slice();
    v2[4] = 2;
    expect(() => decodeCertificate(v2)).toThrow(/version 2/);
  });

  test('a signature made for another purpose never verifies as a certificate', () => {
    // The owner signs the same bytes as a challenge answer: the domains differ, so it fails.
    const bytes = cert.bytes.slice();
    const challengeSig = nodeSigner.sign(owner, bytes.subarray(0, 85));
    bytes.set(challengeSig, 85);
    expect(
      certificateProblem(decodeCertificate(bytes), { owner: owner.publicKey, nowMs: 0, signer: nodeSigner }),
    ).toMatch(/signature/);
  });
});

describe('revocations', () => {
  test('141 bytes, verified against the owner only', () => {
    const r = issueRevocation({ owner, device: device.publicKey, revokedAtMs: 7, signer: nodeSigner });
    expect(r.bytes.length).toBe(REVOCATION_BYTES);
    expect(new TextDecoder().decode(r.bytes.subarray(0, 4))).toBe('ARDR');
    expect(decodeRevocation(r.bytes)).toEqual(r);
    expect(verifyRevocation(r, { owner: owner.publicKey, signer: nodeSigner })).toBe(true);
    expect(verifyRevocation(r, { owner: other.publicKey, signer: nodeSigner })).toBe(false);
    const forged = issueRevocation({
      owner: other,
      device: device.publicKey,
      revokedAtMs: 7,
      signer: nodeSigner,
    }).bytes;
    forged.set(owner.publicKey, 5);
    expect(verifyRevocation(decodeRevocation(forged), { owner: owner.publicKey, signer: nodeSigner })).toBe(
      false,
    );
  });
});

describe('challenges', () => {
  const c = createChallenge({ owner: owner.publicKey, nonce: new Uint8Array(32).fill(9), expiresAtMs: 123 });

  test('77 bytes; the device answer verifies only for its key and this challenge', () => {
    expect(c.bytes.length).toBe(CHALLENGE_BYTES);
    expect(decodeChallenge(c.bytes)).toEqual(c);
    const sig = signChallenge(c.bytes, device, nodeSigner);
    const check = (o: Partial<Parameters<typeof verifyChallengeSignature>[0]>) =>
      verifyChallengeSignature({
        challenge: c.bytes,
        device: device.publicKey,
        signature: sig,
        signer: nodeSigner,
        ...o,
      });
    expect(check({})).toBe(true);
    expect(check({ signer: nobleSigner })).toBe(true);
    expect(check({ device: other.publicKey })).toBe(false);
    const other2 = c.bytes.slice();
    other2[40]! ^= 1;
    expect(check({ challenge: other2 })).toBe(false);
    expect(check({ signature: sig.subarray(0, 63) })).toBe(false);
  });

  test('signChallenge refuses bytes that are not a challenge', () => {
    expect(() => signChallenge(new Uint8Array(77), device, nodeSigner)).toThrow(/magic/);
    expect(() => signChallenge(cert()(), device, nodeSigner)).toThrow(/77 bytes/);
  });
});

function cert(): () => Uint8Array {
  return () => issueCertificate({ owner, device: device.publicKey, issuedAtMs: 1, signer: nodeSigner }).bytes;
}
