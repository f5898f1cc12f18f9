/**
 * Key files: an owner key or a device key as a small JSON document (docs/formats/key-file.md),
 * written by `aregula keys owner|device` and, for the device key, kept by the SDK in the
 * database's own storage (`DEVICE-KEY`) so that a device keeps its identity across restarts.
 *
 * The secret seed is in the file in the clear: whoever reads the file is that key. Keep owner
 * keys off the hub and off shared disks.
 */

import { InvalidArgumentError } from '../errors.ts';
import { bytesToHex, hexToBytes } from '../hex.ts';
import { type Identity, identityFromSeed } from '../log/identity.ts';

/** The `format` field of every key file. */
export const KEY_FILE_FORMAT = 'aregula-key';
/** The key file version this code writes and reads. */
export const KEY_FILE_VERSION = 1;
/** Longest key file accepted, bytes (a real one is about 200). */
export const KEY_FILE_BYTES_MAX = 4096;

/** What a key is for. */
export type KeyRole = 'owner' | 'device';

/** A parsed key file. */
export interface KeyFile {
  role: KeyRole;
  identity: Identity;
}

const HEX_KEY = /^[0-9a-f]{64}$/;

/** The key file text of `identity` (one JSON object and a newline). */
export function encodeKeyFile(role: KeyRole, identity: Identity): string {
  const doc = {
    format: KEY_FILE_FORMAT,
    version: KEY_FILE_VERSION,
    role,
    publicKey: bytesToHex(identity.publicKey),
    secretKey: bytesToHex(identity.secretKey),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Parses a key file. Throws {@link InvalidArgumentError} naming the problem: not JSON, another
 * format or version, a missing or malformed field, or a public key the seed does not derive.
 * With `role`, a key of the other role is refused too.
 */
export function decodeKeyFile(text: string, role?: KeyRole): KeyFile {
  if (text.length > KEY_FILE_BYTES_MAX)
    throw new InvalidArgumentError(`a key file is at most ${KEY_FILE_BYTES_MAX} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('not a key file (not JSON)');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new InvalidArgumentError('not a key file (not a JSON object)');
  const d = doc as Record<string, unknown>;
  if (d.format !== KEY_FILE_FORMAT)
    throw new InvalidArgumentError(`not a key file (format is not "${KEY_FILE_FORMAT}")`);
  if (d.version !== KEY_FILE_VERSION)
    throw new InvalidArgumentError(`unsupported key file version ${JSON.stringify(d.version)}`);
  if (d.role !== 'owner' && d.role !== 'device')
    throw new InvalidArgumentError('key file role must be "owner" or "device"');
  if (role !== undefined && d.role !== role)
    throw new InvalidArgumentError(`expected a ${role} key, got a ${d.role} key`);
  if (typeof d.secretKey !== 'string' || !HEX_KEY.test(d.secretKey))
    throw new InvalidArgumentError('key file secretKey must be 64 lowercase hex digits');
  if (typeof d.publicKey !== 'string' || !HEX_KEY.test(d.publicKey))
    throw new InvalidArgumentError('key file publicKey must be 64 lowercase hex digits');
  const identity = identityFromSeed(hexToBytes(d.secretKey));
  if (bytesToHex(identity.publicKey) !== d.publicKey)
    throw new InvalidArgumentError('key file publicKey does not belong to its secretKey');
  return { role: d.role, identity };
}
