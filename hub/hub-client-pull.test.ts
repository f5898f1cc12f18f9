/**
 * A fresh device's initial pull through a hub asks for each entry once: the extra `hello` a
 * fresh event stream calls for waits until the pull in flight has been applied, so it carries
 * the state vector after the pull and the hub sends nothing twice. And the device applies a
 * pull answer as it arrives, not after its last byte (the hub streams it).
 */

import { afterEach, describe, expect, test } from 'vitest';
import { SeededRandom } from '../engine/io/random.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { HubClient, type HubClientOptions } from '../engine/sync/hub-client.ts';
import { authorToHex, decodeMessage, encodeMessage } from '../engine/sync/messages.ts';
import { identityOf, login, makeDevice, openTestHub, type TestHub, writeDocs } from './testing.ts';

const owner = identityOf(21);
const hubs: TestHub[] = [];
const clients: HubClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const h of hubs.splice(0)) h.close();
});

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never happened: ${what}`);
}

describe('initial pull from a hub', () => {
  test('fetches every entry once, however the event stream and the pull interleave', async () => {
    const t = openTestHub(owner);
    hubs.push(t);
    const a = makeDevice(owner, 1);
    writeDocs(a, 'a', 300);
    const ca = new HubClient({
      url: 'http://hub.local',
      fetch: t.fetch,
      replica: a.db.replica,
      identity: a.identity,
      certificate: a.certificate,
      signer: nodeSigner,
      random: new SeededRandom(1),
    });
    clients.push(ca);
    ca.start();
    await until(() => t.hub.index.end === 300, 'the hub holds the writer’s entries');

    const b = makeDevice(owner, 2);
    let entriesAnswered = 0;
    const hellos: number[] = [];
    const counting: typeof fetch = async (input, init) => {
      const body = init?.body;
      if (body instanceof Uint8Array && body[1] === 1) {
        const m = decodeMessage(body);
        if (m.type === 'hello') hellos.push(m.stateVector.size === 0 ? 0 : [...m.stateVector.values()][0]!);
      }
      const res = await t.fetch(input, init);
      if (String(input).endsWith('/v1/sync')) {
        const bytes = new Uint8Array(await res.clone().arrayBuffer());
        entriesAnswered += countEntries(bytes);
      }
      return res;
    };
    const cb = new HubClient({
      url: 'http://hub.local',
      fetch: counting,
      replica: b.db.replica,
      identity: b.identity,
      certificate: b.certificate,
      signer: nodeSigner,
      random: new SeededRandom(2),
    });
    clients.push(cb);
    cb.start();
    await until(() => b.db.stateHash() === a.db.stateHash() && cb.status === 'synced', 'b synced');
    await until(() => hellos.length >= 2, 'the fresh stream’s hello');
    expect(entriesAnswered).toBe(300);
    // The first hello asks for everything; the stream's follow-up is sent after it applied.
    expect(hellos).toEqual([0, 300]);
  });
});

/** A hub (answering in small parts) holding 300 entries of a writer, in commits of 10. */
async function writerHub() {
  const t = openTestHub(owner, { limits: { pullFirstStepBytes: 1024, pullStepBytes: 4096 } });
  hubs.push(t);
  const a = makeDevice(owner, 1);
  const notes = a.db.collection('notes');
  for (let i = 0; i < 300; i++) {
    notes.put(`d-${i}`, { text: `note ${i}`, n: i });
    if (i % 10 === 9) a.db.commit();
  }
  // Pushed a commit per message: the hub keeps a message's last signature only, so its commits
  // (and the parts of its answers) are as small as what was pushed.
  await login(t, a);
  const author = authorToHex(a.identity.publicKey);
  for (let from = 1; from <= 300; from += 10) {
    const entries = a.db.replica.readFeed(author, from, { limit: 10, maxBytes: 1 });
    t.hub.sync(author, encodeMessage({ type: 'entries', entries }));
  }
  expect(t.hub.index.end).toBe(300);
  const b = makeDevice(owner, 2);
  const held = () => b.db.replica.stateVector().get(author) ?? 0;
  return { t, a, b, author, held };
}

/**
 * Wraps the `/v1/sync` answers of `inner`: `piece` sees each chunk of a body, its index and
 * the request's abort signal.
 */
function wrapAnswers(
  inner: typeof fetch,
  piece: (
    controller: ReadableStreamDefaultController<Uint8Array>,
    value: Uint8Array,
    index: number,
    signal: AbortSignal | null | undefined,
  ) => Promise<void>,
): typeof fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    if (!String(input).endsWith('/v1/sync') || res.body === null) return res;
    const reader = res.body.getReader();
    let index = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        await piece(controller, value, index++, init?.signal);
      },
      cancel: () => reader.cancel(),
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
}

describe('a streamed pull answer', () => {
  test('the device applies the first messages before the answer has ended', async () => {
    const { t, a, b, held } = await writerHub();
    // Each sync answer is held after its first piece until the device has applied something
    // from it (or 2 s pass): a client that reads the whole answer before applying never does.
    const appliedEarly: boolean[] = [];
    const gated = wrapAnswers(t.fetch, async (controller, value, index) => {
      const before = held();
      controller.enqueue(value);
      if (index > 0 || value.length < 100) return;
      for (let waited = 0; held() === before && waited < 2000; waited += 5)
        await new Promise((r) => setTimeout(r, 5));
      appliedEarly.push(held() > before);
    });
    await pullUntilSynced(a, b, gated);
    expect(appliedEarly.length).toBeGreaterThan(0);
    expect(appliedEarly.every((x) => x)).toBe(true);
  });

  test('an answer cut off mid-message: the whole messages before stay applied, the rest comes again', async () => {
    const { t, a, b, author } = await writerHub();
    let cuts = 0;
    const cutting = wrapAnswers(t.fetch, async (controller, value, index) => {
      if (cuts > 0 || index < 2) return controller.enqueue(value);
      cuts++;
      controller.enqueue(value.subarray(0, value.length >> 1));
      controller.close();
    });
    // What each hello or need said the device held, in order.
    const asked: number[] = [];
    const counting: typeof fetch = (input, init) => {
      const body = init?.body;
      if (body instanceof Uint8Array && (body[1] === 1 || body[1] === 3)) {
        const m = decodeMessage(body);
        if (m.type === 'hello' || m.type === 'need') asked.push(m.stateVector.get(author) ?? 0);
      }
      return cutting(input, init);
    };
    const cb = await pullUntilSynced(a, b, counting, { backoffMsMin: 5, backoffMsMax: 20 });
    expect(cuts).toBe(1);
    expect(cb.stats.failures).toBe(1);
    // The first hello held nothing; the one after the cut already held the first pieces.
    expect(asked[0]).toBe(0);
    expect(asked[1]).toBeGreaterThan(0);
    expect(asked[1]).toBeLessThan(300);
  });
});

describe('the request timeout of a streamed pull answer', () => {
  /** A client that gives up on a hub silent for 150 ms and retries soon. */
  const PACED_CLIENT = { requestTimeoutMs: 150, backoffMsMin: 5, backoffMsMax: 20 };

  /**
   * `inner`'s `/v1/sync` answers, each part `delayMs(index)` after the one before, ended (as a
   * real `fetch` ends them) with an error when the request's signal aborts.
   */
  function paced(inner: typeof fetch, delayMs: (index: number) => number): typeof fetch {
    return wrapAnswers(inner, async (controller, value, index, signal) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs(index));
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (signal?.aborted) return controller.error(new Error('aborted'));
      controller.enqueue(value);
    });
  }

  test('an answer that keeps arriving is read to its end, however long it takes in all', async () => {
    const { t, a, b } = await writerHub();
    let parts = 0;
    // Every part comes 40 ms after the one before: the whole answer takes far longer than the
    // 150 ms timeout, but the hub is never silent for that long.
    const slow = paced(t.fetch, () => {
      parts++;
      return 40;
    });
    const cb = await pullUntilSynced(a, b, slow, PACED_CLIENT);
    expect(parts).toBeGreaterThan(8);
    expect(cb.stats.failures).toBe(0);
  });

  test('an answer that stalls past the timeout is given up, and the pull resumes', async () => {
    const { t, a, b } = await writerHub();
    let stalls = 0;
    const stalling = paced(t.fetch, (index) => {
      if (index !== 2 || stalls > 0) return 0;
      stalls++;
      return 1_000;
    });
    const cb = await pullUntilSynced(a, b, stalling, PACED_CLIENT);
    expect(stalls).toBe(1);
    expect(cb.stats.failures).toBe(1);
  });
});

function clientOf(
  device: ReturnType<typeof makeDevice>,
  f: typeof fetch,
  seed: number,
  options: Partial<HubClientOptions> = {},
): HubClient {
  const c = new HubClient({
    url: 'http://hub.local',
    fetch: f,
    replica: device.db.replica,
    identity: device.identity,
    certificate: device.certificate,
    signer: nodeSigner,
    random: new SeededRandom(seed),
    ...options,
  });
  clients.push(c);
  return c;
}

/** Starts a client of `b` through `f` and waits until `b` holds what `a` holds and says so. */
async function pullUntilSynced(
  a: ReturnType<typeof makeDevice>,
  b: ReturnType<typeof makeDevice>,
  f: typeof fetch,
  options: Partial<HubClientOptions> = {},
): Promise<HubClient> {
  const cb = clientOf(b, f, 2, options);
  cb.start();
  await until(() => b.db.stateHash() === a.db.stateHash() && cb.status === 'synced', 'b synced');
  return cb;
}

/** Entries in a framed `/v1/sync` answer. */
function countEntries(framed: Uint8Array): number {
  let n = 0;
  let at = 0;
  while (at < framed.length) {
    let len = 0;
    let shift = 0;
    for (;;) {
      const b = framed[at++]!;
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) break;
    }
    const m = decodeMessage(framed.subarray(at, at + len));
    if (m.type === 'entries') n += m.entries.length;
    at += len;
  }
  return n;
}
