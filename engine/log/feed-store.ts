/**
 * The feed store: every author's signed, hash-chained feed, kept in the LSM (layout in
 * feed-records.ts and docs/formats/entry.md).
 *
 * Local writes append to the device's own feed ({@link FeedStore.appendLocal}); a group
 * commit ends with one signature on its last entry ({@link FeedStore.sign}, or `sign: true` on
 * the last append). Remote entries arrive through {@link FeedStore.ingest}, which verifies
 * them against the stored head and writes each accepted author's entries and new head in the
 * same LSM write batch, so a crash never leaves half a batch.
 *
 * Signatures: the store keeps only signatures it has verified. Ingest checks one signature per
 * run of at most {@link SIGNED_RANGE_ENTRIES_MAX} entries and {@link SIGNED_RANGE_BYTES_MAX}
 * body bytes (where the author's own signatures allow; a delivered batch within those bounds
 * costs exactly one check), keeps those and drops the unchecked ones. So whatever the store
 * holds up to a stored head it can serve as verifiable ranges that end at a kept signature and
 * are no longer than those bounds or the author's own group commits.
 *
 * Forks: if an author signs two different entries with the same seq, the store keeps both
 * branches as proof under `x ‖ author`, quarantines the author (every later entry of theirs is
 * refused with `ForkError`) and reports it through {@link FeedStore.forks}. It never picks a
 * branch silently and never discards the stored one.
 *
 * The store assumes it is the only writer of its key prefixes (`f`, `s`, `h`, `x`) in the LSM;
 * it caches heads and fork records in memory and updates the caches only after a write
 * succeeds. Local appends rewrite the head record only now and then
 * ({@link HEAD_RECORD_INTERVAL_ENTRIES}); {@link FeedStore.head} finds the rest.
 */

import { assert } from '../assert.ts';
import { AregulaError, ClosedError, CorruptionError, InvalidArgumentError } from '../errors.ts';
import { bytesEqual } from '../lsm/coding.ts';
import type { Lsm } from '../lsm/lsm.ts';
import { WriteBatch } from '../lsm/write-batch.ts';
import {
  createEntry,
  createEntryInBody,
  decodeBody,
  Entry,
  encodeEntry,
  HLC_BYTES,
  signEntry,
  signingMessage,
  withSignature,
  ZERO_HASH,
} from './entry.ts';
import { authorHex, BrokenChainError, ForkError } from './errors.ts';
import {
  authorKey,
  decodeFork,
  decodeHead,
  encodeFork,
  encodeHead,
  FEED_PREFIX,
  FORK_PREFIX,
  type ForkRecord,
  HEAD_PREFIX,
  SEQ_KEY_BYTES,
  SIGNATURE_PREFIX,
  type StoredHead,
  seqKey,
  seqKeyInto,
  seqOfKey,
} from './feed-records.ts';
import { checkBytes, checkIdentity, type Identity, PUBLIC_KEY_BYTES } from './identity.ts';
import { signedRangeEnds } from './signed-ranges.ts';
import type { Signer } from './signer.ts';
import { type FeedHead, verifyBatch, verifySignedRanges } from './verify.ts';

export type { ForkRecord, StoredHead } from './feed-records.ts';

export { SIGNED_RANGE_BYTES_MAX, SIGNED_RANGE_ENTRIES_MAX, signedRangeEnds } from './signed-ranges.ts';

/**
 * Local appends rewrite an author's head record only with the feed's first entry, when they
 * sign, and at every seq that is a multiple of this; in between, the head lives in memory and
 * opening finds it by reading at most this many entries past the stored record (see
 * {@link FeedStore.head}). One fewer key per write, for a bounded scan at open.
 */
export const HEAD_RECORD_INTERVAL_ENTRIES = 256;

/**
 * What {@link FeedStore.appendLocal} appends: the entry's timestamp and its payload, either as
 * an array or already in place after the first `BODY_HEADER_BYTES` of `body` (entry.ts,
 * `createEntryInBody`), which the store then takes over.
 */
