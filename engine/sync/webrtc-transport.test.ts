import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SeededRandom } from '../io/random.ts';
import type { Signal, SignalingChannel } from './webrtc-signaling.ts';
import {
  BUFFERED_BYTES_HIGH,
  CLOSE_WAIT_MS_MAX,
  FRAME_CLOSE,
  FRAME_CLOSED,
  FRAME_LAST,
  FRAME_MORE,
  FRAME_WHOLE,
  FrameReader,
  frameMessage,
  WebRtcTransport,
} from './webrtc-transport.ts';

describe('framing', () => {
  test('any message survives framing at any chunk size (property; fast-check prints the seed to replay)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }),
        fc.integer({ min: 2, max: 1200 }),
        (messages, chunk) => {
          const reader = new FrameReader();
          const out: Uint8Array[] = [];
          for (const m of messages) {
            const frames = frameMessage(m, chunk);
            for (const f of frames) expect(f.length).toBeLessThanOrEqual(chunk);
            for (const f of frames) {
              const done = reader.push(f);
              if (done !== undefined) out.push(done.slice());
            }
          }
          expect(out).toEqual(messages);
          expect(reader.dropped).toBe(0);
        },
      ),
    );
  });

  test('a short message is one whole frame; a long one is chunks ending with the last', () => {
    expect(frameMessage(new Uint8Array([7, 8]), 10)).toEqual([new Uint8Array([FRAME_WHOLE, 7, 8])]);
    const frames = frameMessage(new Uint8Array(10).fill(1), 4);
    expect(frames.map((f) => f[0])).toEqual([FRAME_MORE, FRAME_MORE, FRAME_MORE, FRAME_LAST]);
  });

  test('bad frames are dropped: unknown type, empty, too long, cut off by a whole message', () => {
    const r = new FrameReader(5);
    expect(r.push(new Uint8Array([9, 1]))).toBeUndefined();
    expect(r.push(new Uint8Array([]))).toBeUndefined();
    expect(r.dropped).toBe(2);
    // Over the limit: the whole chunked message is skipped, the next one arrives.
    expect(r.push(new Uint8Array([FRAME_MORE, 1, 2, 3]))).toBeUndefined();
    expect(r.push(new Uint8Array([FRAME_LAST, 4, 5, 6]))).toBeUndefined();
    expect(r.dropped).toBe(3);
    expect(r.push(new Uint8Array([FRAME_WHOLE, 42]))).toEqual(new Uint8Array([42]));
    // An unfinished message interrupted by a whole one is dropped; the whole one arrives.
    expect(r.push(new Uint8Array([FRAME_MORE, 1]))).toBeUndefined();
    expect(r.push(new Uint8Array([FRAME_WHOLE, 2]))).toEqual(new Uint8Array([2]));
    expect(r.dropped).toBe(4);
    expect(r.push(new Uint8Array([FRAME_LAST, 3]))).toEqual(new Uint8Array([3]));
  });
});

