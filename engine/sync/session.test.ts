/**
 * The sync session against model replicas (feeds as arrays, entries as plain bytes, no
 * crypto), over channels that drop, duplicate and reorder messages. Whatever the channel
 * does, once it delivers faithfully for a while (and sessions re-open, as a transport does on
 * reconnect), every replica holds every entry.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.ts';
import {
  authorToHex,
  decodeMessage,
  encodeMessage,
  knowledgeType,
  retypeKnowledge,
  type StateVector,
} from './messages.ts';
import { type IngestResult, type SyncReplica, SyncSession } from './session.ts';

/** Model entry: 32-byte author ‖ u32 seq ‖ payload. */
function modelEntry(author: number, seq: number, payload: number): Uint8Array {
  const e = new Uint8Array(40);
  e[0] = author;
  new DataView(e.buffer).setUint32(32, seq);
  new DataView(e.buffer).setUint32(36, payload);
  return e;
}

class ModelReplica implements SyncReplica {
  feeds = new Map<string, Uint8Array[]>();
  ingests = 0;
  constructor(readonly poison = false) {}

  write(author: number, payload: number): void {
    const hex = authorToHex(modelEntry(author, 1, 0).subarray(0, 32));
    const feed = this.feeds.get(hex) ?? [];
    feed.push(modelEntry(author, feed.length + 1, payload));
    this.feeds.set(hex, feed);
  }

  stateVector(): StateVector {
    return new Map([...this.feeds].map(([a, f]) => [a, f.length]));
  }

  headHash(author: string, seq: number): Uint8Array | undefined {
    const e = this.feeds.get(author)?.[seq - 1];
    // The model's entries are unique per (author, seq, payload); their last 8 bytes will do.
    return e?.slice(32, 40);
  }

  readFeed(author: string, fromSeq: number, o: { limit: number; maxBytes: number }): Uint8Array[] {
    const feed = this.feeds.get(author) ?? [];
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (let s = fromSeq; s <= feed.length && out.length < o.limit; s++) {
      if (out.length > 0 && bytes + feed[s - 1]!.length > o.maxBytes) break;
      out.push(feed[s - 1]!);
      bytes += feed[s - 1]!.length;
    }
    return out;
  }

  ingest(entries: Uint8Array[]): IngestResult {
    this.ingests++;
    const result: IngestResult = { applied: 0, gapped: [], rejected: [] };
    const sorted = [...entries].sort(
      (a, b) =>
        new DataView(a.buffer, a.byteOffset).getUint32(32) -
        new DataView(b.buffer, b.byteOffset).getUint32(32),
    );
    for (const e of sorted) {
      const author = authorToHex(e.subarray(0, 32));
      if (this.poison && e[39] === 0xff) {
        result.rejected.push({ author, code: 'ARE_BAD_SIGNATURE', message: 'poisoned' });
        continue;
      }
      const feed = this.feeds.get(author) ?? [];
      const seq = new DataView(e.buffer, e.byteOffset).getUint32(32);
      if (seq <= feed.length) continue;
      if (seq === feed.length + 1) {
        // Received entries are views into their message: keep a copy.
        feed.push(e.slice());
        this.feeds.set(author, feed);
        result.applied++;
      } else {
        result.gapped.push(e);
      }
    }
    return result;
  }
}

/** What the channel does to each message: 0 deliver, 1 drop, 2 duplicate, 3 delay. */
type Fate = 0 | 1 | 2 | 3;

interface Link {
  queue: Uint8Array[];
  session: SyncSession;
}

function connect(a: ModelReplica, b: ModelReplica, options = {}): { ab: Link; ba: Link } {
  const toB: Uint8Array[] = [];
  const toA: Uint8Array[] = [];
  const sa = new SyncSession(a, (m) => toB.push(m), options);
  const sb = new SyncSession(b, (m) => toA.push(m), options);
  return { ab: { queue: toB, session: sb }, ba: { queue: toA, session: sa } };
}

