/**
 * The checkers on hand-built histories and final states: each violation kind is reported with
 * a clear message where it must be (a lost durable write, a changed entry, a write never
 * invoked, one invocation accounting for two entries, diverged peers with equal state vectors,
 * unequal state vectors after healing, documents not matching the model, a rebuild mismatch,
 * a failed verification, a read-your-writes miss) and nothing is reported where nothing is
 * wrong (non-durable writes missing, crashed-mid-write entries, reads that another write can
 * beat). A property checks that correct random runs are clean and that dropping a durable write
 * from any peer is caught.
 */

import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { canonicalJson, type JsonObject } from '../engine/crdt/lww.ts';
import type { DbOp } from '../engine/db/payload.ts';
import {
  checkConvergence,
  checkIntegrity,
  checkNoLostWrites,
  checkReadYourWrites,
  type PeerFinal,
  runCheckers,
  type Violation,
} from './checkers.ts';
import { History, type OpRecord } from './history.ts';
import { docKey, expectedDocuments, type ModelWrite } from './lww-model.ts';

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const C = 'cc'.repeat(32);
const AUTHOR_OF: Record<string, string> = { p: A, q: B, r: C };

const patch = (fields: JsonObject, id = 'x'): DbOp => ({ kind: 'patch', collection: 'c', id, fields });
const put = (fields: JsonObject, id = 'x'): DbOp => ({ kind: 'put', collection: 'c', id, fields });
const unset = (names: string[], id = 'x'): DbOp => ({ kind: 'unset', collection: 'c', id, names });
const del = (id = 'x'): DbOp => ({ kind: 'delete', collection: 'c', id });

/** A history with helpers that write and read the way the simulator's peers record them. */
class Run {
  readonly history: History;
  private t = 0;
  private readonly seqs = new Map<string, number>();
  /** Every acknowledged write, as its entry. */
  readonly entries: ModelWrite[] = [];

  constructor() {
    this.history = new History(() => this.t++);
  }

  /** An acknowledged write by `peer` at wall time `wallMs`; returns its entry. */
  write(peer: string, ops: DbOp[], wallMs: number): ModelWrite {
    const author = AUTHOR_OF[peer]!;
    const seq = (this.seqs.get(author) ?? 0) + 1;
    this.seqs.set(author, seq);
    const i = this.history.invoke(peer, 'write', { ops, commit: false });
    const entry: ModelWrite = { author, seq, hlc: { wallMs, logical: 0 }, ops };
    this.history.ok(i, { author, seq, hlc: entry.hlc });
    this.entries.push(entry);
    return entry;
  }

  /** A write whose acknowledgement never came (it failed, e.g. a crash mid-write). */
  failedWrite(peer: string, ops: DbOp[], error = 'CRASH'): number {
    const i = this.history.invoke(peer, 'write', { ops });
    this.history.fail(i, error);
    return i;
  }

  read(peer: string, id: string, result: JsonObject | null): void {
    const i = this.history.invoke(peer, 'read', { collection: 'c', id });
    this.history.ok(i, result);
  }
}

/** A correct final state holding exactly `writes`. */
function final(name: string, writes: readonly ModelWrite[], overrides: Partial<PeerFinal> = {}): PeerFinal {
  const documents = expectedDocuments(writes);
  const stateVector = new Map<string, number>();
  for (const w of writes) stateVector.set(w.author, Math.max(stateVector.get(w.author) ?? 0, w.seq));
  const stateHash = canonicalJson([...documents].sort());
  return {
    name,
    stateHash,
    documents,
    feedWrites: [...writes],
    stateVector,
    rebuildMatches: true,
    ...overrides,
  };
}

const always = () => true;
const never = () => false;
const kinds = (vs: readonly Violation[]) => vs.map((v) => v.checker);

