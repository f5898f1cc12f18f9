/**
 * A sync replica seen through a short-lived memo. Within one synchronous step of a simulated
 * device (one sync tick that greets every neighbour, one message delivered to a session),
 * nothing but the step itself changes the device's store, yet the unmodified sync sessions ask
 * the same questions many times: a hub greeting twelve neighbours computes its state vector and
 * the head hash of every feed twelve times, and answering one `hello` asks for head hashes and
 * the state vector twice. Those reads (LSM scans) were the largest cost of runs with many
 * peers.
 *
 * Inside {@link ReplicaCache.during}, `stateVector()` and `headHash()` answers are remembered;
 * `ingest()` (the only call that changes the store) forgets them; outside `during`, every call
 * goes straight through. The answers are exactly the replica's: the first `stateVector()` of a
 * step still signs pending local entries, and later ones would find nothing left to sign.
 */

import type { StateVector } from '../engine/sync/messages.ts';
import type { IngestResult, SyncReplica } from '../engine/sync/session.ts';

/** Counters of a {@link ReplicaCache}. */
export interface ReplicaCacheStats {
  /** Answers given from memory. */
  hits: number;
  /** Answers asked of the replica. */
  misses: number;
  /** Entries newly applied by `ingest` (a peer's measure of change, for its sync pacing). */
  applied: number;
}

/** A {@link SyncReplica} that remembers reads during one synchronous step. */
export class ReplicaCache implements SyncReplica {
  readonly stats: ReplicaCacheStats = { hits: 0, misses: 0, applied: 0 };
  private active = 0;
  private vector: StateVector | undefined;
  private readonly heads = new Map<string, Uint8Array | undefined>();

  constructor(private readonly replica: SyncReplica) {}

  /** Runs `fn` (one step that changes the store only through `ingest`) with reads remembered. */
  during<T>(fn: () => T): T {
    this.active++;
    try {
      return fn();
    } finally {
      if (--this.active === 0) this.forget();
    }
  }

  stateVector(): StateVector {
    if (this.active === 0) return this.replica.stateVector();
    if (this.vector === undefined) {
      this.stats.misses++;
      this.vector = this.replica.stateVector();
    } else this.stats.hits++;
    // A copy: a caller may keep or change the map it is given.
    return new Map(this.vector);
  }

  headHash(author: string, seq: number): Uint8Array | undefined {
    if (this.active === 0) return this.replica.headHash(author, seq);
    const key = `${author}:${seq}`;
    if (this.heads.has(key)) {
      this.stats.hits++;
      return this.heads.get(key)?.slice();
    }
    this.stats.misses++;
    const hash = this.replica.headHash(author, seq);
    this.heads.set(key, hash?.slice());
    return hash;
  }

  readFeed(author: string, fromSeq: number, options: { limit: number; maxBytes: number }): Uint8Array[] {
    return this.replica.readFeed(author, fromSeq, options);
  }

  ingest(entries: Uint8Array[]): IngestResult {
    this.forget();
    try {
      const result = this.replica.ingest(entries);
      this.stats.applied += result.applied;
      return result;
    } finally {
      this.forget();
    }
  }

  private forget(): void {
    this.vector = undefined;
    this.heads.clear();
  }
}