/** Delivers queued messages; `fate` decides each one's fate while faults are on. */
function pump(links: Link[], fate: () => Fate, steps: number): void {
  for (let i = 0; i < steps; i++) {
    const busy = links.filter((l) => l.queue.length > 0);
    if (busy.length === 0) return;
    const link = busy[i % busy.length]!;
    const m = link.queue.shift()!;
    const f = fate();
    if (f === 1) continue;
    if (f === 3) {
      link.queue.push(m);
      continue;
    }
    link.session.receive(m);
    if (f === 2) link.session.receive(m);
  }
}

const feeds = (r: ModelReplica) =>
  JSON.stringify([...r.feeds].sort().map(([a, f]) => [a, f.map((e) => [...e])]));

describe('sync session', () => {
  it('keeps its own copy of entries it buffers across a gap, not a view into the message', () => {
    const a = new ModelReplica();
    for (let i = 0; i < 6; i++) a.write(1, i);
    const b = new ModelReplica();
    const sb = new SyncSession(b, () => {});
    const hex = [...a.feeds.keys()][0]!;
    const late = encodeMessage({ type: 'entries', entries: a.readFeed(hex, 4, { limit: 3, maxBytes: 1e6 }) });
    sb.receive(late);
    expect(b.stateVector().get(hex)).toBeUndefined();
    // The transport may reuse the message's memory once receive returns.
    late.fill(0);
    sb.receive(encodeMessage({ type: 'entries', entries: a.readFeed(hex, 1, { limit: 3, maxBytes: 1e6 }) }));
    expect(feeds(b)).toBe(feeds(a));
    expect(sb.stats.entriesApplied).toBe(6);
  });

  it('two replicas converge over a channel that drops, duplicates and reorders', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3 }), fc.nat(1000)), { maxLength: 300 }),
        fc.array(fc.constantFrom<Fate>(0, 0, 1, 2, 3), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 20 }),
        (writes, fates, perMessage) => {
          const a = new ModelReplica();
          const b = new ModelReplica();
          for (const [toA, author, payload] of writes) (toA ? a : b).write(author + (toA ? 0 : 10), payload);
          const { ab, ba } = connect(a, b, { entriesPerMessageMax: perMessage });
          let k = 0;
          // Chaos: sessions open and re-open while the channel misbehaves.
          for (let round = 0; round < 5; round++) {
            ab.session.start();
            ba.session.start();
            pump([ab, ba], () => fates[k++ % fates.length]!, 200);
          }
          // Liveness: a faithful channel and one more re-open must be enough.
          ab.queue.length = 0;
          ba.queue.length = 0;
          ab.session.start();
          ba.session.start();
          pump([ab, ba], () => 0, 100_000);
          expect(ab.queue.length + ba.queue.length).toBe(0);
          expect(feeds(a)).toBe(feeds(b));
          expect(ab.session.caughtUp && ba.session.caughtUp).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('recovers a lost entries message within the session, through need', () => {
    const a = new ModelReplica();
    const b = new ModelReplica();
    for (let j = 0; j < 10; j++) a.write(1, j);
    const { ab, ba } = connect(a, b, { entriesPerMessageMax: 2 });
    ab.session.start();
    ba.session.start();
    let entriesSeen = 0;
    // Deliver everything, but drop the second entries message that travels to b.
    for (let i = 0; i < 1000 && ab.queue.length + ba.queue.length > 0; i++) {
      for (const link of [ab, ba]) {
        const m = link.queue.shift();
        if (m === undefined) continue;
        if (link === ab && decodeMessage(m).type === 'entries' && ++entriesSeen === 2) continue;
        link.session.receive(m);
      }
    }
    expect(entriesSeen).toBeGreaterThan(2);
    expect(feeds(b)).toBe(feeds(a));
    expect(ab.session.stats.needsSent).toBeGreaterThan(0);
  });

  it('resends entries lost in flight when only one side ever opens conversations (a client polling a hub)', () => {
    const client = new ModelReplica();
    const hub = new ModelReplica();
    for (let j = 0; j < 6; j++) client.write(1, j);
    const { ab, ba } = connect(client, hub, { entriesPerMessageMax: 2 });
    const run = (dropEntriesToHub: boolean) => {
      for (let i = 0; i < 1000 && ab.queue.length + ba.queue.length > 0; i++) {
        for (const link of [ab, ba]) {
          const m = link.queue.shift();
          if (m === undefined) continue;
          // ab carries what the client sends to the hub (ab.session is the hub's session).
          if (dropEntriesToHub && link === ab && decodeMessage(m).type === 'entries') continue;
          link.session.receive(m);
        }
      }
    };
    // Only the client says hello; every entries message it sends this time is lost.
    ba.session.start();
    run(true);
    expect(feeds(hub)).not.toBe(feeds(client));
    // The next poll, with nothing lost, must carry what was lost before.
    ba.session.start();
    run(false);
    expect(feeds(hub)).toBe(feeds(client));
  });

  it('a star of peers through a hub converges, and pushLocal carries later writes', () => {
    const hub = new ModelReplica();
    const peers = [0, 1, 2, 3].map(() => new ModelReplica());
    peers.forEach((p, i) => {
      for (let j = 0; j < 50; j++) p.write(i, j);
    });
    const links = peers.map((p) => connect(p, hub));
    const all = links.flatMap((l) => [l.ab, l.ba]);
    for (let round = 0; round < 2; round++) {
      for (const l of links) {
        l.ab.session.start();
        l.ba.session.start();
      }
      pump(all, () => 0, 100_000);
    }
    for (const p of peers) expect(feeds(p)).toBe(feeds(hub));
    peers[2]!.write(2, 999);
    links[2]!.ba.session.pushLocal();
    pump(all, () => 0, 100_000);
    for (const l of links) l.ab.session.pushLocal();
    pump(all, () => 0, 100_000);
    for (const p of peers) expect(feeds(p)).toBe(feeds(hub));
  });

  it('a peer that sends entries failing verification gets a ProtocolError; valid authors still apply', () => {
    const a = new ModelReplica();
    const b = new ModelReplica(true);
    a.write(1, 5);
    a.write(2, 0xff);
    const { ab, ba } = connect(a, b);
    ba.session.start();
    expect(() => pump([ab, ba], () => 0, 100)).toThrow(ProtocolError);
    expect(b.stateVector().get(authorToHex(modelEntry(1, 1, 0).subarray(0, 32)))).toBe(1);
  });
});

