import { afterEach, describe, expect, test } from 'vitest';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { fromBase64, toBase64Url } from '../engine/sync/base64.ts';
import { decodeFrames } from '../engine/sync/frames.ts';
import { authorToHex, decodeMessage, encodeMessage } from '../engine/sync/messages.ts';
import { issueRevocation } from '../engine/sync/pairing.ts';
import { SyncSession } from '../engine/sync/session.ts';
import { type SseEvent, SseParser } from '../engine/sync/sse.ts';
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
let hubs: TestHub[] = [];
afterEach(() => {
  for (const h of hubs) h.close();
  hubs = [];
});

function newHub(...args: Parameters<typeof openTestHub> extends [unknown, ...infer R] ? R : never): TestHub {
  const t = openTestHub(owner, ...args);
  hubs.push(t);
  return t;
}

function entriesOf(device: TestDevice, from = 1): Uint8Array[] {
  return device.db.replica.readFeed(authorToHex(device.identity.publicKey), from, {
    limit: 4096,
    maxBytes: 8 << 20,
  });
}

async function post(t: TestHub, token: string, body: Uint8Array): Promise<Response> {
  return t.app.request('/v1/sync', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-aregula-sync' },
    body: body as Uint8Array<ArrayBuffer>,
  });
}

/** Runs one device's sync to completion against the in-process hub, the way the client does. */
async function syncDevice(t: TestHub, device: TestDevice, token: string): Promise<void> {
  const queue: Uint8Array[] = [];
  const session = new SyncSession(device.db.replica, (m) => {
    if (m[1] !== 4) queue.push(m);
  });
  session.start();
  for (let i = 0; queue.length > 0; i++) {
    expect(i).toBeLessThan(1000);
    const res = await post(t, token, queue.shift()!);
    expect(res.status).toBe(200);
    for (const f of decodeFrames(new Uint8Array(await res.arrayBuffer()))) session.receive(f);
  }
  expect(session.caughtUp).toBe(true);
}

async function readEvents(res: Response, until: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const reader = res.body!.getReader();
  const parser = new SseParser();
  const events: SseEvent[] = [];
  while (!until(events)) {
    const { done, value } = await reader.read();
    if (done) break;
    events.push(...parser.push(value));
  }
  await reader.cancel();
  return events;
}

function entryKeys(events: SseEvent[]): string[] {
  const keys: string[] = [];
  for (const e of events) {
    if (e.event !== 'entries') continue;
    const m = decodeMessage(fromBase64(e.data));
    if (m.type !== 'entries') throw new Error('not entries');
    for (const w of m.entries)
      keys.push(`${authorToHex(w.subarray(1, 33)).slice(0, 8)}:${w[40]! + w[39]! * 256}`);
  }
  return keys;
}

