/**
 * A {@link Transport} over WebRTC data channels, written against the standard
 * `RTCPeerConnection` API so the browser's native one fits; Node injects node-datachannel's
 * polyfill (webrtc-node.ts, the only file that imports it). Signaling goes through a
 * {@link SignalingChannel} (the hub's relay in practice).
 *
 * - Who offers: of two devices, the one with the smaller key (hex) offers; the other answers.
 *   Both sides just `open` the peer. An offer that arrives before `open` is kept until then.
 * - Each connection attempt has a session name; signals of another session are stale and
 *   dropped. ICE candidates that arrive before the remote description is set are queued (a
 *   candidate added too early aborts node-datachannel's process) and added after it.
 * - Framing: each data channel message starts with one byte: 0 a whole message, 1 a chunk with
 *   more to come, 2 the last chunk. Messages longer than the channel's maximum message size
 *   are cut into chunks (ordered, reliable channel, so chunks arrive in order).
 * - Backpressure: past {@link BUFFERED_BYTES_HIGH} in the channel's buffer, messages wait in a
 *   bounded outbox until `bufferedamountlow`; past {@link OUTBOX_BYTES_MAX} they are dropped
 *   (the protocol recovers lost messages with its next `hello`).
 * - When the channel opens, the link's `connected` handler runs (its owner says `hello`).
 *   When it fails or closes, the offering side offers again after `retryMs`.
 * - Closing drains: a closed link sends a one-byte close frame behind everything it queued and
 *   tears the connection down only once the peer acknowledges it (so the peer holds every
 *   message sent before), or after {@link CLOSE_WAIT_MS_MAX}. Tearing down at once lost what
 *   was still in the channel's buffers: a device that sent its last entries and exited at
 *   once left its peer waiting for them forever. {@link WebRtcTransport.close} resolves when
 *   every link is down; only then may node-datachannel's threads be released.
 */

import { assert } from '../assert.ts';
import type { Random } from '../io/random.ts';
import { MAX_MESSAGE_BYTES } from './messages.ts';
import type { LinkHandlers, SyncLink, TimerHandle, Timers, Transport } from './transport.ts';
import { systemTimers } from './transport.ts';
import type { Signal, SignalingChannel } from './webrtc-signaling.ts';

/** Frame type byte: a whole message. */
export const FRAME_WHOLE = 0;
/** Frame type byte: a chunk, more follow. */
export const FRAME_MORE = 1;
/** Frame type byte: the last chunk. */
export const FRAME_LAST = 2;
/** Frame type byte (alone in its frame): the sender is closing; answer {@link FRAME_CLOSED}. */
export const FRAME_CLOSE = 3;
/** Frame type byte (alone in its frame): every frame before the peer's close frame arrived. */
export const FRAME_CLOSED = 4;
/** Longest a closing link waits for the peer to acknowledge its close frame, ms. */
export const CLOSE_WAIT_MS_MAX = 2_000;
/** Largest data channel message sent, bytes (the size every browser takes). */
export const CHUNK_BYTES_MAX = 64 * 1024;
/** Above this many buffered bytes in the channel, messages wait in the outbox. */
export const BUFFERED_BYTES_HIGH = 4 * 1024 * 1024;
/** The channel's `bufferedAmountLowThreshold`, bytes. */
export const BUFFERED_BYTES_LOW = 1024 * 1024;
/** Most bytes waiting in one link's outbox. */
export const OUTBOX_BYTES_MAX = 64 * 1024 * 1024;
/** Most candidates queued before a remote description. */
export const PENDING_CANDIDATES_MAX = 64;
/** Most peers with an offer waiting for `open`. */
export const PENDING_OFFERS_MAX = 256;
/** Label of the sync data channel. */
export const CHANNEL_LABEL = 'aregula-sync';

/** Makes a peer connection (the browser's constructor, or node-datachannel's polyfill). */
export type PeerConnectionFactory = (config: RTCConfiguration) => RTCPeerConnection;

