/**
 * Who may use the hub. The replica set's owner key is fixed when the hub's data directory is
 * created; a device gets in by presenting a certificate from the owner and signing a fresh
 * challenge with the certified key (engine/sync/pairing.ts, docs/formats/pairing.md). Then it
 * holds a session token (random, short-lived, kept only in memory, sent as
 * `Authorization: Bearer`), which a hub restart or a revocation invalidates at once.
 *
 * Admitted devices and revocations are stored (synced) in record files, so a device's feed
 * stays known to the hub across restarts and a revoked device stays out.
 */

import type { FileSystem } from '../engine/io/fs.ts';
import type { Signer } from '../engine/log/signer.ts';
import { fromBase64Url, toBase64Url } from '../engine/sync/base64.ts';
import { authorToHex } from '../engine/sync/messages.ts';
import {
  CERTIFICATE_BYTES,
  certificateProblem,
  createChallenge,
  type DeviceCertificate,
  decodeCertificate,
  decodeChallenge,
  decodeRevocation,
  NONCE_BYTES,
  REVOCATION_BYTES,
  verifyChallengeSignature,
  verifyRevocation,
} from '../engine/sync/pairing.ts';
import { HubError } from './hub-error.ts';
import type { HubLimits } from './limits.ts';
import { RecordFile } from './record-file.ts';

/** Bytes of a session token before base64url. */
export const TOKEN_BYTES = 32;

/** What {@link Access.authenticate} reads from the request body. */
export interface AuthRequest {
  certificate: string;
  challenge: string;
  signature: string;
}

/** A granted session. */
export interface SessionGrant {
  token: string;
  device: string;
  expiresAtMs: number;
}

/** The hub's dependencies for access decisions. */
export interface AccessOptions {
  fs: FileSystem;
  owner: Uint8Array;
  signer: Signer;
  limits: HubLimits;
  nowMs: () => number;
  randomBytes: (n: number) => Uint8Array;
}

function field(body: unknown, name: keyof AuthRequest): string {
  const v = (body as Record<string, unknown>)[name];
  if (typeof v !== 'string' || v.length > 512)
    throw new HubError(400, 'bad_request', `"${name}" must be a string`);
  return v;
}

function bytesField(body: unknown, name: keyof AuthRequest): Uint8Array {
  try {
    return fromBase64Url(field(body, name), name);
  } catch (err) {
    if (err instanceof HubError) throw err;
    throw new HubError(400, 'bad_request', `"${name}" is not base64url`);
  }
}

/** Devices, revocations, challenges and sessions. */
export class Access {
  private readonly devicesFile: RecordFile;
  private readonly revocationsFile: RecordFile;
  private readonly devices = new Map<string, DeviceCertificate>();
  private readonly revoked = new Set<string>();
  /** Outstanding challenges: nonce (hex) to expiry. */
  private readonly challenges = new Map<string, number>();
  private readonly sessions = new Map<string, { device: string; expiresAtMs: number }>();
  private readonly revokeListeners: ((device: string) => void)[] = [];

  constructor(private readonly o: AccessOptions) {
    this.devicesFile = new RecordFile(o.fs, 'devices', CERTIFICATE_BYTES);
    this.revocationsFile = new RecordFile(o.fs, 'revocations', REVOCATION_BYTES);
    for (const b of this.devicesFile.read(0, this.devicesFile.count)) {
      const cert = decodeCertificate(b);
      this.devices.set(authorToHex(cert.device), cert);
    }
    for (const b of this.revocationsFile.read(0, this.revocationsFile.count))
      this.revoked.add(authorToHex(decodeRevocation(b).device));
  }

  /** Calls `listener` with a device's key (hex) when it is revoked. */
  onRevoke(listener: (device: string) => void): void {
    this.revokeListeners.push(listener);
  }

  /** Whether entries of `author` (hex) may be stored: an admitted, unrevoked device. */
  feedStatus(author: string): 'admitted' | 'unknown' | 'revoked' {
    if (this.revoked.has(author)) return 'revoked';
    return this.devices.has(author) ? 'admitted' : 'unknown';
  }

  /** Number of admitted devices (revoked ones included). */
  get deviceCount(): number {
    return this.devices.size;
  }

  /** Issues a single-use challenge (base64url of its bytes). */
  issueChallenge(): { challenge: string; expiresAtMs: number } {
    const now = this.o.nowMs();
    if (this.challenges.size >= this.o.limits.challengesMax) {
      for (const [nonce, exp] of this.challenges) if (exp <= now) this.challenges.delete(nonce);
    }
    if (this.challenges.size >= this.o.limits.challengesMax)
      throw new HubError(429, 'too_many_challenges', 'too many outstanding challenges; retry later', {
        'retry-after': String(Math.ceil(this.o.limits.challengeTtlMs / 1000)),
      });
    const nonce = this.o.randomBytes(NONCE_BYTES);
    const expiresAtMs = now + this.o.limits.challengeTtlMs;
    const c = createChallenge({ owner: this.o.owner, nonce, expiresAtMs });
    this.challenges.set(authorToHex(nonce), expiresAtMs);
    return { challenge: toBase64Url(c.bytes), expiresAtMs };
  }

