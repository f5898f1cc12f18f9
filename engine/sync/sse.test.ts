import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { type SseEvent, SseParser } from './sse.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function parseAll(chunks: Uint8Array[]): SseEvent[] {
  const p = new SseParser();
  return chunks.flatMap((c) => p.push(c));
}

const STREAM =
  ': keep-alive\n\nid: e-1\nevent: hello\ndata: {"a":1}\n\nid: e-2\r\nevent: entries\r\ndata: AAA=\r\n\r\ndata: line1\rdata:line2\r\rid\n\ndata: tail-without-end';

describe('SseParser', () => {
  test('comments, CR/LF/CRLF, multi-line data, ids that persist, an empty id', () => {
    expect(parseAll([enc(STREAM)])).toEqual([
      { event: 'hello', data: '{"a":1}', id: 'e-1' },
      { event: 'entries', data: 'AAA=', id: 'e-2' },
      { event: 'message', data: 'line1\nline2', id: 'e-2' },
    ]);
  });

  test('an event cut off before its blank line is never dispatched', () => {
    const p = new SseParser();
    expect(p.push(enc('id: 7\nevent: entries\ndata: half'))).toEqual([]);
    expect(p.lastEventId).toBe('7');
  });

  prop.prop([fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 40 })])(
    'any split of the bytes gives the same events (replay with the printed seed)',
    (cuts) => {
      const bytes = enc(`\ufeff${STREAM}é\n\n`);
      const chunks: Uint8Array[] = [];
      let at = 0;
      for (const c of cuts) {
        if (at >= bytes.length) break;
        chunks.push(bytes.subarray(at, at + c));
        at += c;
      }
      chunks.push(bytes.subarray(at));
      expect(parseAll(chunks)).toEqual(parseAll([bytes]));
    },
  );

  test('a line longer than the bound is a protocol error, not unbounded memory', () => {
    const p = new SseParser(100);
    expect(() => p.push(enc(`data: ${'x'.repeat(200)}`))).toThrow(/longer than 100/);
    const q = new SseParser(100);
    expect(() => q.push(enc(`${'data: xxxxxxxxxx\n'.repeat(20)}`))).toThrow(/too long/);
  });
});
