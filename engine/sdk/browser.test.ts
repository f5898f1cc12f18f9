import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
// @ts-expect-error: a plain JavaScript build script without type declarations.
import { buildBrowser } from '../../scripts/build-browser.mjs';
import { CHROMIUM, CHROMIUM_ARGS, ensureChromium, PROVISION_TIMEOUT_MS } from '../../test/chromium.ts';
import {
  certify,
  type HubProcess,
  killAll,
  REPO_DIR,
  startHub,
  tempDir,
  testIdentity,
  untilAsync,
} from '../../test/sdk-hub.ts';
import { hexToBytes } from '../hex.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { SeededRandom } from '../io/random.ts';
import { nodeSigner } from '../log/node-signer.ts';
import { toBase64Url } from '../sync/base64.ts';
import { issueCertificate } from '../sync/pairing.ts';
import { nodePlatform } from './node.ts';
import { type AregulaDb, open } from './open.ts';

const backoff = { delayMsMin: 20, delayMsMax: 300 };

/** The page: an RPC bridge to the worker (`worker.*`) and an SDK instance on the page (`page.*`). */
const INDEX_HTML = `<!doctype html><meta charset="utf-8"><title>aregula sdk test</title>
<script type="module">
import { open, MemoryFs, serveRtcBridge } from './aregula.js';
const worker = new Worker('./worker.js', { type: 'module' });
// The worker's peer connections live here: workers have no RTCPeerConnection.
const channel = new MessageChannel();
serveRtcBridge(channel.port1);
worker.postMessage({ rtcPort: channel.port2 }, [channel.port2]);
let next = 0;
const waiting = new Map();
worker.onmessage = ({ data }) => { const w = waiting.get(data.id); waiting.delete(data.id); data.error ? w.reject(new Error(data.error)) : w.resolve(data.value); };
window.worker = (cmd, arg) => new Promise((resolve, reject) => { const id = next++; waiting.set(id, { resolve, reject }); worker.postMessage({ id, cmd, arg }); });
let db;
window.page = {
  async open() { db = await open({ storage: new MemoryFs() }); return db.deviceId; },
  connectPeer(peer, certificate) { db.sync.connectPeer(peer, { hub: location.origin, certificate, backoff: ${JSON.stringify(backoff)} }); },
  write(prefix, n) { for (let i = 0; i < n; i++) db.collection('notes').put(prefix + '-' + i, { by: prefix, i }); },
  state() { return { hash: db.stateHash(), count: [...db.collection('notes').all()].length, peers: db.sync.state.peers }; },
  async close() { await db.close(); },
};
window.ready = true;
</script>`;

const WORKER_JS = `import { open, OpfsFs, workerPlatform } from './aregula.js';
let db;
let storage;
let rtcPort;
const commands = {
  async open({ name, bridge }) {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle(name, { create: true });
    storage = await OpfsFs.open(dir);
    db = await open({ storage, platform: bridge ? workerPlatform(rtcPort) : undefined });
    return { deviceId: db.deviceId, rtc: typeof RTCPeerConnection };
  },
  connect({ certificate }) {
    db.sync.connect(location.origin, { certificate, backoff: ${JSON.stringify(backoff)} });
  },
  connectPeer({ peer, certificate }) {
    db.sync.connectPeer(peer, { hub: location.origin, certificate, backoff: ${JSON.stringify(backoff)} });
  },
  write({ prefix, n }) {
    db.transaction((tx) => { for (let i = 0; i < n; i++) tx.put('notes', prefix + '-' + i, { by: prefix, i }); });
    for (let i = 0; i < n; i++) db.collection('shared').patch('doc', { [prefix]: i });
  },
  state() {
    const notes = [...db.collection('notes').all()].length;
    return { hash: db.stateHash(), count: notes, hub: db.sync.state.hub, peers: db.sync.state.peers };
  },
  async close() {
    await db.close();
    storage.close(); // the pool's access handles: the database does not own its storage
  },
};
self.onmessage = async ({ data }) => {
  if (data.rtcPort) {
    rtcPort = data.rtcPort;
    return;
  }
  try { self.postMessage({ id: data.id, value: await commands[data.cmd](data.arg) }); }
  catch (err) { self.postMessage({ id: data.id, error: String(err && err.message || err) }); }
};`;

