/**
 * The hub: the always-on peer. A complete replica of the replica set (a `Database` on disk,
 * which this hub never writes to itself), the cursor index that orders its entries for event
 * streams, and the access rules (owner, admitted devices, revocations, sessions). The HTTP
 * layer (app.ts) only translates requests into calls on this class, so every decision about
 * what is stored is made here, synchronously, one request at a time. Only the reading of a
 * pull answer is spread out: its parts are read when the HTTP layer streams them, and other
 * requests run in between (each part reads what is stored at that moment; hub/pull-answer.ts).
 *
 * Data directory layout: `DIR/replica/` holds the database (LSM files); `DIR/hub/` holds
 * `config` (owner key, epoch, the hub's own identity), `cursor-index`, `devices` and
 * `revocations` (docs/formats/hub-state.md).
 */

import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Database } from '../engine/db/database.ts';
import { CorruptionError, InvalidArgumentError, ProtocolError } from '../engine/errors.ts';
import { bytesToHex } from '../engine/hex.ts';
import { systemClock } from '../engine/io/clock.ts';
import { crc32c, maskCrc } from '../engine/io/crc32c.ts';
import { readWholeFile, writeFileAtomic } from '../engine/io/fs.ts';
import { NodeFs } from '../engine/io/node-fs.ts';
import { decodeEntry } from '../engine/log/entry.ts';
import { identityFromSeed, PUBLIC_KEY_BYTES } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { encodeFrames } from '../engine/sync/frames.ts';
import { authorToHex, decodeMessage, type SyncMessage } from '../engine/sync/messages.ts';
import { SyncSession } from '../engine/sync/session.ts';
import { Access } from './access.ts';
import { CursorIndex } from './cursor-index.ts';
import { EventStreams } from './event-streams.ts';
import { FlushableFs } from './flushable-fs.ts';
import { HubError } from './hub-error.ts';
import { type HubLimits, resolveLimits } from './limits.ts';
import { type HubLog, jsonLineLog } from './log.ts';
import { PullAnswer } from './pull-answer.ts';

/** Version of the `config` file. */
export const HUB_CONFIG_VERSION = 1;
const CONFIG_MAGIC = new TextEncoder().encode('ARHB');
/** Bytes of the `config` file. */
export const HUB_CONFIG_BYTES = 4 + 1 + 32 + 16 + 32 + 4;

/** How to open a hub. */
export interface HubOptions {
  /** The data directory (created if missing). */
  dataDir: string;
  /** The owner's public key; required when the directory is new, checked otherwise. */
  owner?: Uint8Array;
  limits?: Partial<HubLimits>;
  log?: HubLog;
  /** Wall clock in ms (challenge and session expiry). */
  nowMs?: () => number;
  /** Randomness for nonces, tokens, the epoch and the hub's key. */
  randomBytes?: (n: number) => Uint8Array;
}

/** What one `POST /v1/sync` produced. */
export interface SyncAnswer {
  /** The framed messages to send back (for a pull, the first part of them). */
  frames: Uint8Array;
  /**
   * For a pull whose answer continues past `frames`: the next part each call (framed
   * messages), undefined once the answer is complete. Parts are read from the replica when
   * asked for, so the HTTP layer streams them (hub/pull-answer.ts). Throws `HubError` 503 once
   * the hub closes.
   */
  more?: () => Uint8Array | undefined;
  /** Entries newly stored by this request. */
  applied: number;
}

interface HubConfig {
  owner: Uint8Array;
  epoch: Uint8Array;
  seed: Uint8Array;
}

function encodeConfig(c: HubConfig): Uint8Array {
  const out = new Uint8Array(HUB_CONFIG_BYTES);
  out.set(CONFIG_MAGIC, 0);
  out[4] = HUB_CONFIG_VERSION;
  out.set(c.owner, 5);
  out.set(c.epoch, 37);
  out.set(c.seed, 53);
  new DataView(out.buffer).setUint32(85, maskCrc(crc32c(out, 0, 85)), true);
  return out;
}