/** A peer connection that refuses candidates before its remote description, like the trap. */
class FakePc {
  remoteDescription: RTCSessionDescriptionInit | null = null;
  localDescription: RTCSessionDescriptionInit | null = null;
  readonly added: string[] = [];
  readonly sctp = { maxMessageSize: 1000 };
  connectionState = 'new';
  onicecandidate: ((ev: { candidate: unknown }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;
  ondatachannel: ((ev: { channel: unknown }) => void) | null = null;
  closed = false;
  async setRemoteDescription(d: RTCSessionDescriptionInit): Promise<void> {
    await new Promise((r) => setTimeout(r, 5));
    this.remoteDescription = d;
  }
  async setLocalDescription(d: RTCSessionDescriptionInit): Promise<void> {
    this.localDescription = d;
  }
  async createAnswer(): Promise<RTCSessionDescriptionInit> {
    return { type: 'answer', sdp: 'answer-sdp' };
  }
  async addIceCandidate(c: RTCIceCandidateInit): Promise<void> {
    if (this.remoteDescription === null) throw new Error('candidate before the remote description');
    this.added.push(c.candidate ?? '');
  }
  close(): void {
    this.closed = true;
  }
}

describe('WebRtcTransport negotiation', () => {
  test('candidates that arrive before the remote description wait for it', async () => {
    const pcs: FakePc[] = [];
    const sent: { to: string; signal: Signal }[] = [];
    let deliver: (from: string, s: Signal) => void = () => {};
    const signaling: SignalingChannel = {
      send: (to, signal) => sent.push({ to, signal }),
      listen: (h) => {
        deliver = h;
      },
    };
    const t = new WebRtcTransport({
      self: 'b'.repeat(64),
      createPeerConnection: () => {
        const pc = new FakePc();
        pcs.push(pc);
        return pc as unknown as RTCPeerConnection;
      },
      signaling,
      random: new SeededRandom(1),
    });
    const peer = 'a'.repeat(64);
    t.open(peer, { message: () => {} });
    expect(pcs.length).toBe(0); // The larger key answers; it does not offer.
    const cand = (n: number): Signal => ({
      kind: 'candidate',
      session: 'S',
      data: JSON.stringify({ candidate: `c${n}`, sdpMid: '0', sdpMLineIndex: 0 }),
    });
    deliver(peer, { kind: 'offer', session: 'S', data: 'offer-sdp' });
    deliver(peer, cand(1));
    deliver(peer, cand(2));
    deliver(peer, { ...cand(9), session: 'stale' });
    deliver(peer, { kind: 'candidate', session: 'S', data: 'not json' });
    expect(pcs.length).toBe(1);
    expect(pcs[0]!.added).toEqual([]);
    for (let i = 0; i < 50 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sent.map((s) => [s.to, s.signal.kind, s.signal.session, s.signal.data])).toEqual([
      [peer, 'answer', 'S', 'answer-sdp'],
    ]);
    await new Promise((r) => setTimeout(r, 5));
    expect(pcs[0]!.added).toEqual(['c1', 'c2']);
    deliver(peer, cand(3));
    await new Promise((r) => setTimeout(r, 5));
    expect(pcs[0]!.added).toEqual(['c1', 'c2', 'c3']);
    // The same offer again (a repeated delivery) does not restart the connection.
    deliver(peer, { kind: 'offer', session: 'S', data: 'offer-sdp' });
    expect(pcs.length).toBe(1);
    t.close();
    expect(pcs[0]!.closed).toBe(true);
    expect(sent.at(-1)!.signal.kind).toBe('bye');
  });
});

/** A data channel that is open at once and records what is sent on it. */
class FakeChannel {
  readyState = 'open';
  bufferedAmount = 0;
  binaryType = 'blob';
  bufferedAmountLowThreshold = 0;
  onbufferedamountlow: (() => void) | null = null;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  readonly sent: Uint8Array[] = [];
  send(f: Uint8Array): void {
    this.sent.push(f.slice());
  }
  close(): void {
    this.readyState = 'closed';
  }
  /** Delivers `bytes` as if the peer had sent them. */
  receive(bytes: Uint8Array): void {
    this.onmessage?.({ data: bytes.slice().buffer });
  }
}

/** A peer connection that offers and whose one data channel is a {@link FakeChannel}. */
class OfferingPc extends FakePc {
  readonly channel = new FakeChannel();
  createDataChannel(): FakeChannel {
    return this.channel;
  }
  async createOffer(): Promise<RTCSessionDescriptionInit> {
    return { type: 'offer', sdp: 'offer-sdp' };
  }
}

/** Timers that fire only when the test says so. */
class ManualTimers {
  readonly pending = new Map<number, { fn: () => void; delayMs: number }>();
  private next = 0;
  setTimeout(fn: () => void, delayMs: number): number {
    this.pending.set(++this.next, { fn, delayMs });
    return this.next;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Fires every pending timer of exactly `delayMs`. */
  fire(delayMs: number): void {
    for (const [h, t] of [...this.pending]) {
      if (t.delayMs !== delayMs) continue;
      this.pending.delete(h);
      t.fn();
    }
  }
}

describe('WebRtcTransport closing', () => {
  const peer = 'b'.repeat(64);
  function offering() {
    const pcs: OfferingPc[] = [];
    const sent: Signal[] = [];
    const timers = new ManualTimers();
    const t = new WebRtcTransport({
      self: 'a'.repeat(64),
      createPeerConnection: () => {
        const pc = new OfferingPc();
        pcs.push(pc);
        return pc as unknown as RTCPeerConnection;
      },
      signaling: { send: (_to, s) => sent.push(s), listen: () => {} },
      random: new SeededRandom(1),
      timers,
    });
    const received: Uint8Array[] = [];
    const link = t.open(peer, { message: (m) => received.push(m.slice()) });
    expect(pcs).toHaveLength(1);
    return { t, link, pc: pcs[0]!, ch: pcs[0]!.channel, sent, timers, received };
  }

  test('a close frame follows every queued frame, and the connection stays up until the peer acknowledges it', async () => {
    const { t, link, pc, ch, sent, received } = offering();
    ch.bufferedAmount = BUFFERED_BYTES_HIGH; // backpressure: frames wait in the outbox
    link.send(new Uint8Array(2500).fill(1));
    expect(ch.sent).toHaveLength(0);
    let settled = false;
    const closed = t.close().then(() => {
      settled = true;
    });
    link.send(new Uint8Array([9])); // dropped: the link is closed
    ch.bufferedAmount = 0;
    ch.onbufferedamountlow?.();
    expect(ch.sent.map((f) => f[0])).toEqual([FRAME_MORE, FRAME_MORE, FRAME_LAST, FRAME_CLOSE]);
    expect(ch.sent.at(-1)).toEqual(Uint8Array.of(FRAME_CLOSE));
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(pc.closed).toBe(false);
    expect(sent.some((s) => s.kind === 'bye')).toBe(false);
    // What the peer still sends reaches nobody: the link's owner closed it.
    ch.receive(Uint8Array.of(FRAME_WHOLE, 5));
    expect(received).toEqual([]);
    ch.receive(Uint8Array.of(FRAME_CLOSED));
    await closed;
    expect(pc.closed).toBe(true);
    expect(sent.at(-1)!.kind).toBe('bye');
  });

  test('a peer that never acknowledges holds the close for at most CLOSE_WAIT_MS_MAX', async () => {
    const { t, pc, timers } = offering();
    const closed = t.close();
    expect(pc.closed).toBe(false);
    timers.fire(CLOSE_WAIT_MS_MAX);
    await closed;
    expect(pc.closed).toBe(true);
  });

  test('a channel that goes down ends the wait at once', async () => {
    const { t, pc, ch } = offering();
    const closed = t.close();
    ch.readyState = 'closed';
    ch.onclose?.();
    await closed;
    expect(pc.closed).toBe(true);
  });

  test('a close frame from the peer is acknowledged and is not a message', () => {
    const { ch, received, t } = offering();
    ch.receive(Uint8Array.of(FRAME_CLOSE));
    expect(ch.sent).toEqual([Uint8Array.of(FRAME_CLOSED)]);
    ch.receive(Uint8Array.of(FRAME_WHOLE, 7));
    expect(received).toEqual([Uint8Array.of(7)]);
    void t.close();
  });
});
