/**
 * Signing backends. The engine is synchronous, so it signs and verifies through a synchronous
 * {@link Signer}; two implementations exist and must agree bit for bit:
 *
 * - {@link nobleSigner} (this file): @noble/ed25519 and @noble/hashes, pure JavaScript, runs
 *   anywhere (browser workers included). About 9x slower than node:crypto.
 * - `nodeSigner` (node-signer.ts): node:crypto (OpenSSL). It lives in its own file so that
 *   bundling the engine for the browser never pulls in `node:crypto`; a Node caller imports it
 *   and passes it in. WebCrypto's Ed25519 is asynchronous, so it cannot serve the synchronous
 *   write path and is not used.
 *
 * Ed25519 implementations differ at the edges (RFC 8032 leaves room: cofactored or not,
 * canonical encodings or not, small-order keys or not). Peers must never disagree about
 * whether an entry is validly signed, or one would accept a feed another rejects, so both
 * backends apply one strict rule set, {@link verifyRules}, and the differing library defaults
 * never decide anything:
 *
 * 1. Wrong lengths (public key 32, signature 64) are caller errors: `InvalidArgumentError`.
 * 2. S must be canonical (S < L, the group order); otherwise the signature is invalid.
 * 3. The public key must be a canonical encoding (y < p, no "negative zero" x) of a curve point
 *    that is not of small order; otherwise every signature under it is invalid.
 * 4. The equation is the cofactorless one, checked by encoding: encode([S]B - [k]A) must equal
 *    the signature's R bytes, k = SHA-512(R || A || M) mod L. This is what OpenSSL does; the
 *    noble backend computes it from @noble's point arithmetic instead of calling @noble's own
 *    `verify`, which is cofactored (ZIP-215 by default) and accepts signatures whose R carries a
 *    small-order component that OpenSSL rejects.
 */

import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { InvalidArgumentError } from '../errors.ts';
import { checkBytes, checkIdentity, type Identity, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './identity.ts';

/** A synchronous ed25519 + SHA-256 backend. Implementations must agree on every input. */
export interface Signer {
  /** Short name for reports (`noble`, `node`). */
  readonly name: string;
  /** The 64-byte ed25519 signature of `message` by `identity` (deterministic, RFC 8032). */
  sign(identity: Identity, message: Uint8Array): Uint8Array;
  /**
   * True when `signature` is valid for `message` under `publicKey` by the rules in this
   * module's comment. Throws `InvalidArgumentError` for wrong lengths or types.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** SHA-256 of `data` (32 bytes). Backends pick their fastest implementation. */
  sha256(data: Uint8Array): Uint8Array;
}

/** The ed25519 group order L = 2^252 + 27742317777372353535851937790883648493. */
export const ED25519_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;

/** L as 32 little-endian bytes, for a comparison without a bigint per signature. */
const ORDER_LE: Uint8Array = (() => {
  const out = new Uint8Array(32);
  let v = ED25519_ORDER;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
})();

/** Most public keys whose decoded state a backend caches. */
export const MAX_CACHED_KEYS = 4096;

/**
 * A bounded map from public key to a backend's per-key state (a decoded point, a KeyObject,
 * or `null` for a key that rule 3 rejects). Evicts the oldest entry when full.
 */
export class KeyCache<V> {
  private readonly map = new Map<string, V | null>();

  /** The cached state of `publicKey`, computing it with `make` on a miss. */
  get(publicKey: Uint8Array, make: (publicKey: Uint8Array) => V | null): V | null {
    const id = String.fromCharCode(...publicKey);
    const hit = this.map.get(id);
    if (hit !== undefined) return hit;
    const value = make(publicKey);
    if (this.map.size >= MAX_CACHED_KEYS) this.map.delete(this.map.keys().next().value!);
    this.map.set(id, value);
    return value;
  }
}

/** Rule 1: argument types and lengths. Throws `InvalidArgumentError`. */
export function checkVerifyArguments(publicKey: unknown, message: unknown, signature: unknown): void {
  checkBytes(publicKey, PUBLIC_KEY_BYTES, 'public key');
  checkBytes(signature, SIGNATURE_BYTES, 'signature');
  if (!(message instanceof Uint8Array)) throw new InvalidArgumentError('message must be a Uint8Array');
}

/** Rule 2: true when the signature's S (bytes 32..63, little-endian) is below L. */
export function isCanonicalS(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    const l = ORDER_LE[i]!;
    if (s !== l) return s < l;
  }
  return false; // S == L
}

/**
 * Rule 3: the decoded point of `publicKey`, or null when the key is not a canonical encoding
 * of a curve point of large order.
 */
export function decodeStrictPublicKey(publicKey: Uint8Array): ed.Point | null {
  let point: ed.Point;
  try {
    // zip215 = false: strict RFC 8032 decoding (y < p, no x = 0 with the sign bit set).
    point = ed.Point.fromBytes(publicKey, false);
  } catch {
    return null;
  }
  return point.isSmallOrder() ? null : point;
}

/** The rules both backends apply, as documentation for readers of this module. */
export const verifyRules = Object.freeze([
  'lengths: public key 32 and signature 64 bytes, else InvalidArgumentError',
  'S < L',
  'public key canonical, on the curve, not of small order',
  'cofactorless: encode([S]B - [k]A) == R bytes',
]);

function bytesToNumberLE(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

const nobleKeys = new KeyCache<ed.Point>();

function nobleVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  checkVerifyArguments(publicKey, message, signature);
  if (!isCanonicalS(signature)) return false;
  const a = nobleKeys.get(publicKey, decodeStrictPublicKey);
  if (a === null) return false;
  const r = signature.subarray(0, 32);
  const s = bytesToNumberLE(signature.subarray(32, 64));
  const k =
    bytesToNumberLE(sha512.create().update(r).update(publicKey).update(message).digest()) % ED25519_ORDER;
  // Both scalars are in [0, L); multiply(n, false) accepts 0 and returns the identity for it.
  const check = ed.Point.BASE.multiply(s, false).subtract(a.multiply(k, false)).toBytes();
  for (let i = 0; i < 32; i++) if (check[i] !== r[i]) return false;
  return true;
}

/** The portable backend: @noble/ed25519 (sync API) and @noble/hashes SHA-256. */
export const nobleSigner: Signer = Object.freeze({
  name: 'noble',
  sign(identity: Identity, message: Uint8Array): Uint8Array {
    checkIdentity(identity);
    if (!(message instanceof Uint8Array)) throw new InvalidArgumentError('message must be a Uint8Array');
    return ed.sign(message, identity.secretKey);
  },
  verify: nobleVerify,
  sha256(data: Uint8Array): Uint8Array {
    return sha256(data);
  },
});
