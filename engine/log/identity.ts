/**
 * Device identities: an ed25519 keypair per device. A feed's author is its public key; only the
 * device holding the 32-byte seed can extend it.
 *
 * Key derivation uses @noble/ed25519 (portable, synchronous once `hashes.sha512` is set, which
 * this module does on import). Randomness reaches the engine only through a
 * {@link RandomBytes} seam: production passes `crypto.getRandomValues`-backed bytes, tests and
 * the simulator pass a seeded source, so identities are reproducible from a seed.
 */

import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { InvalidArgumentError } from '../errors.ts';

// The synchronous @noble API needs a SHA-512; wiring it here, in the one module every signing
// path imports, means no caller can forget it.
if (ed.hashes.sha512 === undefined) ed.hashes.sha512 = sha512;

/** Bytes of an ed25519 public key. */
export const PUBLIC_KEY_BYTES = 32;
/** Bytes of an ed25519 secret seed (RFC 8032's 32-byte private key). */
export const SECRET_KEY_BYTES = 32;
/** Bytes of an ed25519 signature. */
export const SIGNATURE_BYTES = 64;

/** A device's keypair. `secretKey` is the 32-byte RFC 8032 seed, not an expanded key. */
export interface Identity {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** A source of `n` uniformly random bytes (the engine's only way to get randomness for keys). */
export type RandomBytes = (n: number) => Uint8Array;

/** Throws {@link InvalidArgumentError} unless `b` is a Uint8Array of exactly `n` bytes. */
export function checkBytes(b: unknown, n: number, what: string): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be a Uint8Array`);
  if (b.length !== n) throw new InvalidArgumentError(`${what} must be ${n} bytes, got ${b.length}`);
}

/** The identity whose secret seed is `seed` (32 bytes). Deterministic. */
export function identityFromSeed(seed: Uint8Array): Identity {
  checkBytes(seed, SECRET_KEY_BYTES, 'identity seed');
  const secretKey = seed.slice();
  return { publicKey: ed.getPublicKey(secretKey), secretKey };
}

/** A fresh identity from 32 bytes of `random`. */
export function generateIdentity(random: RandomBytes): Identity {
  const seed = random(SECRET_KEY_BYTES);
  checkBytes(seed, SECRET_KEY_BYTES, 'random source output');
  return identityFromSeed(seed);
}

// Identities already checked against their seed, so signing checks each identity object once.
const checkedIdentities = new WeakSet<Identity>();

/**
 * Throws {@link InvalidArgumentError} unless `identity` is well formed and its public key is
 * the one its seed derives. Signing with a mismatched pair would produce signatures that
 * verify under no key; catching it here names the real mistake. Cached per object.
 */
export function checkIdentity(identity: Identity): void {
  if (checkedIdentities.has(identity)) return;
  if (typeof identity !== 'object' || identity === null)
    throw new InvalidArgumentError('identity must be an object');
  checkBytes(identity.publicKey, PUBLIC_KEY_BYTES, 'identity.publicKey');
  checkBytes(identity.secretKey, SECRET_KEY_BYTES, 'identity.secretKey');
  const derived = ed.getPublicKey(identity.secretKey);
  for (let i = 0; i < PUBLIC_KEY_BYTES; i++) {
    if (derived[i] !== identity.publicKey[i])
      throw new InvalidArgumentError('identity.publicKey does not belong to identity.secretKey');
  }
  checkedIdentities.add(identity);
}