export type AppendInput =
  | { hlc: Uint8Array; payload: Uint8Array; body?: undefined }
  | { hlc: Uint8Array; body: Uint8Array; payload?: undefined };

/** Options of {@link FeedStore.appendLocal}. */
export interface AppendOptions {
  /** Sign this entry: it ends a group commit and vouches for every entry before it. */
  sign: boolean;
  /** Add the store's writes to this batch (with the caller's own) instead of a fresh one. */
  batch?: WriteBatch;
  /** Sync the LSM's log before returning. */
  sync?: boolean;
}

/** Options of {@link FeedStore.ingest}. */
export interface IngestOptions {
  /** Add the store's writes to this batch, which may already hold the caller's operations. */
  batch?: WriteBatch;
  /**
   * Called after verification and before the single write, with the entries that are new and
   * the batch about to be written, so the caller can add view updates that commit atomically
   * with the entries. Called even when nothing is new.
   */
  beforeWrite?: (added: readonly Entry[], batch: WriteBatch) => void;
  /** Sync the LSM's log before returning. */
  sync?: boolean;
}

/** One author's batch that ingest refused, with the typed reason. */
export interface Rejection {
  readonly author: Uint8Array;
  readonly error: AregulaError;
}

/** What {@link FeedStore.ingest} did. */
export interface IngestResult {
  /** Entries stored by this call (new to the store), by author, in seq order. */
  readonly added: Entry[];
  /** Authors whose entries were refused; nothing of theirs from this call was stored. */
  readonly rejected: Rejection[];
  /** Forks detected by this call (their authors are in `rejected` with a `ForkError`). */
  readonly forks: ForkRecord[];
}

/** What one author's part of an ingest writes. */
type Plan =
  | { kind: 'none' }
  | { kind: 'append'; entries: Entry[]; head: StoredHead }
  | { kind: 'fork'; fork: ForkRecord };

/** A map key for an author: its bytes as char codes (32 short concatenations, no spread of 32 arguments). */
function idOf(author: Uint8Array): string {
  let id = '';
  for (let i = 0; i < author.length; i++) id += String.fromCharCode(author[i]!);
  return id;
}

function checkSeqArg(seq: unknown, what: string): asserts seq is number {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
    throw new InvalidArgumentError(`${what} must be an integer >= 0, got ${seq}`);
}

/** Signed, hash-chained feeds of every known author, over an {@link Lsm}. */
export class FeedStore {
  /** Heads by author id; null caches "no feed". */
  private readonly heads = new Map<string, StoredHead | null>();
  /** Hex of the authors in {@link knownAuthors}, by id, made once each (sync asks on every message). */
  private readonly hexById = new Map<string, string>();
  /** Authors with a stored head, by id; undefined until first needed (see {@link knownAuthors}). */
  private authorIndex: Map<string, Uint8Array> | undefined;
  /** {@link authorIndex} in key order; undefined when it must be re-sorted. */
  private authorsSorted: [string, Uint8Array][] | undefined;
  /** Fork seq of each quarantined author. */
  private readonly forked = new Map<string, number>();
  /** The feed entry key of a local append, rewritten by each (see {@link appendLocal}). */
  private readonly appendKey = new Uint8Array(SEQ_KEY_BYTES);
  /** The author of the last local append and its id (see {@link localIdOf}). */
  private localAuthor: { bytes: Uint8Array; id: string } | undefined;

  /** Opens the feeds kept in `lsm`; `signer` signs, verifies and hashes. */
  constructor(
    private readonly lsm: Lsm,
    private readonly signer: Signer,
  ) {
    for (const [key, value] of lsm.scan({ prefix: Uint8Array.of(FORK_PREFIX) })) {
      const fork = decodeFork(key.subarray(1), value, `fork record ${authorHex(key.subarray(1))}`);
      this.forked.set(idOf(fork.author), fork.seq);
    }
  }