  /** Checks a signed challenge and a certificate; grants a session token. */
  authenticate(body: unknown): SessionGrant {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new HubError(400, 'bad_request', 'body must be a JSON object');
    const challengeBytes = bytesField(body, 'challenge');
    const certBytes = bytesField(body, 'certificate');
    const signature = bytesField(body, 'signature');
    const now = this.o.nowMs();
    let challenge: ReturnType<typeof decodeChallenge>;
    try {
      challenge = decodeChallenge(challengeBytes);
    } catch (err) {
      throw new HubError(400, 'bad_request', `challenge: ${(err as Error).message}`);
    }
    const nonce = authorToHex(challenge.nonce);
    const expiry = this.challenges.get(nonce);
    // Single use: a challenge is spent by its first answer, right or wrong.
    this.challenges.delete(nonce);
    if (expiry === undefined || expiry !== challenge.expiresAtMs)
      throw new HubError(401, 'bad_challenge', 'challenge unknown or already used');
    if (expiry <= now) throw new HubError(401, 'bad_challenge', 'challenge expired');
    let cert: DeviceCertificate;
    try {
      cert = decodeCertificate(certBytes);
    } catch (err) {
      throw new HubError(400, 'bad_request', `certificate: ${(err as Error).message}`);
    }
    const problem = certificateProblem(cert, { owner: this.o.owner, nowMs: now, signer: this.o.signer });
    if (problem !== undefined) throw new HubError(401, 'bad_certificate', problem);
    const device = authorToHex(cert.device);
    if (this.revoked.has(device)) throw new HubError(403, 'revoked', 'this device was revoked by the owner');
    if (
      !verifyChallengeSignature({
        challenge: challengeBytes,
        device: cert.device,
        signature,
        signer: this.o.signer,
      })
    )
      throw new HubError(401, 'bad_signature', 'challenge signature is not the certified device’s');
    this.admit(device, cert);
    return this.grant(device, now);
  }

  private admit(device: string, cert: DeviceCertificate): void {
    const known = this.devices.get(device);
    if (known !== undefined && known.issuedAtMs >= cert.issuedAtMs) return;
    if (known === undefined && this.devices.size >= this.o.limits.devicesMax)
      throw new HubError(
        403,
        'too_many_devices',
        `the hub admits at most ${this.o.limits.devicesMax} devices`,
      );
    this.devicesFile.append([cert.bytes]);
    this.devices.set(device, cert);
  }

  private grant(device: string, now: number): SessionGrant {
    if (this.sessions.size >= this.o.limits.sessionsMax) {
      for (const [t, s] of this.sessions)
        if (s.expiresAtMs <= now || this.revoked.has(s.device)) this.sessions.delete(t);
    }
    if (this.sessions.size >= this.o.limits.sessionsMax)
      throw new HubError(503, 'too_many_sessions', 'the hub holds too many sessions; retry later', {
        'retry-after': '60',
      });
    const token = toBase64Url(this.o.randomBytes(TOKEN_BYTES));
    const expiresAtMs = now + this.o.limits.sessionTtlMs;
    this.sessions.set(token, { device, expiresAtMs });
    return { token, device, expiresAtMs };
  }

  /** The device (hex) holding the token in an `Authorization` header; 401 otherwise. */
  deviceOf(authorization: string | undefined): string {
    if (authorization === undefined)
      throw new HubError(401, 'unauthenticated', 'missing Authorization: Bearer token', {
        'www-authenticate': 'Bearer',
      });
    const m = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(authorization);
    if (m === null) throw new HubError(401, 'bad_token', 'Authorization is not a Bearer session token');
    const s = this.sessions.get(m[1]!);
    if (s === undefined)
      throw new HubError(
        401,
        'bad_token',
        'unknown session token (expired, revoked or from before a restart)',
      );
    if (s.expiresAtMs <= this.o.nowMs()) {
      this.sessions.delete(m[1]!);
      throw new HubError(401, 'bad_token', 'session token expired');
    }
    if (this.revoked.has(s.device))
      throw new HubError(403, 'revoked', 'this device was revoked by the owner');
    return s.device;
  }

  /** Applies an owner-signed revocation (base64url); idempotent. */
  revoke(body: unknown): { device: string; already: boolean } {
    if (typeof body !== 'object' || body === null)
      throw new HubError(400, 'bad_request', 'body must be a JSON object');
    const raw = (body as Record<string, unknown>).revocation;
    if (typeof raw !== 'string' || raw.length > 512)
      throw new HubError(400, 'bad_request', '"revocation" must be a base64url string');
    let bytes: Uint8Array;
    let revocation: ReturnType<typeof decodeRevocation>;
    try {
      bytes = fromBase64Url(raw, 'revocation');
      revocation = decodeRevocation(bytes);
    } catch (err) {
      throw new HubError(400, 'bad_request', (err as Error).message);
    }
    if (!verifyRevocation(revocation, { owner: this.o.owner, signer: this.o.signer }))
      throw new HubError(403, 'bad_signature', 'revocation is not signed by this replica set’s owner');
    const device = authorToHex(revocation.device);
    if (this.revoked.has(device)) return { device, already: true };
    this.revocationsFile.append([revocation.bytes]);
    this.revoked.add(device);
    // The device's sessions stay until they expire (or are swept to make room): a request
    // bearing one is answered 403 `revoked`, which tells its client to stop. Dropping them
    // made it 401 `bad_token`, which a client answers by logging in again, and reported the
    // revocation as a token problem until that login was refused.
    for (const l of this.revokeListeners) l(device);
    return { device, already: false };
  }

  /** Closes the record files. */
  close(): void {
    this.devicesFile.close();
    this.revocationsFile.close();
  }
}