function decodeConfig(b: Uint8Array): HubConfig {
  const bad = (detail: string) => new CorruptionError({ file: 'hub/config', offset: 0, detail });
  if (b.length !== HUB_CONFIG_BYTES) throw bad(`size ${b.length}`);
  for (let i = 0; i < 4; i++) if (b[i] !== CONFIG_MAGIC[i]) throw bad('wrong magic');
  if (b[4] !== HUB_CONFIG_VERSION) throw bad(`unsupported version ${b[4]}`);
  if (new DataView(b.buffer, b.byteOffset).getUint32(85, true) !== maskCrc(crc32c(b, 0, 85)))
    throw bad('CRC mismatch');
  return { owner: b.slice(5, 37), epoch: b.slice(37, 53), seed: b.slice(53, 85) };
}

/** The hub (see the module comment). */
export class Hub {
  readonly owner: Uint8Array;
  /** Names this data directory's event order: event ids from another epoch cannot resume here. */
  readonly epoch: string;
  readonly limits: HubLimits;
  readonly log: HubLog;
  readonly db: Database;
  readonly index: CursorIndex;
  readonly access: Access;
  readonly streams: EventStreams;
  private readonly replicaFs: FlushableFs;
  private closed = false;

  private constructor(options: HubOptions) {
    this.limits = resolveLimits(options.limits);
    this.log = options.log ?? jsonLineLog();
    const random = options.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)));
    const nowMs = options.nowMs ?? (() => Date.now());
    const stateFs = new NodeFs(join(options.dataDir, 'hub'));
    let config: HubConfig;
    if (stateFs.exists('config')) {
      config = decodeConfig(readWholeFile(stateFs, 'config'));
      if (options.owner !== undefined && bytesToHex(options.owner) !== bytesToHex(config.owner))
        throw new InvalidArgumentError(`${options.dataDir} belongs to owner ${bytesToHex(config.owner)}`);
    } else {
      if (options.owner === undefined || options.owner.length !== PUBLIC_KEY_BYTES)
        throw new InvalidArgumentError('a new hub needs the owner public key (32 bytes, --owner HEX)');
      config = { owner: options.owner.slice(), epoch: random(16), seed: random(32) };
      writeFileAtomic(stateFs, 'config', encodeConfig(config));
    }
    this.owner = config.owner;
    this.epoch = bytesToHex(config.epoch);
    this.replicaFs = new FlushableFs(new NodeFs(join(options.dataDir, 'replica')));
    this.db = Database.open({
      fs: this.replicaFs,
      identity: identityFromSeed(config.seed),
      clock: systemClock,
      signer: nodeSigner,
    });
    this.index = new CursorIndex(stateFs);
    const repaired = this.index.repair(this.db.feeds);
    this.access = new Access({
      fs: stateFs,
      owner: this.owner,
      signer: nodeSigner,
      limits: this.limits,
      nowMs,
      randomBytes: random,
    });
    this.streams = new EventStreams({
      index: this.index,
      feeds: this.db.feeds,
      epoch: this.epoch,
      limits: this.limits,
      log: this.log,
    });
    this.access.onRevoke((device) => {
      const n = this.streams.closeDevice(device);
      this.log.log('info', 'device revoked', { device, streamsClosed: n });
    });
    this.log.log('info', 'hub opened', {
      dataDir: options.dataDir,
      owner: bytesToHex(this.owner),
      epoch: this.epoch,
      entries: this.index.end,
      indexRepaired: repaired,
      indexTornDropped: this.index.tornRecordsDropped,
      devices: this.access.deviceCount,
    });
  }

  /** Opens (creating if new) the hub in `options.dataDir`. */
  static open(options: HubOptions): Hub {
    return new Hub(options);
  }

  /** SHA-256 (hex) of the replica's documents (equal on replicas holding the same entries). */
  stateHash(): string {
    return this.db.stateHash();
  }

  /**
   * Handles one protocol message from `device`: `hello` or `need` are answered with a bounded
   * delta and `done`; `entries` are checked, stored durably and indexed before the answer.
   */
  sync(device: string, body: Uint8Array): SyncAnswer {
    this.checkOpen();
    let m: SyncMessage;
    try {
      m = decodeMessage(body);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      throw new HubError(400, 'malformed_message', err.message);
    }
    if (m.type === 'done')
      throw new HubError(
        400,
        'unexpected_message',
        'the hub takes hello, need and entries; done is never needed',
      );
    if (m.type !== 'entries') return this.pull(body);
    const out: Uint8Array[] = [];
    // A session only to verify and apply: answering entries sends nothing back.
    const session = new SyncSession(this.db.replica, (b) => out.push(b));
    const authors = this.checkEntries(m.entries);
    const before = new Map<string, number>();
    for (const [hex, a] of authors) before.set(hex, this.db.feeds.head(a.key)?.signedSeq ?? 0);
    let refusal: HubError | undefined;
    try {
      session.receive(body);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      refusal = new HubError(422, 'rejected_entries', err.message);
    }
    const applied = this.commit(authors, before);
    if (applied > 0) this.log.log('info', 'entries stored', { device, applied, cursor: this.index.end });
    if (refusal !== undefined) throw refusal;
    for (const [hex, a] of authors) {
      const head = this.db.feeds.head(a.key)?.signedSeq ?? 0;
      if (head < a.maxSeq && !this.db.feeds.isForked(a.key))
        throw new HubError(
          409,
          'sequence_gap',
          `feed ${hex} continues at seq ${head + 1}; say hello to resync`,
        );
    }
    return { frames: encodeFrames(out), applied };
  }

  /** Answers a `hello` or `need`: the first part now, the rest as the caller asks. */
  private pull(body: Uint8Array): SyncAnswer {
    const answer = new PullAnswer(this.db.replica, body, this.limits);
    const frames = answer.next()!;
    if (answer.finished) return { frames, applied: 0 };
    const more = () => {
      this.checkOpen();
      return answer.next();
    };
    return { frames, more, applied: 0 };
  }

  private checkEntries(entries: Uint8Array[]): Map<string, { key: Uint8Array; maxSeq: number }> {
    const { batchEntriesMax, entryBytesMax } = this.limits;
    if (entries.length > batchEntriesMax)
      throw new HubError(
        413,
        'batch_too_large',
        `${entries.length} entries exceed ${batchEntriesMax} per request`,
      );
    const authors = new Map<string, { key: Uint8Array; maxSeq: number }>();
    for (const [i, bytes] of entries.entries()) {
      if (bytes.length > entryBytesMax)
        throw new HubError(
          413,
          'entry_too_large',
          `entry ${i} of ${bytes.length} bytes exceeds ${entryBytesMax}`,
        );
      let author: Uint8Array;
      let seq: number;
      try {
        const e = decodeEntry(bytes);
        author = e.author;
        seq = e.seq;
      } catch (err) {
        throw new HubError(400, 'malformed_entry', `entry ${i}: ${(err as Error).message}`);
      }
      const hex = authorToHex(author);
      const status = this.access.feedStatus(hex);
      if (status === 'unknown')
        throw new HubError(403, 'unknown_feed', `feed ${hex} belongs to no device admitted to this hub`);
      if (status === 'revoked')
        throw new HubError(403, 'revoked_feed', `feed ${hex} belongs to a revoked device`);
      const a = authors.get(hex);
      if (a === undefined) authors.set(hex, { key: author, maxSeq: seq });
      else a.maxSeq = Math.max(a.maxSeq, seq);
    }
    return authors;
  }

  /** Makes newly stored entries durable, indexes them, wakes the streams; returns how many. */
  private commit(authors: Map<string, { key: Uint8Array }>, before: Map<string, number>): number {
    let applied = 0;
    const grown: [Uint8Array, number, number][] = [];
    for (const [hex, a] of authors) {
      const from = before.get(hex)!;
      const to = this.db.feeds.head(a.key)?.signedSeq ?? 0;
      if (to > from) grown.push([a.key, from + 1, to]);
    }
    if (grown.length === 0) return 0;
    this.replicaFs.flush();
    for (const [key, from, to] of grown) {
      this.index.appendRange(this.db.feeds, key, from, to);
      applied += to - from + 1;
    }
    this.streams.notify();
    return applied;
  }

  private checkOpen(): void {
    if (this.closed) throw new HubError(503, 'shutting_down', 'the hub is shutting down');
  }

  /** Ends the streams and closes the replica and the state files. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.streams.closeAll();
    try {
      this.db.close();
      this.replicaFs.flush();
    } finally {
      this.index.close();
      this.access.close();
    }
    this.log.log('info', 'hub closed', { entries: this.index.end });
  }
}
