import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from './base64.ts';
import { decodeFrames, encodeFrames, FRAMES_MAX } from './frames.ts';

describe('base64', () => {
  prop.prop([fc.uint8Array({ maxLength: 300 })])(
    'round-trips and matches Node (replay with the printed seed)',
    (b) => {
      expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'));
      expect(toBase64Url(b)).toBe(Buffer.from(b).toString('base64url'));
      expect(fromBase64(toBase64(b))).toEqual(b);
      expect(fromBase64Url(toBase64Url(b))).toEqual(b);
    },
  );

  test('strict: foreign characters, bad lengths, padding bits and padding in url form are refused', () => {
    for (const bad of ['A', 'AB=', 'A===', 'AB*=', 'AB==AB==', 'AR=='])
      expect(() => fromBase64(bad), bad).toThrow();
    for (const bad of ['A', 'AB=', 'AB+/', 'AR', 'é']) expect(() => fromBase64Url(bad), bad).toThrow();
    expect(fromBase64('')).toEqual(new Uint8Array(0));
  });
});

describe('frames', () => {
  prop.prop([fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 })])('round-trip', (messages) => {
    expect(decodeFrames(encodeFrames(messages))).toEqual(messages);
  });

  test('truncated frames, oversized lengths and too many frames are protocol errors', () => {
    const body = encodeFrames([new Uint8Array([1, 2, 3]), new Uint8Array(300)]);
    for (let cut = 1; cut < body.length; cut++) {
      if (cut === 4) continue; // a cut exactly between the frames is a valid shorter body
      expect(() => decodeFrames(body.subarray(0, cut)), `cut at ${cut}`).toThrow(
        /ARE_PROTOCOL|truncated|frame/,
      );
    }
    expect(() => decodeFrames(new Uint8Array([0xff, 0xff, 0xff, 0x7f]))).toThrow(/frame of/);
    expect(() => decodeFrames(new Uint8Array(FRAMES_MAX + 1))).toThrow(/more than/);
    expect(() => encodeFrames(Array(FRAMES_MAX + 1).fill(new Uint8Array(0)))).toThrow(/exceed/);
  });
});