/** A model replica that counts the head hashes it is asked for. */
class CountingReplica extends ModelReplica {
  headHashes = 0;
  override headHash(author: string, seq: number): Uint8Array | undefined {
    this.headHashes++;
    return super.headHash(author, seq);
  }
}

describe('sync session: what it remembers between messages', () => {
  it('says the same state vector once encoded, to every session on the replica, until it changes', () => {
    const a = new CountingReplica();
    a.write(1, 10);
    a.write(2, 20);
    const sent: Uint8Array[] = [];
    const s1 = new SyncSession(a, (m) => sent.push(m));
    const s2 = new SyncSession(a, (m) => sent.push(m));
    s1.start();
    s2.start();
    s1.start();
    expect(a.headHashes).toBe(2);
    expect(sent[1]).toEqual(sent[0]);
    expect(sent[2]).toEqual(sent[0]);
    expect(sent[1]).not.toBe(sent[0]);
    const expected = { type: 'hello', stateVector: a.stateVector(), heads: new Map() };
    expect(decodeMessage(sent[0]!)).toMatchObject({ type: expected.type, stateVector: expected.stateVector });
    a.write(1, 11);
    s2.start();
    expect(decodeMessage(sent[3]!)).toMatchObject({ type: 'hello', stateVector: a.stateVector() });
    expect(a.headHashes).toBe(4);
  });

  it('answers a repeated hello as it answered the first, and still notices a fork behind equal vectors', () => {
    const a = new ModelReplica();
    const b = new ModelReplica();
    a.write(1, 10);
    b.write(1, 10);
    const toB: Uint8Array[] = [];
    const sa = new SyncSession(a, (m) => toB.push(m));
    const toA: Uint8Array[] = [];
    const sb = new SyncSession(b, (m) => toA.push(m));
    sa.start();
    const hello = toB[0]!;
    sb.receive(hello);
    sb.receive(hello);
    // Nothing to send either time: a `done` each, the same bytes.
    expect(toA.map((m) => decodeMessage(m).type)).toEqual(['done', 'done']);
    expect(toA[1]).toEqual(toA[0]);
    // Another replica of the same author holds a different entry at seq 1 (a fork): its hello
    // reaches b's session with an equal vector but another head hash, and b offers its entry.
    const forked = new ModelReplica();
    forked.write(1, 99);
    const fromForked: Uint8Array[] = [];
    new SyncSession(forked, (m) => fromForked.push(m)).start();
    sb.receive(fromForked[0]!);
    expect(decodeMessage(toA[2]!)).toMatchObject({ type: 'entries', entries: [modelEntry(1, 1, 10)] });
  });
});

