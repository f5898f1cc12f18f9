import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterEach, describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../engine/errors.ts';
import { SeededRandom } from '../engine/io/random.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { HubClient } from '../engine/sync/hub-client.ts';
import { encodeMessage } from '../engine/sync/messages.ts';
import { createHubApp } from './app.ts';
import {
  addCorsHeaders,
  CORS_EXPOSED_HEADERS,
  CORS_ORIGINS_MAX,
  CORS_REQUEST_HEADERS,
  checkCorsOrigins,
  preflight,
} from './cors.ts';
import { HubError } from './hub-error.ts';
import { memoryLog } from './log.ts';
import { startHubServer } from './server.ts';
import {
  identityOf,
  login,
  makeDevice,
  openTestHub,
  type TestDevice,
  type TestHub,
  writeDocs,
} from './testing.ts';

const owner = identityOf(1);
const APP = 'https://app.example.com';
const DEV = 'http://localhost:5173';
let hubs: TestHub[] = [];
afterEach(() => {
  for (const h of hubs) h.close();
  hubs = [];
});

function newHub(corsOrigins?: readonly string[]): TestHub {
  const t = openTestHub(owner, {}, corsOrigins === undefined ? {} : { corsOrigins });
  hubs.push(t);
  return t;
}

function preflightRequest(t: TestHub, origin: string, path = '/v1/sync'): Promise<Response> {
  return Promise.resolve(
    t.app.request(path, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    }),
  );
}

describe('checkCorsOrigins', () => {
  test('takes origins as a browser sends them', () => {
    const set = checkCorsOrigins([APP, DEV, 'http://127.0.0.1:8080', 'http://[::1]:3000']);
    expect([...set]).toEqual([APP, DEV, 'http://127.0.0.1:8080', 'http://[::1]:3000']);
  });

  test.each([
    '*',
    'null',
    'https://app.example.com/',
    'https://app.example.com/path',
    'HTTPS://APP.EXAMPLE.COM',
    'ftp://app.example.com',
    'app.example.com',
    'https://*.example.com',
    '',
  ])('refuses %j', (origin) => {
    expect(() => checkCorsOrigins([origin])).toThrow(InvalidArgumentError);
  });

  test('refuses more than the maximum', () => {
    const many = Array.from({ length: CORS_ORIGINS_MAX + 1 }, (_, i) => `http://host${i}.example`);
    expect(() => checkCorsOrigins(many)).toThrow(InvalidArgumentError);
    expect(checkCorsOrigins(many.slice(1)).size).toBe(CORS_ORIGINS_MAX);
  });

  test('a hub app with a bad list does not start', () => {
    const t = newHub();
    expect(() => createHubApp(t.hub, t.state, { corsOrigins: ['*'] })).toThrow(InvalidArgumentError);
  });
});

describe('CORS decisions against a model', () => {
  const origin = fc.oneof(
    fc.constantFrom(APP, DEV, 'https://app.example.co', 'https://app.example.com.evil.test', 'null'),
    fc.string({ maxLength: 40 }),
  );
  fcTest.prop([fc.uniqueArray(fc.constantFrom(APP, DEV, 'http://a.test'), { maxLength: 3 }), origin])(
    'an answer allows exactly the listed origins, and a preflight is refused for the rest',
    (listed, from) => {
      const allowed = checkCorsOrigins(listed);
      const res = new Response('x');
      addCorsHeaders(allowed, from, res);
      const expected = (listed as readonly string[]).includes(from);
      expect(res.headers.get('access-control-allow-origin')).toBe(expected ? from : null);
      expect(res.headers.get('vary')).toBe('Origin');
      const request = { method: 'OPTIONS', origin: from, requestMethod: 'POST' };
      if (expected) expect(preflight(allowed, request)?.status).toBe(204);
      else expect(() => preflight(allowed, request)).toThrow(HubError);
      // Not a preflight: left to the API.
      expect(preflight(allowed, { ...request, requestMethod: undefined })).toBeUndefined();
      expect(preflight(allowed, { ...request, method: 'GET' })).toBeUndefined();
    },
  );
});

