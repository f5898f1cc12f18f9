/**
 * The HTTP side of `HubClient` (hub-client.ts): its error type, bounded body readers, and
 * the streamed reading of a pull answer, whose messages are handed on as they arrive
 * (frame-decoder.ts) so that the device applies them while the hub still sends.
 */

import { FrameDecoder } from './frame-decoder.ts';

/** A refused or failed request. */
export class HubRequestError extends Error {
  constructor(
    /** HTTP status; 0 for a network failure or a timeout. */
    readonly status: number,
    /** The hub's error code (`bad_token`, ...), `network`, `timeout` or `protocol`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HubRequestError';
  }
}

/** `err` as a {@link HubRequestError} (a network one unless it is one already). */
export function asRequestError(err: unknown): HubRequestError {
  if (err instanceof HubRequestError) return err;
  return new HubRequestError(0, 'network', (err as Error)?.message ?? String(err));
}

/** A request's timeout, as the body readers drive it. */
export interface RequestTimer {
  /** Part of the body arrived: the hub is still answering, so the wait starts again. */
  progress(): void;
  /** The body was read (or given up): the timeout is no longer needed. */
  done(): void;
}

const timers = new WeakMap<Response, RequestTimer>();

/**
 * Ties `timer` (the request's timeout) to `res`: a streamed answer restarts it at each part
 * that arrives ({@link readFrames}), and it is cleared once the body has been read.
 */
export function withTimer(res: Response, timer: RequestTimer): Response {
  timers.set(res, timer);
  return res;
}

/**
 * Reads a framed answer (at most `max` bytes) a chunk at a time and hands each message to
 * `onFrame` as soon as it is complete; `onFrame` returns false to stop reading. Each chunk
 * restarts the request's timeout (see {@link withTimer}): a long answer that keeps arriving
 * never times out, however long the device takes to apply it; one that stalls does. A
 * malformed or truncated body is a `protocol` error, a body that breaks off a `network` one.
 */
export async function readFrames(
  res: Response,
  max: number,
  onFrame: (frame: Uint8Array) => boolean,
): Promise<void> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const timer = timers.get(res);
  try {
    if (res.body === null) return;
    reader = res.body.getReader();
    const decoder = new FrameDecoder();
    let total = 0;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new HubRequestError(0, 'network', `answer cut off: ${(err as Error).message}`);
      }
      if (chunk.done) break;
      timer?.progress();
      total += chunk.value.length;
      if (total > max) throw new HubRequestError(res.status, 'protocol', `answer larger than ${max} bytes`);
      for (const frame of framesOf(decoder, chunk.value, res.status)) {
        if (!onFrame(frame)) return;
      }
    }
    try {
      decoder.end();
    } catch (err) {
      throw new HubRequestError(res.status, 'protocol', `unreadable answer: ${(err as Error).message}`);
    }
  } finally {
    // Stopped early or failed: nobody reads the rest (the read that is done resolves at once).
    void reader?.cancel().catch(() => undefined);
    timer?.done();
  }
}

function framesOf(decoder: FrameDecoder, chunk: Uint8Array, status: number): Uint8Array[] {
  try {
    return decoder.push(chunk);
  } catch (err) {
    throw new HubRequestError(status, 'protocol', `unreadable answer: ${(err as Error).message}`);
  }
}

/**
 * Reads `body` into one array of at most `max` bytes. Past `max` it stops reading, cancels the
 * stream and throws `tooLarge()`: a peer cannot make the reader hold more than `max` bytes. The
 * hub reads request bodies with it, the client answers.
 */
export async function readStreamCapped(
  body: ReadableStream<Uint8Array>,
  max: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function readCapped(res: Response, max: number): Promise<Uint8Array> {
  try {
    if (res.body === null) return new Uint8Array(0);
    return await readStreamCapped(
      res.body,
      max,
      () => new HubRequestError(res.status, 'protocol', `answer larger than ${max} bytes`),
    );
  } catch (err) {
    if (err instanceof HubRequestError) throw err;
    throw new HubRequestError(0, 'network', `answer cut off: ${(err as Error).message}`);
  } finally {
    timers.get(res)?.done();
  }
}

/** Reads a JSON object answer of at most 64 KiB. */
export async function readJson(res: Response): Promise<Record<string, unknown>> {
  const bytes = await readCapped(res, 64 * 1024);
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof v === 'object' && v !== null) return v as Record<string, unknown>;
  } catch {
    // Falls through to the typed error below.
  }
  throw new HubRequestError(res.status, 'protocol', 'answer is not a JSON object');
}

/** The error a non-2xx answer stands for (the hub's JSON code when it sent one). */
export async function responseError(res: Response): Promise<HubRequestError> {
  let code = `http_${res.status}`;
  let message = res.statusText;
  try {
    const v = JSON.parse(new TextDecoder().decode(await readCapped(res, 64 * 1024))) as Record<
      string,
      unknown
    >;
    if (typeof v.error === 'string') code = v.error;
    if (typeof v.message === 'string') message = v.message;
  } catch {
    // A body that is not the hub's JSON (a proxy's page, a cut-off answer): the status says enough.
  }
  return new HubRequestError(res.status, code, `${res.status} ${code}: ${message}`);
}
