/**
 * The database as the sync protocol sees it (engine/sync's `SyncReplica`): signed state
 * vectors, feed ranges that end at a signature (a receiver can verify nothing past its last
 * signature), and ingest that verifies remote entries and updates the views in the same
 * atomic write as the entries.
 */

import type { HlcClock } from '../crdt/hlc.ts';
import { decodeHlc } from '../crdt/hlc.ts';
import { AregulaError } from '../errors.ts';
import { hexToBytes } from '../hex.ts';
import { decodeEntry, type Entry } from '../log/entry.ts';
import type { FeedStore } from '../log/feed-store.ts';
import { readWireRange } from '../log/feed-wire.ts';
import { bytesEqual } from '../lsm/coding.ts';
import type { Lsm } from '../lsm/lsm.ts';
import { authorToHex, type StateVector } from '../sync/messages.ts';
import type { IngestResult, SyncReplica } from '../sync/session.ts';
import type { Database } from './database.ts';
import type { DocChange } from './derived.ts';
import { SpareBatch } from './spare-batch.ts';
import { ViewWriter } from './views.ts';

/** Counters of remote data received. */
export interface ReplicaStats {
  entriesIngested: number;
  invalidPayloads: number;
  forks: number;
}

/**
 * Largest encoded batch a replica keeps for its next ingest. A received message's batch (its
 * entries and view rows, a few hundred KiB) grew from 512 bytes by doubling every time, a
 * dozen allocations and copies; a bigger one is dropped rather than held.
 */
export const INGEST_SPARE_BATCH_BYTES_MAX = 1024 * 1024;

/** A {@link Database} seen as a sync replica. */
export class DatabaseReplica implements SyncReplica {
  /** Counters. */
  readonly stats: ReplicaStats = { entriesIngested: 0, invalidPayloads: 0, forks: 0 };
  /** The batch of the last ingest, free for the next one. */
  private readonly spareBatch = new SpareBatch(INGEST_SPARE_BATCH_BYTES_MAX);

  constructor(
    private readonly db: Database,
    private readonly lsm: Lsm,
    private readonly feeds: FeedStore,
    private readonly hlc: HlcClock,
  ) {}

  stateVector(): StateVector {
    this.db.signPending();
    return this.feeds.stateVector();
  }

  headHash(author: string, seq: number): Uint8Array | undefined {
    const key = hexToBytes(author);
    // Sync asks for the hash at the advertised (signed) seq, which is almost always the head:
    // the head's hash is cached, so only an unsigned tail costs a read and a hash.
    const head = this.feeds.head(key);
    if (head !== undefined && head.seq === seq) return head.hash.subarray(0, 8);
    const entries = this.feeds.readEntries(key, seq, seq);
    if (entries.length === 0) return undefined;
    return this.db.signer.sha256(entries[0]!.body).subarray(0, 8);
  }

  readFeed(author: string, fromSeq: number, options: { limit: number; maxBytes: number }): Uint8Array[] {
    const key = hexToBytes(author);
    const head = this.feeds.head(key);
    if (head === undefined || fromSeq > head.signedSeq) return [];
    // Straight from the stored records to wire bytes: a range that ends at a stored (verified)
    // signature, within the limit where the author's group commits allow.
    return readWireRange(this.lsm, key, fromSeq, { ...options, signedSeqMax: head.signedSeq });
  }

  ingest(wire: Uint8Array[]): IngestResult {
    const result: IngestResult = { applied: 0, gapped: [], rejected: [] };
    // Decoded entries and, at the same index, the wire bytes each came from (for the gap buffer).
    const entries: Entry[] = [];
    const wires: Uint8Array[] = [];
    for (const bytes of wire) {
      try {
        entries.push(decodeEntry(bytes));
        wires.push(bytes);
      } catch (err) {
        if (!(err instanceof AregulaError)) throw err;
        result.rejected.push({ author: 'unknown', code: err.code, message: err.message });
      }
    }
    if (entries.length === 0) return result;
    let invalid = 0;
    let changes: readonly DocChange[] = [];
    const batch = this.spareBatch.take();
    const outcome = this.feeds.ingest(entries, {
      batch,
      beforeWrite: (added, batch) => {
        const views = new ViewWriter((k) => this.lsm.get(k));
        for (const e of added) views.applyEntry(e);
        views.writeTo(batch);
        changes = this.db.stageDerived(views, batch);
        this.db.forgetDocuments(views.touched());
        invalid = views.invalidPayloads;
      },
    });
    this.spareBatch.giveBack(batch);
    for (const e of outcome.added) this.hlc.observe(decodeHlc(e.hlc));
    result.applied = outcome.added.length;
    this.stats.entriesIngested += outcome.added.length;
    this.stats.invalidPayloads += invalid;
    this.stats.forks += outcome.forks.length;
    for (const r of outcome.rejected) {
      const author = authorToHex(r.author);
      if (r.error.code === 'ARE_SEQUENCE_GAP') {
        for (let i = 0; i < entries.length; i++)
          if (bytesEqual(entries[i]!.author, r.author)) result.gapped.push(wires[i]!);
      } else if (r.error.code !== 'ARE_FORK') {
        result.rejected.push({ author, code: r.error.code, message: r.error.message });
      }
    }
    this.db.afterCommit(changes, 'remote');
    return result;
  }
}
