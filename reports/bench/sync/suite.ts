/**
 * The `sync` suite: initial sync of `n` entries to a fresh device, and the time a live update
 * takes from a write on one device until it is visible on another.
 *
 * Workloads (system `aregula`; an operation is one entry verified and applied, so
 * `ops_per_sec` is entries per second; a sample ends when the fresh device holds all `n`):
 * - `sync.memory-initial`: two sync sessions in one process, messages handed over in memory;
 *   the upper bound of the protocol and the storage, no network. Like the others, the fresh
 *   device stores on disk (`NodeFs`, flushing and compacting on a worker thread as the SDK's
 *   Node platform does); the source is in memory.
 * - `sync.hub-initial`: a hub on a loopback port, in its own process as it is on its own
 *   machine (`hub-process.ts`, on a disk directory), filled with a source feed of the same
 *   size built there; a fresh device (a database on disk) logs in with a {@link HubClient}
 *   and pulls everything. The hub serves on the other core, and it streams each pull answer
 *   (hub/pull-answer.ts), so its reading overlaps the device's applying; `cpu_ops_per_sec`
 *   counts this process (the device) only. The hub's group commits are the fill's messages
 *   (`FILL_ENTRIES_PER_MESSAGE` entries, fixtures.ts), so each part of an answer is whole commits.
 * - `sync.webrtc-initial`: a source device in its own process (`webrtc-source-process.ts`,
 *   its feed built there) and a fresh device (on disk) in this one, joined by a
 *   node-datachannel data channel that is open before the sample starts.
 * - `sync.hub-live`, `sync.webrtc-live` (at sizes up to {@link LIVE_SIZE_MAX} only: the
 *   latency does not depend on `n`): `min(n, LIVE_UPDATES_MAX)` updates one after another,
 *   each a document written and committed on one device and pushed, timed until the other
 *   device's database reports it (a `remote` change); `latency_ms` is the median over all
 *   updates, `ops_per_sec` updates per second (each waits for the one before).
 *
 * Extra fields: `entry_bytes` (mean encoded entry: body, flags and signature), `wire_bytes_per_entry`
 * (every byte the transport carried during a sample, both directions, per entry; HTTP counts
 * request and answer heads too), `wire_ratio` (their quotient; the target is at most 1.2),
 * `cpu_ops_per_sec` (entries per second of this process's CPU time, all threads: on a loaded
 * machine it moves less than the wall-time figure).
 */

import { assert } from '../../../engine/assert.ts';
import { hexToBytes } from '../../../engine/hex.ts';
import { NodeFs } from '../../../engine/io/node-fs.ts';
import { SeededRandom } from '../../../engine/io/random.ts';
import { nodeSigner } from '../../../engine/log/node-signer.ts';
import { HubClient } from '../../../engine/sync/hub-client.ts';
import { SyncSession } from '../../../engine/sync/session.ts';
import type { BenchCase, CaseEnv, OpenedSuite, RowFields, Suite, Workload } from '../types.ts';
import { type CountedHub, startCountedHub } from './counted-hub.ts';
import { admit, type BenchDevice, benchDevice, buildSource, heldOf, type SyncSource } from './fixtures.ts';
import { type RemoteHub, startHubProcess } from './remote-hub.ts';
import { openRemoteWebRtcPair, type RemoteWebRtcPair } from './remote-webrtc.ts';
import { openWebRtcPair, type WebRtcPair } from './webrtc-pair.ts';

/** Workload names in the bench JSON. */
export const SYNC_WORKLOADS = {
  memory: 'sync.memory-initial',
  hub: 'sync.hub-initial',
  webrtc: 'sync.webrtc-initial',
  hubLive: 'sync.hub-live',
  webrtcLive: 'sync.webrtc-live',
} as const;

/** Largest size at which the live workloads run. */
export const LIVE_SIZE_MAX = 1000;
/** Most updates a live sample makes (each waits for the one before, so a sample is slow). */
export const LIVE_UPDATES_MAX = 100;
/** Entries the live workloads' devices hold before the updates (a synced, non-empty start). */
export const LIVE_SOURCE_ENTRIES = 1000;
/** Longest a sample may wait for the fresh device to catch up, ms (a hang, not a figure). */
export const SAMPLE_WAIT_MS_MAX = 300_000;

/** How long a transport must carry nothing to count as quiet, ms. */
const QUIET_MS = 50;

/** Number of the fresh receiving device; each sample gives it new, empty storage. */
const RECEIVER = 2;

const sources = new Map<number, SyncSource>();

