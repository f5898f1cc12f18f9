/**
 * The hub's Server-Sent Events streams: every entry the hub stores, in cursor order
 * (cursor-index.ts), as `entries` events whose id is `EPOCH-CURSOR` (the cursor after the
 * event's last entry). A client that reconnects with `Last-Event-ID` resumes exactly after the
 * last event it received: no gap, no duplicate. Each event's entries end, per author, at a
 * signed entry, so the receiver can verify every event on its own.
 *
 * Streams are pulled, not pushed: an event is built only when the client's connection wants
 * more, so a slow reader costs the hub one cursor and no buffer. A stream with nothing to send
 * waits for new entries or, at the ping interval, sends a keep-alive comment.
 */

import type { FeedStore } from '../engine/log/feed-store.ts';
import { toBase64 } from '../engine/sync/base64.ts';
import { encodeMessage, MAX_ENTRIES_PER_MESSAGE } from '../engine/sync/messages.ts';
import type { CursorIndex, IndexRecord } from './cursor-index.ts';
import { HubError } from './hub-error.ts';
import type { HubLimits } from './limits.ts';
import type { HubLog } from './log.ts';

const encoder = new TextEncoder();

/** One event's worth of entries and the cursor after them. */
export interface BuiltEvent {
  entries: Uint8Array[];
  next: number;
}

/**
 * The event starting at cursor `from`: up to `entriesMax` entries and about `bytesMax`
 * bytes, cut only after a signed entry (extended past `entriesMax` to reach one, up to the
 * protocol's message size). Undefined when nothing is past `from`.
 */