/** Options of {@link WebRtcTransport}. */
export interface WebRtcTransportOptions {
  /** This device's key (hex), as the signaling channel names it. */
  self: string;
  createPeerConnection: PeerConnectionFactory;
  signaling: SignalingChannel;
  /** Session names. */
  random: Random;
  timers?: Timers;
  /** STUN/TURN servers; none by default (loopback and LAN need none). */
  iceServers?: RTCIceServer[];
  /** Delay before offering again after a failed or closed connection, ms. Default 1,000. */
  retryMs?: number;
  /**
   * Delay before offering again after the `failures`-th failure in a row (1, 2, ...), ms;
   * replaces `retryMs` (the SDK passes an exponential backoff with jitter).
   */
  retryDelayMs?: (failures: number) => number;
  /** An offer whose channel has not opened by then is given up and made again, ms. Default 10,000. */
  connectTimeoutMs?: number;
  /** Largest data channel message sent, bytes. Default {@link CHUNK_BYTES_MAX}. */
  chunkBytesMax?: number;
}

/** Cuts `message` into data channel frames of at most `chunkBytes` bytes each. */
export function frameMessage(message: Uint8Array, chunkBytes: number): Uint8Array[] {
  assert(chunkBytes >= 2, 'a chunk holds its type byte and at least one byte');
  const body = chunkBytes - 1;
  if (message.length <= body) {
    const f = new Uint8Array(message.length + 1);
    f[0] = FRAME_WHOLE;
    f.set(message, 1);
    return [f];
  }
  const out: Uint8Array[] = [];
  for (let at = 0; at < message.length; at += body) {
    const end = Math.min(message.length, at + body);
    const f = new Uint8Array(end - at + 1);
    f[0] = end === message.length ? FRAME_LAST : FRAME_MORE;
    f.set(message.subarray(at, end), 1);
    out.push(f);
  }
  return out;
}

/** Reassembles frames into messages; drops messages longer than `bytesMax` and bad frames. */
export class FrameReader {
  private parts: Uint8Array[] = [];
  private size = 0;
  private skipping = false;
  /** Frames or messages dropped (bad type byte, empty frame, too long). */
  dropped = 0;

  constructor(private readonly bytesMax: number = MAX_MESSAGE_BYTES) {}

  /** Takes one frame; returns the message it completes, if any. */
  push(frame: Uint8Array): Uint8Array | undefined {
    const type = frame[0];
    if (frame.length < 1 || (type !== FRAME_WHOLE && type !== FRAME_MORE && type !== FRAME_LAST)) {
      this.dropped++;
      return undefined;
    }
    if (type === FRAME_WHOLE) {
      // A whole message ends any unfinished one (the sender restarted): drop the remains.
      if (this.size > 0 || this.skipping) this.dropped++;
      this.reset();
      return frame.subarray(1);
    }
    if (!this.skipping) {
      this.size += frame.length - 1;
      if (this.size > this.bytesMax) {
        this.dropped++;
        this.parts = [];
        this.skipping = true;
      } else {
        this.parts.push(frame.subarray(1));
      }
    }
    if (type === FRAME_MORE) return undefined;
    const skipped = this.skipping;
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    this.reset();
    return skipped ? undefined : out;
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.skipping = false;
  }
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** One peer: its connection attempt, channel, queues and handlers. */
class PeerLink implements SyncLink {
  pc: RTCPeerConnection | undefined;
  channel: RTCDataChannel | undefined;
  session = '';
  remoteSet = false;
  pendingCandidates: RTCIceCandidateInit[] = [];
  outbox: Uint8Array[] = [];
  outboxBytes = 0;
  reader = new FrameReader();
  closed = false;
  retry: TimerHandle | undefined;
  /** Failed or lost connections since the channel was last open. */
  failures = 0;
  /** Whether the channel opened and has not been lost since (for `disconnected`). */
  up = false;
  /** Frames dropped because the outbox was full or the channel refused them. */
  dropped = 0;
  /** Ends a closing link's wait for the peer's {@link FRAME_CLOSED} (set only meanwhile). */
  closeWaitDone: (() => void) | undefined;

  constructor(
    readonly transport: WebRtcTransport,
    readonly peer: string,
    readonly handlers: LinkHandlers,
  ) {}

  send(message: Uint8Array): void {
    const ch = this.channel;
    if (this.closed || ch === undefined || ch.readyState !== 'open') return;
    for (const f of frameMessage(message, this.transport.chunkBytes(this.pc))) if (!this.queue(ch, f)) return;
  }

  /** Sends `f` now, or behind the outbox; false when the channel refused it. */
  private queue(ch: RTCDataChannel, f: Uint8Array): boolean {
    if (this.outbox.length === 0 && ch.bufferedAmount < BUFFERED_BYTES_HIGH) return this.sendFrame(ch, f);
    if (this.outboxBytes + f.length <= OUTBOX_BYTES_MAX) {
      this.outbox.push(f);
      this.outboxBytes += f.length;
    } else {
      this.dropped++;
    }
    return true;
  }