/** The source of size `n`, built once per process (writing 100K entries takes seconds). */
export function sourceOf(n: number): SyncSource {
  let s = sources.get(n);
  if (s === undefined) {
    s = buildSource(n);
    sources.set(n, s);
  }
  return s;
}

/** Resolves once `done()` holds, checking every few milliseconds; rejects after the bound. */
async function until(what: string, done: () => boolean): Promise<void> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > SAMPLE_WAIT_MS_MAX)
      throw new Error(`sync bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Resolves once `counter()` has not changed for {@link QUIET_MS}. */
async function quiet(counter: () => number): Promise<void> {
  let last = -1;
  for (let i = 0; counter() !== last; i++) {
    assert(i * QUIET_MS < SAMPLE_WAIT_MS_MAX, 'sync bench: the transport never went quiet');
    last = counter();
    await new Promise((r) => setTimeout(r, QUIET_MS));
  }
}

/** What the samples of one case measured beyond time. */
interface Tally {
  wireBytes: number[];
  latenciesMs: number[];
  /** CPU time of this process per sample (all threads), ms: less sensitive to a loaded machine than wall time. */
  cpuMs: number[];
}

/** Runs `fn` and records the process's CPU time it took. */
async function timedCpu(tally: Tally, fn: () => Promise<void>): Promise<void> {
  const before = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(before);
  tally.cpuMs.push((used.user + used.system) / 1000);
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function initialFields(n: number, tally: Tally | undefined): RowFields {
  const source = sourceOf(n);
  const entryBytes = source.entryBytes / n;
  const wire = median(tally?.wireBytes ?? []) / n;
  const cpuMs = median(tally?.cpuMs ?? []);
  return {
    unit: 'entry',
    cpu_ops_per_sec: cpuMs > 0 ? Math.round((1000 * n) / cpuMs) : 0,
    entry_bytes: round2(entryBytes),
    wire_bytes_per_entry: round2(wire),
    wire_ratio: round2(wire / entryBytes),
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** A fresh receiving device on disk in a new directory. */
function freshReceiver(env: CaseEnv): BenchDevice {
  return benchDevice(RECEIVER, new NodeFs(env.freshDir('receiver')));
}

function closeDevice(d: BenchDevice | undefined): void {
  d?.db.close();
}

/** Checks that the receiver ended with the source's documents (untimed). */
function checkSame(source: SyncSource, receiver: BenchDevice): void {
  checkSameAs({ n: source.n, author: source.device.hex, stateHash: source.device.db.stateHash() }, receiver);
}

/** Checks that the receiver holds all `n` entries of `author` and has the source's state hash. */
function checkSameAs(source: { n: number; author: string; stateHash: string }, receiver: BenchDevice): void {
  const held = heldOf(receiver, hexToBytes(source.author));
  assert(held === source.n, `the receiver holds ${held} of ${source.n} entries`);
  assert(receiver.db.stateHash() === source.stateHash, 'the receiver ended with other documents');
}

/** Initial sync between two in-process sessions. */
function memoryCase(n: number, env: CaseEnv): BenchCase & { tally: Tally } {
  const tally: Tally = { wireBytes: [], latenciesMs: [], cpuMs: [] };
  let source: SyncSource | undefined;
  let receiver: BenchDevice | undefined;
  let checked = false;
  return {
    tally,
    async setup() {
      source = sourceOf(n);
    },
    async beforeSample() {
      closeDevice(receiver);
      receiver = freshReceiver(env);
    },
    sample: () =>
      timedCpu(tally, async () => {
        const queue: [SyncSession, Uint8Array][] = [];
        let wire = 0;
        const to = (peer: () => SyncSession) => (m: Uint8Array) => {
          wire += m.length;
          queue.push([peer(), m]);
        };
        const sa: SyncSession = new SyncSession(
          source!.device.db.replica,
          to(() => sb),
        );
        const sb: SyncSession = new SyncSession(
          receiver!.db.replica,
          to(() => sa),
        );
        sb.start();
        for (let i = 0; i < queue.length; i++) queue[i]![0].receive(queue[i]![1]);
        tally.wireBytes.push(wire);
      }),
    async afterSample() {
      if (!checked) checkSame(source!, receiver!);
      checked = true;
    },
    async teardown() {
      closeDevice(receiver);
    },
  };
}

/** Initial sync from a hub on a loopback port, in its own process, to a fresh device. */
function hubCase(n: number, env: CaseEnv): BenchCase & { tally: Tally } {
  const tally: Tally = { wireBytes: [], latenciesMs: [], cpuMs: [] };
  let hub: RemoteHub | undefined;
  let receiver: BenchDevice | undefined;
  let bytesBefore = 0;
  let checked = false;
  return {
    tally,
    async setup() {
      hub = await startHubProcess(n, env.freshDir('hub'));
      assert(hub.ready.n === n, `the hub process serves ${hub.ready.n} entries, not ${n}`);
    },
    async beforeSample() {
      closeDevice(receiver);
      receiver = freshReceiver(env);
      bytesBefore = await hub!.wireBytes();
    },
    sample: () =>
      timedCpu(tally, async () => {
        const client = hubClientOf(hub!.ready.url, receiver!);
        client.start();
        const author = hexToBytes(hub!.ready.author);
        await until('the hub initial sync', () => heldOf(receiver!, author) >= n);
        await client.close();
      }),
    async afterSample() {
      tally.wireBytes.push((await hub!.wireBytes()) - bytesBefore);
      if (!checked) checkSameAs(hub!.ready, receiver!);
      checked = true;
    },
    async teardown() {
      closeDevice(receiver);
      await hub?.close();
    },
  };
}

function hubClientOf(url: string, device: BenchDevice): HubClient {
  return new HubClient({
    url,
    replica: device.db.replica,
    identity: device.identity,
    certificate: device.certificate,
    signer: nodeSigner,
    random: new SeededRandom(device.identity.publicKey[0]!),
  });
}

/** Initial sync over an open WebRTC data channel from a source in its own process to a fresh device. */
function webrtcCase(n: number, env: CaseEnv): BenchCase & { tally: Tally } {
  const tally: Tally = { wireBytes: [], latenciesMs: [], cpuMs: [] };
  let pair: RemoteWebRtcPair | undefined;
  let checked = false;
  return {
    tally,
    async setup() {
      pair = await openRemoteWebRtcPair(n, freshReceiver(env));
      assert(pair.source.n === n, `the source process holds ${pair.source.n} entries, not ${n}`);
      // Opening the channel starts a sync with the setup's receiver: let it finish, so that
      // no message of it is counted in the first sample.
      const author = hexToBytes(pair.source.hex);
      await until('the setup sync', () => heldOf(pair!.device, author) >= n);
      await quiet(() => pair!.wireBytes());
    },
    async beforeSample() {
      closeDevice(pair!.device);
      pair!.replace(freshReceiver(env));
    },
    sample: () =>
      timedCpu(tally, async () => {
        const before = pair!.wireBytes();
        const author = hexToBytes(pair!.source.hex);
        let resolve: () => void = () => {};
        const done = new Promise<void>((r) => {
          resolve = r;
        });
        pair!.afterReceive = () => {
          if (heldOf(pair!.device, author) >= n) resolve();
        };
        pair!.hello();
        await done;
        tally.wireBytes.push(pair!.wireBytes() - before);
      }),
    async afterSample() {
      // The sample ends when the last entry is applied; the sender's `done` is still on its
      // way. Let it land on this receiver, not on the next sample's fresh one.
      await quiet(() => pair!.wireBytes());
      if (!checked)
        checkSameAs({ n, author: pair!.source.hex, stateHash: pair!.source.stateHash }, pair!.device);
      checked = true;
    },
    async teardown() {
      closeDevice(pair?.device);
      await pair?.close();
    },
  };
}

/** Time from a committed write on `writer` until `reader` reports it, per update. */
async function liveUpdates(
  n: number,
  writer: BenchDevice,
  reader: BenchDevice,
  push: () => void,
  tally: Tally,
  round: number,
): Promise<void> {
  const notes = writer.db.collection('live');
  for (let i = 0; i < n; i++) {
    const id = `r${round}-u${i}`;
    let resolve: () => void = () => {};
    const seen = new Promise<void>((r) => {
      resolve = r;
    });
    const off = reader.db.onChange((changes, origin) => {
      if (origin === 'remote' && changes.some((c) => c.collection === 'live' && c.id === id)) resolve();
    });
    const started = performance.now();
    notes.put(id, { i, round });
    writer.db.commit();
    push();
    await seen;
    tally.latenciesMs.push(performance.now() - started);
    off();
  }
}

/** Live updates through a hub: the writer pushes, the reader hears the event stream. */
function hubLiveCase(n: number, env: CaseEnv): BenchCase & { tally: Tally } {
  const tally: Tally = { wireBytes: [], latenciesMs: [], cpuMs: [] };
  let hub: CountedHub | undefined;
  let writer: BenchDevice | undefined;
  let reader: BenchDevice | undefined;
  let clients: HubClient[] = [];
  let round = 0;
  return {
    tally,
    async setup() {
      hub = await startCountedHub(env.freshDir('hub'));
      writer = benchDevice(3);
      reader = benchDevice(4);
      const notes = writer.db.collection('notes');
      for (let i = 0; i < LIVE_SOURCE_ENTRIES; i++) notes.put(`doc-${i}`, { i });
      writer.db.commit();
      admit(hub.hub, writer);
      clients = [hubClientOf(hub.url, writer), hubClientOf(hub.url, reader)];
      for (const c of clients) c.start();
      const author = writer.identity.publicKey;
      await until('the live devices to sync', () => heldOf(reader!, author) >= LIVE_SOURCE_ENTRIES);
      // The reader's event stream is open once the hub counts it.
      await until('the reader event stream', () => hub!.hub.streams.count >= 2);
    },
    async beforeSample() {},
    async sample() {
      await liveUpdates(
        Math.min(n, LIVE_UPDATES_MAX),
        writer!,
        reader!,
        () => clients[0]!.pushLocal(),
        tally,
        round++,
      );
    },
    async afterSample() {},
    async teardown() {
      for (const c of clients) await c.close();
      closeDevice(writer);
      closeDevice(reader);
      await hub?.close();
    },
  };
}

/** Live updates over an open data channel. */
function webrtcLiveCase(n: number): BenchCase & { tally: Tally } {
  const tally: Tally = { wireBytes: [], latenciesMs: [], cpuMs: [] };
  let pair: WebRtcPair | undefined;
  let round = 0;
  return {
    tally,
    async setup() {
      pair = await openWebRtcPair(benchDevice(5), benchDevice(6));
    },
    async beforeSample() {},
    async sample() {
      const { a, b } = pair!;
      await liveUpdates(
        Math.min(n, LIVE_UPDATES_MAX),
        a.device,
        b.device,
        () => a.connection.pushLocal(),
        tally,
        round++,
      );
    },
    async afterSample() {},
    async teardown() {
      if (pair === undefined) return;
      closeDevice(pair.a.device);
      closeDevice(pair.b.device);
      await pair.close();
    },
  };
}

type CaseMaker = (n: number, env: CaseEnv) => BenchCase & { tally: Tally };

function workload(name: string, make: CaseMaker, live: boolean): Workload {
  const tallies = new Map<number, Tally>();
  return {
    name,
    systems: ['aregula'],
    opsPerSample: (n) => (live ? Math.min(n, LIVE_UPDATES_MAX) : n),
    rssNotMeasured: 'sync cases open sockets, data channels and directories; measured in-process only',
    skip(_system: string, n: number): string | undefined {
      if (!live || n <= LIVE_SIZE_MAX) return undefined;
      return `the latency does not depend on n; measured at n <= ${LIVE_SIZE_MAX}`;
    },
    fields(n: number): RowFields {
      const tally = tallies.get(n);
      if (live) return { unit: 'update', latency_ms: round2(median(tally?.latenciesMs ?? [])) };
      return initialFields(n, tally);
    },
    createCase(system: string, n: number, env: CaseEnv): BenchCase {
      assert(system === 'aregula', `${name} has no system ${system}`);
      // The harness numbers directories per group under one root: name them per group too.
      const c = make(n, { freshDir: (label) => env.freshDir(`${name}-${n}-${label}`) });
      tallies.set(n, c.tally);
      return c;
    },
  };
}

/** Every workload of the suite. */
export function syncWorkloads(): Workload[] {
  return [
    workload(SYNC_WORKLOADS.memory, memoryCase, false),
    workload(SYNC_WORKLOADS.hub, hubCase, false),
    workload(SYNC_WORKLOADS.webrtc, webrtcCase, false),
    workload(SYNC_WORKLOADS.hubLive, hubLiveCase, true),
    workload(SYNC_WORKLOADS.webrtcLive, (n) => webrtcLiveCase(n), true),
  ];
}

/** The `sync` suite. */
export const syncSuite: Suite = {
  name: 'sync',
  description:
    'initial sync of n entries to a fresh device (in memory, from a hub over loopback HTTP, over WebRTC) and live-update latency',
  systems: ['aregula'],
  full: { sizes: [1_000, 10_000, 100_000], warmupSamples: 1, samples: 3 },
  quick: { sizes: [1_000], warmupSamples: 1, samples: 3 },
  async open(): Promise<OpenedSuite> {
    return { workloads: syncWorkloads(), notes: [] };
  },
};
