/**
 * The hub under hostile input: a table of bad requests, each refused with a 4xx answer that
 * names the reason, after which the hub still serves, and nothing it stored has changed (same
 * `stateHash`, same cursor end, same admitted devices).
 */

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createEntry,
  encodeEntry,
  signEntry,
  signingMessage,
  withSignature,
  ZERO_HASH,
} from '../engine/log/entry.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { toBase64Url } from '../engine/sync/base64.ts';
import { authorToHex, encodeMessage } from '../engine/sync/messages.ts';
import { createChallenge, issueCertificate, issueRevocation, signChallenge } from '../engine/sync/pairing.ts';
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
const stranger = identityOf(2);
let t: TestHub;
let a: TestDevice;
let tokenA: string;
let tokenRevoked: string;
let unknown: TestDevice;
let revoked: TestDevice;
let before: { hash: string; end: number; devices: number };

function entriesOf(device: TestDevice, from = 1): Uint8Array[] {
  return device.db.replica.readFeed(authorToHex(device.identity.publicKey), from, {
    limit: 4096,
    maxBytes: 8 << 20,
  });
}

const syncHeaders = () => ({
  authorization: `Bearer ${tokenA}`,
  'content-type': 'application/x-aregula-sync',
});
const json = { 'content-type': 'application/json' };

async function challenge(): Promise<Uint8Array> {
  const c = (await (await t.app.request('/v1/auth/challenge', { method: 'POST' })).json()) as {
    challenge: string;
  };
  return Uint8Array.from(Buffer.from(c.challenge, 'base64url'));
}

async function sessionBody(o: {
  device?: TestDevice;
  cert?: Uint8Array;
  sign?: (c: Uint8Array) => Uint8Array;
  c?: Uint8Array;
}) {
  const device = o.device ?? a;
  const c = o.c ?? (await challenge());
  return JSON.stringify({
    certificate: toBase64Url(o.cert ?? device.certificate),
    challenge: toBase64Url(c),
    signature: toBase64Url((o.sign ?? ((x) => signChallenge(x, device.identity, nodeSigner)))(c)),
  });
}

/** A forged entry: a's next seq, a's author, signed by another key. */
function forgedEntry(signerIdentity = stranger, author = a.identity.publicKey): Uint8Array {
  const head = a.db.feeds.head(a.identity.publicKey)!;
  const e = createEntry({
    author,
    seq: head.seq + 1,
    prev: head.hash,
    hlc: new Uint8Array(10),
    payload: new Uint8Array([1, 2, 3]),
  });
  if (signerIdentity === a.identity) return encodeEntry(signEntry(e, a.identity, nodeSigner));
  const signature = nodeSigner.sign(signerIdentity, signingMessage(nodeSigner.sha256(e.body)));
  return encodeEntry(withSignature(e, signature));
}

interface Case {
  name: string;
  request: () => Promise<Response> | Response;
  status: number;
  code: string;
}

const post = (path: string, init: RequestInit) => t.app.request(path, { method: 'POST', ...init });
const sync = (body: Uint8Array | string, headers: Record<string, string> = syncHeaders()) =>
  post('/v1/sync', { headers, body: body as BodyInit });