  flush(): void {
    const ch = this.channel;
    if (ch === undefined || ch.readyState !== 'open') return;
    while (this.outbox.length > 0 && ch.bufferedAmount < BUFFERED_BYTES_HIGH) {
      const f = this.outbox.shift()!;
      this.outboxBytes -= f.length;
      if (!this.sendFrame(ch, f)) return;
    }
  }

  /**
   * Hands one frame to the channel; false when the channel refused it. A channel the peer just
   * closed can still read `open` while the library already refuses to send, and `send` must
   * never throw for a network failure: the message is lost, as on any broken connection, and
   * the protocol's next `hello` recovers it.
   */
  sendFrame(ch: RTCDataChannel, f: Uint8Array): boolean {
    try {
      ch.send(f as Uint8Array<ArrayBuffer>);
      return true;
    } catch (err) {
      this.dropped++;
      this.transport.errors.push(
        `send to ${this.peer} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      return false;
    }
  }

  /** Stops using the link at once; the connection goes down once drained (see the module comment). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.forget(this);
    const ch = this.channel;
    if (ch === undefined || ch.readyState !== 'open') this.finish();
    else this.transport.track(this.drain(ch).then(() => this.finish()));
  }

  /** Says `bye` (the peer stops waiting for this session) and closes the connection. */
  private finish(): void {
    if (this.session !== '')
      this.transport.signal(this.peer, { kind: 'bye', session: this.session, data: '' });
    this.teardown();
  }

  /**
   * Sends the close frame behind everything queued and resolves when the peer acknowledges it,
   * when the channel goes down, or after {@link CLOSE_WAIT_MS_MAX}.
   */
  private drain(ch: RTCDataChannel): Promise<void> {
    return new Promise((resolve) => {
      const timers = this.transport.timers;
      const done = () => {
        timers.clearTimeout(timer);
        this.closeWaitDone = undefined;
        resolve();
      };
      const timer = timers.setTimeout(done, CLOSE_WAIT_MS_MAX);
      this.closeWaitDone = done;
      if (!this.queue(ch, Uint8Array.of(FRAME_CLOSE))) done();
    });
  }

  /** Closes the channel and the connection (the link stays usable for a new attempt). */
  teardown(): void {
    const { pc, channel } = this;
    this.pc = undefined;
    this.channel = undefined;
    this.remoteSet = false;
    this.pendingCandidates = [];
    this.outbox = [];
    this.outboxBytes = 0;
    this.reader = new FrameReader();
    if (channel !== undefined) {
      channel.onopen = null;
      channel.onclose = null;
      channel.onmessage = null;
      channel.close();
    }
    if (pc !== undefined) {
      pc.onicecandidate = null;
      pc.onconnectionstatechange = null;
      pc.ondatachannel = null;
      pc.close();
    }
  }
}

/** The transport (see the module comment). */
export class WebRtcTransport implements Transport {
  private readonly links = new Map<string, PeerLink>();
  private readonly pendingOffers = new Map<string, { signal: Signal; candidates: RTCIceCandidateInit[] }>();
  /** @internal The timer seam, shared with the links. */
  readonly timers: Timers;
  private closed = false;
  /** Links closed but not yet torn down (draining); see {@link close}. */
  private readonly closing = new Set<Promise<void>>();
  /** Connection problems seen (failed negotiations, closed channels); for tests and status. */
  readonly errors: string[] = [];

  constructor(private readonly o: WebRtcTransportOptions) {
    this.timers = o.timers ?? systemTimers;
    o.signaling.listen((from, signal) => this.onSignal(from, signal));
  }

  open(peer: string, handlers: LinkHandlers): SyncLink {
    assert(!this.closed, 'transport is closed');
    assert(peer !== this.o.self, 'a device cannot open a link to itself');
    this.links.get(peer)?.close();
    const link = new PeerLink(this, peer, handlers);
    this.links.set(peer, link);
    if (this.offers(peer)) {
      this.offer(link);
    } else {
      const pending = this.pendingOffers.get(peer);
      this.pendingOffers.delete(peer);
      if (pending !== undefined) {
        void this.answer(link, pending.signal).then(() => {
          for (const c of pending.candidates) this.addCandidate(link, link.session, c);
        });
      }
    }
    return link;
  }

  /** Whether the link to `peer` has an open data channel. */
  isOpen(peer: string): boolean {
    return this.links.get(peer)?.channel?.readyState === 'open';
  }

  /**
   * Closes every link. Resolves when every link closed so far is torn down (each waits at most
   * {@link CLOSE_WAIT_MS_MAX} for its peer); release node-datachannel (`webRtcCleanup`) only then.
   */
  close(): Promise<void> {
    this.closed = true;
    for (const link of [...this.links.values()]) link.close();
    this.pendingOffers.clear();
    return Promise.all([...this.closing]).then(() => undefined);
  }

  /** @internal Remembers a closing link's drain until it ends. */
  track(drain: Promise<void>): void {
    this.closing.add(drain);
    void drain.finally(() => this.closing.delete(drain));
  }

  /** @internal The chunk size for a connection: the smaller of ours and the channel's. */
  chunkBytes(pc: RTCPeerConnection | undefined): number {
    const mine = this.o.chunkBytesMax ?? CHUNK_BYTES_MAX;
    const theirs = pc?.sctp?.maxMessageSize;
    return typeof theirs === 'number' && theirs > 1 ? Math.min(mine, theirs) : mine;
  }

  /** @internal */
  forget(link: PeerLink): void {
    this.timers.clearTimeout(link.retry);
    if (this.links.get(link.peer) === link) this.links.delete(link.peer);
  }

  /** @internal */
  signal(to: string, signal: Signal): void {
    this.o.signaling.send(to, signal);
  }

  private offers(peer: string): boolean {
    return this.o.self < peer;
  }

  private newSession(): string {
    let s = '';
    for (let i = 0; i < 16; i++) s += 'abcdefghijklmnopqrstuvwxyz0123456789'[this.o.random.int(36)];
    return s;
  }

  private connect(link: PeerLink, session: string): RTCPeerConnection {
    link.teardown();
    link.session = session;
    const pc = this.o.createPeerConnection({ iceServers: this.o.iceServers ?? [] });
    link.pc = pc;
    pc.onicecandidate = (ev) => {
      if (link.pc !== pc || ev.candidate === null || ev.candidate.candidate === '') return;
      const c = ev.candidate;
      const data = JSON.stringify({
        candidate: c.candidate,
        sdpMid: c.sdpMid,
        sdpMLineIndex: c.sdpMLineIndex,
      });
      this.signal(link.peer, { kind: 'candidate', session, data });
    };
    pc.onconnectionstatechange = () => {
      if (link.pc !== pc) return;
      if (pc.connectionState !== 'failed' && pc.connectionState !== 'closed') return;
      link.closeWaitDone?.();
      this.lost(link, pc.connectionState);
    };
    pc.ondatachannel = (ev) => {
      if (link.pc === pc) this.attach(link, ev.channel);
    };
    return pc;
  }

  private attach(link: PeerLink, channel: RTCDataChannel): void {
    link.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = BUFFERED_BYTES_LOW;
    channel.onbufferedamountlow = () => link.flush();
    channel.onopen = () => this.opened(link);
    channel.onclose = () => {
      if (link.channel !== channel) return;
      link.closeWaitDone?.();
      this.lost(link, 'channel closed');
    };
    channel.onmessage = (ev: MessageEvent) => {
      const bytes = toBytes(ev.data);
      if (bytes === undefined || link.channel !== channel) return;
      if (bytes.length === 1 && bytes[0] === FRAME_CLOSE) {
        // The peer is closing: everything it sent before arrived (the channel is ordered).
        link.sendFrame(channel, Uint8Array.of(FRAME_CLOSED));
        return;
      }
      if (bytes.length === 1 && bytes[0] === FRAME_CLOSED) {
        link.closeWaitDone?.();
        return;
      }
      // A closed link's owner hears nothing more, though the channel drains.
      if (link.closed) return;
      const m = link.reader.push(bytes);
      if (m !== undefined) link.handlers.message(m);
    };
    if (channel.readyState === 'open') this.opened(link);
  }

  private opened(link: PeerLink): void {
    link.failures = 0;
    link.up = true;
    link.handlers.connected?.();
  }

  private lost(link: PeerLink, why: string): void {
    if (link.closed || this.closed) return;
    this.errors.push(`${link.peer.slice(0, 8)}: ${why}`);
    const wasUp = link.up;
    link.up = false;
    link.teardown();
    link.failures++;
    if (wasUp) link.handlers.disconnected?.();
    if (!this.offers(link.peer)) return;
    this.timers.clearTimeout(link.retry);
    const delayMs = this.o.retryDelayMs?.(link.failures) ?? this.o.retryMs ?? 1_000;
    link.retry = this.timers.setTimeout(() => {
      if (!link.closed && !this.closed) this.offer(link);
    }, delayMs);
  }

  private offer(link: PeerLink): void {
    const session = this.newSession();
    const pc = this.connect(link, session);
    this.attach(link, pc.createDataChannel(CHANNEL_LABEL, { ordered: true }));
    // The answer may never come (the peer was offline, or the hub dropped the offer).
    this.timers.clearTimeout(link.retry);
    link.retry = this.timers.setTimeout(() => {
      if (link.pc === pc && link.channel?.readyState !== 'open') this.lost(link, 'no answer in time');
    }, this.o.connectTimeoutMs ?? 10_000);
    void (async () => {
      try {
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        if (link.pc !== pc) return;
        this.signal(link.peer, { kind: 'offer', session, data: pc.localDescription?.sdp ?? offer.sdp ?? '' });
      } catch (err) {
        if (link.pc === pc) this.lost(link, `offer failed: ${(err as Error).message}`);
      }
    })();
  }

  private async answer(link: PeerLink, signal: Signal): Promise<void> {
    const pc = this.connect(link, signal.session);
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: signal.data });
      if (link.pc !== pc) return;
      this.remoteReady(link);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      if (link.pc !== pc) return;
      this.signal(link.peer, {
        kind: 'answer',
        session: signal.session,
        data: pc.localDescription?.sdp ?? answer.sdp ?? '',
      });
    } catch (err) {
      if (link.pc === pc) this.lost(link, `answer failed: ${(err as Error).message}`);
    }
  }

  /** The remote description is set: the queued candidates may go in now. */
  private remoteReady(link: PeerLink): void {
    link.remoteSet = true;
    const queued = link.pendingCandidates;
    link.pendingCandidates = [];
    for (const c of queued) void link.pc?.addIceCandidate(c).catch(() => undefined);
  }

  private addCandidate(link: PeerLink, session: string, c: RTCIceCandidateInit): void {
    if (link.session !== session || link.pc === undefined) return;
    if (!link.remoteSet) {
      if (link.pendingCandidates.length < PENDING_CANDIDATES_MAX) link.pendingCandidates.push(c);
      return;
    }
    void link.pc.addIceCandidate(c).catch((err: Error) => this.errors.push(`candidate: ${err.message}`));
  }

  private onSignal(from: string, signal: Signal): void {
    if (this.closed) return;
    const link = this.links.get(from);
    if (signal.kind === 'candidate') {
      const c = parseCandidate(signal.data);
      if (c === undefined) return;
      if (link !== undefined) this.addCandidate(link, signal.session, c);
      else {
        const pending = this.pendingOffers.get(from);
        if (pending?.signal.session === signal.session && pending.candidates.length < PENDING_CANDIDATES_MAX)
          pending.candidates.push(c);
      }
      return;
    }
    if (signal.kind === 'offer') {
      if (this.offers(from)) return; // Only the smaller key offers: a stray offer is ignored.
      // A repeated offer of the session already being answered changes nothing.
      if (link !== undefined && link.session === signal.session && link.pc !== undefined) return;
      if (link !== undefined) void this.answer(link, signal);
      else if (this.pendingOffers.has(from) || this.pendingOffers.size < PENDING_OFFERS_MAX)
        this.pendingOffers.set(from, { signal, candidates: [] });
      return;
    }
    if (link === undefined || link.session !== signal.session) return;
    if (signal.kind === 'answer') {
      const pc = link.pc;
      if (pc === undefined || link.remoteSet) return;
      void pc
        .setRemoteDescription({ type: 'answer', sdp: signal.data })
        .then(() => {
          if (link.pc === pc) this.remoteReady(link);
        })
        .catch((err: Error) => {
          if (link.pc === pc) this.lost(link, `answer refused: ${err.message}`);
        });
      return;
    }
    // bye: the peer closed this session.
    this.lost(link, 'peer said bye');
  }
}

function parseCandidate(data: string): RTCIceCandidateInit | undefined {
  try {
    const v = JSON.parse(data) as Record<string, unknown>;
    if (typeof v.candidate !== 'string') return undefined;
    return {
      candidate: v.candidate,
      sdpMid: typeof v.sdpMid === 'string' ? v.sdpMid : null,
      sdpMLineIndex: typeof v.sdpMLineIndex === 'number' ? v.sdpMLineIndex : null,
    };
  } catch {
    return undefined;
  }
}