  /**
   * The head of `author`'s feed (its last stored entry), or undefined if none of its entries
   * is stored. The first call reads the head record and then the entries stored past it (local
   * appends that did not rewrite it, fewer than {@link HEAD_RECORD_INTERVAL_ENTRIES}), checking
   * that each continues the chain; later calls answer from memory.
   */
  head(author: Uint8Array): StoredHead | undefined {
    checkBytes(author, PUBLIC_KEY_BYTES, 'author');
    return this.headOf(author, idOf(author));
  }

  /** {@link head} of a checked `author` whose map key is `id`. */
  /**
   * {@link idOf} for the author of local appends, remembered for the next append: a device
   * appends as one author, and building the 32-character id (and hashing the fresh string in
   * the map) on every write cost more than the rest of the head lookup.
   */
  private localIdOf(author: Uint8Array): string {
    const last = this.localAuthor;
    if (last !== undefined && bytesEqual(last.bytes, author)) return last.id;
    const id = idOf(author);
    this.localAuthor = { bytes: author.slice(), id };
    return id;
  }

  private headOf(author: Uint8Array, id: string): StoredHead | undefined {
    const cached = this.heads.get(id);
    if (cached !== undefined) return cached ?? undefined;
    const bytes = this.lsm.get(authorKey(HEAD_PREFIX, author));
    const head =
      bytes === undefined ? null : this.followFeed(author, decodeHead(bytes, `head ${authorHex(author)}`));
    this.heads.set(id, head);
    return head ?? undefined;
  }

  /** The head after the entries stored past `recorded` (the head record), each checked to continue it. */
  private followFeed(author: Uint8Array, recorded: StoredHead): StoredHead {
    let head = recorded;
    const past = { gt: seqKey(FEED_PREFIX, author, recorded.seq), prefix: authorKey(FEED_PREFIX, author) };
    for (const [key, body] of this.lsm.scan(past)) {
      const entry = this.decodeStored(author, seqOfKey(key), body);
      if (entry.seq !== head.seq + 1 || !bytesEqual(entry.prev, head.hash)) {
        throw new CorruptionError({
          file: `feed store entry ${authorHex(author)}/${entry.seq}`,
          offset: 0,
          detail: `entry past the head record does not continue the feed at ${head.seq}`,
        });
      }
      head = { seq: entry.seq, hash: this.signer.sha256(entry.body), signedSeq: head.signedSeq };
    }
    return head;
  }

  /**
   * Appends a new entry to `identity`'s own feed and returns it (signed when `options.sign`).
   * Unsigned entries are stored at once but are not offered to peers (see
   * {@link stateVector}) until a later signature covers them.
   */
  appendLocal(identity: Identity, input: AppendInput, options: AppendOptions): Entry {
    checkIdentity(identity);
    checkBytes(input.hlc, HLC_BYTES, 'hlc');
    const author = identity.publicKey;
    const id = this.localIdOf(author);
    const head = this.headOf(author, id);
    const fields = { author, seq: (head?.seq ?? 0) + 1, prev: head?.hash ?? ZERO_HASH, hlc: input.hlc };
    let entry =
      input.body !== undefined
        ? createEntryInBody(fields, input.body)
        : createEntry({ ...fields, payload: input.payload });
    if (options.sign) entry = signEntry(entry, identity, this.signer);
    const next: StoredHead = {
      seq: entry.seq,
      hash: this.signer.sha256(entry.body),
      signedSeq: options.sign ? entry.seq : (head?.signedSeq ?? 0),
    };
    const batch = options.batch ?? new WriteBatch();
    // The batch copies the key, so one array serves every append.
    batch.put(seqKeyInto(this.appendKey, FEED_PREFIX, author, entry.seq), entry.body);
    if (entry.signature !== undefined)
      batch.put(seqKey(SIGNATURE_PREFIX, author, entry.seq), entry.signature);
    // A signature always moves the record with it, so no signature is ever past the record.
    if (head === undefined || options.sign || entry.seq % HEAD_RECORD_INTERVAL_ENTRIES === 0)
      batch.put(authorKey(HEAD_PREFIX, author), encodeHead(next));
    this.lsm.write(batch, { sync: options.sync === true });
    this.heads.set(id, next);
    this.noteAuthor(id, author);
    return entry;
  }

