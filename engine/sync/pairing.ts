/**
 * Pairing: how a replica set's owner admits devices to a hub, and how a device proves, without
 * a shared secret, that it is one of them. docs/formats/pairing.md documents every byte.
 *
 * - The owner key (an ed25519 identity kept off the hub) names the replica set.
 * - A {@link DeviceCertificate} is the owner's signature over a device's public key (with
 *   issue and expiry times): whoever holds the certificate and the device's secret key is that
 *   device.
 * - A {@link Revocation} is the owner's signature saying a device key is no longer admitted;
 *   anyone may deliver it to a hub, which stops the device at once.
 * - A {@link Challenge} is a fresh nonce from the hub; the device answers with its signature
 *   over it ({@link signChallenge}), which the hub checks against the certificate's key.
 *
 * Every signed message starts with its own ASCII domain string and a zero byte, so a
 * signature made for one purpose (an entry, a certificate, a challenge) never verifies as
 * another.
 */

import { InvalidArgumentError } from '../errors.ts';
import { checkBytes, type Identity, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../log/identity.ts';
import type { Signer } from '../log/signer.ts';
import { ByteReader, ByteWriter, bytesEqual } from '../lsm/coding.ts';

/** Format version of certificates, revocations and challenges. */
export const PAIRING_VERSION = 1;
/** Bytes of an encoded {@link DeviceCertificate}. */
export const CERTIFICATE_BYTES = 149;
/** Bytes of an encoded {@link Revocation}. */
export const REVOCATION_BYTES = 141;
/** Bytes of an encoded {@link Challenge}. */
export const CHALLENGE_BYTES = 77;
/** Bytes of a challenge's nonce. */
export const NONCE_BYTES = 32;

const CERT_MAGIC = ascii('ARDC');
const REVOCATION_MAGIC = ascii('ARDR');
const CHALLENGE_MAGIC = ascii('ARCH');
const CERT_DOMAIN = domain('aregula/device-cert/v1');
const REVOCATION_DOMAIN = domain('aregula/device-revocation/v1');
const CHALLENGE_DOMAIN = domain('aregula/hub-auth/v1');

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function domain(text: string): Uint8Array {
  const d = ascii(text);
  const out = new Uint8Array(d.length + 1);
  out.set(d);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** An owner's admission of one device key. */
export interface DeviceCertificate {
  /** The owner's public key: the replica set. */
  owner: Uint8Array;
  /** The admitted device's public key (its feed's author). */
  device: Uint8Array;
  /** When the owner signed it, ms since the epoch. */
  issuedAtMs: number;
  /** When it stops being valid, ms since the epoch; 0 means never. */
  expiresAtMs: number;
  /** The owner's signature. */
  signature: Uint8Array;
  /** The certificate's encoded bytes (what travels and what is stored). */
  bytes: Uint8Array;
}

/** An owner's withdrawal of one device key. */
export interface Revocation {
  owner: Uint8Array;
  device: Uint8Array;
  /** When the owner signed it, ms since the epoch (informational). */
  revokedAtMs: number;
  signature: Uint8Array;
  bytes: Uint8Array;
}

/** A hub's challenge: a nonce for one owner's replica set, valid until `expiresAtMs`. */
export interface Challenge {
  owner: Uint8Array;
  nonce: Uint8Array;
  expiresAtMs: number;
  bytes: Uint8Array;
}

function checkTime(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`${what} must be an integer >= 0`);
}

function header(magic: Uint8Array, capacity: number): ByteWriter {
  return new ByteWriter(capacity).bytes(magic).u8(PAIRING_VERSION);
}

function openReader(bytes: unknown, size: number, magic: Uint8Array, what: string): ByteReader {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be bytes`);
  if (bytes.length !== size)
    throw new InvalidArgumentError(`${what} must be ${size} bytes, got ${bytes.length}`);
  const r = new ByteReader(bytes);
  if (!bytesEqual(r.bytes(4), magic)) throw new InvalidArgumentError(`${what}: wrong magic`);
  const version = r.u8();
  if (version !== PAIRING_VERSION) throw new InvalidArgumentError(`${what}: unsupported version ${version}`);
  return r;
}

/** The owner signs a certificate admitting `device`. */
export function issueCertificate(options: {
  owner: Identity;
  device: Uint8Array;
  issuedAtMs: number;
  expiresAtMs?: number;
  signer: Signer;
}): DeviceCertificate {
  checkBytes(options.device, PUBLIC_KEY_BYTES, 'device');
  const expiresAtMs = options.expiresAtMs ?? 0;
  checkTime(options.issuedAtMs, 'issuedAtMs');
  checkTime(expiresAtMs, 'expiresAtMs');
  const w = header(CERT_MAGIC, CERTIFICATE_BYTES)
    .bytes(options.owner.publicKey)
    .bytes(options.device)
    .u64(options.issuedAtMs)
    .u64(expiresAtMs);
  const signed = w.peek().slice();
  const signature = options.signer.sign(options.owner, concat(CERT_DOMAIN, signed));
  return decodeCertificate(concat(signed, signature));
}

/** Parses a certificate's bytes (does not check its signature: see {@link verifyCertificate}). */
export function decodeCertificate(bytes: Uint8Array): DeviceCertificate {
  const r = openReader(bytes, CERTIFICATE_BYTES, CERT_MAGIC, 'certificate');
  const owner = r.bytes(PUBLIC_KEY_BYTES).slice();
  const device = r.bytes(PUBLIC_KEY_BYTES).slice();
  const issuedAtMs = readTime(r, 'certificate issuedAtMs');
  const expiresAtMs = readTime(r, 'certificate expiresAtMs');
  const signature = r.bytes(SIGNATURE_BYTES).slice();
  return { owner, device, issuedAtMs, expiresAtMs, signature, bytes: bytes.slice() };
}

function readTime(r: ByteReader, what: string): number {
  try {
    return r.u64();
  } catch {
    throw new InvalidArgumentError(`${what} exceeds 2^53 - 1`);
  }
}

/** Why a certificate is not accepted, or undefined when it is valid for `owner` at `nowMs`. */
export function certificateProblem(
  cert: DeviceCertificate,
  options: { owner: Uint8Array; nowMs: number; signer: Signer },
): string | undefined {
  if (!bytesEqual(cert.owner, options.owner)) return 'certificate is for another replica set';
  if (cert.expiresAtMs !== 0 && cert.expiresAtMs <= options.nowMs) return 'certificate has expired';
  const signed = cert.bytes.subarray(0, CERTIFICATE_BYTES - SIGNATURE_BYTES);
  if (!options.signer.verify(cert.owner, concat(CERT_DOMAIN, signed), cert.signature))
    return 'certificate signature is not the owner’s';
  return undefined;
}

/** True when `cert` is valid for `owner` at `nowMs` (see {@link certificateProblem}). */
export function verifyCertificate(
  cert: DeviceCertificate,
  options: { owner: Uint8Array; nowMs: number; signer: Signer },
): boolean {
  return certificateProblem(cert, options) === undefined;
}

/** The owner signs the revocation of `device`. */
export function issueRevocation(options: {
  owner: Identity;
  device: Uint8Array;
  revokedAtMs: number;
  signer: Signer;
}): Revocation {
  checkBytes(options.device, PUBLIC_KEY_BYTES, 'device');
  checkTime(options.revokedAtMs, 'revokedAtMs');
  const w = header(REVOCATION_MAGIC, REVOCATION_BYTES)
    .bytes(options.owner.publicKey)
    .bytes(options.device)
    .u64(options.revokedAtMs);
  const signed = w.peek().slice();
  const signature = options.signer.sign(options.owner, concat(REVOCATION_DOMAIN, signed));
  return decodeRevocation(concat(signed, signature));
}

/** Parses a revocation's bytes (does not check its signature). */
export function decodeRevocation(bytes: Uint8Array): Revocation {
  const r = openReader(bytes, REVOCATION_BYTES, REVOCATION_MAGIC, 'revocation');
  const owner = r.bytes(PUBLIC_KEY_BYTES).slice();
  const device = r.bytes(PUBLIC_KEY_BYTES).slice();
  const revokedAtMs = readTime(r, 'revocation revokedAtMs');
  const signature = r.bytes(SIGNATURE_BYTES).slice();
  return { owner, device, revokedAtMs, signature, bytes: bytes.slice() };
}

/** True when `revocation` is signed by `owner`. */
export function verifyRevocation(
  revocation: Revocation,
  options: { owner: Uint8Array; signer: Signer },
): boolean {
  if (!bytesEqual(revocation.owner, options.owner)) return false;
  const signed = revocation.bytes.subarray(0, REVOCATION_BYTES - SIGNATURE_BYTES);
  return options.signer.verify(revocation.owner, concat(REVOCATION_DOMAIN, signed), revocation.signature);
}

/** Builds a challenge (the hub draws the nonce from its randomness). */
export function createChallenge(options: {
  owner: Uint8Array;
  nonce: Uint8Array;
  expiresAtMs: number;
}): Challenge {
  checkBytes(options.owner, PUBLIC_KEY_BYTES, 'owner');
  checkBytes(options.nonce, NONCE_BYTES, 'nonce');
  checkTime(options.expiresAtMs, 'expiresAtMs');
  const bytes = header(CHALLENGE_MAGIC, CHALLENGE_BYTES)
    .bytes(options.owner)
    .bytes(options.nonce)
    .u64(options.expiresAtMs)
    .finish();
  return decodeChallenge(bytes);
}

/** Parses a challenge's bytes. */
export function decodeChallenge(bytes: Uint8Array): Challenge {
  const r = openReader(bytes, CHALLENGE_BYTES, CHALLENGE_MAGIC, 'challenge');
  const owner = r.bytes(PUBLIC_KEY_BYTES).slice();
  const nonce = r.bytes(NONCE_BYTES).slice();
  const expiresAtMs = readTime(r, 'challenge expiresAtMs');
  return { owner, nonce, expiresAtMs, bytes: bytes.slice() };
}

/** The device's answer to a challenge: its signature over the domain and the challenge bytes. */
export function signChallenge(challenge: Uint8Array, device: Identity, signer: Signer): Uint8Array {
  decodeChallenge(challenge);
  return signer.sign(device, concat(CHALLENGE_DOMAIN, challenge));
}

/** True when `signature` is `device`'s answer to `challenge`. */
export function verifyChallengeSignature(options: {
  challenge: Uint8Array;
  device: Uint8Array;
  signature: Uint8Array;
  signer: Signer;
}): boolean {
  if (!(options.signature instanceof Uint8Array) || options.signature.length !== SIGNATURE_BYTES)
    return false;
  return options.signer.verify(
    options.device,
    concat(CHALLENGE_DOMAIN, options.challenge),
    options.signature,
  );
}
