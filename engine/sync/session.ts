/**
 * One side of a sync conversation with one peer, independent of the transport (an in-memory
 * pipe, the simulator's network, HTTP + SSE, a WebRTC data channel): the transport hands
 * received bytes to {@link SyncSession.receive} and delivers what the session passes to
 * `send`, in order or not, once or more often, or not at all.
 *
 * The exchange (docs/protocol.md): each side says `hello` with its state vector; each answers
 * with the entries the other lacks, feed by feed in sequence order, in bounded `entries`
 * messages, then `done` with its own state vector. A receiver that finds a gap (entries that
 * do not connect to what it holds, because a message was lost or reordered) keeps them in a
 * bounded buffer, retries after every later delivery, and on `done` asks again with `need`.
 * Applying is idempotent, so duplicated deliveries are harmless. After the initial exchange,
 * {@link SyncSession.pushLocal} sends new local entries as they are written.
 */

import { assert } from '../assert.ts';
import { ProtocolError } from '../errors.ts';
import { bytesEqual } from '../lsm/coding.ts';
import {
  decodeMessage,
  encodeMessage,
  HEAD_HASH_BYTES,
  type HeadHashes,
  knowledgeType,
  retypeKnowledge,
  type StateVector,
  type SyncMessage,
} from './messages.ts';

/**
 * Most `need`s in a row that bring nothing new. Past it the session waits for the next
 * `hello` (the transport's reconnect or tick) instead of asking again.
 */
export const NEEDS_WITHOUT_PROGRESS_MAX = 3;

/** What a session needs from the local replica. */
export interface SyncReplica {
  /** For each author, the last signed sequence held (only signed entries are shared). */
  stateVector(): StateVector;
  /**
   * The first {@link HEAD_HASH_BYTES} bytes of the hash of `author`'s entry at `seq`, or
   * undefined when not held. Lets two replicas notice that they hold different entries at one
   * sequence (a fork) although their state vectors agree.
   */
  headHash(author: string, seq: number): Uint8Array | undefined;
  /**
   * Wire-encoded entries of `author` starting at `fromSeq`, contiguous, at most `limit` of
   * them and about `maxBytes` (at least one if any exist), never past the signed head.
   */
  readFeed(author: string, fromSeq: number, options: { limit: number; maxBytes: number }): Uint8Array[];
  /**
   * Verifies and applies remote entries. Entries that are already held are skipped; entries
   * that do not connect to the held feed are returned in `gapped` untouched; invalid ones are
   * rejected (listed in `rejected`) without applying anything of their author's batch.
   * `entries` may be views into a received message that the transport reuses afterwards: a
   * replica copies what it keeps (the session copies what it buffers from `gapped`).
   */
  ingest(entries: Uint8Array[]): IngestResult;
}

/** Outcome of {@link SyncReplica.ingest}. */
export interface IngestResult {
  /** Entries newly applied. */
  applied: number;
  /** Entries that do not yet connect (a gap before them), to retry later. */
  gapped: Uint8Array[];
  /** Authors whose entries were rejected, with the error code and message. */
  rejected: { author: string; code: string; message: string }[];
}

/** Bounds of a session. */
export interface SyncSessionOptions {
  /** Most entries per `entries` message. Default 256. */
  entriesPerMessageMax?: number;
  /** Approximate most bytes per `entries` message. Default 1 MiB. */
  messageBytesMax?: number;
  /** Most gapped entries kept for a retry; beyond it they are dropped and re-requested. Default 10,000. */
  bufferedEntriesMax?: number;
}

/** Counters of a session, for tests and status. */
export interface SyncSessionStats {
  messagesSent: number;
  messagesReceived: number;
  entriesSent: number;
  entriesApplied: number;
  entriesRejected: number;
  needsSent: number;
}

/** What a replica knows, as a `hello`, `need` or `done` says it (see {@link SyncSession}'s `knowledge`). */
interface Knowledge {
  stateVector: StateVector;
  heads: HeadHashes;
  /** Encoded as a `hello`. */
  encoded: Uint8Array;
}

/**
 * The last knowledge each replica gave, shared by all its sessions (a hub greets every
 * neighbour with the same state vector). The head hashes of a state vector are those of held,
 * signed entries, which never change while the replica is in use, so an equal state vector
 * means the same message.
 */
const lastKnowledge = new WeakMap<SyncReplica, Knowledge>();

function sameVector(a: StateVector, b: StateVector): boolean {
  if (a.size !== b.size) return false;
  for (const [author, seq] of a) if (b.get(author) !== seq) return false;
  return true;
}

