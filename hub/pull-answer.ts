/**
 * The hub's answer to a `hello` or `need` (docs/protocol.md, "The hub's HTTP API"), produced in
 * bounded steps so that the HTTP layer can stream it: the device verifies and applies the
 * first `entries` messages while the hub reads the next ones, instead of waiting for the whole
 * answer (a few MiB, tens of milliseconds of reading) before it starts. The answer is the same
 * as one built at once: what the device lacks, author by author in sequence order, at most
 * `pullBytesMax` of entries, then `done`.
 *
 * One {@link SyncSession} serves the whole answer over a {@link SteppedReplica}, which offers
 * entries only up to an allowance raised step by step. The session's `receive` of the request
 * sends the first step and `done`; `done` is held back, and each later step is the session's
 * `pushLocal` (which continues from what it already sent); `done` goes last, once a step finds
 * nothing more to send or the budget is spent.
 */

import { assert } from '../engine/assert.ts';
import { encodeFrames, FRAMES_MAX } from '../engine/sync/frames.ts';
import { type IngestResult, type SyncReplica, SyncSession } from '../engine/sync/session.ts';
import type { HubLimits } from './limits.ts';

/** Type byte of a `done` message. */
const DONE_TYPE = 4;
/** Most entries per `entries` message the hub sends. */
export const PULL_ENTRIES_PER_MESSAGE = 1024;
/** Approximate most bytes per `entries` message the hub sends. */
export const PULL_MESSAGE_BYTES = 1024 * 1024;
/**
 * Frames after which no further step starts. A step sends a handful of messages, so the answer
 * (and its `done`) stays well within the {@link FRAMES_MAX} a client accepts in one body.
 */
const STEP_FRAMES_CEILING = FRAMES_MAX / 2;

/** A replica that offers entries up to an allowance, raised by {@link allow}, within a total budget. */
export class SteppedReplica implements SyncReplica {
  private spent = 0;
  private allowed = 0;
  constructor(
    private readonly inner: SyncReplica,
    private readonly budget: number,
  ) {}
  /** Lets the next reads take about `bytes` more (never past the budget). */
  allow(bytes: number): void {
    this.allowed = Math.min(this.budget, this.spent + bytes);
  }
  /** True once the whole budget is spent. */
  get exhausted(): boolean {
    return this.spent >= this.budget;
  }
  /**
   * True when reads stopped at the allowance: there may be more to send. False when the last
   * step sent everything missing within it (every feed was read to its end).
   */
  get stoppedAtAllowance(): boolean {
    return this.spent >= this.allowed;
  }
  stateVector() {
    return this.inner.stateVector();
  }
  headHash(author: string, seq: number) {
    return this.inner.headHash(author, seq);
  }
  readFeed(author: string, fromSeq: number, options: { limit: number; maxBytes: number }): Uint8Array[] {
    if (this.spent >= this.allowed) return [];
    // The replica stops at the first signed entry past `maxBytes`, so one read overshoots the
    // allowance by at most one group commit.
    const out = this.inner.readFeed(author, fromSeq, {
      limit: options.limit,
      maxBytes: Math.min(options.maxBytes, this.allowed - this.spent),
    });
    for (const e of out) this.spent += e.length;
    return out;
  }
  ingest(entries: Uint8Array[]): IngestResult {
    return this.inner.ingest(entries);
  }
}

/** One answer to a `hello` or `need`, a step at a time (see the module comment). */
export class PullAnswer {
  private readonly replica: SteppedReplica;
  private readonly session: SyncSession;
  private out: Uint8Array[] = [];
  private readonly done: Uint8Array;
  private frames = 0;
  private finished_ = false;

  /** Answers `request` (a well-formed `hello` or `need`) with its first step. */
  constructor(
    inner: SyncReplica,
    request: Uint8Array,
    private readonly limits: Pick<HubLimits, 'pullBytesMax' | 'pullFirstStepBytes' | 'pullStepBytes'>,
  ) {
    assert(limits.pullFirstStepBytes >= 1 && limits.pullStepBytes >= 1, 'pull steps read at least a byte');
    this.replica = new SteppedReplica(inner, limits.pullBytesMax);
    this.session = new SyncSession(this.replica, (m) => this.out.push(m), {
      entriesPerMessageMax: PULL_ENTRIES_PER_MESSAGE,
      messageBytesMax: PULL_MESSAGE_BYTES,
    });
    this.replica.allow(limits.pullFirstStepBytes);
    this.session.receive(request);
    const done = this.out.pop();
    assert(done !== undefined && done[1] === DONE_TYPE, 'a hello or need is answered with done last');
    this.done = done;
  }

  /** True once `done` has been returned: the answer is complete. */
  get finished(): boolean {
    return this.finished_;
  }

  /**
   * The next part of the answer as framed messages (the first call returns what the request's
   * own step produced), or undefined once the answer is complete. The last part ends with
   * `done`.
   */
  next(): Uint8Array | undefined {
    if (this.finished_) return undefined;
    if (this.out.length === 0 && this.mayContinue()) {
      this.replica.allow(this.limits.pullStepBytes);
      this.session.pushLocal();
    }
    const messages = this.out;
    this.out = [];
    // `done` goes with the last entries when no further step would send anything.
    if (messages.length === 0 || !this.mayContinue()) {
      this.finished_ = true;
      messages.push(this.done);
    }
    this.frames += messages.length;
    return encodeFrames(messages);
  }

  /** True when another step could send more: the last one stopped at its allowance, within budget and frames. */
  private mayContinue(): boolean {
    return this.replica.stoppedAtAllowance && !this.replica.exhausted && this.frames < STEP_FRAMES_CEILING;
  }
}
