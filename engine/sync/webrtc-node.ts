/**
 * Node's side of the WebRTC transport: node-datachannel's `RTCPeerConnection` polyfill as a
 * {@link PeerConnectionFactory}, and its `cleanup`. The only file that imports
 * node-datachannel, so browser bundles (which use the native `RTCPeerConnection`) never see
 * it. A Node process that used WebRTC exits only after its connections are closed and
 * {@link webRtcCleanup} has run.
 */

import { cleanup } from 'node-datachannel';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import type { PeerConnectionFactory } from './webrtc-transport.ts';

/** Makes node-datachannel peer connections. */
export const nodePeerConnectionFactory: PeerConnectionFactory = (config) =>
  new RTCPeerConnection(config) as unknown as globalThis.RTCPeerConnection;

/** Frees node-datachannel's threads; call once every connection is closed. */
export function webRtcCleanup(): void {
  cleanup();
}
