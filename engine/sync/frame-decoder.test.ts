import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { FrameDecoder } from './frame-decoder.ts';
import { decodeFrames, encodeFrames, FRAMES_MAX } from './frames.ts';
import { MAX_MESSAGE_BYTES } from './messages.ts';

/** Cuts `body` at the given offsets (sorted, deduplicated, within the body). */
function cut(body: Uint8Array, at: number[]): Uint8Array[] {
  const points = [...new Set(at.map((x) => x % (body.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, body.length]) {
    out.push(body.slice(from, p));
    from = p;
  }
  return out;
}

function decodeChunks(chunks: readonly Uint8Array[]): Uint8Array[] {
  const d = new FrameDecoder();
  const out: Uint8Array[] = [];
  for (const c of chunks) for (const f of d.push(c)) out.push(f.slice());
  d.end();
  return out;
}

describe('FrameDecoder', () => {
  prop.prop([
    fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
    fc.array(fc.nat(), { maxLength: 12 }),
  ])('any chunking decodes to what decodeFrames gives (replay with the printed seed)', (messages, at) => {
    const body = encodeFrames(messages);
    expect(decodeChunks(cut(body, at))).toEqual(decodeFrames(body));
  });

  test('a frame is returned as soon as its last byte arrives, before the body ends', () => {
    const body = encodeFrames([new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(7)]);
    const d = new FrameDecoder();
    expect(d.push(body.subarray(0, 4))).toEqual([new Uint8Array([1, 2, 3])]);
    expect(d.push(body.subarray(4, 6))).toEqual([]);
    expect(d.push(body.subarray(6))).toEqual([new Uint8Array(300).fill(7)]);
    d.end();
  });

  test('a body that ends inside a frame (in its length or its bytes) is a protocol error', () => {
    const body = encodeFrames([new Uint8Array([1, 2, 3]), new Uint8Array(300)]);
    for (let end = 1; end < body.length; end++) {
      if (end === 4) continue; // between the frames: a valid shorter body
      const d = new FrameDecoder();
      d.push(body.subarray(0, end));
      expect(() => d.end(), `cut at ${end}`).toThrow(/truncated/);
    }
  });

  test('an oversized length is refused from its varint, before its bytes arrive', () => {
    const d = new FrameDecoder();
    // MAX_MESSAGE_BYTES + 1 as a varint, alone: nothing of the frame has arrived yet.
    const w: number[] = [];
    for (let v = MAX_MESSAGE_BYTES + 1; ; v = Math.floor(v / 128)) {
      if (v < 128) {
        w.push(v);
        break;
      }
      w.push((v & 0x7f) | 0x80);
    }
    expect(() => d.push(new Uint8Array(w))).toThrow(/frame of/);
    expect(() => new FrameDecoder().push(new Uint8Array(9).fill(0x80))).toThrow(/longer than 8 bytes/);
  });

  test('more than FRAMES_MAX frames are refused, however they are chunked', () => {
    const d = new FrameDecoder();
    for (let i = 0; i < FRAMES_MAX; i++) d.push(new Uint8Array([0]));
    expect(() => d.push(new Uint8Array([0]))).toThrow(/more than/);
  });
});