const CASES: Case[] = [
  { name: 'unknown path', request: () => t.app.request('/v1/nope'), status: 404, code: 'not_found' },
  {
    name: 'wrong method on a path',
    request: () => t.app.request('/v1/sync'),
    status: 404,
    code: 'not_found',
  },
  {
    name: 'sync without Authorization',
    request: () => sync(new Uint8Array([1, 1, 0]), { 'content-type': 'application/x-aregula-sync' }),
    status: 401,
    code: 'unauthenticated',
  },
  {
    name: 'Basic instead of Bearer',
    request: () => sync(new Uint8Array([1, 1, 0]), { ...syncHeaders(), authorization: 'Basic YTpi' }),
    status: 401,
    code: 'bad_token',
  },
  {
    name: 'unknown token',
    request: () =>
      sync(new Uint8Array([1, 1, 0]), { ...syncHeaders(), authorization: `Bearer ${'A'.repeat(43)}` }),
    status: 401,
    code: 'bad_token',
  },
  {
    name: 'overlong Authorization',
    request: () =>
      sync(new Uint8Array([1, 1, 0]), { ...syncHeaders(), authorization: `Bearer ${'A'.repeat(400)}` }),
    status: 401,
    code: 'bad_token',
  },
  {
    name: 'token in the URL is not a credential',
    request: () => t.app.request(`/v1/events?token=${tokenA}`),
    status: 401,
    code: 'unauthenticated',
  },
  {
    name: 'sync with text/plain',
    request: () => sync('hello', { ...syncHeaders(), 'content-type': 'text/plain' }),
    status: 415,
    code: 'unsupported_media_type',
  },
  { name: 'empty sync body', request: () => sync(new Uint8Array(0)), status: 400, code: 'malformed_message' },
  {
    name: 'protocol version 2',
    request: () => sync(new Uint8Array([2, 1, 0])),
    status: 400,
    code: 'malformed_message',
  },
  {
    name: 'unknown message type',
    request: () => sync(new Uint8Array([1, 9, 0])),
    status: 400,
    code: 'malformed_message',
  },
  {
    name: 'entries message cut short',
    request: () => sync(encodeMessage({ type: 'entries', entries: entriesOf(a).slice(0, 3) }).slice(0, 200)),
    status: 400,
    code: 'malformed_message',
  },
  {
    name: 'trailing bytes after a message',
    request: () => sync(new Uint8Array([1, 1, 0, 7])),
    status: 400,
    code: 'malformed_message',
  },
  {
    name: 'state vector of a million authors',
    request: () => sync(new Uint8Array([1, 1, 0xc0, 0x84, 0x3d])),
    status: 400,
    code: 'malformed_message',
  },
  {
    name: 'state vector authors out of order',
    request: () => {
      const body = new Uint8Array(3 + 2 * 41);
      body.set([1, 1, 2]);
      body.fill(9, 3, 35);
      body.fill(3, 44, 76);
      return sync(body);
    },
    status: 400,
    code: 'malformed_message',
  },
  {
    name: 'done is never sent to a hub',
    request: () => sync(encodeMessage({ type: 'done', stateVector: new Map(), heads: new Map() })),
    status: 400,
    code: 'unexpected_message',
  },
  {
    name: 'body over the size limit',
    request: () => sync(new Uint8Array(70 * 1024)),
    status: 413,
    code: 'body_too_large',
  },
  {
    name: 'batch over the entry count limit',
    request: () => sync(encodeMessage({ type: 'entries', entries: Array(65).fill(entriesOf(a)[0]!) })),
    status: 413,
    code: 'batch_too_large',
  },
  {
    name: 'entry over the size limit',
    request: () => {
      const big = makeDevice(owner, 40);
      big.db.collection('n').put('x', { text: 'x'.repeat(5000) }, { commit: true });
      return sync(encodeMessage({ type: 'entries', entries: entriesOf(big) }));
    },
    status: 413,
    code: 'entry_too_large',
  },
  {
    name: 'garbage entry bytes',
    request: () => sync(encodeMessage({ type: 'entries', entries: [new Uint8Array([1, 2, 3, 4])] })),
    status: 400,
    code: 'malformed_entry',
  },
  {
    name: 'entry of a feed never admitted',
    request: () => sync(encodeMessage({ type: 'entries', entries: entriesOf(unknown) })),
    status: 403,
    code: 'unknown_feed',
  },
  {
    name: 'entry of a revoked feed',
    request: () => sync(encodeMessage({ type: 'entries', entries: entriesOf(revoked) })),
    status: 403,
    code: 'revoked_feed',
  },
  {
    name: 'entry signed by another key',
    request: () => sync(encodeMessage({ type: 'entries', entries: [forgedEntry()] })),
    status: 422,
    code: 'rejected_entries',
  },
  {
    name: 'signature bytes flipped',
    request: () => {
      const e = forgedEntry(a.identity);
      e[e.length - 1]! ^= 1;
      return sync(encodeMessage({ type: 'entries', entries: [e] }));
    },
    status: 422,
    code: 'rejected_entries',
  },
  {
    name: 'signed entry with a changed timestamp',
    request: () => {
      const e = forgedEntry(a.identity);
      e[80]! ^= 0x10;
      return sync(encodeMessage({ type: 'entries', entries: [e] }));
    },
    status: 422,
    code: 'rejected_entries',
  },
  {
    name: 'entry that does not chain to the stored feed',
    request: () => {
      const head = a.db.feeds.head(a.identity.publicKey)!;
      const e = createEntry({
        author: a.identity.publicKey,
        seq: head.seq + 1,
        prev: ZERO_HASH,
        hlc: new Uint8Array(10),
        payload: new Uint8Array(1),
      });
      return sync(
        encodeMessage({ type: 'entries', entries: [encodeEntry(signEntry(e, a.identity, nodeSigner))] }),
      );
    },
    status: 422,
    code: 'rejected_entries',
  },
  {
    name: 'session with a wrong signature',
    request: async () =>
      post('/v1/auth/session', {
        headers: json,
        body: await sessionBody({ sign: (c) => signChallenge(c, stranger, nodeSigner) }),
      }),
    status: 401,
    code: 'bad_signature',
  },
  {
    name: 'session replaying a spent challenge',
    request: async () => {
      const c = await challenge();
      await post('/v1/auth/session', { headers: json, body: await sessionBody({ c }) });
      return post('/v1/auth/session', { headers: json, body: await sessionBody({ c }) });
    },
    status: 401,
    code: 'bad_challenge',
  },
  {
    name: 'session with a challenge the hub never issued',
    request: async () => {
      const c = createChallenge({
        owner: owner.publicKey,
        nonce: new Uint8Array(32).fill(7),
        expiresAtMs: Date.now() + 10_000,
      }).bytes;
      return post('/v1/auth/session', { headers: json, body: await sessionBody({ c }) });
    },
    status: 401,
    code: 'bad_challenge',
  },
  {
    name: 'session with another owner’s certificate',
    request: async () => {
      const cert = issueCertificate({
        owner: stranger,
        device: a.identity.publicKey,
        issuedAtMs: 1,
        signer: nodeSigner,
      }).bytes;
      return post('/v1/auth/session', { headers: json, body: await sessionBody({ cert }) });
    },
    status: 401,
    code: 'bad_certificate',
  },
  {
    name: 'session with an expired certificate',
    request: async () => {
      const cert = issueCertificate({
        owner,
        device: a.identity.publicKey,
        issuedAtMs: 1,
        expiresAtMs: 2,
        signer: nodeSigner,
      }).bytes;
      return post('/v1/auth/session', { headers: json, body: await sessionBody({ cert }) });
    },
    status: 401,
    code: 'bad_certificate',
  },
  {
    name: 'session with a certificate whose device key was changed',
    request: async () => {
      const cert = a.certificate.slice();
      cert.set(stranger.publicKey, 37);
      return post('/v1/auth/session', {
        headers: json,
        body: await sessionBody({ cert, sign: (c) => signChallenge(c, stranger, nodeSigner) }),
      });
    },
    status: 401,
    code: 'bad_certificate',
  },
  {
    name: 'sync with the session token of a device revoked after it logged in',
    request: () =>
      sync(encodeMessage({ type: 'entries', entries: entriesOf(revoked) }), {
        ...syncHeaders(),
        authorization: `Bearer ${tokenRevoked}`,
      }),
    status: 403,
    code: 'revoked',
  },
  {
    name: 'session of a revoked device',
    request: async () =>
      post('/v1/auth/session', { headers: json, body: await sessionBody({ device: revoked }) }),
    status: 403,
    code: 'revoked',
  },
  {
    name: 'session with invalid JSON',
    request: () => post('/v1/auth/session', { headers: json, body: '{"certificate": ' }),
    status: 400,
    code: 'malformed_json',
  },
  {
    name: 'session with invalid UTF-8',
    request: () => post('/v1/auth/session', { headers: json, body: new Uint8Array([0x7b, 0xff, 0x7d]) }),
    status: 400,
    code: 'malformed_json',
  },
  {
    name: 'session with text/plain',
    request: () => post('/v1/auth/session', { headers: { 'content-type': 'text/plain' }, body: '{}' }),
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'session with a JSON array',
    request: () => post('/v1/auth/session', { headers: json, body: '[]' }),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'session with fields missing',
    request: () => post('/v1/auth/session', { headers: json, body: '{"certificate":"AA"}' }),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'session with non-base64url fields',
    request: () =>
      post('/v1/auth/session', {
        headers: json,
        body: JSON.stringify({ certificate: '!!', challenge: '??', signature: '**' }),
      }),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'session with a short challenge',
    request: async () =>
      post('/v1/auth/session', {
        headers: json,
        body: await sessionBody({ c: new Uint8Array(10), sign: (c) => nodeSigner.sign(a.identity, c) }),
      }),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'session body over the JSON limit',
    request: () => post('/v1/auth/session', { headers: json, body: `{"x":"${'y'.repeat(5000)}"}` }),
    status: 413,
    code: 'body_too_large',
  },
  {
    name: 'revocation signed by someone else',
    request: () => {
      const r = issueRevocation({
        owner: stranger,
        device: a.identity.publicKey,
        revokedAtMs: 1,
        signer: nodeSigner,
      }).bytes;
      r.set(owner.publicKey, 5);
      return post('/v1/devices/revoke', {
        headers: json,
        body: JSON.stringify({ revocation: toBase64Url(r) }),
      });
    },
    status: 403,
    code: 'bad_signature',
  },
  {
    name: 'revocation that is not one',
    request: () =>
      post('/v1/devices/revoke', {
        headers: json,
        body: JSON.stringify({ revocation: toBase64Url(new Uint8Array(141)) }),
      }),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'malformed Last-Event-ID',
    request: () =>
      t.app.request('/v1/events', {
        headers: { authorization: `Bearer ${tokenA}`, 'last-event-id': 'yesterday' },
      }),
    status: 400,
    code: 'bad_last_event_id',
  },
  {
    name: 'overlong Last-Event-ID',
    request: () =>
      t.app.request('/v1/events', {
        headers: { authorization: `Bearer ${tokenA}`, 'last-event-id': '1'.repeat(100) },
      }),
    status: 400,
    code: 'bad_last_event_id',
  },
];

