/**
 * A Server-Sent Events parser (the WHATWG "event stream" interpretation), for reading the
 * hub's event stream over `fetch`: Node 20 has no `EventSource`, and `fetch` lets the client
 * send an `Authorization` header, which `EventSource` cannot.
 *
 * Bytes go in as they arrive (`push`), complete events come out. An event is dispatched only
 * at the blank line that ends it, so an event cut off by a dropped connection is discarded,
 * never half-applied. Lines are bounded: a line longer than `lineBytesMax` is a
 * `ProtocolError` (a misbehaving server cannot make the client buffer without limit).
 */

import { ProtocolError } from '../errors.ts';

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field, `message` when absent. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The last event id in force when the event was dispatched (the stream's `Last-Event-ID`). */
  id: string;
}

/** Default longest line accepted, in characters. */
export const SSE_LINE_MAX = 16 * 1024 * 1024;

/** Incremental event-stream parser. */
export class SseParser {
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private data: string[] = [];
  private dataLength = 0;
  private eventType = '';
  /** The stream's last event id (survives across events, as the spec says). */
  lastEventId = '';
  private started = false;

  constructor(private readonly lineMax = SSE_LINE_MAX) {}

  /** Feeds received bytes; returns the events they completed. */
  push(chunk: Uint8Array): SseEvent[] {
    let text = this.decoder.decode(chunk, { stream: true });
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const lf = this.buffer.indexOf('\n');
      const cr = this.buffer.indexOf('\r');
      let end = lf;
      if (cr >= 0 && (lf < 0 || cr < lf)) end = cr;
      if (end < 0) break;
      // A CR at the very end may be the first half of CRLF: wait for the next byte.
      if (end === cr && end === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, end);
      const skip = end === cr && this.buffer.charCodeAt(end + 1) === 10 ? 2 : 1;
      this.buffer = this.buffer.slice(end + skip);
      const event = this.line(line);
      if (event !== undefined) events.push(event);
    }
    if (this.buffer.length > this.lineMax)
      throw new ProtocolError(`event stream line longer than ${this.lineMax} characters`);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line.length === 0) return this.dispatch();
    if (line.charCodeAt(0) === 58) return undefined; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.dataLength += value.length + 1;
      if (this.dataLength > this.lineMax) throw new ProtocolError('event data too long');
      this.data.push(value);
    } else if (field === 'event') {
      this.eventType = value;
    } else if (field === 'id') {
      if (!value.includes('\u0000')) this.lastEventId = value;
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const type = this.eventType;
    const data = this.data;
    this.eventType = '';
    this.data = [];
    this.dataLength = 0;
    if (data.length === 0) return undefined;
    return { event: type === '' ? 'message' : type, data: data.join('\n'), id: this.lastEventId };
  }
}
