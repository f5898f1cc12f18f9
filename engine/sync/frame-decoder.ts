/**
 * Incremental decoding of a framed body (frames.ts) as its chunks arrive, so that a client can
 * apply the hub's first messages while the rest of the answer is still on its way
 * (docs/protocol.md, "The hub's HTTP API"). Bounded like `decodeFrames`: a length over
 * {@link MAX_MESSAGE_BYTES} is refused as soon as its varint is read (before any of its bytes
 * are buffered), more than {@link FRAMES_MAX} frames are refused, and a body that ends inside a
 * frame is a `ProtocolError` at {@link FrameDecoder.end}. The same bytes decode to the same
 * frames whatever the chunking.
 */

import { ProtocolError } from '../errors.ts';
import { FRAMES_MAX } from './frames.ts';
import { MAX_MESSAGE_BYTES } from './messages.ts';

/** Most bytes of a length varint (as `ByteReader.varint`). */
const LENGTH_BYTES_MAX = 8;

/** Splits a framed body, given a chunk at a time, into its messages (see the module comment). */
export class FrameDecoder {
  /** Frames returned so far. */
  private count = 0;
  /** Offset of the frame being read, for error messages. */
  private offset = 0;
  /** The length varint read so far (when {@link body} is undefined). */
  private length = 0;
  private lengthBytes = 0;
  /** The frame being assembled across chunks, and how much of it has arrived. */
  private body: Uint8Array | undefined;
  private filled = 0;

  /**
   * Takes the next chunk; returns the frames it completed, in order. A frame that lies wholly
   * inside `chunk` is returned as a view into it (the session copies what it keeps); one that
   * spans chunks is assembled in a new array. Throws `ProtocolError` on a bound's breach.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.body !== undefined) {
        const n = Math.min(this.body.length - this.filled, chunk.length - at);
        this.body.set(chunk.subarray(at, at + n), this.filled);
        this.filled += n;
        at += n;
        if (this.filled === this.body.length) out.push(this.finish(this.body));
        continue;
      }
      const b = chunk[at++]!;
      this.length += (b & 0x7f) * 128 ** this.lengthBytes;
      this.lengthBytes++;
      if (this.length > MAX_MESSAGE_BYTES)
        throw new ProtocolError(`frame of ${this.length} or more bytes at ${this.offset}`);
      if (b >= 0x80) {
        if (this.lengthBytes >= LENGTH_BYTES_MAX)
          throw new ProtocolError(`truncated frame: varint longer than 8 bytes at ${this.offset}`);
        continue;
      }
      if (this.count >= FRAMES_MAX) throw new ProtocolError(`more than ${FRAMES_MAX} frames`);
      const length = this.length;
      if (chunk.length - at >= length) {
        out.push(this.finish(chunk.subarray(at, at + length)));
        at += length;
      } else {
        this.body = new Uint8Array(length);
        this.filled = 0;
      }
    }
    return out;
  }

  /** The body ended: throws `ProtocolError` if it ended inside a frame. */
  end(): void {
    if (this.body !== undefined || this.lengthBytes > 0)
      throw new ProtocolError(`truncated frame: the body ends inside the frame at ${this.offset}`);
  }

  private finish(frame: Uint8Array): Uint8Array {
    this.count++;
    this.offset += this.lengthBytes + frame.length;
    this.length = 0;
    this.lengthBytes = 0;
    this.body = undefined;
    this.filled = 0;
    return frame;
  }
}