export function buildEvent(
  index: CursorIndex,
  feeds: FeedStore,
  from: number,
  bounds: { entriesMax: number; bytesMax: number },
): BuiltEvent | undefined {
  const records: IndexRecord[] = index.read(from, bounds.entriesMax);
  if (records.length === 0) return undefined;
  while (!records[records.length - 1]!.signed && records.length < MAX_ENTRIES_PER_MESSAGE) {
    const more = index.read(from + records.length, Math.min(64, MAX_ENTRIES_PER_MESSAGE - records.length));
    if (more.length === 0) break;
    records.push(...more);
  }
  const entries: Uint8Array[] = [];
  let bytes = 0;
  let cut = 0;
  for (let i = 0; i < records.length; ) {
    const r = records[i]!;
    let j = i + 1;
    while (
      j < records.length &&
      records[j]!.seq === records[j - 1]!.seq + 1 &&
      sameKey(records[j]!.author, r.author)
    )
      j++;
    const wire = feeds.read(r.author, r.seq, records[j - 1]!.seq);
    for (let k = 0; k < wire.length; k++) {
      entries.push(wire[k]!);
      bytes += wire[k]!.length;
      if (records[i + k]!.signed && (cut === 0 || bytes <= bounds.bytesMax)) {
        cut = i + k + 1;
      }
    }
    if (cut > 0 && bytes > bounds.bytesMax) break;
    i = j;
  }
  // No signed entry at all (cannot happen for ingested feeds): send what there is.
  if (cut === 0) cut = entries.length;
  return { entries: entries.slice(0, cut), next: from + cut };
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface OpenStream {
  device: string;
  pos: number;
  closed: boolean;
  controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  wake: (() => void) | undefined;
}

/** Dependencies of {@link EventStreams}. */
export interface EventStreamsOptions {
  index: CursorIndex;
  feeds: FeedStore;
  epoch: string;
  limits: HubLimits;
  log: HubLog;
}

/** Parses `EPOCH-CURSOR`; undefined when malformed. */
export function parseEventId(id: string): { epoch: string; cursor: number } | undefined {
  const m = /^([0-9a-f]{32})-(0|[1-9][0-9]{0,14})$/.exec(id);
  if (m === null) return undefined;
  return { epoch: m[1]!, cursor: Number(m[2]) };
}

/** Every open event stream. */
export class EventStreams {
  private readonly open_ = new Set<OpenStream>();

  constructor(private readonly o: EventStreamsOptions) {}

  /** Open streams, in all. */
  get count(): number {
    return this.open_.size;
  }

  /** Open streams of `device`. */
  countOf(device: string): number {
    let n = 0;
    for (const s of this.open_) if (s.device === device) n++;
    return n;
  }

  /**
   * A new stream for `device`, resuming after `lastEventId` when given. A `Last-Event-ID`
   * from another epoch (the hub's data was replaced) or past the end gets a `reset` event and
   * starts at the end: the client must then pull to catch up.
   */
  open(device: string, lastEventId: string | undefined): ReadableStream<Uint8Array> {
    const { limits, index, epoch } = this.o;
    if (this.countOf(device) >= limits.streamsPerDeviceMax)
      throw new HubError(
        429,
        'too_many_streams',
        `at most ${limits.streamsPerDeviceMax} event streams per device`,
        {
          'retry-after': '5',
        },
      );
    if (this.count >= limits.streamsMax)
      throw new HubError(503, 'too_many_streams', 'the hub serves too many event streams', {
        'retry-after': '30',
      });
    let pos = index.end;
    let first: string;
    if (lastEventId === undefined || lastEventId === '') {
      first = event('hello', `${epoch}-${pos}`, JSON.stringify({ epoch, cursor: pos }));
    } else {
      const parsed = parseEventId(lastEventId);
      if (parsed === undefined)
        throw new HubError(
          400,
          'bad_last_event_id',
          'Last-Event-ID must be EPOCH-CURSOR as sent by this hub',
        );
      if (parsed.epoch !== epoch || parsed.cursor > pos) {
        const reason =
          parsed.epoch !== epoch ? 'the hub’s data was replaced' : 'cursor is past the hub’s end';
        first = event('reset', `${epoch}-${pos}`, JSON.stringify({ epoch, cursor: pos, reason }));
      } else {
        pos = parsed.cursor;
        first = event('hello', `${epoch}-${pos}`, JSON.stringify({ epoch, cursor: pos }));
      }
    }
    const s: OpenStream = { device, pos, closed: false, controller: undefined, wake: undefined };
    this.open_.add(s);
    let sentFirst = false;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          s.controller = controller;
        },
        pull: async (controller) => {
          if (!sentFirst) {
            sentFirst = true;
            controller.enqueue(encoder.encode(first));
            return;
          }
          await this.pump(s, controller);
        },
        cancel: () => this.drop(s),
      },
      { highWaterMark: 1 },
    );
  }

  private async pump(s: OpenStream, controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    if (s.closed) return;
    const built = buildEvent(this.o.index, this.o.feeds, s.pos, {
      entriesMax: this.o.limits.eventEntriesMax,
      bytesMax: this.o.limits.eventBytesMax,
    });
    if (built !== undefined) {
      s.pos = built.next;
      const data = toBase64(encodeMessage({ type: 'entries', entries: built.entries }));
      controller.enqueue(encoder.encode(event('entries', `${this.o.epoch}-${s.pos}`, data)));
      return;
    }
    const woke = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        s.wake = undefined;
        resolve(false);
      }, this.o.limits.pingIntervalMs);
      s.wake = () => {
        clearTimeout(timer);
        s.wake = undefined;
        resolve(true);
      };
    });
    if (s.closed) return;
    if (!woke) controller.enqueue(encoder.encode(': ping\n\n'));
    else await this.pump(s, controller);
  }

  private drop(s: OpenStream): void {
    s.closed = true;
    this.open_.delete(s);
    s.wake?.();
  }

  /** New entries were indexed: wakes every waiting stream. */
  notify(): void {
    for (const s of this.open_) s.wake?.();
  }

  /** Ends `device`'s streams with a final `revoked` event. */
  closeDevice(device: string, finalEvent = 'revoked'): number {
    let n = 0;
    for (const s of [...this.open_]) {
      if (s.device !== device) continue;
      this.end(s, finalEvent);
      n++;
    }
    return n;
  }

  /** Ends every stream (shutdown) with a final event. */
  closeAll(finalEvent = 'shutdown'): void {
    for (const s of [...this.open_]) this.end(s, finalEvent);
  }

  private end(s: OpenStream, finalEvent: string): void {
    this.drop(s);
    try {
      s.controller?.enqueue(encoder.encode(event(finalEvent, undefined, '{}')));
      s.controller?.close();
    } catch {
      // The client already went away: its stream is closed or errored, nothing to end.
    }
  }
}

function event(type: string, id: string | undefined, data: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${type}\ndata: ${data}\n\n`;
}