describe('the hub without CORS origins (the default)', () => {
  test('answers no preflight and adds no CORS headers', async () => {
    const t = newHub();
    const pre = await preflightRequest(t, APP);
    expect(pre.status).toBe(404);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const health = await t.app.request('/v1/health', { headers: { origin: APP } });
    expect(health.status).toBe(200);
    expect(health.headers.get('access-control-allow-origin')).toBeNull();
    expect(health.headers.get('vary')).toBeNull();
  });
});

describe('the hub with CORS origins', () => {
  test('a preflight from a listed origin gets the methods and headers the API uses', async () => {
    const t = newHub([APP, DEV]);
    for (const path of ['/v1/sync', '/v1/events', '/v1/auth/session', '/v1/signals']) {
      const res = await preflightRequest(t, DEV, path);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(DEV);
      expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST');
      expect(res.headers.get('access-control-allow-headers')).toBe(CORS_REQUEST_HEADERS);
      expect(res.headers.get('vary')).toContain('Origin');
    }
  });

  test('a preflight from another origin is refused with a reason', async () => {
    const t = newHub([APP]);
    const res = await preflightRequest(t, 'https://evil.example');
    expect(res.status).toBe(403);
    expect(res.headers.get('aregula-error')).toBe('origin_not_allowed');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await res.json()) as { error: string }).error).toBe('origin_not_allowed');
  });

  test('answers, refusals and the event stream carry the headers for a listed origin only', async () => {
    const t = newHub([APP]);
    const device = makeDevice(owner, 10);
    const token = await login(t, device);
    const hello = encodeMessage({ type: 'hello', stateVector: new Map(), heads: new Map() });
    const sync = (origin: string, auth = `Bearer ${token}`) =>
      t.app.request('/v1/sync', {
        method: 'POST',
        headers: { origin, authorization: auth, 'content-type': 'application/x-aregula-sync' },
        body: hello as Uint8Array<ArrayBuffer>,
      });
    const ok = await sync(APP);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-expose-headers')).toBe(CORS_EXPOSED_HEADERS);
    const refused = await sync(APP, 'Bearer nope');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
    expect(refused.headers.get('aregula-error')).toBe('bad_token');
    // Another origin is served as before, without the headers: the browser keeps the answer from the page.
    const other = await sync('https://evil.example');
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const events = await t.app.request('/v1/events', {
      headers: { origin: APP, authorization: `Bearer ${token}` },
    });
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    expect(events.headers.get('access-control-allow-origin')).toBe(APP);
    await events.body?.cancel();
    device.db.close();
  });

  test('a shutting-down hub still says which origin may read its refusal', async () => {
    const t = newHub([APP]);
    t.state.draining = true;
    const res = await t.app.request('/v1/auth/challenge', { method: 'POST', headers: { origin: APP } });
    expect(res.status).toBe(503);
    expect(res.headers.get('aregula-error')).toBe('shutting_down');
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
  });
});