beforeAll(async () => {
  t = openTestHub(owner, {
    limits: { bodyBytesMax: 64 * 1024, batchEntriesMax: 64, entryBytesMax: 4096, jsonBodyBytesMax: 4096 },
  });
  a = makeDevice(owner, 10);
  unknown = makeDevice(owner, 11);
  revoked = makeDevice(owner, 12);
  writeDocs(a, 'a', 40);
  writeDocs(unknown, 'u', 5);
  writeDocs(revoked, 'r', 5);
  tokenA = await login(t, a);
  tokenRevoked = await login(t, revoked);
  const push = await sync(encodeMessage({ type: 'entries', entries: entriesOf(a) }));
  expect(push.status).toBe(200);
  const r = issueRevocation({
    owner,
    device: revoked.identity.publicKey,
    revokedAtMs: 1,
    signer: nodeSigner,
  });
  await post('/v1/devices/revoke', {
    headers: json,
    body: JSON.stringify({ revocation: toBase64Url(r.bytes) }),
  });
  before = { hash: t.hub.stateHash(), end: t.hub.index.end, devices: t.hub.access.deviceCount };
});
afterAll(() => t.close());

describe('bad requests', () => {
  test('the table holds at least 30 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  test.each(CASES)('$name: $status $code', async (c) => {
    const res = await c.request();
    const body = (await res.json()) as { error: string; message: string };
    expect({ status: res.status, code: body.error }).toEqual({ status: c.status, code: c.code });
    expect(body.message.length).toBeGreaterThan(0);
    expect(t.hub.stateHash()).toBe(before.hash);
    expect(t.hub.index.end).toBe(before.end);
  });

  test('replaying stored entries is harmless: 200, nothing applied, nothing changed', async () => {
    const res = await sync(encodeMessage({ type: 'entries', entries: entriesOf(a) }));
    expect(res.status).toBe(200);
    expect(res.headers.get('aregula-applied')).toBe('0');
    expect(t.hub.stateHash()).toBe(before.hash);
  });

  test('a device may hold only so many event streams', async () => {
    const open: Response[] = [];
    for (let i = 0; i < t.hub.limits.streamsPerDeviceMax; i++)
      open.push(await t.app.request('/v1/events', { headers: { authorization: `Bearer ${tokenA}` } }));
    expect(open.map((r) => r.status)).toEqual(open.map(() => 200));
    const extra = await t.app.request('/v1/events', { headers: { authorization: `Bearer ${tokenA}` } });
    expect(extra.status).toBe(429);
    expect(((await extra.json()) as { error: string }).error).toBe('too_many_streams');
    for (const r of open) await r.body!.cancel();
    expect(t.hub.streams.count).toBe(0);
  });

  test('afterwards the hub still serves: a new device logs in and pulls everything', async () => {
    expect(t.hub.access.deviceCount).toBe(before.devices);
    const health = await t.app.request('/v1/health');
    expect(health.status).toBe(200);
    const fresh = makeDevice(owner, 13);
    const token = await login(t, fresh);
    const hello = encodeMessage({ type: 'hello', stateVector: new Map(), heads: new Map() });
    const res = await sync(hello, {
      authorization: `Bearer ${token}`,
      'content-type': 'application/x-aregula-sync',
    });
    expect(res.status).toBe(200);
    expect(t.hub.stateHash()).toBe(before.hash);
  });
});

describe('rate limits', () => {
  test('past the burst, requests get 429 with Retry-After, and nothing else happens', async () => {
    const hub = openTestHub(owner, { limits: { requestsPerSecond: 1, requestBurst: 5 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++)
        statuses.push((await hub.app.request('/v1/auth/challenge', { method: 'POST' })).status);
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses.slice(5)).toEqual([429, 429, 429]);
      const res = await hub.app.request('/v1/auth/challenge', { method: 'POST' });
      expect(res.headers.get('retry-after')).toMatch(/^[0-9]+$/);
      expect(((await res.json()) as { error: string }).error).toBe('rate_limited');
    } finally {
      hub.close();
    }
  });
});
