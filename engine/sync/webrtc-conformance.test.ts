/**
 * The WebRTC transport (node-datachannel's RTCPeerConnection over loopback, signaling in
 * memory) against the Transport conformance suite that the simulator's twin also passes.
 */

import { afterAll } from 'vitest';
import { systemClock } from '../io/clock.ts';
import { SeededRandom } from '../io/random.ts';
import { runTransportConformance, type TransportPair } from './transport-conformance.ts';
import { nodePeerConnectionFactory, webRtcCleanup } from './webrtc-node.ts';
import type { Signal, SignalingChannel } from './webrtc-signaling.ts';
import { WebRtcTransport } from './webrtc-transport.ts';

let pairs = 0;

/** Two WebRTC transports whose signals travel through memory (a tick later, like a relay). */
async function webRtcPair(): Promise<TransportPair> {
  const n = ++pairs;
  const handlers = new Map<string, (from: string, s: Signal) => void>();
  const signaling = (self: string): SignalingChannel => ({
    send: (to, s) => {
      setTimeout(() => handlers.get(to)?.(self, s), 0);
    },
    listen: (h) => {
      handlers.set(self, h);
    },
  });
  const aName = `a${n}`.padEnd(8, '0');
  const bName = `b${n}`.padEnd(8, '0');
  const make = (self: string, seed: number) =>
    new WebRtcTransport({
      self,
      createPeerConnection: nodePeerConnectionFactory,
      signaling: signaling(self),
      random: new SeededRandom(seed),
    });
  const a = make(aName, 1);
  const b = make(bName, 2);
  return {
    a,
    b,
    aName,
    bName,
    clock: systemClock,
    async waitFor(done, budgetMs) {
      const until = performance.now() + budgetMs;
      while (!done()) {
        if (performance.now() >= until) return false;
        await new Promise((r) => setTimeout(r, 2));
      }
      return true;
    },
    cleanup() {
      a.close();
      b.close();
    },
  };
}

runTransportConformance('WebRTC data channels (node-datachannel, loopback)', {
  reportsConnections: true,
  pair: webRtcPair,
});

afterAll(() => webRtcCleanup());
