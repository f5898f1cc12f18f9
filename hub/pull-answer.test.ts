/**
 * The hub streams a pull answer: it reads and sends it in parts (hub/pull-answer.ts), so that
 * a device applies the first messages while the hub reads the next. The parts together are the
 * answer a hub built at once would give, within the same budget, with `done` last.
 */

import { afterEach, describe, expect, test } from 'vitest';
import { decodeEntry } from '../engine/log/entry.ts';
import { decodeFrames } from '../engine/sync/frames.ts';
import { ANSWER_BYTES_MAX } from '../engine/sync/hub-client.ts';
import { authorToHex, decodeMessage, encodeMessage, MAX_MESSAGE_BYTES } from '../engine/sync/messages.ts';
import { SyncSession } from '../engine/sync/session.ts';
import { DEFAULT_LIMITS, type HubLimits } from './limits.ts';
import { identityOf, login, makeDevice, openTestHub, type TestDevice, type TestHub } from './testing.ts';

const owner = identityOf(31);
const hubs: TestHub[] = [];
afterEach(() => {
  for (const h of hubs.splice(0)) h.close();
});

/** Writes documents `from` to `to - 1` on `device`, 10 to a commit (each commit signs its entries). */
function writeCommits(device: TestDevice, from: number, to: number): void {
  const notes = device.db.collection('notes');
  for (let i = from; i < to; i++) {
    notes.put(`d-${i}`, { text: `document ${i} ${'x'.repeat(40)}`, n: i });
    if ((i + 1) % 10 === 0 || i === to - 1) device.db.commit();
  }
}

/**
 * Pushes the device's entries `from..to` to the hub, a commit (10 entries) per message: the hub
 * keeps a pushed message's last signature only, so its group commits are what was pushed.
 */
async function push(t: TestHub, device: TestDevice, token: string, from: number, to: number): Promise<void> {
  const author = authorToHex(device.identity.publicKey);
  for (let at = from; at <= to; at += 10) {
    const entries = device.db.replica.readFeed(author, at, { limit: Math.min(10, to - at + 1), maxBytes: 1 });
    const res = await post(t, token, encodeMessage({ type: 'entries', entries }));
    expect(res.status).toBe(200);
  }
}

function post(t: TestHub, token: string, body: Uint8Array): Promise<Response> {
  return Promise.resolve(
    t.app.request('/v1/sync', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-aregula-sync' },
      body: body as Uint8Array<ArrayBuffer>,
    }),
  );
}

/** A hub holding `n` entries of one writer, and a second device's token. */
async function filledHub(limits: Partial<HubLimits>, n: number) {
  const t = openTestHub(owner, { limits });
  hubs.push(t);
  const a = makeDevice(owner, 1);
  writeCommits(a, 0, n);
  const ta = await login(t, a);
  await push(t, a, ta, 1, n);
  expect(t.hub.index.end).toBe(n);
  const b = makeDevice(owner, 2);
  return { t, a, ta, b, tb: await login(t, b) };
}

const HELLO = encodeMessage({ type: 'hello', stateVector: new Map(), heads: new Map() });

/** Reads a body chunk by chunk. */
async function chunksOf(res: Response): Promise<Uint8Array[]> {
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push(value);
  }
}

/** The sequence numbers of the entries in a framed answer, and the type of its last message. */
function summary(chunks: Uint8Array[]): { seqs: number[]; bytes: number; last: string } {
  const seqs: number[] = [];
  let bytes = 0;
  let last = '';
  for (const chunk of chunks)
    for (const f of decodeFrames(chunk)) {
      const m = decodeMessage(f);
      last = m.type;
      if (m.type !== 'entries') continue;
      for (const e of m.entries) {
        bytes += e.length;
        seqs.push(decodeEntry(e).seq);
      }
    }
  return { seqs, bytes, last };
}

describe('streamed pull answers', () => {
  test('an answer comes in parts, each whole frames, that add up to the answer built at once', async () => {
    const streamed = await filledHub({ pullFirstStepBytes: 1024, pullStepBytes: 4096 }, 300);
    const parts = await chunksOf(await post(streamed.t, streamed.tb, HELLO));
    expect(parts.length).toBeGreaterThan(3);
    // Every part is whole messages on its own (decodeFrames throws on a cut one); only the
    // last carries done.
    for (const p of parts.slice(0, -1))
      expect(decodeFrames(p).map((f) => decodeMessage(f).type)).not.toContain('done');
    const s = summary(parts);
    expect(s.last).toBe('done');

    const atOnce = await filledHub({ pullFirstStepBytes: 4 << 20, pullStepBytes: 4 << 20 }, 300);
    const whole = await chunksOf(await post(atOnce.t, atOnce.tb, HELLO));
    expect(whole.length).toBe(1);
    expect(summary(whole)).toEqual(s);
    expect(s.seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  test('the budget bounds the whole answer, not each part; the device asks again with need', async () => {
    const { t, b, tb } = await filledHub(
      { pullBytesMax: 8 * 1024, pullFirstStepBytes: 1024, pullStepBytes: 2048 },
      300,
    );
    const s = summary(await chunksOf(await post(t, tb, HELLO)));
    expect(s.last).toBe('done');
    expect(s.seqs.length).toBeGreaterThan(0);
    expect(s.seqs.length).toBeLessThan(300);
    // At most one group commit (10 entries here, a few hundred bytes each) past the budget.
    expect(s.bytes).toBeLessThan(8 * 1024 + 10 * 400);
    // The device's own session gets everything in a few rounds.
    const queue: Uint8Array[] = [];
    const session = new SyncSession(b.db.replica, (m) => {
      if (m[1] !== 4) queue.push(m);
    });
    session.start();
    for (let i = 0; queue.length > 0; i++) {
      expect(i).toBeLessThan(200);
      for (const chunk of await chunksOf(await post(t, tb, queue.shift()!)))
        for (const f of decodeFrames(chunk)) session.receive(f);
    }
    expect(b.db.stateHash()).toBe(t.hub.stateHash());
  });

  test('parts are read when asked for: a push between them is in the rest of the answer', async () => {
    const { t, a, ta, tb } = await filledHub({ pullFirstStepBytes: 1024, pullStepBytes: 4096 }, 200);
    const reader = (await post(t, tb, HELLO)).body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    // The writer adds 100 entries; the hub stores them while the answer is half read.
    writeCommits(a, 200, 300);
    await push(t, a, ta, 201, 300);
    const chunks = [first.value!];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    const s = summary(chunks);
    expect(s.last).toBe('done');
    expect(s.seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  test('a hub that closes mid-answer breaks the answer off; nothing is lost and the hub stays closed', async () => {
    const { t, tb } = await filledHub({ pullFirstStepBytes: 1024, pullStepBytes: 1024 }, 200);
    const reader = (await post(t, tb, HELLO)).body!.getReader();
    expect((await reader.read()).done).toBe(false);
    t.hub.close();
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toMatchObject({ code: 'shutting_down' });
    t.reopen();
    expect(t.hub.index.end).toBe(200);
  });
});

describe('the default pull budget', () => {
  test('leaves a client room for a read past it and for the framing', () => {
    // A streamed answer costs the hub a part at a time, so the budget is large (few round
    // trips per initial sync); a client still refuses an answer past ANSWER_BYTES_MAX, and the
    // last read of an answer may pass the budget by a group commit.
    expect(DEFAULT_LIMITS.pullBytesMax).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(DEFAULT_LIMITS.pullBytesMax + 4 * MAX_MESSAGE_BYTES).toBeLessThanOrEqual(ANSWER_BYTES_MAX);
  });
});
