/**
 * The hub's signaling relay: messages go from one paired device to another, and bad input
 * (unpaired or revoked devices, oversize, malformed, unknown receivers, floods) gets a 4xx
 * answer that changes nothing, while the hub stays up.
 */

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { toBase64Url } from '../engine/sync/base64.ts';
import { authorToHex } from '../engine/sync/messages.ts';
import { issueRevocation } from '../engine/sync/pairing.ts';
import { HubError } from './hub-error.ts';
import { DEFAULT_SIGNALING_LIMITS, Signaling } from './signaling.ts';
import { identityOf, login, makeDevice, openTestHub, type TestDevice, type TestHub } from './testing.ts';

const owner = identityOf(700);
let t: TestHub;
let a: TestDevice;
let b: TestDevice;
let never: TestDevice;
let revoked: TestDevice;
let tokenA: string;
let tokenB: string;
let tokenRevoked: string;
const hex = (d: TestDevice) => authorToHex(d.identity.publicKey);

function post(token: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { 'content-type': 'application/json', ...headers };
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  return t.app.request('/v1/signals', {
    method: 'POST',
    headers: h,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function poll(token: string, waitMs = 0) {
  return t.app.request(`/v1/signals?waitMs=${waitMs}`, { headers: { authorization: `Bearer ${token}` } });
}

const good = () => ({ to: hex(b), kind: 'offer', session: 's1', data: 'v=0 sdp' });

beforeAll(async () => {
  t = openTestHub(owner);
  a = makeDevice(owner, 1);
  b = makeDevice(owner, 2);
  never = makeDevice(owner, 3);
  revoked = makeDevice(owner, 4);
  tokenA = await login(t, a);
  tokenB = await login(t, b);
  tokenRevoked = await login(t, revoked);
  const r = issueRevocation({
    owner,
    device: revoked.identity.publicKey,
    revokedAtMs: 1,
    signer: nodeSigner,
  });
  const res = await t.app.request('/v1/devices/revoke', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ revocation: toBase64Url(r.bytes) }),
  });
  expect(res.status).toBe(200);
});
afterAll(() => t.close());

describe('signaling relay', () => {
  test('a message goes from one paired device to the other, once', async () => {
    expect((await post(tokenA, good())).status).toBe(202);
    const res = await poll(tokenB);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      messages: [{ from: hex(a), kind: 'offer', session: 's1', data: 'v=0 sdp' }],
    });
    expect(await (await poll(tokenB)).json()).toEqual({ messages: [] });
  });

  test('a long poll wakes when a message arrives', async () => {
    const waiting = poll(tokenA, 20_000);
    await new Promise((r) => setTimeout(r, 20));
    const res = await post(tokenB, { to: hex(a), kind: 'answer', session: 's1', data: 'answer sdp' });
    expect(res.status).toBe(202);
    const body = (await (await waiting).json()) as { messages: { kind: string }[] };
    expect(body.messages.map((m) => m.kind)).toEqual(['answer']);
  });

  const token = (name: 'a' | 'revoked' | 'none' | 'forged') =>
    ({ a: tokenA, revoked: tokenRevoked, none: undefined, forged: 'x'.repeat(43) })[name];

  const BAD: {
    name: string;
    as: 'a' | 'revoked' | 'none' | 'forged';
    body: () => unknown;
    status: number;
    code: string;
    headers?: Record<string, string>;
  }[] = [
    { name: 'no token', as: 'none', body: good, status: 401, code: 'unauthenticated' },
    {
      name: 'a token the hub never issued (unpaired)',
      as: 'forged',
      body: good,
      status: 401,
      code: 'bad_token',
    },
    // A revoked device's session tokens are refused at once, as revoked.
    { name: 'a revoked sender', as: 'revoked', body: good, status: 403, code: 'revoked' },
    {
      name: 'to a device never paired',
      as: 'a',
      body: () => ({ ...good(), to: hex(never) }),
      status: 404,
      code: 'unknown_device',
    },
    {
      name: 'to a revoked device',
      as: 'a',
      body: () => ({ ...good(), to: hex(revoked) }),
      status: 403,
      code: 'revoked_device',
    },
    { name: 'to itself', as: 'a', body: () => ({ ...good(), to: hex(a) }), status: 400, code: 'bad_request' },
    {
      name: 'to a key that is not hex',
      as: 'a',
      body: () => ({ ...good(), to: 'zz'.repeat(32) }),
      status: 400,
      code: 'bad_request',
    },
    {
      name: 'to an upper-case key',
      as: 'a',
      body: () => ({ ...good(), to: hex(b).toUpperCase() }),
      status: 400,
      code: 'bad_request',
    },
    {
      name: 'no "to"',
      as: 'a',
      body: () => ({ ...good(), to: undefined }),
      status: 400,
      code: 'bad_request',
    },
    {
      name: 'an unknown kind',
      as: 'a',
      body: () => ({ ...good(), kind: 'hello' }),
      status: 400,
      code: 'bad_request',
    },
    {
      name: 'an empty session',
      as: 'a',
      body: () => ({ ...good(), session: '' }),
      status: 400,
      code: 'bad_request',
    },
    {
      name: 'a session with bad characters',
      as: 'a',
      body: () => ({ ...good(), session: 'a b' }),
      status: 400,
      code: 'bad_request',
    },
    {
      name: 'data that is not a string',
      as: 'a',
      body: () => ({ ...good(), data: { sdp: 1 } }),
      status: 400,
      code: 'bad_request',
    },
    {
      name: 'data over the limit',
      as: 'a',
      body: () => ({ ...good(), data: 'x'.repeat(DEFAULT_SIGNALING_LIMITS.dataCharsMax + 1) }),
      status: 413,
      code: 'signal_too_large',
    },
    {
      name: 'a body over the limit',
      as: 'a',
      body: () => ({ ...good(), pad: 'x'.repeat(DEFAULT_SIGNALING_LIMITS.bodyBytesMax) }),
      status: 413,
      code: 'body_too_large',
    },
    { name: 'malformed JSON', as: 'a', body: () => '{"to": ', status: 400, code: 'malformed_json' },
    { name: 'a JSON array', as: 'a', body: () => '[1,2]', status: 400, code: 'bad_request' },
    { name: 'JSON null', as: 'a', body: () => 'null', status: 400, code: 'bad_request' },
    {
      name: 'not JSON content',
      as: 'a',
      body: good,
      status: 415,
      code: 'unsupported_media_type',
      headers: { 'content-type': 'text/plain' },
    },
  ];

  test.each(BAD)('$name: $status $code', async (c) => {
    const res = await post(token(c.as), c.body(), c.headers);
    expect(res.status).toBe(c.status);
    expect(((await res.json()) as { error: string }).error).toBe(c.code);
    // Nothing was queued for anyone, and the hub still answers.
    expect(await (await poll(tokenB)).json()).toEqual({ messages: [] });
    expect((await t.app.request('/v1/health')).status).toBe(200);
  });

  test('bad polls: no token, a malformed waitMs', async () => {
    expect((await t.app.request('/v1/signals')).status).toBe(401);
    const res = await t.app.request('/v1/signals?waitMs=-5', {
      headers: { authorization: `Bearer ${tokenA}` },
    });
    expect(res.status).toBe(400);
  });

  test('the queue per device is bounded', async () => {
    for (let i = 0; i < DEFAULT_SIGNALING_LIMITS.queuePerDeviceMax; i++)
      expect((await post(tokenA, { ...good(), kind: 'candidate', data: String(i) })).status).toBe(202);
    const res = await post(tokenA, good());
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: string }).error).toBe('queue_full');
    const got = (await (await poll(tokenB)).json()) as { messages: { data: string }[] };
    expect(got.messages.length).toBe(DEFAULT_SIGNALING_LIMITS.queuePerDeviceMax);
    expect(got.messages[0]!.data).toBe('0');
    expect((await post(tokenA, good())).status).toBe(202);
    await poll(tokenB);
  });
});