describe('sync messages', () => {
  const author = (i: number) => authorToHex(modelEntry(i, 1, 0).subarray(0, 32));

  it('round-trip', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(255)),
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 20 }),
        (as, es) => {
          const sv = new Map(as.map((i) => [author(i), i * 7]));
          const heads = new Map([...sv.keys()].map((a, i) => [a, new Uint8Array(8).fill(i)]));
          for (const type of ['hello', 'need', 'done'] as const) {
            const back = decodeMessage(encodeMessage({ type, stateVector: sv, heads }));
            expect(back).toEqual({
              type,
              stateVector: new Map([...sv].sort()),
              heads: new Map([...heads].sort()),
            });
          }
          expect(decodeMessage(encodeMessage({ type: 'entries', entries: es }))).toEqual({
            type: 'entries',
            entries: es,
          });
        },
      ),
    );
  });

  it('retypes an encoded hello, need or done as another of the three', () => {
    const sv = new Map([[author(1), 3]]);
    const heads = new Map([[author(1), new Uint8Array(8).fill(7)]]);
    const hello = encodeMessage({ type: 'hello', stateVector: sv, heads });
    expect(knowledgeType(hello)).toBe('hello');
    for (const type of ['hello', 'need', 'done'] as const) {
      const out = retypeKnowledge(hello, type);
      expect(out).not.toBe(hello);
      expect(knowledgeType(out)).toBe(type);
      expect(decodeMessage(out)).toEqual({ type, stateVector: sv, heads });
    }
    const entries = encodeMessage({ type: 'entries', entries: [] });
    expect(knowledgeType(entries)).toBeUndefined();
    expect(knowledgeType(Uint8Array.of(9, 1))).toBeUndefined();
    expect(() => retypeKnowledge(entries, 'done')).toThrow(/not an encoded/);
    expect(() => retypeKnowledge(Uint8Array.of(1), 'done')).toThrow(/not an encoded/);
  });

  it('reject malformed bytes with ProtocolError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeMessage(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
    const good = encodeMessage({ type: 'hello', stateVector: new Map([[author(1), 3]]), heads: new Map() });
    for (let cut = 0; cut < good.length; cut++)
      expect(() => decodeMessage(good.subarray(0, cut))).toThrow(ProtocolError);
    expect(() => decodeMessage(Uint8Array.of(9, 1, 0))).toThrow(/version/);
    expect(() => decodeMessage(Uint8Array.of(1, 77, 0))).toThrow(/type/);
    expect(() => decodeMessage(Uint8Array.of(1, 2, 0xff, 0xff, 0x03))).toThrow(ProtocolError);
    const unsorted = new Uint8Array([
      1,
      1,
      2,
      ...new Uint8Array(32).fill(2),
      1,
      ...new Uint8Array(8),
      ...new Uint8Array(32).fill(1),
      1,
      ...new Uint8Array(8),
    ]);
    expect(() => decodeMessage(unsorted)).toThrow(/ascending/);
    expect(() =>
      encodeMessage({ type: 'hello', stateVector: new Map([['nothex', 1]]), heads: new Map() }),
    ).toThrow(ProtocolError);
  });
});
