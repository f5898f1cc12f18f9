/**
 * Framing of several sync messages in one HTTP body (the hub's answer to `POST /v1/sync`):
 * each message as an unsigned LEB128 varint length followed by that many bytes of the message
 * (docs/protocol.md, "The hub's HTTP API"). The decoder is bounded like the messages
 * themselves: a truncated or oversized frame is a `ProtocolError`.
 */

import { ProtocolError } from '../errors.ts';
import { ByteReader, ByteWriter, DecodeError } from '../lsm/coding.ts';
import { MAX_MESSAGE_BYTES } from './messages.ts';

/** Most messages in one framed body. */
export const FRAMES_MAX = 1024;

/** Concatenates `messages`, each prefixed with its length. */
export function encodeFrames(messages: readonly Uint8Array[]): Uint8Array {
  if (messages.length > FRAMES_MAX) throw new ProtocolError(`${messages.length} frames exceed ${FRAMES_MAX}`);
  let size = 0;
  for (const m of messages) size += m.length + 10;
  const w = new ByteWriter(size);
  for (const m of messages) w.lengthPrefixed(m);
  return w.finish();
}

/** Splits a framed body into its messages (copies). */
export function decodeFrames(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  try {
    const r = new ByteReader(body);
    while (r.remaining() > 0) {
      if (out.length >= FRAMES_MAX) throw new ProtocolError(`more than ${FRAMES_MAX} frames`);
      const start = r.pos;
      const length = r.varint();
      if (length > MAX_MESSAGE_BYTES) throw new ProtocolError(`frame of ${length} bytes at ${start}`);
      out.push(r.bytes(length).slice());
    }
  } catch (err) {
    if (err instanceof DecodeError)
      throw new ProtocolError(`truncated frame: ${err.message} at ${err.offset}`);
    throw err;
  }
  return out;
}
