/**
 * What the `sync` suite syncs: a source device whose feed holds `n` entries (one small
 * document per entry, signed per group commit as the database does by default), fresh
 * receiving devices, certificates from one owner, and a hub filled with the source's feed.
 */

import { assert } from '../../../engine/assert.ts';
import { Database } from '../../../engine/db/database.ts';
import { systemClock } from '../../../engine/io/clock.ts';
import type { FileSystem } from '../../../engine/io/fs.ts';
import { MemoryFs } from '../../../engine/io/memory-fs.ts';
import { NodeFs } from '../../../engine/io/node-fs.ts';
import { type Identity, identityFromSeed } from '../../../engine/log/identity.ts';
import { nodeSigner } from '../../../engine/log/node-signer.ts';
import { nodeBackgroundMerger } from '../../../engine/lsm/node-background.ts';
import { fromBase64Url, toBase64Url } from '../../../engine/sync/base64.ts';
import { authorToHex, encodeMessage } from '../../../engine/sync/messages.ts';
import { issueCertificate, signChallenge } from '../../../engine/sync/pairing.ts';
import type { Hub } from '../../../hub/hub.ts';

/** Entries per `entries` message when the bench fills a hub (the hub's per-request maximum). */
export const FILL_ENTRIES_PER_MESSAGE = 1024;
/** Bytes per `entries` message when the bench fills a hub (well under the hub's 8 MiB body). */
export const FILL_MESSAGE_BYTES_MAX = 4 * 1024 * 1024;

/** A device: its identity, the owner's certificate for it, and its database. */
export interface BenchDevice {
  identity: Identity;
  /** Lowercase hex of the device's key (its feed's author). */
  hex: string;
  certificate: Uint8Array;
  db: Database;
}

/** The source of an initial sync: a device holding `n` signed entries. */
export interface SyncSource {
  owner: Identity;
  device: BenchDevice;
  n: number;
  /** The entries' encoded size: the sum of their wire forms (body, flags, signature). */
  entryBytes: number;
}

/** A deterministic identity from a small number. */
export function benchIdentity(k: number): Identity {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, k);
  seed[31] = 0x53;
  return identityFromSeed(seed);
}

/** The owner of every bench device. */
export const BENCH_OWNER: Identity = benchIdentity(0);

/**
 * A device numbered `k`, certified by {@link BENCH_OWNER}, with a database on `fs`. On a
 * `NodeFs` its LSM flushes and compacts on a worker thread, as the SDK's Node platform opens
 * it (`engine/sdk/node.ts`); the process's CPU time still counts that thread.
 */
export function benchDevice(k: number, fs: FileSystem = new MemoryFs()): BenchDevice {
  const identity = benchIdentity(k);
  const certificate = issueCertificate({
    owner: BENCH_OWNER,
    device: identity.publicKey,
    issuedAtMs: 1_000,
    signer: nodeSigner,
  }).bytes;
  const lsm = fs instanceof NodeFs ? { background: nodeBackgroundMerger(fs.dir) } : undefined;
  const db = Database.open({ fs, identity, clock: systemClock, signer: nodeSigner, ...(lsm && { lsm }) });
  return { identity, hex: authorToHex(identity.publicKey), certificate, db };
}

/** The document of entry `i` (about 60 bytes of payload). */
export function benchDoc(i: number): { text: string; n: number; done: boolean } {
  return { text: `note number ${i}`, n: i, done: i % 2 === 0 };
}

/** Writes `n` documents on a fresh source device (device 1) and commits them. */
export function buildSource(n: number): SyncSource {
  assert(Number.isSafeInteger(n) && n >= 1, 'a source holds at least one entry');
  const device = benchDevice(1);
  const notes = device.db.collection('notes');
  for (let i = 0; i < n; i++) notes.put(`doc-${i}`, benchDoc(i));
  device.db.commit();
  let entryBytes = 0;
  for (const wire of wholeFeed(device)) entryBytes += wire.length;
  return { owner: BENCH_OWNER, device, n, entryBytes };
}

/** Every signed entry of `device`'s own feed in wire form, in messages' worth of ranges. */
export function* wholeFeed(device: BenchDevice, limit = FILL_ENTRIES_PER_MESSAGE): Generator<Uint8Array> {
  for (const range of feedRanges(device, limit)) yield* range;
}

/** `device`'s own signed feed in ranges of about `limit` entries, each ending at a signature. */
export function* feedRanges(device: BenchDevice, limit: number): Generator<Uint8Array[]> {
  const head = device.db.replica.stateVector().get(device.hex) ?? 0;
  for (let next = 1; next <= head; ) {
    const range = device.db.replica.readFeed(device.hex, next, { limit, maxBytes: FILL_MESSAGE_BYTES_MAX });
    assert(range.length > 0, `the source's feed has entry ${next}`);
    yield range;
    next += range.length;
  }
}

/** Admits `device` to `hub` by the challenge login a client does (without HTTP). */
export function admit(hub: Hub, device: BenchDevice): void {
  const { challenge } = hub.access.issueChallenge();
  const signature = signChallenge(fromBase64Url(challenge), device.identity, nodeSigner);
  hub.access.authenticate({
    certificate: toBase64Url(device.certificate),
    challenge,
    signature: toBase64Url(signature),
  });
}

/** Pushes the source's whole feed into `hub` (in-process, as `POST /v1/sync` would). */
export function fillHub(hub: Hub, source: SyncSource): void {
  admit(hub, source.device);
  for (const range of feedRanges(source.device, FILL_ENTRIES_PER_MESSAGE)) {
    hub.sync(source.device.hex, encodeMessage({ type: 'entries', entries: range }));
  }
  assert(hub.index.end === source.n, `the hub holds ${hub.index.end} of ${source.n} entries`);
}

/** The signed seq `device` holds of the feed of `author` (a public key). */
export function heldOf(device: BenchDevice, author: Uint8Array): number {
  return device.db.feeds.head(author)?.signedSeq ?? 0;
}