describe('hub', () => {
  test('a paired device pushes, another pulls, and both equal the hub', async () => {
    const t = newHub();
    const a = makeDevice(owner, 10);
    const b = makeDevice(owner, 11);
    writeDocs(a, 'a', 300);
    writeDocs(b, 'b', 200);
    const ta = await login(t, a);
    const tb = await login(t, b);
    await syncDevice(t, a, ta);
    await syncDevice(t, b, tb);
    await syncDevice(t, a, ta);
    expect(t.hub.stateHash()).toBe(a.db.stateHash());
    expect(b.db.stateHash()).toBe(a.db.stateHash());
    expect(t.hub.index.end).toBe(500);
    const health = await (await t.app.request('/v1/health')).json();
    expect(health).toMatchObject({ status: 'ok', protocol: 1, entries: 500 });
  });

  test('a pull answer is bounded; the client asks again with need until caught up', async () => {
    const t = newHub({ limits: { pullBytesMax: 8 * 1024 } });
    const a = makeDevice(owner, 10);
    const b = makeDevice(owner, 11);
    writeDocs(a, 'a', 400);
    await syncDevice(t, a, await login(t, a));
    const tb = await login(t, b);
    const hello = encodeMessage({ type: 'hello', stateVector: new Map(), heads: new Map() });
    const first = decodeFrames(new Uint8Array(await (await post(t, tb, hello)).arrayBuffer()));
    const sent = first.map((f) => decodeMessage(f)).filter((m) => m.type === 'entries');
    const count = sent.reduce((n, m) => n + (m.type === 'entries' ? m.entries.length : 0), 0);
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThan(400);
    await syncDevice(t, b, tb);
    expect(b.db.stateHash()).toBe(a.db.stateHash());
  });

  test('the event stream resumes from Last-Event-ID without gaps or duplicates', async () => {
    const t = newHub({ limits: { eventEntriesMax: 16 } });
    const a = makeDevice(owner, 10);
    const b = makeDevice(owner, 11);
    const ta = await login(t, a);
    const tb = await login(t, b);
    const headers = { authorization: `Bearer ${tb}` };
    const res = await t.app.request('/v1/events', { headers });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const streamDone = readEvents(res, (ev) => entryKeys(ev).length >= 100);
    for (let round = 0; round < 5; round++) {
      writeDocs(a, `r${round}`, 20);
      await syncDevice(t, a, ta);
    }
    const first = await streamDone;
    expect(first[0]!.event).toBe('hello');
    const seen = entryKeys(first);
    expect(seen.length).toBe(100);
    // Disconnected: more entries arrive, then the stream resumes after the last event.
    const lastId = first.filter((e) => e.event === 'entries').at(-1)!.id;
    for (let round = 5; round < 8; round++) {
      writeDocs(a, `r${round}`, 20);
      await syncDevice(t, a, ta);
    }
    const resumed = await t.app.request('/v1/events', { headers: { ...headers, 'last-event-id': lastId } });
    const rest = entryKeys(await readEvents(resumed, (ev) => entryKeys(ev).length >= 60));
    const all = [...seen, ...rest];
    expect(all.length).toBe(160);
    expect(new Set(all).size).toBe(160);
    // In each author's order, every seq once, 1..160.
    expect(all.map((k) => Number(k.split(':')[1]))).toEqual(Array.from({ length: 160 }, (_, i) => i + 1));
    // Resuming from an older id replays exactly the events after it.
    const firstEvent = first.filter((e) => e.event === 'entries')[0]!;
    const skipped = entryKeys([firstEvent]).length;
    expect(skipped).toBe(20); // 16 asked for, extended to the signed entry that ends the range
    const again = await t.app.request('/v1/events', {
      headers: { ...headers, 'last-event-id': firstEvent.id },
    });
    const replay = entryKeys(await readEvents(again, (ev) => entryKeys(ev).length >= 160 - skipped));
    expect(replay).toEqual(all.slice(skipped));
    expect(t.hub.streams.count).toBe(0);
  });

  test('an event id from another epoch or past the end resets the stream to the end', async () => {
    const t = newHub();
    const a = makeDevice(owner, 10);
    const ta = await login(t, a);
    for (const id of [`${'0'.repeat(32)}-0`, `${t.hub.epoch}-99`]) {
      const res = await t.app.request('/v1/events', {
        headers: { authorization: `Bearer ${ta}`, 'last-event-id': id },
      });
      const [first] = await readEvents(res, (ev) => ev.length >= 1);
      expect(first!.event).toBe('reset');
      expect(first!.id).toBe(`${t.hub.epoch}-0`);
    }
  });

  test('revoking a device ends its streams and sessions at once and refuses its feed', async () => {
    const t = newHub();
    const a = makeDevice(owner, 10);
    const b = makeDevice(owner, 11);
    writeDocs(a, 'a', 10);
    const ta = await login(t, a);
    await syncDevice(t, a, ta);
    const stream = await t.app.request('/v1/events', { headers: { authorization: `Bearer ${ta}` } });
    const events = readEvents(stream, () => false);
    const revocation = issueRevocation({
      owner,
      device: a.identity.publicKey,
      revokedAtMs: 5,
      signer: nodeSigner,
    });
    const res = await t.app.request('/v1/devices/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ revocation: toBase64Url(revocation.bytes) }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ device: authorToHex(a.identity.publicKey), already: false });
    expect((await events).map((e) => e.event)).toEqual(['hello', 'revoked']);
    expect(t.hub.streams.count).toBe(0);
    const hello = encodeMessage({ type: 'hello', stateVector: new Map(), heads: new Map() });
    // Its old token now earns 403 revoked (its client stops), not 401 (its client would log in again).
    const refused = await post(t, ta, hello);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('aregula-error')).toBe('revoked');
    await expect(login(t, a)).rejects.toThrow(/403/);
    // Another device relaying the revoked feed's new entries is refused too.
    writeDocs(a, 'late', 3);
    const tb = await login(t, b);
    const res2 = await post(t, tb, encodeMessage({ type: 'entries', entries: entriesOf(a, 11) }));
    expect(res2.status).toBe(403);
    expect(((await res2.json()) as { error: string }).error).toBe('revoked_feed');
    // A revocation survives a restart.
    const before = t.hub.stateHash();
    t.reopen();
    await expect(login(t, a)).rejects.toThrow(/403/);
    expect(t.hub.stateHash()).toBe(before);
  });

  test('after a restart, tokens are void, data and cursors persist, feeds stay known', async () => {
    const t = newHub();
    const a = makeDevice(owner, 10);
    const b = makeDevice(owner, 11);
    writeDocs(a, 'a', 50);
    const ta = await login(t, a);
    await syncDevice(t, a, ta);
    t.reopen();
    const hello = encodeMessage({ type: 'hello', stateVector: new Map(), heads: new Map() });
    expect((await post(t, ta, hello)).status).toBe(401);
    expect(t.hub.index.end).toBe(50);
    // b relays a's entries it got elsewhere: a's feed is still admitted after the restart.
    writeDocs(a, 'more', 5);
    const tb = await login(t, b);
    const res = await post(t, tb, encodeMessage({ type: 'entries', entries: entriesOf(a, 51) }));
    expect(res.status).toBe(200);
    expect(res.headers.get('aregula-applied')).toBe('5');
    expect(t.hub.index.end).toBe(55);
    expect(t.hub.stateHash()).toBe(a.db.stateHash());
  });

  test('a push that skips entries is refused with sequence_gap and stores nothing', async () => {
    const t = newHub();
    const a = makeDevice(owner, 10);
    const ta = await login(t, a);
    a.db.collection('n').put('x', { v: 1 }, { commit: true });
    a.db.collection('n').put('y', { v: 2 }, { commit: true });
    const res = await post(t, ta, encodeMessage({ type: 'entries', entries: entriesOf(a, 2) }));
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe('sequence_gap');
    expect(t.hub.index.end).toBe(0);
  });
});
