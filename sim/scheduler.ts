/**
 * Virtual time for a simulated world. Nothing in a simulation sleeps: every timer, message
 * delivery and workload step is an event on one queue, run in (time, insertion order), so a
 * seed fixes the whole interleaving and an hour of traffic runs in milliseconds.
 *
 * Every executed event and every {@link Scheduler.note} is one line of the trace,
 * `${time}|${label}`. The trace is hashed incrementally (SHA-256) so two runs can be compared
 * from outside by one hex string, and its last lines are kept in a ring for failure reports.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { assert } from '../engine/assert.ts';
import { InvalidArgumentError, LimitExceededError } from '../engine/errors.ts';

/** Identifies a scheduled event, for {@link Scheduler.cancel}. Unique within a scheduler. */
export type EventId = number;

/** Default cap on executed events: a runaway simulation stops instead of hanging. */
export const DEFAULT_EVENTS_MAX = 5_000_000;
/** How many trace lines {@link Scheduler.traceTail} can return. */
export const TRACE_TAIL_LINES = 2_000;
/** Trace text buffered before it is fed to the hash (fewer, larger hash updates). */
const TRACE_FLUSH_CHARS = 64 * 1024;
/** Cancelled events left in the heap before it is compacted (and only if they are the majority). */
const COMPACT_MIN_CANCELLED = 1_024;

/** Thrown when a run would execute more than `eventsMax` events. Code `ARE_LIMIT_EXCEEDED`. */
export class EventLimitError extends LimitExceededError {
  constructor(eventsMax: number) {
    super({ limit: 'eventsMax', max: eventsMax, actual: eventsMax + 1, what: 'simulation events' });
  }
}

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  /** Most events one scheduler may execute; the next one throws {@link EventLimitError}. */
  eventsMax?: number;
}

interface Entry {
  readonly timeMs: number;
  readonly seq: number;
  readonly label: string;
  readonly fn: () => void;
  cancelled: boolean;
}

function before(a: Entry, b: Entry): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}

const utf8 = new TextEncoder();

/** A discrete-event scheduler on virtual milliseconds, with a hashed trace. */
export class Scheduler {
  private readonly eventsMax: number;
  private readonly heap: Entry[] = [];
  private readonly live = new Map<EventId, Entry>();
  private cancelledInHeap = 0;
  private nextSeq = 0;
  private now = 0;
  private executedCount = 0;
  private readonly hash = sha256.create();
  private hashBuffer = '';
  private readonly tail: string[] = [];
  private tailStart = 0;

  constructor(options: SchedulerOptions = {}) {
    const eventsMax = options.eventsMax ?? DEFAULT_EVENTS_MAX;
    if (!Number.isSafeInteger(eventsMax) || eventsMax < 0) {
      throw new InvalidArgumentError(`eventsMax must be a non-negative safe integer, got ${eventsMax}`);
    }
    this.eventsMax = eventsMax;
  }

  /** Virtual milliseconds since the world began (0 at construction). Never decreases. */
  get nowMs(): number {
    return this.now;
  }

  /** Events scheduled and neither run nor cancelled. */
  get pending(): number {
    return this.live.size;
  }

  /** Events run so far. */
  get executed(): number {
    return this.executedCount;
  }

  /**
   * Schedules `fn` at virtual time `timeMs` (>= now; need not be an integer). Events at the
   * same time run in the order they were scheduled. `label` names the event in the trace and
   * must be deterministic (built from names and counters, never from object identities).
   */
  at(timeMs: number, label: string, fn: () => void): EventId {
    if (!Number.isFinite(timeMs)) throw new InvalidArgumentError(`event time must be finite, got ${timeMs}`);
    assert(timeMs >= this.now, `event "${label}" scheduled at ${timeMs}, before now ${this.now}`);
    checkLine(label);
    const entry: Entry = { timeMs, seq: this.nextSeq++, label, fn, cancelled: false };
    this.live.set(entry.seq, entry);
    this.push(entry);
    return entry.seq;
  }

  /** Schedules `fn` `delayMs` (>= 0) after now. */
  after(delayMs: number, label: string, fn: () => void): EventId {
    if (!(delayMs >= 0)) throw new InvalidArgumentError(`delay must be >= 0, got ${delayMs}`);
    return this.at(this.now + delayMs, label, fn);
  }