describe('Signaling bounds (fake clock)', () => {
  const from = 'a'.repeat(64);
  const to = 'b'.repeat(64);
  const make = (limits: ConstructorParameters<typeof Signaling>[0]['limits']) => {
    const clock = { now: 0 };
    const s = new Signaling({ deviceStatus: () => 'admitted', nowMs: () => clock.now, limits });
    return { s, clock };
  };
  const msg = { to, kind: 'candidate', session: 's', data: 'c' };
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof HubError) return `${err.status} ${err.code}`;
      throw err;
    }
    return 'ok';
  };

  test('posts per second are limited per sender', () => {
    const { s, clock } = make({ postBurst: 3, postsPerSecond: 1 });
    expect([1, 2, 3, 4].map(() => code(() => s.post(from, msg)))).toEqual([
      'ok',
      'ok',
      'ok',
      '429 rate_limited',
    ]);
    clock.now = 1_000;
    expect(code(() => s.post(from, msg))).toBe('ok');
    expect(code(() => s.post('c'.repeat(64), msg))).toBe('ok');
  });

  test('bytes queued in all are bounded, and released when taken', () => {
    const { s } = make({ queuedBytesMax: 1_100 });
    const big = { ...msg, data: 'x'.repeat(400) };
    expect(code(() => s.post(from, big))).toBe('ok');
    expect(code(() => s.post(from, big))).toBe('ok');
    expect(code(() => s.post(from, big))).toBe('503 signaling_full');
    expect(s.take(to).length).toBe(2);
    expect(s.bytesQueued).toBe(0);
    expect(code(() => s.post(from, big))).toBe('ok');
  });

  test('messages not collected in time are dropped', () => {
    const { s, clock } = make({ messageTtlMs: 100 });
    s.post(from, msg);
    clock.now = 100;
    expect(s.take(to)).toEqual([]);
    expect(s.bytesQueued).toBe(0);
  });

  test('waiting polls per device are bounded, and a stopping hub ends them', async () => {
    const { s } = make({ waitersPerDeviceMax: 1, drainCheckMs: 5 });
    let stopping = false;
    const first = s.wait(to, { waitMs: 60_000, stopping: () => stopping });
    await expect(s.wait(to, { waitMs: 60_000, stopping: () => false })).rejects.toMatchObject({
      code: 'too_many_waiters',
    });
    stopping = true;
    expect(await first).toEqual([]);
  });
});