  /**
   * Ends a group commit: signs the last entry of `identity`'s feed if it is not signed yet and
   * stores the signature beside it. Returns the newly signed entry, or undefined when there
   * was nothing to sign.
   */
  sign(identity: Identity, options: { batch?: WriteBatch; sync?: boolean } = {}): Entry | undefined {
    checkIdentity(identity);
    const author = identity.publicKey;
    const head = this.head(author);
    if (head === undefined || head.signedSeq === head.seq) {
      // Nothing to sign, but a caller asking for a sync is about to share what is signed
      // (which may have been appended signed and unsynced): make it durable first, or a crash
      // could lose shared entries and the device would reuse their seqs (a fork).
      if (options.sync === true) this.lsm.sync();
      return undefined;
    }
    const signature = this.signer.sign(identity, signingMessage(head.hash));
    const batch = options.batch ?? new WriteBatch();
    batch.put(seqKey(SIGNATURE_PREFIX, author, head.seq), signature);
    const next: StoredHead = { seq: head.seq, hash: head.hash, signedSeq: head.seq };
    batch.put(authorKey(HEAD_PREFIX, author), encodeHead(next));
    this.lsm.write(batch, { sync: options.sync === true });
    this.heads.set(idOf(author), next);
    return withSignature(this.mustGetEntry(author, head.seq), signature);
  }

  /**
   * Verifies and stores remote entries of any authors, in one LSM write. Per author: entries
   * are ordered by seq; those already stored with an identical body are skipped, signature and
   * all (so ingest is idempotent; such a signature is neither checked nor kept); the rest must
   * continue the stored feed and end with a valid signature. Their signatures are checked only
   * at range ends chosen by {@link signedRangeEnds} (one check for a batch of up to
   * {@link SIGNED_RANGE_ENTRIES_MAX} entries), every checked one must be valid, and only those
   * are stored and returned in `added`; the others are dropped unchecked. An author whose
   * entries fail is listed in `rejected` with the typed error and nothing of theirs is
   * written; other authors are unaffected. A batch that starts past head + 1 is refused with
   * `SequenceGapError` (re-request from `expectedSeq`). An entry that differs from a stored one
   * with the same seq and is validly signed (through its chain) is a fork: both branches are
   * stored as proof and the author is quarantined.
   */
  ingest(entries: readonly Entry[], options: IngestOptions = {}): IngestResult {
    if (!Array.isArray(entries)) throw new InvalidArgumentError('ingest: entries must be an array');
    const groups = new Map<string, Entry[]>();
    let last: Entry[] | undefined;
    for (const e of entries) {
      if (!(e instanceof Entry)) throw new InvalidArgumentError('ingest: every element must be an Entry');
      // A sync message holds runs of one author: extend the run without building a map key.
      if (last !== undefined && bytesEqual(e.author, last[0]!.author)) {
        last.push(e);
        continue;
      }
      const id = idOf(e.author);
      last = groups.get(id);
      if (last === undefined) {
        last = [e];
        groups.set(id, last);
      } else last.push(e);
    }
    const result: IngestResult = { added: [], rejected: [], forks: [] };
    const batch = options.batch ?? new WriteBatch();
    const heads = new Map<string, StoredHead>();
    for (const [id, group] of groups) {
      const author = group[0]!.author;
      let plan: Plan;
      try {
        plan = this.plan(author, group);
      } catch (err) {
        if (!isRejection(err)) throw err;
        result.rejected.push({ author: author.slice(), error: err });
        continue;
      }
      if (plan.kind === 'append') {
        this.addAppend(batch, author, plan.entries, plan.head);
        result.added.push(...plan.entries);
        heads.set(id, plan.head);
      } else if (plan.kind === 'fork') {
        batch.put(authorKey(FORK_PREFIX, author), encodeFork(plan.fork));
        result.forks.push(plan.fork);
        result.rejected.push({
          author: author.slice(),
          error: new ForkError({ author, seq: plan.fork.seq }),
        });
      }
    }
    options.beforeWrite?.(result.added, batch);
    if (batch.count > 0) this.lsm.write(batch, { sync: options.sync === true });
    for (const [id, head] of heads) {
      this.heads.set(id, head);
      this.noteAuthor(id, groups.get(id)![0]!.author);
    }
    for (const fork of result.forks) this.forked.set(idOf(fork.author), fork.seq);
    return result;
  }