describe('a correct run', () => {
  it('has no violations', () => {
    const run = new Run();
    run.write('p', [patch({ a: 1 })], 10);
    run.write('q', [patch({ b: 2 }), put({ z: 0 }, 'y')], 11);
    run.read('p', 'x', { a: 1 });
    run.write('p', [del('y')], 12);
    const peers = [final('p', run.entries), final('q', [...run.entries].reverse())];
    expect(runCheckers({ history: run.history, peers, durable: always })).toEqual([]);
  });
});

describe('checkNoLostWrites', () => {
  it('reports a durable acknowledged write missing from a peer, naming the peer, write and ops', () => {
    const run = new Run();
    const w1 = run.write('p', [patch({ a: 1 })], 10);
    const w2 = run.write('p', [patch({ a: 2 })], 11);
    const vs = checkNoLostWrites(run.history, [final('p', [w1, w2]), final('q', [w1])], { durable: always });
    expect(kinds(vs)).toEqual(['lost-write']);
    expect(vs[0]!.peer).toBe('q');
    expect(vs[0]!.message).toMatch(/^q lost durable write #2 by p \(aaaaaaaa…:2, ops .*"a":2/);
  });

  it('lets non-durable writes be missing, everywhere or on some peers', () => {
    const run = new Run();
    const w1 = run.write('p', [patch({ a: 1 })], 10);
    run.write('p', [patch({ a: 2 })], 11);
    const peers = [final('p', [w1]), final('q', [w1])];
    expect(checkNoLostWrites(run.history, peers, { durable: never })).toEqual([]);
    // The durability predicate is asked about the write's ok record.
    const asked: OpRecord[] = [];
    const record = (w: OpRecord) => {
      asked.push(w);
      return false;
    };
    checkNoLostWrites(run.history, peers, { durable: record });
    expect(asked.map((w) => [w.type, w.invokeIndex])).toEqual([
      ['ok', 0],
      ['ok', 2],
    ]);
    const vs = checkNoLostWrites(run.history, peers, { durable: (w) => w.invokeIndex === 2 });
    expect(vs.map((v) => v.peer)).toEqual(['p', 'q']);
  });

  it('reports an entry whose ops or HLC differ from the acknowledged write at its slot', () => {
    const run = new Run();
    const w = run.write('p', [patch({ a: 1 })], 10);
    const changed = { ...w, ops: [patch({ a: 666 })] };
    let vs = checkNoLostWrites(run.history, [final('q', [changed])], { durable: always });
    expect(kinds(vs).sort()).toEqual(['lost-write', 'phantom-write']);
    expect(vs.find((v) => v.checker === 'lost-write')!.message).toMatch(
      /holds ops .*666.* in place of durable write #0/,
    );
    expect(vs.find((v) => v.checker === 'phantom-write')!.message).toMatch(/never written there/);
    const moved = { ...w, hlc: { wallMs: 99, logical: 0 } };
    vs = checkNoLostWrites(run.history, [final('q', [moved])], { durable: always });
    expect(vs.map((v) => v.message).join('\n')).toMatch(/holds HLC .*99.* in place of/);
  });

  it('reports an entry that nobody ever invoked', () => {
    const run = new Run();
    const w = run.write('p', [patch({ a: 1 })], 10);
    const phantom: ModelWrite = {
      author: A,
      seq: 2,
      hlc: { wallMs: 11, logical: 0 },
      ops: [patch({ a: 'never' })],
    };
    const vs = checkNoLostWrites(run.history, [final('p', [w, phantom]), final('q', [w, phantom])], {
      durable: always,
    });
    expect(kinds(vs)).toEqual(['phantom-write']);
    expect(vs[0]!.message).toMatch(/aaaaaaaa…:2 \(held by p, q\) with ops .*never.* matches no write/);
  });

  it('accepts an entry of a write that crashed mid-way, matched on its ops, once', () => {
    const run = new Run();
    const w = run.write('p', [patch({ a: 1 })], 10);
    run.failedWrite('p', [patch({ a: 2 })]);
    const survivor: ModelWrite = {
      author: A,
      seq: 2,
      hlc: { wallMs: 11, logical: 0 },
      ops: [patch({ a: 2 })],
    };
    expect(checkNoLostWrites(run.history, [final('p', [w, survivor])], { durable: always })).toEqual([]);
    // One invocation cannot account for two entries.
    const twice: ModelWrite = { ...survivor, seq: 3 };
    const vs = checkNoLostWrites(run.history, [final('p', [w, survivor, twice])], { durable: always });
    expect(kinds(vs)).toEqual(['phantom-write']);
    // Two invocations with the same ops can.
    run.failedWrite('p', [patch({ a: 2 })]);
    expect(checkNoLostWrites(run.history, [final('p', [w, survivor, twice])], { durable: always })).toEqual(
      [],
    );
  });

  it('matches an unacknowledged write only to an author its peer writes as', () => {
    const run = new Run();
    const w = run.write('q', [patch({ a: 1 })], 10);
    run.failedWrite('p', [patch({ a: 2 })]);
    run.write('p', [patch({ b: 1 })], 12);
    const asQ: ModelWrite = { author: B, seq: 2, hlc: { wallMs: 11, logical: 0 }, ops: [patch({ a: 2 })] };
    const vs = checkNoLostWrites(run.history, [final('q', [w, asQ])], { durable: never });
    expect(kinds(vs)).toEqual(['phantom-write']);
    // A peer that never acknowledged a write may be any author.
    run.failedWrite('s', [patch({ a: 2 })]);
    expect(checkNoLostWrites(run.history, [final('q', [w, asQ])], { durable: never })).toEqual([]);
  });

  it('reports peers holding different entries at one slot', () => {
    const run = new Run();
    const w = run.write('p', [patch({ a: 1 })], 10);
    const fork: ModelWrite = { ...w, hlc: { wallMs: 10, logical: 1 }, ops: [patch({ a: 2 })] };
    const vs = checkNoLostWrites(run.history, [final('p', [w]), final('r', [fork])], { durable: never });
    expect(kinds(vs)).toEqual(['feed-agreement', 'phantom-write']);
    expect(vs[0]!.message).toBe(
      'r and p hold different entries at aaaaaaaa…:1: [{"collection":"c","fields":{"a":2},"id":"x","kind":"patch"}] @{"logical":1,"wallMs":10} vs [{"collection":"c","fields":{"a":1},"id":"x","kind":"patch"}] @{"logical":0,"wallMs":10}',
    );
  });

  it('accepts a slot reused after a crash lost a non-durable write, unless that write was durable', () => {
    const run = new Run();
    const lost = run.write('p', [patch({ a: 1 })], 10);
    const h = run.history;
    h.info('p', 'crash', 'power loss');
    const i = h.invoke('p', 'write', { ops: [patch({ a: 1 })] }); // the same ops again, at seq 1 again
    h.ok(i, { author: A, seq: 1, hlc: { wallMs: 11, logical: 0 } });
    const again: ModelWrite = { author: A, seq: 1, hlc: { wallMs: 11, logical: 0 }, ops: [patch({ a: 1 })] };
    const durable = (w: OpRecord) => w.invokeIndex === i;
    expect(checkNoLostWrites(h, [final('p', [again]), final('q', [again])], { durable })).toEqual([]);
    const vs = checkNoLostWrites(h, [final('p', [again])], { durable: always });
    expect(vs.map((v) => v.message)).toEqual([
      'p holds HLC {"logical":0,"wallMs":11} in place of {"logical":0,"wallMs":10} for durable write #0 by p (aaaaaaaa…:1, ops [{"collection":"c","fields":{"a":1},"id":"x","kind":"patch"}])',
    ]);
    expect(lost.seq).toBe(again.seq);
  });

  it("reports documents that differ from the model's view of the peer's own feeds", () => {
    const run = new Run();
    const w1 = run.write('p', [put({ a: 1, b: 2 })], 10);
    const w2 = run.write('q', [del()], 11);
    const w3 = run.write('p', [patch({ c: 3 })], 12);
    const good = final('p', [w1, w2, w3]);
    expect(good.documents.get(docKey('c', 'x'))).toEqual({ c: 3 });
    // The engine resurrected fields older than the delete.
    const documents = new Map([[docKey('c', 'x'), { a: 1, b: 2, c: 3 }]]);
    const vs = checkNoLostWrites(run.history, [{ ...good, documents }], { durable: always });
    expect(kinds(vs)).toEqual(['model']);
    expect(vs[0]).toEqual({
      checker: 'model',
      peer: 'p',
      message: 'p c/x: engine {"a":1,"b":2,"c":3}, model {"c":3}',
    });
    // A document the model says is deleted, and one missing.
    const extra = new Map([...good.documents, [docKey('c', 'gone'), {}]]);
    expect(
      checkNoLostWrites(run.history, [{ ...good, documents: extra }], { durable: always })[0]!.message,
    ).toBe('p c/gone: engine {}, model <absent>');
    const none = checkNoLostWrites(run.history, [{ ...good, documents: new Map() }], { durable: always });
    expect(none[0]!.message).toBe('p c/x: engine <absent>, model {"c":3}');
  });

  it('reports a write ok without a WriteResult as a malformed history', () => {
    const h = new History(() => 0);
    h.ok(h.invoke('p', 'write', { ops: [patch({})] }), { seq: 1 });
    expect(checkNoLostWrites(h, [], { durable: always })).toEqual([
      { checker: 'history', peer: 'p', message: 'write ok #1 has no invoke or no WriteResult' },
    ]);
  });

  it('summarises after a few messages per peer', () => {
    const run = new Run();
    for (let i = 0; i < 8; i++) run.write('p', [patch({ n: i }, `d${i}`)], 10 + i);
    const vs = checkNoLostWrites(run.history, [final('q', [])], { durable: always });
    expect(vs).toHaveLength(6);
    expect(vs[5]).toEqual({ checker: 'lost-write', peer: 'q', message: '… and 3 more like these' });
  });
});

describe('checkConvergence', () => {
  it('reports peers with one state vector but different hashes or documents', () => {
    const run = new Run();
    const w = run.write('p', [patch({ a: 1 })], 10);
    const p = final('p', [w]);
    const q = final('q', [w], { stateHash: 'ff'.repeat(32) });
    let vs = checkConvergence([p, q]);
    expect(vs).toHaveLength(1);
    expect(vs[0]!.checker).toBe('convergence');
    expect(vs[0]!.message).toMatch(/^q and p hold the same state vector but different state hashes/);
    const r = final('r', [w], { documents: new Map([[docKey('c', 'x'), { a: 2 }]]) });
    vs = checkConvergence([p, r]);
    expect(vs.map((v) => v.message)).toEqual([
      'r and p hold the same state vector but different documents: c/x: p {"a":1}, r {"a":2}',
    ]);
  });

  it('reports every peer that has not caught up after healing, with what it lacks', () => {
    const run = new Run();
    const w1 = run.write('p', [patch({ a: 1 })], 10);
    const w2 = run.write('p', [patch({ a: 2 })], 11);
    const w3 = run.write('q', [patch({ b: 1 })], 12);
    const vs = checkConvergence([final('p', [w1, w2]), final('q', [w1, w3]), final('r', [w1, w2, w3])]);
    expect(vs).toEqual([
      {
        checker: 'liveness',
        peer: 'p',
        message: 'p has not caught up after healing: author bbbbbbbb… up to 0 of 1',
      },
      {
        checker: 'liveness',
        peer: 'q',
        message: 'q has not caught up after healing: author aaaaaaaa… up to 1 of 2',
      },
    ]);
  });

  it('compares state vectors by content, not map order or zero entries', () => {
    const run = new Run();
    const w1 = run.write('p', [patch({ a: 1 })], 10);
    const w2 = run.write('q', [patch({ b: 1 })], 11);
    const p = final('p', [w1, w2]);
    const q = final('q', [w2, w1], {
      stateVector: new Map([
        [B, 1],
        [A, 1],
        [C, 0],
      ]),
    });
    expect(checkConvergence([p, q])).toEqual([]);
    expect(checkConvergence([])).toEqual([]);
  });
});

describe('checkIntegrity', () => {
  it('reports a rebuild mismatch and a verification failure', () => {
    const p = final('p', [], { rebuildMatches: false });
    const q = final('q', [], { integrityError: 'feed aa…: bad signature at seq 4' });
    expect(checkIntegrity([p, q, final('r', [])])).toEqual([
      {
        checker: 'integrity',
        peer: 'p',
        message: 'p: rebuilding the views from the feeds gave different rows than the live views',
      },
      { checker: 'integrity', peer: 'q', message: 'q: feed aa…: bad signature at seq 4' },
    ]);
  });
});

describe('checkReadYourWrites', () => {
  it('reports a read that misses the peer’s own patch', () => {
    const run = new Run();
    run.write('p', [patch({ a: 1, b: 'x' })], 10);
    run.read('p', 'x', { a: 1 });
    run.read('p', 'x', { a: 1, b: 'x', other: 5 }); // other fields may be there
    const vs = checkReadYourWrites(run.history);
    expect(vs).toEqual([
      {
        checker: 'read-your-writes',
        peer: 'p',
        message:
          'p read c/x (#3) as {"a":1}, but its own acknowledged write #0 (aaaaaaaa…:1) set b to "x", and no other write can beat that write',
      },
    ]);
  });

  it('checks deletes, puts and unsets by what they mean', () => {
    const run = new Run();
    run.write('p', [del()], 10);
    run.read('p', 'x', null);
    run.read('p', 'x', {});
    run.write('p', [put({ a: 1 })], 11);
    run.read('p', 'x', { a: 1 });
    run.read('p', 'x', { a: 1, b: 2 });
    run.write('p', [unset(['a'])], 12);
    run.read('p', 'x', null);
    run.read('p', 'x', { c: 1 });
    run.read('p', 'x', { a: 1 });
    run.write('p', [patch({})], 13);
    run.read('p', 'x', null);
    // One transaction: the value beats the unset at the same stamp.
    run.write('p', [unset(['a']), patch({ a: 5 })], 14);
    run.read('p', 'x', { a: 5 });
    const misses = checkReadYourWrites(run.history).map((v) => v.message.replace(/, and no other.*/, ''));
    expect(misses.map((m) => m.replace(/.* but /, ''))).toEqual([
      'its own acknowledged write #0 (aaaaaaaa…:1) deleted it',
      'its own acknowledged write #6 (aaaaaaaa…:2) put exactly {"a":1}',
      'its own acknowledged write #12 (aaaaaaaa…:3) unset a',
      'its own acknowledged write #20 (aaaaaaaa…:4) patched it with {}',
    ]);
  });

  it('skips reads after a crash, restart or fault of the peer, until its next write', () => {
    for (const kind of ['crash', 'restart', 'fault'] as const) {
      const run = new Run();
      run.write('p', [patch({ a: 1 })], 10);
      run.history.info('p', kind, 'x');
      run.read('p', 'x', null);
      run.write('p', [patch({ a: 2 })], 11);
      run.read('p', 'x', null);
      expect(checkReadYourWrites(run.history).map((v) => v.message)).toEqual([
        expect.stringContaining('(#8)'),
      ]);
    }
    // Another peer's crash changes nothing.
    const run = new Run();
    run.write('p', [patch({ a: 1 })], 10);
    run.history.info('q', 'crash', 'x');
    run.read('p', 'x', null);
    expect(checkReadYourWrites(run.history)).toHaveLength(1);
  });

  it('skips reads when another write may carry a greater stamp, checks them when none can', () => {
    const run = new Run();
    run.write('p', [patch({ a: 1 })], 10);
    run.write('q', [patch({ a: 2 })], 9); // older: cannot win
    run.read('p', 'x', { a: 2 });
    run.write('p', [patch({ a: 3 })], 20);
    run.write('q', [patch({ a: 4 })], 999_999); // far in the future: wins
    run.read('p', 'x', { a: 4 });
    const vs = checkReadYourWrites(run.history);
    expect(vs.map((v) => v.message)).toEqual([expect.stringContaining('read c/x (#5) as {"a":2}')]);
  });

  it('bounds a failed write’s stamp by its peer’s next acknowledged write, else skips', () => {
    const run = new Run();
    run.write('p', [patch({ a: 1 })], 10);
    run.failedWrite('q', [del()]);
    run.read('p', 'x', null); // q's delete might exist with any stamp: skipped
    expect(checkReadYourWrites(run.history)).toEqual([]);
    run.write('q', [patch({ b: 1 }, 'other')], 5); // now q's failed delete is below 5 < 10
    expect(checkReadYourWrites(run.history)).toHaveLength(1);
  });

  it('skips a read invoked before the write was acknowledged, a failed own write, and failed reads', () => {
    const h = new History(() => 0);
    const w = h.invoke('p', 'write', { ops: [patch({ a: 1 })] });
    const r = h.invoke('p', 'read', { collection: 'c', id: 'x' });
    h.ok(w, { author: A, seq: 1, hlc: { wallMs: 1, logical: 0 } });
    h.ok(r, null);
    h.fail(h.invoke('p', 'read', { collection: 'c', id: 'x' }), 'DOWN');
    expect(checkReadYourWrites(h)).toEqual([]);
    h.fail(h.invoke('p', 'write', { ops: [patch({ a: 2 })] }), 'IO');
    h.ok(h.invoke('p', 'read', { collection: 'c', id: 'x' }), null);
    expect(checkReadYourWrites(h)).toEqual([]);
  });
});

// Random correct runs: three peers write random transactions; every peer ends holding every
// entry. The checkers must find nothing, and must notice a durable entry dropped from a peer.
const arbOp: fc.Arbitrary<DbOp> = fc.oneof(
  fc.record({ id: fc.constantFrom('x', 'y'), v: fc.nat(3) }).map(({ id, v }) => patch({ a: v }, id)),
  fc.record({ id: fc.constantFrom('x', 'y'), v: fc.nat(3) }).map(({ id, v }) => put({ b: v }, id)),
  fc.constantFrom('x', 'y').map((id) => unset(['a'], id)),
  fc.constantFrom('x', 'y').map((id) => del(id)),
);
const arbStep = fc.record({
  peer: fc.constantFrom('p', 'q', 'r'),
  ops: fc.array(arbOp, { minLength: 1, maxLength: 2 }),
  wallMs: fc.integer({ min: 1, max: 6 }),
});

describe('checkers on random correct runs', () => {
  test.prop([fc.array(arbStep, { minLength: 1, maxLength: 15 }), fc.nat(), fc.nat()], { numRuns: 150 })(
    'find nothing, and catch a dropped durable entry',
    (steps, pick, victim) => {
      const run = new Run();
      for (const s of steps) run.write(s.peer, s.ops, s.wallMs);
      const peers = ['p', 'q', 'r'].map((name, i) =>
        final(name, i === 1 ? [...run.entries].reverse() : run.entries),
      );
      expect(runCheckers({ history: run.history, peers, durable: always })).toEqual([]);
      const dropped = run.entries[pick % run.entries.length]!;
      const at = victim % peers.length;
      const kept = run.entries.filter((w) => w !== dropped);
      peers[at] = { ...peers[at]!, feedWrites: kept, documents: expectedDocuments(kept) };
      const vs = runCheckers({ history: run.history, peers, durable: always });
      expect(vs.filter((v) => v.checker === 'lost-write').map((v) => v.peer)).toEqual([peers[at]!.name]);
    },
  );
});