/** One side of a sync conversation. */
export class SyncSession {
  private peerKnown: StateVector = new Map();
  private peerClaimed: StateVector | undefined;
  /** Authors whose entries were offered because the peer's head hash differed (once each). */
  private readonly forkOffered = new Set<string>();
  private buffered: Uint8Array[] = [];
  /**
   * The body of the last `hello`, `need` or `done` received and what it decoded to: a peer
   * often says the same thing again (nothing changed between its ticks), and equal bytes decode
   * to equal messages.
   */
  private lastHeard: { body: Uint8Array; stateVector: StateVector; heads: HeadHashes } | undefined;
  /**
   * Per author, a seq and head hash the peer advertised that matched ours: a held entry never
   * changes, so the same pair again needs no second look (see {@link noteForks}).
   */
  private readonly agreed = new Map<string, { seq: number; hash: Uint8Array }>();
  /** `need`s sent since the last progress; bounded so a peer that never delivers cannot make us chatter forever. */
  private needsWithoutProgress = 0;
  private readonly entriesMax: number;
  private readonly bytesMax: number;
  private readonly bufferMax: number;
  /** Counters. */
  readonly stats: SyncSessionStats = {
    messagesSent: 0,
    messagesReceived: 0,
    entriesSent: 0,
    entriesApplied: 0,
    entriesRejected: 0,
    needsSent: 0,
  };

  constructor(
    private readonly replica: SyncReplica,
    private readonly send: (message: Uint8Array) => void,
    options: SyncSessionOptions = {},
  ) {
    this.entriesMax = options.entriesPerMessageMax ?? 256;
    this.bytesMax = options.messageBytesMax ?? 1024 * 1024;
    this.bufferMax = options.bufferedEntriesMax ?? 10_000;
    assert(this.entriesMax >= 1, 'entriesPerMessageMax >= 1');
    assert(this.bytesMax >= 1, 'messageBytesMax >= 1');
  }

  /** Opens (or, after a reconnect or a timeout, re-opens) the exchange. */
  start(): void {
    this.needsWithoutProgress = 0;
    this.postKnowledge('hello');
  }

  private knowledge(): Knowledge {
    const stateVector = this.replica.stateVector();
    const last = lastKnowledge.get(this.replica);
    if (last !== undefined && sameVector(last.stateVector, stateVector)) return last;
    const heads: HeadHashes = new Map();
    for (const [author, seq] of stateVector) {
      const h = seq > 0 ? this.replica.headHash(author, seq) : undefined;
      if (h !== undefined) heads.set(author, h.slice(0, HEAD_HASH_BYTES));
    }
    const encoded = encodeMessage({ type: 'hello', stateVector, heads });
    const knowledge = { stateVector, heads, encoded };
    lastKnowledge.set(this.replica, knowledge);
    return knowledge;
  }

  /** Sends this replica's state vector and head hashes as a `hello`, `need` or `done`. */
  private postKnowledge(type: 'hello' | 'need' | 'done'): void {
    const { encoded } = this.knowledge();
    this.stats.messagesSent++;
    this.send(type === 'hello' ? encoded.slice() : retypeKnowledge(encoded, type));
  }

  /**
   * Handles one message from the peer. A malformed message throws {@link ProtocolError}; the
   * caller should drop the connection (nothing was applied from it).
   */
  receive(bytes: Uint8Array): void {
    const m = this.decode(bytes);
    this.stats.messagesReceived++;
    switch (m.type) {
      case 'hello':
      case 'need':
        this.peerKnown = new Map(m.stateVector);
        this.noteForks(m.stateVector, m.heads);
        this.sendMissing();
        this.postKnowledge('done');
        break;
      case 'entries':
        this.apply(m.entries);
        break;
      case 'done':
        this.peerClaimed = m.stateVector;
        // The peer's state vector also says what it lacks: send that too, so a conversation
        // opened by one side alone still flows both ways. A `done` answers our own `hello` or
        // `need`, so it reflects everything we sent before asking: what it does not list was
        // lost, and is sent again. Assuming earlier sends delivered would leave a lost entry
        // unsent for good when only this side ever opens conversations (a client polling a
        // hub): the peer asks with `need` only in answer to a `done`. An entry still in flight
        // (reordered behind the `done`) is sent twice, which ingest ignores.
        this.peerKnown = new Map(m.stateVector);
        this.noteForks(m.stateVector, m.heads);
        this.sendMissing();
        this.retryBuffered();
        if (
          !this.covers(this.replica.stateVector(), m.stateVector) &&
          this.needsWithoutProgress < NEEDS_WITHOUT_PROGRESS_MAX
        ) {
          this.needsWithoutProgress++;
          this.stats.needsSent++;
          this.postKnowledge('need');
        }
        break;
    }
  }