  private addAppend(
    batch: WriteBatch,
    author: Uint8Array,
    entries: readonly Entry[],
    head: StoredHead,
  ): void {
    // `plan` left a signature only on the entries whose signature it verified.
    for (const e of entries) {
      batch.put(seqKey(FEED_PREFIX, author, e.seq), e.body);
      if (e.signature !== undefined) batch.put(seqKey(SIGNATURE_PREFIX, author, e.seq), e.signature);
    }
    batch.put(authorKey(HEAD_PREFIX, author), encodeHead(head));
  }

  /** Decides what one author's entries do to the store; throws a typed error to refuse them. */
  private plan(author: Uint8Array, group: Entry[]): Plan {
    const forkSeq = this.forked.get(idOf(author));
    if (forkSeq !== undefined) throw new ForkError({ author, seq: forkSeq });
    const sorted = dedupe(author, group);
    const head = this.head(author);
    const known = head?.seq ?? 0;
    let firstNew = 0;
    while (firstNew < sorted.length && sorted[firstNew]!.seq <= known) {
      const e = sorted[firstNew]!;
      const stored = this.lsm.get(seqKey(FEED_PREFIX, author, e.seq));
      // A stored head implies every entry up to it is stored.
      if (stored === undefined) throw this.missing(author, e.seq);
      if (!bytesEqual(stored, e.body)) return this.planFork(author, sorted.slice(firstNew), head!);
      // A known entry is skipped as it is: its signature, if any, is neither checked nor kept.
      firstNew++;
    }
    if (firstNew === sorted.length) return { kind: 'none' };
    const fresh = sorted.slice(firstNew);
    const from: FeedHead | undefined = head === undefined ? undefined : { seq: head.seq, hash: head.hash };
    const ends = signedRangeEnds(fresh);
    const verified = verifySignedRanges(from, fresh, this.signer, ends);
    return {
      kind: 'append',
      entries: keepSignaturesAt(fresh, ends),
      head: { ...verified, signedSeq: verified.seq },
    };
  }

  /**
   * `theirs` starts with an entry that differs from the stored one at its seq. It proves a
   * fork only if it is validly signed through its chain: verify it from its own `prev` (or
   * from the empty feed at seq 1), so a tampered copy is refused rather than taken as proof.
   */
  private planFork(author: Uint8Array, theirs: Entry[], head: StoredHead): Plan {
    const first = theirs[0]!;
    const from: FeedHead | undefined = first.seq === 1 ? undefined : { seq: first.seq - 1, hash: first.prev };
    verifyBatch(from, theirs, this.signer);
    // Only their last signature was checked; the record keeps no other (ours come from the
    // store, so they were checked when stored).
    const theirsChecked = keepSignaturesAt(theirs, [theirs.length - 1]);
    const ours: Entry[] = [];
    for (let seq = first.seq; seq <= head.seq; seq++) {
      const entry = this.mustGetEntry(author, seq);
      ours.push(entry);
      if (entry.signature !== undefined) break;
    }
    return { kind: 'fork', fork: { author: author.slice(), seq: first.seq, ours, theirs: theirsChecked } };
  }