  /** Cancels a pending event. Cancelling one that already ran or was cancelled does nothing. */
  cancel(id: EventId): void {
    const entry = this.live.get(id);
    if (entry === undefined) return;
    this.live.delete(id);
    entry.cancelled = true;
    this.cancelledInHeap++;
    if (this.cancelledInHeap >= COMPACT_MIN_CANCELLED && this.cancelledInHeap * 2 > this.heap.length) {
      this.compact();
    }
  }

  /**
   * Runs the earliest pending event (ties in insertion order) and returns true, or returns
   * false if none is pending. Throws {@link EventLimitError}, running nothing, if the event
   * would exceed `eventsMax`. An exception from the event propagates; the event counts as run.
   */
  step(): boolean {
    const entry = this.peek();
    if (entry === undefined) return false;
    if (this.executedCount >= this.eventsMax) throw new EventLimitError(this.eventsMax);
    this.pop();
    this.live.delete(entry.seq);
    this.now = entry.timeMs;
    this.executedCount++;
    this.record(`${entry.timeMs}|${entry.label}`);
    entry.fn();
    return true;
  }

  /** Runs every event with time <= `timeMs` (including ones they schedule), then sets now to `timeMs`. */
  runUntil(timeMs: number): void {
    if (!Number.isFinite(timeMs))
      throw new InvalidArgumentError(`runUntil time must be finite, got ${timeMs}`);
    assert(timeMs >= this.now, `runUntil(${timeMs}) is before now ${this.now}`);
    for (;;) {
      const next = this.peek();
      if (next === undefined || next.timeMs > timeMs) break;
      this.step();
    }
    this.now = timeMs;
  }

  /**
   * Runs events until none is pending (returns true; now stays at the last event's time, the
   * moment the world went quiet) or the next one lies after `untilMs` (returns false; now
   * becomes `untilMs`, as with {@link runUntil}).
   */
  runUntilIdle(untilMs: number): boolean {
    if (!Number.isFinite(untilMs))
      throw new InvalidArgumentError(`runUntilIdle time must be finite, got ${untilMs}`);
    assert(untilMs >= this.now, `runUntilIdle(${untilMs}) is before now ${this.now}`);
    for (;;) {
      const next = this.peek();
      if (next === undefined) return true;
      if (next.timeMs > untilMs) {
        this.now = untilMs;
        return false;
      }
      this.step();
    }
  }

  /** Appends `text` to the trace at the current time (workload operations, faults). One line. */
  note(text: string): void {
    checkLine(text);
    this.record(`${this.now}|note ${text}`);
  }

  /** Hex SHA-256 of the trace so far: each line followed by `\n`, in order. */
  traceHash(): string {
    this.flushHash();
    return bytesToHex(this.hash.clone().digest());
  }

  /** The last `n` trace lines, oldest first (at most {@link TRACE_TAIL_LINES}). */
  traceTail(n: number): string[] {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new InvalidArgumentError(`traceTail(n) needs n >= 0, got ${n}`);
    const ordered = this.tail.slice(this.tailStart).concat(this.tail.slice(0, this.tailStart));
    return n === 0 ? [] : ordered.slice(-n);
  }

  private record(line: string): void {
    this.hashBuffer += line + '\n';
    if (this.hashBuffer.length >= TRACE_FLUSH_CHARS) this.flushHash();
    if (this.tail.length < TRACE_TAIL_LINES) {
      this.tail.push(line);
    } else {
      this.tail[this.tailStart] = line;
      this.tailStart = (this.tailStart + 1) % TRACE_TAIL_LINES;
    }
  }

  private flushHash(): void {
    if (this.hashBuffer.length === 0) return;
    this.hash.update(utf8.encode(this.hashBuffer));
    this.hashBuffer = '';
  }

  /** The earliest live entry, discarding cancelled ones from the top of the heap. */
  private peek(): Entry | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || !top.cancelled) return top;
      this.pop();
      this.cancelledInHeap--;
    }
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(entry, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }

  /** Rebuilds the heap without cancelled entries, so cancelled timers do not pile up. */
  private compact(): void {
    const keep = this.heap.filter((e) => !e.cancelled);
    this.heap.length = 0;
    this.cancelledInHeap = 0;
    for (const e of keep) this.push(e);
  }
}

/** Trace lines are newline-separated, so a label or note containing a newline would be ambiguous. */
function checkLine(text: string): void {
  if (text.includes('\n'))
    throw new InvalidArgumentError(`trace text must be one line: ${JSON.stringify(text)}`);
}