  private decode(bytes: Uint8Array): SyncMessage {
    const type = knowledgeType(bytes);
    const last = this.lastHeard;
    if (
      type !== undefined &&
      last !== undefined &&
      bytes.length === last.body.length + 2 &&
      bytesEqual(bytes.subarray(2), last.body)
    )
      return { type, stateVector: last.stateVector, heads: last.heads };
    const m = decodeMessage(bytes);
    if (m.type !== 'entries')
      this.lastHeard = { body: bytes.slice(2), stateVector: m.stateVector, heads: m.heads };
    return m;
  }

  /**
   * Where the peer holds, at the seq it advertised, a different entry than ours, rewinds what
   * we assume it knows to just before that seq, so that our entry there is sent and the peer's
   * feed store sees the two versions (and records the fork). Once per author per session.
   */
  private noteForks(sv: StateVector, heads: HeadHashes): void {
    for (const [author, seq] of sv) {
      const theirs = heads.get(author);
      if (seq < 1 || theirs === undefined || this.forkOffered.has(author)) continue;
      const agreed = this.agreed.get(author);
      if (agreed !== undefined && agreed.seq === seq && bytesEqual(agreed.hash, theirs)) continue;
      const mine = this.replica.headHash(author, seq);
      if (mine === undefined) continue;
      if (bytesEqual(mine.subarray(0, HEAD_HASH_BYTES), theirs)) {
        this.agreed.set(author, { seq, hash: theirs });
        continue;
      }
      this.forkOffered.add(author);
      this.peerKnown.set(author, seq - 1);
    }
  }

  /** Sends the peer every local entry it is not yet known to hold (call after local writes). */
  pushLocal(): void {
    this.sendMissing();
  }

  /** True when this side holds everything the peer last said it had. */
  get caughtUp(): boolean {
    return this.peerClaimed !== undefined && this.covers(this.replica.stateVector(), this.peerClaimed);
  }

  private covers(mine: StateVector, theirs: StateVector): boolean {
    for (const [author, seq] of theirs) if ((mine.get(author) ?? 0) < seq) return false;
    return true;
  }

  private post(m: SyncMessage): void {
    const bytes = encodeMessage(m);
    this.stats.messagesSent++;
    this.send(bytes);
  }

  /** Sends, author by author in a fixed order, what the peer lacks, then assumes it arrived. */
  private sendMissing(): void {
    const mine = this.replica.stateVector();
    const authors = [...mine.keys()].sort();
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    const flush = () => {
      if (batch.length === 0) return;
      this.stats.entriesSent += batch.length;
      this.post({ type: 'entries', entries: batch });
      batch = [];
      batchBytes = 0;
    };
    for (const author of authors) {
      const head = mine.get(author)!;
      let next = (this.peerKnown.get(author) ?? 0) + 1;
      while (next <= head) {
        const room = this.entriesMax - batch.length;
        const entries = this.replica.readFeed(author, next, {
          limit: room,
          maxBytes: this.bytesMax - batchBytes,
        });
        if (entries.length === 0) break;
        for (const e of entries) {
          batch.push(e);
          batchBytes += e.length;
        }
        next += entries.length;
        if (batch.length >= this.entriesMax || batchBytes >= this.bytesMax) flush();
      }
      this.peerKnown.set(author, next - 1);
    }
    flush();
  }

  private apply(entries: Uint8Array[]): void {
    const result = this.replica.ingest(entries);
    this.stats.entriesApplied += result.applied;
    this.stats.entriesRejected += result.rejected.length;
    if (result.rejected.length > 0) {
      const r = result.rejected[0]!;
      throw new ProtocolError(`peer sent entries that failed verification (${r.code}: ${r.message})`);
    }
    this.buffer(result.gapped);
    if (result.applied > 0) {
      this.needsWithoutProgress = 0;
      this.retryBuffered();
    }
  }

  private buffer(gapped: Uint8Array[]): void {
    for (const e of gapped) {
      if (this.buffered.length >= this.bufferMax) return;
      // A copy: a received entry is a view into its whole message, which it must not pin.
      this.buffered.push(e.slice());
    }
  }

  /** Re-offers buffered entries until an attempt applies nothing more. */
  private retryBuffered(): void {
    for (let round = 0; this.buffered.length > 0; round++) {
      assert(round <= this.bufferMax, 'retryBuffered makes progress every round');
      const pending = this.buffered;
      this.buffered = [];
      const result = this.replica.ingest(pending);
      this.stats.entriesApplied += result.applied;
      this.buffer(result.gapped);
      if (result.applied === 0) return;
    }
  }
}
