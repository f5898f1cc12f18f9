/**
 * The device's identity, kept in the database's own storage: the first `open` of a store
 * draws a new key and writes it, durably and atomically, as `DEVICE-KEY` (a key file,
 * docs/formats/key-file.md); every later `open` reads it back. The LSM ignores files it does
 * not name, so the key lives beside the store's tables without a second directory.
 */

import { InvalidArgumentError } from '../errors.ts';
import { type FileSystem, readWholeFile, writeFileAtomic } from '../io/fs.ts';
import { generateIdentity, type Identity, type RandomBytes } from '../log/identity.ts';
import { decodeKeyFile, encodeKeyFile, KEY_FILE_BYTES_MAX } from './key-file.ts';

/** Name of the device key file inside a store. */
export const DEVICE_KEY_FILE = 'DEVICE-KEY';

/** The stored device identity, or undefined when the store has none yet. */
export function getStoredIdentity(fs: FileSystem): Identity | undefined {
  if (!fs.exists(DEVICE_KEY_FILE)) return undefined;
  const bytes = readWholeFile(fs, DEVICE_KEY_FILE);
  if (bytes.length > KEY_FILE_BYTES_MAX)
    throw new InvalidArgumentError(`${DEVICE_KEY_FILE} is larger than ${KEY_FILE_BYTES_MAX} bytes`);
  return decodeKeyFile(new TextDecoder().decode(bytes), 'device').identity;
}

/** Stores `identity` as the store's device key (replacing none: the caller checked). */
export function storeIdentity(fs: FileSystem, identity: Identity): void {
  writeFileAtomic(fs, DEVICE_KEY_FILE, new TextEncoder().encode(encodeKeyFile('device', identity)));
}

/**
 * The store's device identity: `given` when passed (stored if the store has none, checked
 * against the stored one otherwise), else the stored one, else a new one drawn from
 * `randomBytes` and stored.
 */
export function resolveIdentity(
  fs: FileSystem,
  given: Identity | undefined,
  randomBytes: RandomBytes,
): Identity {
  const stored = getStoredIdentity(fs);
  if (given !== undefined) {
    if (stored !== undefined && !sameKey(stored.publicKey, given.publicKey))
      throw new InvalidArgumentError(
        'this store belongs to another device key (its DEVICE-KEY differs from `identity`)',
      );
    if (stored === undefined) storeIdentity(fs, given);
    return given;
  }
  if (stored !== undefined) return stored;
  const fresh = generateIdentity(randomBytes);
  storeIdentity(fs, fresh);
  return fresh;
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