/** Serves the page, the worker and the bundle, and forwards `/v1/*` to the hub (streaming). */
function startSite(bundle: string, conformance: string, hub: () => HubProcess): Promise<Server> {
  const files: Record<string, [string, string]> = {
    '/': ['text/html', INDEX_HTML],
    '/worker.js': ['text/javascript', WORKER_JS],
    '/aregula.js': ['text/javascript', readFileSync(bundle, 'utf8')],
    '/conformance.js': ['text/javascript', readFileSync(conformance, 'utf8')],
  };
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/v1/')) {
      const h = hub();
      const up = request(
        { host: '127.0.0.1', port: h.port, path: url, method: req.method, headers: req.headers },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(up);
      res.on('close', () => up.destroy());
      return;
    }
    const file = files[url];
    if (url === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('the SDK in headless Chromium', () => {
  const owner = testIdentity(500);
  let context: BrowserContext;
  let profile: string;
  let hub: HubProcess;
  let site: Server;
  let page: Page;
  const errors: string[] = [];
  const nodeDbs: AregulaDb[] = [];

  beforeAll(async () => {
    ensureChromium();
    const dist = tempDir('browser-dist');
    const build = buildBrowser as (
      d: string,
      e?: string,
      a?: Record<string, string>,
    ) => Promise<{ outfile: string }>;
    const built = (await build(dist)).outfile;
    const tests = join(REPO_DIR, 'engine', 'sdk', 'browser-tests');
    const conformance = (
      await build(join(dist, 'conformance'), join(tests, 'opfs-conformance.ts'), {
        vitest: join(tests, 'vitest-shim.ts'),
      })
    ).outfile;
    hub = await startHub(owner.publicKey, tempDir('browser-hub'));
    site = await startSite(built, conformance, () => hub);
    profile = mkdtempSync(join(tmpdir(), 'aregula-sdk-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
    });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
    await page
      .waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, {
        timeout: 20_000,
      })
      .catch((err: Error) => {
        throw new Error(`the test page did not load: ${err.message}\n${errors.join('\n')}`);
      });
  }, PROVISION_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await Promise.all(nodeDbs.map((db) => db.close()));
    await context?.close();
    await new Promise((r) => (site ? site.close(r) : r(undefined)));
    killAll();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** Errors from the page lose their stacks: they name page URLs, which vitest cannot map to files. */
  const plain = (err: unknown): never => {
    throw new Error((err as Error).message);
  };
  const worker = <T>(cmd: string, arg: unknown = {}): Promise<T> =>
    page
      .evaluate(
        ([c, a]) =>
          (window as unknown as { worker: (c: string, a: unknown) => Promise<unknown> }).worker(c, a),
        [cmd, arg] as const,
      )
      .catch(plain) as Promise<T>;

  async function nodeDevice(n: number): Promise<{ db: AregulaDb; cert: Uint8Array }> {
    const identity = testIdentity(n);
    const db = await open({
      storage: new MemoryFs(),
      identity,
      platform: nodePlatform,
      random: new SeededRandom(n),
    });
    nodeDbs.push(db);
    return { db, cert: certify(owner, identity) };
  }

  const certFor = (deviceId: string) =>
    toBase64Url(
      issueCertificate({ owner, device: hexToBytes(deviceId), issuedAtMs: Date.now(), signer: nodeSigner })
        .bytes,
    );

  test('(a) a worker on OPFS syncs with a Node device through the hub, and keeps key and data', async () => {
    const opened = await worker<{ deviceId: string; rtc: string }>('open', { name: 'db-a' });
    expect(opened.deviceId).toMatch(/^[0-9a-f]{64}$/);
    // Why WebRTC is on the page: workers have no RTCPeerConnection.
    expect(opened.rtc).toBe('undefined');
    await expect(
      worker('connectPeer', { peer: 'ab'.repeat(32), certificate: certFor(opened.deviceId) }),
    ).rejects.toThrow(/no RTCPeerConnection/);
    await worker('connect', { certificate: certFor(opened.deviceId) });
    const node = await nodeDevice(501);
    node.db.sync.connect(hub.url, { certificate: node.cert, backoff });
    await worker('write', { prefix: 'browser', n: 300 });
    for (let i = 0; i < 200; i++) node.db.collection('notes').put(`node-${i}`, { by: 'node', i });
    node.db.collection('shared').patch('doc', { node: 1 });

    let state = { hash: '', count: 0, hub: '' };
    await untilAsync(
      'browser and node converge',
      async () => {
        state = await worker<typeof state>('state');
        return state.count === 500 && state.hash === node.db.stateHash();
      },
      45_000,
    );
    expect(state.hub).toMatch(/syncing|synced/);
    expect(node.db.collection('notes').get('browser-299')).toEqual({ by: 'browser', i: 299 });

    await worker('close');
    const again = await worker<{ deviceId: string }>('open', { name: 'db-a' });
    expect(again.deviceId).toBe(opened.deviceId);
    expect((await worker<typeof state>('state')).hash).toBe(node.db.stateHash());
    await worker('close');
    expect(errors).toEqual([]);
  }, 60_000);

  test('(b) the page and a Node device sync directly over WebRTC, signaling through the hub', async () => {
    const hubEntries = async () =>
      ((await (await fetch(`${hub.url}/v1/health`)).json()) as { entries: number }).entries;
    const entriesBefore = await hubEntries();
    const browserId = await page.evaluate(() =>
      (window as unknown as { page: { open(): Promise<string> } }).page.open(),
    );
    const node = await nodeDevice(502);
    const call = (fn: string, ...args: unknown[]) =>
      page.evaluate(
        ([f, a]) =>
          (window as unknown as { page: Record<string, (...x: unknown[]) => unknown> }).page[f]!(...a),
        [fn, args] as const,
      );
    await call('connectPeer', node.db.deviceId, certFor(browserId));
    node.db.sync.connectPeer(browserId, { hub: hub.url, certificate: node.cert, backoff });
    await call('write', 'page', 150);
    for (let i = 0; i < 120; i++) node.db.collection('notes').put(`node-${i}`, { by: 'node', i });

    let state = { hash: '', count: 0, peers: {} as Record<string, string> };
    await untilAsync(
      'page and node converge over WebRTC',
      async () => {
        state = (await call('state')) as typeof state;
        return state.count === 270 && state.hash === node.db.stateHash();
      },
      45_000,
    );
    expect(node.db.sync.isPeerOpen(browserId)).toBe(true);
    expect(state.peers[node.db.deviceId]).toMatch(/syncing|synced/);
    // The hub relayed signals only: the entries went over the data channel.
    expect(await hubEntries()).toBe(entriesBefore);
    await call('close');
    expect(errors).toEqual([]);
  }, 60_000);

  test('(c) the FileSystem conformance suite passes on real OPFS in a worker', async () => {
    const outcome = (await page
      .evaluate(
        () =>
          new Promise((resolve) => {
            const w = new Worker('./conformance.js', { type: 'module' });
            w.onmessage = ({ data }) => {
              w.terminate();
              resolve(data);
            };
            w.onerror = (e) => resolve({ error: e.message });
            w.postMessage('run');
          }),
      )
      .catch(plain)) as { results?: { name: string; ok: boolean; error?: string }[]; error?: string };
    expect(outcome.error).toBeUndefined();
    const results = outcome.results ?? [];
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(25);
    expect(results.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/OpfsFs \(Chromium OPFS\) > a fresh instance over the same storage/),
        expect.stringMatching(/matches a simple model on random operation sequences/),
      ]),
    );
  }, 60_000);

  test('(d) a worker on OPFS syncs with a Node device over WebRTC, the connection on the page', async () => {
    const hubEntries = async () =>
      ((await (await fetch(`${hub.url}/v1/health`)).json()) as { entries: number }).entries;
    const entriesBefore = await hubEntries();
    const opened = await worker<{ deviceId: string }>('open', { name: 'db-d', bridge: true });
    const node = await nodeDevice(503);
    await worker('connectPeer', { peer: node.db.deviceId, certificate: certFor(opened.deviceId) });
    node.db.sync.connectPeer(opened.deviceId, { hub: hub.url, certificate: node.cert, backoff });
    await worker('write', { prefix: 'worker', n: 100 });
    for (let i = 0; i < 90; i++) node.db.collection('notes').put(`node-${i}`, { by: 'node', i });
    let state = { hash: '', count: 0, peers: {} as Record<string, string> };
    await untilAsync(
      'worker and node converge over the bridged WebRTC link',
      async () => {
        state = await worker<typeof state>('state');
        return state.count === 190 && state.hash === node.db.stateHash();
      },
      45_000,
    );
    expect(node.db.sync.isPeerOpen(opened.deviceId)).toBe(true);
    expect(state.peers[node.db.deviceId]).toMatch(/online|syncing|synced/);
    expect(await hubEntries()).toBe(entriesBefore);
    await worker('close');
    expect(errors).toEqual([]);
  }, 60_000);
});
