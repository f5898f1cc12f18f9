/**
 * The WebRTC bridge's refusals and relaying without a browser: the page side needs an
 * `RTCPeerConnection`; malformed messages from either side are ignored; signals go from the
 * page to the worker's signaling and back.
 */

import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import { SeededRandom } from '../io/random.ts';
import type { Signal, SignalingChannel } from '../sync/webrtc-signaling.ts';
import { serveRtcBridge, workerPlatform } from './rtc-bridge.ts';

/** Two ends that deliver synchronously, recording what each side posted. */
function pipe() {
  const a = {
    posted: [] as unknown[],
    onmessage: null as ((e: MessageEvent) => void) | null,
    postMessage: (_m: unknown) => {},
  };
  const b = {
    posted: [] as unknown[],
    onmessage: null as ((e: MessageEvent) => void) | null,
    postMessage: (_m: unknown) => {},
  };
  a.postMessage = (m) => {
    a.posted.push(m);
    b.onmessage?.({ data: m } as MessageEvent);
  };
  b.postMessage = (m) => {
    b.posted.push(m);
    a.onmessage?.({ data: m } as MessageEvent);
  };
  return { page: a, worker: b };
}

describe('the WebRTC bridge', () => {
  test('the page side refuses to run without RTCPeerConnection', () => {
    expect(() => serveRtcBridge(pipe().page)).toThrow(InvalidArgumentError);
  });

  test('relays signals both ways and ignores malformed messages', () => {
    const { page, worker } = pipe();
    const offers: { to: string; signal: Signal }[] = [];
    const createdWith: RTCConfiguration[] = [];
    // A peer connection that never connects: enough to see the transport offer through signaling.
    const fakePc = () =>
      ({
        createDataChannel: () => ({ readyState: 'connecting', close: () => {} }),
        createOffer: async () => ({ type: 'offer', sdp: 'v=0 fake' }),
        setLocalDescription: async () => {},
        localDescription: { sdp: 'v=0 fake' },
        close: () => {},
      }) as unknown as RTCPeerConnection;
    const stop = serveRtcBridge(page, {
      createPeerConnection: (c) => {
        createdWith.push(c);
        return fakePc();
      },
      random: new SeededRandom(1),
    });
    let deliver: ((from: string, signal: Signal) => void) | undefined;
    const signaling: SignalingChannel = {
      send: (to, signal) => offers.push({ to, signal }),
      listen: (h) => {
        deliver = h;
      },
    };
    const lease = workerPlatform(worker).leasePeerConnections()!;
    const transport = lease.makeTransport({
      self: 'a'.repeat(64),
      signaling,
      random: new SeededRandom(2),
      timers: { setTimeout: () => 0, clearTimeout: () => {} },
      iceServers: [],
      retryDelayMs: () => 1,
      connectTimeoutMs: 1_000,
    });
    // Garbage from either side changes nothing and throws nothing.
    for (const junk of [null, 42, 'x', {}, { t: 'nope' }, { t: 'send', peer: 5 }, { t: 'signal-in' }])
      page.onmessage?.({ data: junk } as MessageEvent);
    for (const junk of [
      null,
      { t: 'message', peer: 'b'.repeat(64), bytes: 'not bytes' },
      { t: 'signal-out', to: 1 },
    ])
      worker.onmessage?.({ data: junk } as MessageEvent);
    const link = transport.open('b'.repeat(64), { message: () => {} });
    expect(createdWith).toHaveLength(1); // 'a...' < 'b...': this side offers, on the page
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        expect(offers).toHaveLength(1);
        expect(offers[0]!.to).toBe('b'.repeat(64));
        expect(offers[0]!.signal.kind).toBe('offer');
        // A signal for the page goes through the worker's signaling listener to the page's transport.
        deliver!('b'.repeat(64), { kind: 'bye', session: offers[0]!.signal.session, data: '' });
        expect(worker.posted.some((m) => (m as { t: string }).t === 'signal-in')).toBe(true);
        expect(transport.isOpen('b'.repeat(64))).toBe(false);
        link.close();
        transport.close();
        stop();
        resolve();
      });
    });
  });
});