  /** Signed seqs by author (hex): what this store can offer peers, for sync's state vectors. */
  stateVector(): Map<string, number> {
    // Answered from the cached heads: sync asks on every message, and a scan of the head
    // records per call was a large share of a sync's cost.
    const out = new Map<string, number>();
    for (const [id, author] of this.knownAuthors()) {
      let hex = this.hexById.get(id);
      if (hex === undefined) {
        hex = authorHex(author);
        this.hexById.set(id, hex);
      }
      out.set(hex, this.headOf(author, id)!.signedSeq);
    }
    return out;
  }

  /**
   * Every author with a stored head, in key order (by id), loaded by one scan of the head
   * records on first use and kept current by every write that stores a new author's head.
   */
  private knownAuthors(): [string, Uint8Array][] {
    if (this.authorsSorted !== undefined) return this.authorsSorted;
    if (this.authorIndex === undefined) {
      this.authorIndex = new Map();
      for (const [key] of this.lsm.scan({ prefix: Uint8Array.of(HEAD_PREFIX) })) {
        const author = key.slice(1);
        this.authorIndex.set(idOf(author), author);
      }
    }
    this.authorsSorted = [...this.authorIndex].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return this.authorsSorted;
  }

  /** Records that `author` now has a stored head (after the write that stored it). */
  private noteAuthor(id: string, author: Uint8Array): void {
    if (this.authorIndex === undefined || this.authorIndex.has(id)) return;
    this.authorIndex.set(id, author.slice());
    this.authorsSorted = undefined;
  }

  /** Every author with a stored feed, in key order. */
  authors(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [key] of this.lsm.scan({ prefix: Uint8Array.of(HEAD_PREFIX) })) out.push(key.slice(1));
    return out;
  }

  /** Every fork detected so far (stored proofs). */
  forks(): ForkRecord[] {
    const out: ForkRecord[] = [];
    for (const [key, value] of this.lsm.scan({ prefix: Uint8Array.of(FORK_PREFIX) }))
      out.push(decodeFork(key.subarray(1), value, `fork record ${authorHex(key.subarray(1))}`));
    return out;
  }

  /** True when `author` is quarantined after a fork. */
  isForked(author: Uint8Array): boolean {
    checkBytes(author, PUBLIC_KEY_BYTES, 'author');
    return this.forked.has(idOf(author));
  }

  /**
   * The stored entries of `author` with seq in [fromSeq, toSeq], at most `limit` of them, in
   * seq order, with their signatures. A receiver can verify a range only if its last entry is
   * signed: pick `toSeq` with {@link signedSeqAtOrAfter}.
   */
  readEntries(author: Uint8Array, fromSeq: number, toSeq: number, limit = Number.POSITIVE_INFINITY): Entry[] {
    checkBytes(author, PUBLIC_KEY_BYTES, 'author');
    checkSeqArg(fromSeq, 'fromSeq');
    checkSeqArg(toSeq, 'toSeq');
    if (!(Number.isSafeInteger(limit) || limit === Number.POSITIVE_INFINITY) || limit < 0)
      throw new InvalidArgumentError(`limit must be an integer >= 0, got ${limit}`);
    if (toSeq < fromSeq || limit === 0) return [];
    const bounds = { gte: seqKey(FEED_PREFIX, author, fromSeq), lte: seqKey(FEED_PREFIX, author, toSeq) };
    const out: Entry[] = [];
    for (const [key, body] of this.lsm.scan(Number.isFinite(limit) ? { ...bounds, limit } : bounds)) {
      out.push(this.decodeStored(author, seqOfKey(key), body));
    }
    if (out.length === 0) return out;
    // Signatures are sparse (one per group commit): one scan over the same range finds them.
    const sigs = new Map<number, Uint8Array>();
    const sigBounds = {
      gte: seqKey(SIGNATURE_PREFIX, author, fromSeq),
      lte: seqKey(SIGNATURE_PREFIX, author, out[out.length - 1]!.seq),
    };
    for (const [key, sig] of this.lsm.scan(sigBounds)) sigs.set(seqOfKey(key), sig);
    return out.map((e) => {
      const sig = sigs.get(e.seq);
      return sig === undefined ? e : withSignature(e, sig);
    });
  }

  /** {@link readEntries} in wire form (body ‖ flags ‖ [signature]), ready to send. */
  read(author: Uint8Array, fromSeq: number, toSeq: number, limit?: number): Uint8Array[] {
    return this.readEntries(author, fromSeq, toSeq, limit).map(encodeEntry);
  }

  /** The smallest seq >= `seq` of a signed entry of `author`, or undefined. */
  signedSeqAtOrAfter(author: Uint8Array, seq: number): number | undefined {
    checkBytes(author, PUBLIC_KEY_BYTES, 'author');
    checkSeqArg(seq, 'seq');
    for (const [key] of this.lsm.scan({
      gte: seqKey(SIGNATURE_PREFIX, author, seq),
      prefix: authorKey(SIGNATURE_PREFIX, author),
      limit: 1,
    }))
      return seqOfKey(key);
    return undefined;
  }

  private decodeStored(author: Uint8Array, seq: number, body: Uint8Array): Entry {
    let entry: Entry;
    try {
      entry = decodeBody(body);
    } catch (err) {
      throw new CorruptionError({
        file: `feed store entry ${authorHex(author)}/${seq}`,
        offset: 0,
        detail: (err as Error).message,
      });
    }
    if (entry.seq !== seq || !bytesEqual(entry.author, author))
      throw new CorruptionError({
        file: `feed store entry ${authorHex(author)}/${seq}`,
        offset: 0,
        detail: 'key mismatch',
      });
    return entry;
  }

  private mustGetEntry(author: Uint8Array, seq: number): Entry {
    const body = this.lsm.get(seqKey(FEED_PREFIX, author, seq));
    if (body === undefined) throw this.missing(author, seq);
    const sig = this.lsm.get(seqKey(SIGNATURE_PREFIX, author, seq));
    const entry = this.decodeStored(author, seq, body);
    return sig === undefined ? entry : withSignature(entry, sig);
  }

  private missing(author: Uint8Array, seq: number): CorruptionError {
    return new CorruptionError({
      file: `feed store entry ${authorHex(author)}/${seq}`,
      offset: 0,
      detail: 'entry below the head is missing',
    });
  }
}

