import { describe, expect, it } from 'vitest';
import { applyOp } from './lww.ts';
import { canonicalEncodeState, decodeState } from './state-codec.ts';

describe('decodeState without the canonical check', () => {
  const author = new Uint8Array(32).fill(7);
  const state = applyOp(undefined, {
    kind: 'put',
    fields: { a: 1, b: 'x' },
    stamp: { hlc: { wallMs: 5, logical: 0 }, author },
  });
  const bytes = canonicalEncodeState(state);

  it('decodes canonical bytes to the same state as the strict decoder', () => {
    expect(canonicalEncodeState(decodeState(bytes, { verifyCanonical: false }))).toEqual(bytes);
    expect(decodeState(bytes, { verifyCanonical: false })).toEqual(decodeState(bytes));
  });

  it('still rejects structurally malformed bytes', () => {
    expect(() => decodeState(bytes.subarray(0, bytes.length - 1), { verifyCanonical: false })).toThrow();
    expect(() => decodeState(Uint8Array.of(9, 0, 0), { verifyCanonical: false })).toThrow();
  });
});
