/**
 * A sync replica seen through a memo that lasts as long as the store is open. The unmodified
 * sync sessions ask the same questions many times: a hub greeting twelve neighbours computes
 * its state vector and the head hash of every feed twelve times, answering one `hello` asks
 * for head hashes and the state vector twice, and every neighbour that is behind on a feed
 * makes the hub read and hash the entry it advertises, message after message. Those reads
 * (LSM scans) were the largest cost of runs with many peers.
 *
 * What is remembered, and why it stays true:
 *
 * - The hash of an entry the store holds (`headHash` with an answer): an entry, once stored at
 *   a sequence number, never changes while the store is open (a fork keeps the first branch in
 *   the feed and the other as proof). A crash or a wiped disk closes the store, and the peer
 *   builds a new memo with the reopened one.
 * - A feed range (`readFeed`), by the author's signed head when asked: a range never goes past
 *   that head, and no record at or below it changes while the store is open (held entries
 *   are never replaced, and signatures are stored only with the entries they arrive with, or
 *   at the head a local signing reaches).
 * - The state vector, and which `(author, seq)` are not held: until the store changes. Only
 *   three things change it: `ingest` (through this object), and a local write or commit,
 *   after which the owner calls {@link ReplicaCache.changed}. `stateVector()` also signs
 *   pending local entries and syncs the WAL (`Database.signPending`), but that has work to do
 *   only after a local write, which forgets the vector: so an answer from memory is exactly
 *   what the replica would have answered, with the same (no) side effects.
 */

import type { StateVector } from '../engine/sync/messages.ts';
import type { IngestResult, SyncReplica } from '../engine/sync/session.ts';

/** Most remembered head hashes; past it the memo starts over (a bound, never reached in the suite). */
export const REMEMBERED_HEAD_HASHES_MAX = 200_000;

/**
 * Most bytes of feed ranges remembered (entries in wire form); past it the memo of ranges
 * starts over. A hub sends the same new entries to each of its neighbours.
 */
export const REMEMBERED_RANGE_BYTES_MAX = 4 * 1024 * 1024;

/** Counters of a {@link ReplicaCache}. */
export interface ReplicaCacheStats {
  /** Answers given from memory. */
  hits: number;
  /** Answers asked of the replica. */
  misses: number;
  /** Entries newly applied by `ingest` (a peer's measure of change, for its sync pacing). */
  applied: number;
}

/** A {@link SyncReplica} that remembers its answers while they cannot change. */
export class ReplicaCache implements SyncReplica {
  readonly stats: ReplicaCacheStats = { hits: 0, misses: 0, applied: 0 };
  private vector: StateVector | undefined;
  /** Hashes of held entries, by author and seq: true for the store's lifetime. */
  private readonly held = new Map<string, Map<number, Uint8Array>>();
  private heldCount = 0;
  /** `(author, seq)` the store did not hold when last asked, until it changes. */
  private readonly absent = new Map<string, Set<number>>();
  /** Feed ranges read, by author, first seq, the author's signed head and the bounds asked. */
  private readonly ranges = new Map<string, readonly Uint8Array[]>();
  private rangeBytes = 0;

  constructor(private readonly replica: SyncReplica) {}

  /** The store changed other than through `ingest` (a local write or commit): forget what may differ. */
  changed(): void {
    this.vector = undefined;
    this.absent.clear();
  }

  stateVector(): StateVector {
    if (this.vector === undefined) {
      this.stats.misses++;
      this.vector = this.replica.stateVector();
    } else this.stats.hits++;
    // A copy: a caller may keep or change the map it is given.
    return new Map(this.vector);
  }

  headHash(author: string, seq: number): Uint8Array | undefined {
    const hit = this.held.get(author)?.get(seq);
    if (hit !== undefined) {
      this.stats.hits++;
      return hit.slice();
    }
    if (this.absent.get(author)?.has(seq) === true) {
      this.stats.hits++;
      return undefined;
    }
    this.stats.misses++;
    const hash = this.replica.headHash(author, seq);
    if (hash === undefined) {
      const seqs = this.absent.get(author);
      if (seqs === undefined) this.absent.set(author, new Set([seq]));
      else seqs.add(seq);
      return undefined;
    }
    this.remember(author, seq, hash.slice());
    return hash;
  }

  readFeed(author: string, fromSeq: number, options: { limit: number; maxBytes: number }): Uint8Array[] {
    // The range read is a function of the records at or below the author's signed head, which
    // never change while the store is open: keyed by that head, an answer stays true. The head
    // is known only while the state vector is remembered (the session asks for it before it
    // reads, so it nearly always is); otherwise the call goes through.
    const signedSeq = this.vector?.get(author);
    if (signedSeq === undefined) return this.replica.readFeed(author, fromSeq, options);
    const key = `${author}:${fromSeq}:${signedSeq}:${options.limit}:${options.maxBytes}`;
    const hit = this.ranges.get(key);
    if (hit !== undefined) {
      this.stats.hits++;
      return [...hit];
    }
    this.stats.misses++;
    const range = this.replica.readFeed(author, fromSeq, options);
    let bytes = 0;
    for (const e of range) bytes += e.byteLength;
    if (this.rangeBytes + bytes > REMEMBERED_RANGE_BYTES_MAX) {
      this.ranges.clear();
      this.rangeBytes = 0;
    }
    this.ranges.set(key, range);
    this.rangeBytes += bytes;
    return [...range];
  }

  ingest(entries: Uint8Array[]): IngestResult {
    this.changed();
    try {
      const result = this.replica.ingest(entries);
      this.stats.applied += result.applied;
      return result;
    } finally {
      this.changed();
    }
  }

  private remember(author: string, seq: number, hash: Uint8Array): void {
    if (this.heldCount >= REMEMBERED_HEAD_HASHES_MAX) {
      this.held.clear();
      this.heldCount = 0;
    }
    const seqs = this.held.get(author);
    if (seqs === undefined) this.held.set(author, new Map([[seq, hash]]));
    else seqs.set(seq, hash);
    this.heldCount++;
  }
}