/**
 * True for the typed errors that refuse one author's entries. A `CorruptionError` means the
 * store itself is damaged and a `ClosedError` that it is closed: both must reach the caller
 * (they are not the sender's fault), as must assertion failures (bugs).
 */
function isRejection(err: unknown): err is AregulaError {
  return err instanceof AregulaError && !(err instanceof CorruptionError) && !(err instanceof ClosedError);
}

/** `entries` with the signatures at `ends` (indexes) kept and every other one removed. */
function keepSignaturesAt(entries: readonly Entry[], ends: readonly number[]): Entry[] {
  const keep = new Set(ends);
  return entries.map((e, i) => (keep.has(i) || e.signature === undefined ? e : withSignature(e, undefined)));
}

/**
 * Orders one author's entries by seq and drops exact duplicates (keeping a signed copy over an
 * unsigned one). Two different bodies for one seq in one batch cannot both continue one chain;
 * the batch is refused rather than guessed at.
 */
function dedupe(author: Uint8Array, group: Entry[]): Entry[] {
  const sorted = group.slice().sort((a, b) => a.seq - b.seq);
  const out: Entry[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last === undefined || last.seq !== e.seq) {
      out.push(e);
      continue;
    }
    if (!bytesEqual(last.body, e.body))
      throw new BrokenChainError({
        author,
        seq: e.seq,
        detail: 'two different entries with this seq in one batch',
      });
    if (last.signature === undefined && e.signature !== undefined) out[out.length - 1] = e;
  }
  assert(out.length > 0, 'a group has at least one entry');
  return out;
}
