import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { SeededRandom } from '../engine/io/random.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { toBase64Url } from '../engine/sync/base64.ts';
import { HubClient, type HubClientOptions, type HubClientStatus } from '../engine/sync/hub-client.ts';
import { issueRevocation } from '../engine/sync/pairing.ts';
import { identityOf, makeDevice, openTestHub, type TestDevice, type TestHub, writeDocs } from './testing.ts';

const owner = identityOf(1);
let hubs: TestHub[] = [];
let clients: HubClient[] = [];
afterEach(async () => {
  for (const c of clients) await c.close();
  for (const h of hubs) h.close();
  hubs = [];
  clients = [];
});

function client(device: TestDevice, options: Partial<HubClientOptions> & { url: string }): HubClient {
  const c = new HubClient({
    replica: device.db.replica,
    identity: device.identity,
    certificate: device.certificate,
    signer: nodeSigner,
    random: new SeededRandom(7),
    backoffMsMin: 5,
    backoffMsMax: 100,
    resyncIntervalMs: 2_000,
    ...options,
  });
  clients.push(c);
  return c;
}

/** Waits (bounded) until `cond` holds; fails with `what` otherwise. */
async function until(cond: () => boolean, what: string, rounds = 3000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never happened: ${what}`);
}

describe('hub client, in process', () => {
  test('two devices writing concurrently converge through the hub, live', async () => {
    const t = openTestHub(owner);
    hubs.push(t);
    const a = makeDevice(owner, 10);
    const b = makeDevice(owner, 11);
    const statuses: HubClientStatus[] = [];
    const ca = client(a, { url: 'http://hub.local', fetch: t.fetch, onStatus: (s) => statuses.push(s) });
    const cb = client(b, { url: 'http://hub.local', fetch: t.fetch });
    ca.start();
    cb.start();
    await Promise.all([ca.synced(), cb.synced()]);
    for (let round = 0; round < 5; round++) {
      writeDocs(a, `a${round}`, 30);
      writeDocs(b, `b${round}`, 30);
      a.db.collection('shared').patch('doc', { [`a${round}`]: round });
      b.db.collection('shared').patch('doc', { [`b${round}`]: round });
      ca.pushLocal();
      cb.pushLocal();
    }
    a.db.commit();
    b.db.commit();
    ca.pushLocal();
    cb.pushLocal();
    await until(
      () => a.db.stateHash() === b.db.stateHash() && t.hub.stateHash() === a.db.stateHash(),
      'a, b and the hub hold the same documents',
    );
    expect(b.db.collection('shared').get('doc')).toMatchObject({ a4: 4, b4: 4 });
    expect(statuses).toContain('synced');
    expect(ca.stats.eventsApplied + cb.stats.eventsApplied).toBeGreaterThan(0);
  });

  test('a revoked device stops, with status revoked', async () => {
    const t = openTestHub(owner);
    hubs.push(t);
    const a = makeDevice(owner, 10);
    const ca = client(a, { url: 'http://hub.local', fetch: t.fetch });
    ca.start();
    await ca.synced();
    const revocation = issueRevocation({
      owner,
      device: a.identity.publicKey,
      revokedAtMs: 1,
      signer: nodeSigner,
    });
    await t.app.request('/v1/devices/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ revocation: toBase64Url(revocation.bytes) }),
    });
    await until(() => ca.status === 'revoked', 'the client notices the revocation');
  });

  test('a hub restart voids the token; the client logs in again and goes on', async () => {
    const t = openTestHub(owner);
    hubs.push(t);
    const a = makeDevice(owner, 10);
    const ca = client(a, { url: 'http://hub.local', fetch: t.fetch });
    ca.start();
    await ca.synced();
    t.reopen();
    writeDocs(a, 'after', 10);
    ca.pushLocal();
    await until(() => t.hub.stateHash() === a.db.stateHash(), 'the hub gets the writes after its restart');
    expect(ca.stats.authentications).toBeGreaterThanOrEqual(2);
  });

  test('a session the hub forgot is renewed at once, with no error or offline status', async () => {
    const t = openTestHub(owner);
    hubs.push(t);
    const a = makeDevice(owner, 10);
    const refusing = new RefusingFetch(t.fetch);
    const statuses: HubClientStatus[] = [];
    const ca = client(a, {
      url: 'http://hub.local',
      fetch: refusing.fetch,
      onStatus: (s) => statuses.push(s),
    });
    ca.start();
    await ca.synced();
    expect(ca.stats.authentications).toBe(1);
    // The hub forgets every session issued so far, as it does when it restarts.
    refusing.forgetSessions();
    const since = statuses.length;
    writeDocs(a, 'after', 10);
    ca.pushLocal();
    await until(() => t.hub.stateHash() === a.db.stateHash(), 'the hub gets the writes under a new session');
    await ca.synced();
    expect(refusing.refused).toBeGreaterThanOrEqual(1);
    expect(ca.stats.authentications).toBe(2);
    expect(statuses.slice(since)).not.toContain('error');
    expect(statuses.slice(since)).not.toContain('offline');
    expect(ca.stats.failures).toBe(0);
  });

  test('a 401 that a fresh login does not cure is an error, retried with backoff, not in a loop', async () => {
    const t = openTestHub(owner);
    hubs.push(t);
    const a = makeDevice(owner, 10);
    const refusing = new RefusingFetch(t.fetch);
    const events: { status: HubClientStatus; code: string | undefined }[] = [];
    const ca = client(a, {
      url: 'http://hub.local',
      fetch: refusing.fetch,
      onStatus: (status, err) => events.push({ status, code: err?.code }),
    });
    ca.start();
    await ca.synced();
    refusing.refuseAllSyncs = true;
    writeDocs(a, 'refused', 3);
    ca.pushLocal();
    await until(() => ca.stats.failures >= 3, 'three failed rounds');
    expect(events).toContainEqual({ status: 'error', code: 'bad_token' });
    // One login per failed round (plus the first): a refused session is not retried in a loop.
    expect(ca.stats.authentications).toBeLessThanOrEqual(ca.stats.failures + 2);
    refusing.refuseAllSyncs = false;
    await until(() => t.hub.stateHash() === a.db.stateHash(), 'the writes land once the hub accepts again');
  });
});

/**
 * An in-process hub's `fetch` behind a gate that answers `401 bad_token` (the hub's own answer
 * for a session it does not know) to chosen requests, before the hub sees them.
 */
class RefusingFetch {
  private readonly seen = new Set<string>();
  private readonly forgotten = new Set<string>();
  /** Every `POST /v1/sync` is refused, whatever its token. */
  refuseAllSyncs = false;
  /** Requests answered 401 so far. */
  refused = 0;
  readonly fetch: typeof fetch;

  constructor(inner: typeof fetch) {
    this.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const token = request.headers.get('authorization')?.replace(/^Bearer /, '');
      if (token !== undefined) this.seen.add(token);
      const sync = request.method === 'POST' && new URL(request.url).pathname === '/v1/sync';
      if ((token !== undefined && this.forgotten.has(token)) || (sync && this.refuseAllSyncs)) {
        this.refused++;
        return Response.json({ error: 'bad_token', message: 'unknown session token' }, { status: 401 });
      }
      return inner(request);
    }) as typeof fetch;
  }

  /** Refuses, from now on, every token presented so far. */
  forgetSessions(): void {
    for (const token of this.seen) this.forgotten.add(token);
  }
}

// ---- msw: a misbehaving relay in front of a real (in-process) hub ------------------------------

const RELAY = 'http://relay.test';
const relaySeed = Number(process.env.AREGULA_RELAY_SEED ?? 42);
let relayHub: TestHub | undefined;
const faults = {
  random: new SeededRandom(1),
  cutRandom: new SeededRandom(2),
  cutRate: 0,
  failRate: 0,
  slowRate: 0,
  dropRate: 0,
  truncateRate: 0,
  dupRate: 0,
};
const seen = { errors500: 0, slow: 0, dropped: 0, truncated: 0, duplicated: 0, answersCut: 0 };

let requestCount = 0;
let streamCount = 0;

function sabotageStream(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let events = 0;
  // Besides the random faults, the first two streams surely break: one dropped, one truncated.
  const stream = ++streamCount;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      events++;
      const r = faults.random;
      // The first event after a stream's opening one surely comes twice until one has, before
      // any break is drawn: streams broken early never reached a third event (seeds 3, 16 and
      // 27 of 1..40 then saw no duplicate). The stream's sure break comes at its next event.
      if (events > 1 && faults.dupRate > 0 && seen.duplicated === 0) {
        seen.duplicated++;
        controller.enqueue(value);
        controller.enqueue(value.slice());
        return;
      }
      if (events > 1 && (r.next() < faults.dropRate || (stream === 1 && faults.dropRate > 0))) {
        seen.dropped++;
        await reader.cancel();
        return controller.close();
      }
      if (events > 1 && (r.next() < faults.truncateRate || (stream === 2 && faults.truncateRate > 0))) {
        seen.truncated++;
        controller.enqueue(value.subarray(0, Math.max(1, value.length >> 1)));
        await reader.cancel();
        return controller.close();
      }
      controller.enqueue(value);
      // Every third event surely comes twice, besides the random duplicates.
      if (r.next() < faults.dupRate || (faults.dupRate > 0 && events % 3 === 0)) {
        seen.duplicated++;
        controller.enqueue(value.slice());
      }
    },
    async cancel() {
      await reader.cancel();
    },
  });
}

/**
 * A sync answer that breaks off inside its first chunk (the hub streams pull answers, so the
 * client applies what arrived whole and must notice the cut).
 */
function cutAnswer(body: ReadableStream<Uint8Array>, keep: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (!done && value.length > 0) {
        seen.answersCut++;
        controller.enqueue(value.subarray(0, Math.min(value.length - 1, Math.floor(value.length * keep))));
      }
      await reader.cancel();
      controller.close();
    },
    cancel: () => reader.cancel(),
  });
}

const server = setupServer(
  http.all(`${RELAY}/*`, async ({ request }) => {
    const hub = relayHub!;
    const r = faults.random;
    const k = ++requestCount;
    // Every tenth request surely fails, besides the random ones: with random failures alone,
    // some seeds (33 of 1..40) drew none, and the test's check that a 500 happened failed.
    if (r.next() < faults.failRate || (faults.failRate > 0 && k % 10 === 7)) {
      seen.errors500++;
      return HttpResponse.json({ error: 'internal', message: 'relay failed' }, { status: 500 });
    }
    // Every tenth request is surely slow, besides the random ones.
    if (r.next() < faults.slowRate || (faults.slowRate > 0 && k % 10 === 3)) {
      seen.slow++;
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    const url = new URL(request.url);
    const res = await hub.app.fetch(new Request(`http://hub.local${url.pathname}`, request));
    // Sometimes the hub did the work and the answer is lost on the way back.
    if (url.pathname === '/v1/sync' && r.next() < faults.failRate) {
      seen.errors500++;
      return HttpResponse.json({ error: 'internal', message: 'relay lost the answer' }, { status: 502 });
    }
    // Besides the random cuts, answers are surely cut until one with content was.
    // (Drawn from a random source of their own, so that the other faults stay as they were.)
    const c = faults.cutRandom;
    const cut = c.next() < faults.cutRate || (faults.cutRate > 0 && seen.answersCut === 0);
    if (url.pathname === '/v1/sync' && res.body !== null && res.status === 200 && cut)
      return new Response(cutAnswer(res.body, c.next()), { status: 200, headers: res.headers });
    if (url.pathname === '/v1/events' && res.body !== null && res.status === 200)
      return new Response(sabotageStream(res.body), { status: 200, headers: res.headers });
    return res;
  }),
);

/**
 * Starts both clients, writes ten rounds of 15 documents on each device (pushing after each),
 * and waits until both devices and the relay's hub hold the same state.
 */
async function writeUntilConverged(
  [a, ca]: [TestDevice, HubClient],
  [b, cb]: [TestDevice, HubClient],
  what: string,
): Promise<void> {
  ca.start();
  cb.start();
  for (let round = 0; round < 10; round++) {
    writeDocs(a, `a${round}`, 15);
    writeDocs(b, `b${round}`, 15);
    ca.pushLocal();
    cb.pushLocal();
    await new Promise((r) => setTimeout(r, 20));
  }
  const hub = relayHub!;
  await until(() => a.db.stateHash() === b.db.stateHash() && hub.hub.stateHash() === a.db.stateHash(), what);
}

describe('hub client against a misbehaving relay (msw)', () => {
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());

  test('500s, slow answers, dropped, truncated and duplicated events: the clients recover and converge', async () => {
    relayHub = openTestHub(owner);
    hubs.push(relayHub);
    Object.assign(faults, {
      random: new SeededRandom(relaySeed),
      failRate: 0.15,
      slowRate: 0.05,
      dropRate: 0.1,
      truncateRate: 0.1,
      dupRate: 0.2,
    });
    const a = makeDevice(owner, 10);
    const b = makeDevice(owner, 11);
    const ca = client(a, { url: RELAY, requestTimeoutMs: 250 });
    const cb = client(b, { url: RELAY, requestTimeoutMs: 250 });
    const hub = relayHub;
    await writeUntilConverged(
      [a, ca],
      [b, cb],
      `convergence through the relay, seed ${relaySeed} (replay: AREGULA_RELAY_SEED=${relaySeed}; faults so far: ${JSON.stringify(seen)})`,
    );
    expect(hub.hub.index.end).toBe(300);
    // The faults really happened.
    expect(seen.errors500).toBeGreaterThan(0);
    expect(seen.slow).toBeGreaterThan(0);
    expect(seen.duplicated).toBeGreaterThan(0);
    expect(seen.dropped + seen.truncated).toBeGreaterThan(0);
    expect(ca.stats.failures + cb.stats.failures).toBeGreaterThan(0);
    // Live updates still flow once the relay calms down.
    Object.assign(faults, { failRate: 0, slowRate: 0, dropRate: 0, truncateRate: 0, dupRate: 0, cutRate: 0 });
    writeDocs(a, 'calm', 5);
    ca.pushLocal();
    await until(() => b.db.stateHash() === a.db.stateHash(), 'b sees a’s last writes');
  });

  test('sync answers cut off at random points (the hub streams them): the clients recover and converge', async () => {
    relayHub = openTestHub(owner, { limits: { pullFirstStepBytes: 1024, pullStepBytes: 2048 } });
    hubs.push(relayHub);
    seen.answersCut = 0;
    Object.assign(faults, { cutRandom: new SeededRandom(relaySeed), cutRate: 0.3 });
    const a = makeDevice(owner, 20);
    const b = makeDevice(owner, 21);
    const ca = client(a, { url: RELAY, backoffMsMin: 5, backoffMsMax: 50 });
    const cb = client(b, { url: RELAY, backoffMsMin: 5, backoffMsMax: 50 });
    const hub = relayHub;
    await writeUntilConverged(
      [a, ca],
      [b, cb],
      `convergence through the cutting relay, seed ${relaySeed} (cuts so far: ${seen.answersCut})`,
    );
    expect(hub.hub.index.end).toBe(300);
    expect(seen.answersCut).toBeGreaterThan(0);
    expect(ca.stats.failures + cb.stats.failures).toBeGreaterThan(0);
    faults.cutRate = 0;
  });
});