describe('CORS over a real socket (startHubServer)', () => {
  test('preflights, answers and the event stream carry the headers through Node’s HTTP server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aregula-cors-'));
    const server = await startHubServer({
      dataDir: dir,
      port: 0,
      owner: owner.publicKey,
      log: memoryLog(),
      corsOrigins: [APP],
    });
    try {
      const pre = await fetch(`${server.url}/v1/events`, {
        method: 'OPTIONS',
        headers: { origin: APP, 'access-control-request-method': 'GET' },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe(APP);
      const health = await fetch(`${server.url}/v1/health`, { headers: { origin: APP } });
      expect(health.status).toBe(200);
      expect(health.headers.get('access-control-allow-origin')).toBe(APP);
      const refused = await fetch(`${server.url}/v1/events`, { headers: { origin: APP } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
      expect(refused.headers.get('access-control-expose-headers')).toBe(CORS_EXPOSED_HEADERS);
      await refused.body?.cancel();
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a server with a bad list refuses to start and leaves its data directory closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aregula-cors-'));
    try {
      const start = { dataDir: dir, port: 0, owner: owner.publicKey, log: memoryLog() };
      await expect(startHubServer({ ...start, corsOrigins: ['*'] })).rejects.toThrow(InvalidArgumentError);
      // The replica was closed: the directory opens again at once.
      const server = await startHubServer(start);
      await server.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Request headers a browser sends without a preflight (with any value, for these tests' requests). */
const SAFELISTED = new Set(['accept', 'accept-language', 'content-language']);
const SIMPLE_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

/**
 * A `fetch` that behaves as a browser page on `origin` calling another origin: a preflight
 * before any request that needs one, and a network error unless the answers allow `origin`.
 */
function browserFetch(origin: string, server: (r: Request) => Response | Promise<Response>): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const unsafe = [...request.headers.keys()].filter(
      (h) =>
        !SAFELISTED.has(h) &&
        !(h === 'content-type' && SIMPLE_TYPES.has(request.headers.get(h)!.split(';')[0]!.trim())),
    );
    if (unsafe.length > 0 || !['GET', 'HEAD', 'POST'].includes(request.method)) {
      const pre = await server(
        new Request(request.url, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': request.method,
            'access-control-request-headers': unsafe.sort().join(','),
          },
        }),
      );
      const allowed = (pre.headers.get('access-control-allow-headers') ?? '').split(/,\s*/);
      if (
        pre.status < 200 ||
        pre.status > 299 ||
        pre.headers.get('access-control-allow-origin') !== origin ||
        !(pre.headers.get('access-control-allow-methods') ?? '').includes(request.method) ||
        !unsafe.every((h) => allowed.includes(h))
      )
        throw new TypeError(`Failed to fetch: CORS preflight for ${request.method} ${request.url}`);
    }
    const headers = new Headers(request.headers);
    headers.set('origin', origin);
    const res = await server(new Request(request, { headers }));
    if (res.headers.get('access-control-allow-origin') !== origin) {
      await res.body?.cancel();
      throw new TypeError(`Failed to fetch: CORS for ${request.method} ${request.url}`);
    }
    return res;
  }) as typeof fetch;
}

describe('a hub client in a page on another origin', () => {
  function clientOf(t: TestHub, device: TestDevice, origin: string): HubClient {
    return new HubClient({
      url: 'http://hub.local',
      replica: device.db.replica,
      identity: device.identity,
      certificate: device.certificate,
      signer: nodeSigner,
      random: new SeededRandom(device.identity.publicKey[0]!),
      fetch: browserFetch(origin, (r) => t.app.fetch(r)),
      backoffMsMin: 20,
      backoffMsMax: 50,
    });
  }

  test('syncs two devices, live, through a hub that lists its origin', async () => {
    const t = newHub([APP]);
    const a = makeDevice(owner, 20);
    const b = makeDevice(owner, 21);
    writeDocs(a, 'a', 20);
    const [ca, cb] = [clientOf(t, a, APP), clientOf(t, b, APP)];
    ca.start();
    cb.start();
    try {
      await Promise.all([ca.synced(), cb.synced()]);
      writeDocs(b, 'b', 5);
      cb.pushLocal();
      for (let i = 0; a.db.stateHash() !== b.db.stateHash(); i++) {
        expect(i).toBeLessThan(500);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(ca.stats.eventsApplied).toBeGreaterThan(0);
    } finally {
      await Promise.all([ca.close(), cb.close()]);
      a.db.close();
      b.db.close();
    }
  });

  test('gets nowhere with a hub that does not list its origin', async () => {
    const t = newHub([DEV]);
    const a = makeDevice(owner, 22);
    writeDocs(a, 'a', 5);
    const statuses: string[] = [];
    const c = new HubClient({
      url: 'http://hub.local',
      replica: a.db.replica,
      identity: a.identity,
      certificate: a.certificate,
      signer: nodeSigner,
      random: new SeededRandom(1),
      fetch: browserFetch(APP, (r) => t.app.fetch(r)),
      backoffMsMin: 20,
      backoffMsMax: 50,
      onStatus: (s) => statuses.push(s),
    });
    c.start();
    try {
      for (let i = 0; c.stats.failures < 2; i++) {
        expect(i).toBeLessThan(500);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(statuses).not.toContain('synced');
      expect(t.hub.index.end).toBe(0);
    } finally {
      await c.close();
      a.db.close();
    }
  });
});
