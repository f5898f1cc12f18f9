/**
 * The simulator's checkers: they judge a run from the outside, from the recorded history and
 * the peers' final states, against the reference LWW model (sim/lww-model.ts), never with the
 * engine's own merge logic. Each returns violations; an empty list means the run is valid.
 *
 * | checker          | what must hold |
 * | ---              | --- |
 * | `convergence`    | peers with the same state vector hold the same state hash and documents |
 * | `liveness`       | after healing, every peer holds the same state vector |
 * | `lost-write`     | every acknowledged write that had to be durable is in every peer's feeds, unchanged |
 * | `phantom-write`  | every entry in any feed was invoked by someone, with exactly those ops |
 * | `feed-agreement` | one (author, seq) means one entry on every peer that holds it |
 * | `model`          | every peer's documents equal the model's documents of that peer's feeds |
 * | `read-your-writes` | a read after the peer's own acknowledged write sees it (when nothing can beat it) |
 * | `integrity`      | rebuilding views from the feeds matches the live views; chains and signatures verify |
 * | `history`        | the history itself is well formed (an `ok` write carries a `WriteResult`) |
 */

import { canonicalJson } from '../engine/crdt/lww.ts';
import type { DbOp } from '../engine/db/payload.ts';
import type { History, OpKind, OpRecord, ReadDetail, WriteResult } from './history.ts';
import {
  compareModelStamps,
  docKey,
  expectedDocuments,
  type ModelStamp,
  type ModelWrite,
  stampOf,
} from './lww-model.ts';

export type { ModelWrite } from './lww-model.ts';

/** What the checkers need from one peer at the end of a run. */
export interface PeerFinal {
  name: string;
  /** The database's `stateHash()`. */
  stateHash: string;
  /** `${collection}\0${id}` -> the visible document. */
  documents: Map<string, Record<string, unknown>>;
  /** Every entry in the peer's feeds, decoded; entries with undecodable payloads omitted. */
  feedWrites: ModelWrite[];
  /** Author (hex) -> last sequence number held. */
  stateVector: Map<string, number>;
  /** Whether the views rebuilt from the feeds equal the live views (sim/peer.ts, `rebuiltHash`). */
  rebuildMatches: boolean;
  /** Set if hash chains or signatures failed to verify. */
  integrityError?: string;
}

/** Something that must not happen, found by one checker. */
export interface Violation {
  /** Which checker (see the table above). */
  checker: string;
  /** What happened, with enough detail to find it in the history. */
  message: string;
  /** The peer it concerns, if one. */
  peer?: string;
}

/** Most per-document or per-write messages a checker reports for one peer before summarising. */
const DETAILS_PER_PEER_MAX = 5;
/** Longest rendering of a value in a message. */
const MESSAGE_VALUE_CHARS_MAX = 200;

/**
 * While a checker runs, the canonical text of each object it renders, by identity: the same
 * ops are compared once per peer and per write, and canonical JSON was most of the checkers'
 * cost. Only set inside {@link memoizingCanon}, during which the inputs are not mutated.
 */
let canonMemo: WeakMap<object, string> | undefined;

/** Runs `fn` with {@link canon} remembering its results (nested calls share the outer memo). */
function memoizingCanon<T>(fn: () => T): T {
  const outer = canonMemo;
  canonMemo ??= new WeakMap();
  try {
    return fn();
  } finally {
    canonMemo = outer;
  }
}

/** Canonical JSON of `v`, or a marker that equals no canonical text when `v` is not JSON. */
function canon(v: unknown): string {
  if (v === undefined) return '<absent>';
  const memo = typeof v === 'object' && v !== null ? canonMemo : undefined;
  const hit = memo?.get(v as object);
  if (hit !== undefined) return hit;
  let text: string;
  try {
    text = canonicalJson(v);
  } catch (err) {
    text = `<not JSON: ${(err as Error).message}>`;
  }
  memo?.set(v as object, text);
  return text;
}

function show(v: unknown): string {
  const text = canon(v);
  return text.length <= MESSAGE_VALUE_CHARS_MAX ? text : `${text.slice(0, MESSAGE_VALUE_CHARS_MAX)}…`;
}

/** A document key as `collection/id`. */
function showKey(key: string): string {
  return key.replace('\u0000', '/');
}

function shortAuthor(author: string): string {
  return `${author.slice(0, 8)}…`;
}

function slotOf(author: string, seq: number): string {
  return `${author.toLowerCase()}:${seq}`;
}

function showSlot(author: string, seq: number): string {
  return `${shortAuthor(author)}:${seq}`;
}

/** Keeps the first {@link DETAILS_PER_PEER_MAX} messages and summarises the rest. */
function capped(checker: string, peer: string | undefined, messages: string[]): Violation[] {
  const out: Violation[] = messages
    .slice(0, DETAILS_PER_PEER_MAX)
    .map((message) => (peer === undefined ? { checker, message } : { checker, message, peer }));
  if (messages.length > DETAILS_PER_PEER_MAX) {
    const message = `… and ${messages.length - DETAILS_PER_PEER_MAX} more like these`;
    out.push(peer === undefined ? { checker, message } : { checker, message, peer });
  }
  return out;
}

/** The per-document differences between two document maps. */
function diffDocuments(
  a: ReadonlyMap<string, unknown>,
  b: ReadonlyMap<string, unknown>,
  names: { a: string; b: string },
): string[] {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: string[] = [];
  for (const key of keys) {
    const x = a.get(key);
    const y = b.get(key);
    if (canon(x) !== canon(y)) out.push(`${showKey(key)}: ${names.a} ${show(x)}, ${names.b} ${show(y)}`);
  }
  return out;
}

/** A state vector as a comparable string (zero entries are the same as absent ones). */
function vectorKey(sv: ReadonlyMap<string, number>): string {
  const entries = [...sv].filter(([, seq]) => seq !== 0).map(([a, seq]) => `${a.toLowerCase()}:${seq}`);
  return entries.sort().join(',');
}

/**
 * Peers with the same state vector must have the same state hash and documents
 * (`convergence`); and, since this runs after healing, all peers must hold the same state
 * vector (`liveness`: each peer missing entries is named with what it lacks).
 */
export function checkConvergence(peers: readonly PeerFinal[]): Violation[] {
  const out: Violation[] = [];
  const groups = new Map<string, PeerFinal[]>();
  for (const p of peers) {
    const key = vectorKey(p.stateVector);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [p]);
    else group.push(p);
  }
  for (const [first, ...rest] of groups.values()) {
    for (const other of rest) {
      if (other.stateHash !== first!.stateHash) {
        out.push({
          checker: 'convergence',
          peer: other.name,
          message: `${other.name} and ${first!.name} hold the same state vector but different state hashes (${other.stateHash.slice(0, 16)}… vs ${first!.stateHash.slice(0, 16)}…)`,
        });
      }
      const diffs = diffDocuments(first!.documents, other.documents, { a: first!.name, b: other.name });
      const prefix = `${other.name} and ${first!.name} hold the same state vector but different documents: `;
      out.push(
        ...capped(
          'convergence',
          other.name,
          diffs.map((d) => prefix + d),
        ),
      );
    }
  }
  if (groups.size > 1) out.push(...livenessViolations(peers));
  return out;
}

function livenessViolations(peers: readonly PeerFinal[]): Violation[] {
  const union = new Map<string, number>();
  for (const p of peers) {
    for (const [author, seq] of p.stateVector) {
      const a = author.toLowerCase();
      union.set(a, Math.max(union.get(a) ?? 0, seq));
    }
  }
  const out: Violation[] = [];
  for (const p of peers) {
    const held = new Map([...p.stateVector].map(([a, seq]) => [a.toLowerCase(), seq]));
    const lacks: string[] = [];
    for (const [author, seq] of [...union].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      const has = held.get(author) ?? 0;
      if (has < seq) lacks.push(`author ${shortAuthor(author)} up to ${has} of ${seq}`);
    }
    if (lacks.length > 0) {
      out.push({
        checker: 'liveness',
        peer: p.name,
        message: `${p.name} has not caught up after healing: ${lacks.join(', ')}`,
      });
    }
  }
  return out;
}

/** Rebuild mismatches and failed verifications. */
export function checkIntegrity(peers: readonly PeerFinal[]): Violation[] {
  const out: Violation[] = [];
  for (const p of peers) {
    if (!p.rebuildMatches) {
      out.push({
        checker: 'integrity',
        peer: p.name,
        message: `${p.name}: rebuilding the views from the feeds gave different rows than the live views`,
      });
    }
    if (p.integrityError !== undefined) {
      out.push({ checker: 'integrity', peer: p.name, message: `${p.name}: ${p.integrityError}` });
    }
  }
  return out;
}

/** The write invokes of a history with their completions. */
interface WriteLog {
  /** Write invokes, in order. */
  invokes: OpRecord[];
  /** Invoke index -> its ok or fail record. */
  completionOf: Map<number, OpRecord>;
  /** Slot (author:seq) -> the acknowledged writes claiming it (more than one after a crash lost a write). */
  acked: Map<string, { invoke: OpRecord; ok: OpRecord; result: WriteResult }[]>;
  /** Peer -> the authors of its acknowledged writes. */
  authorsOfPeer: Map<string, Set<string>>;
  /** Malformed records, as `history` violations. */
  problems: Violation[];
}

/** The ops of a write invoke, or undefined when its detail carries none. */
function opsOf(invoke: OpRecord): DbOp[] | undefined {
  const ops = (invoke.detail as { ops?: unknown } | undefined)?.ops;
  return Array.isArray(ops) ? (ops as DbOp[]) : undefined;
}

function isWriteResult(v: unknown): v is WriteResult {
  const r = v as Partial<WriteResult> | null | undefined;
  return (
    typeof r?.author === 'string' &&
    Number.isInteger(r.seq) &&
    typeof r.hlc?.wallMs === 'number' &&
    typeof r.hlc.logical === 'number'
  );
}

function collectWrites(history: History): WriteLog {
  const log: WriteLog = {
    invokes: [],
    completionOf: new Map(),
    acked: new Map(),
    authorsOfPeer: new Map(),
    problems: [],
  };
  const records = history.records;
  for (const r of records) {
    if (r.invokeIndex !== undefined) log.completionOf.set(r.invokeIndex, r);
    if (r.kind !== 'write') continue;
    if (r.type === 'invoke') log.invokes.push(r);
    if (r.type !== 'ok') continue;
    const invoke = records[r.invokeIndex ?? -1];
    if (invoke === undefined || !isWriteResult(r.result)) {
      log.problems.push({
        checker: 'history',
        peer: r.peer,
        message: `write ok #${r.index} has no invoke or no WriteResult`,
      });
      continue;
    }
    const slot = slotOf(r.result.author, r.result.seq);
    const claims = log.acked.get(slot) ?? [];
    claims.push({ invoke, ok: r, result: r.result });
    log.acked.set(slot, claims);
    const authors = log.authorsOfPeer.get(r.peer) ?? new Set<string>();
    authors.add(r.result.author.toLowerCase());
    log.authorsOfPeer.set(r.peer, authors);
  }
  return log;
}

function sameHlc(a: ModelWrite['hlc'], b: ModelWrite['hlc']): boolean {
  return a.wallMs === b.wallMs && a.logical === b.logical;
}

/**
 * Lowercase forms of author keys, remembered for one checker run: every write names its
 * author, and the same few author strings recur thousands of times.
 */
class LowerAuthors {
  private readonly memo = new Map<string, string>();

  of(author: string): string {
    let lower = this.memo.get(author);
    if (lower === undefined) {
      lower = author.toLowerCase();
      this.memo.set(author, lower);
    }
    return lower;
  }
}

/** A peer's feed writes by lowercase author, then seq (a later write at one slot replaces an earlier one). */
type FeedIndex = Map<string, Map<number, ModelWrite>>;

function feedIndex(p: PeerFinal, lower: LowerAuthors): FeedIndex {
  const index: FeedIndex = new Map();
  for (const w of p.feedWrites) {
    const author = lower.of(w.author);
    const seqs = index.get(author);
    if (seqs === undefined) index.set(author, new Map([[w.seq, w]]));
    else seqs.set(w.seq, w);
  }
  return index;
}

/** Every acknowledged durable write must be in every peer's feeds with its ops and HLC. */
function lostWrites(
  log: WriteLog,
  peers: readonly PeerFinal[],
  durable: (w: OpRecord) => boolean,
  lower: LowerAuthors,
): Violation[] {
  const out: Violation[] = [];
  // `durable` may scan the history, so it is asked once per write, not once per peer.
  const mustSurvive = [...log.acked].flatMap(([, claims]) => claims.filter((c) => durable(c.ok)));
  for (const p of peers) {
    const held = feedIndex(p, lower);
    const messages: string[] = [];
    for (const { invoke, result } of mustSurvive) {
      // Built only for a message: rendering every write's ops up front was most of this loop.
      const what = () =>
        `durable write #${invoke.index} by ${invoke.peer} (${showSlot(result.author, result.seq)}, ops ${show(opsOf(invoke))})`;
      const entry = held.get(lower.of(result.author))?.get(result.seq);
      if (entry === undefined) messages.push(`${p.name} lost ${what()}`);
      else if (canon(entry.ops) !== canon(opsOf(invoke)))
        messages.push(`${p.name} holds ops ${show(entry.ops)} in place of ${what()}`);
      else if (!sameHlc(entry.hlc, result.hlc))
        messages.push(`${p.name} holds HLC ${show(entry.hlc)} in place of ${show(result.hlc)} for ${what()}`);
    }
    out.push(...capped('lost-write', p.name, messages));
  }
  return out;
}

/**
 * One (author, seq) holds one entry on every peer. (Two acknowledged writes may claim one slot:
 * a write lost in a crash before it was durable, and the next write, which reuses its number.
 * Had the first been durable, `lost-write` reports it.) Peers often share one write object per
 * entry (sim/peer.ts): the same object holds the same ops and HLC, so it is not compared again.
 */
function feedAgreement(peers: readonly PeerFinal[], lower: LowerAuthors): Violation[] {
  const out: Violation[] = [];
  const first = new Map<string, Map<number, { peer: string; write: ModelWrite; ops: string }>>();
  for (const p of peers) {
    const messages: string[] = [];
    for (const w of p.feedWrites) {
      const author = lower.of(w.author);
      let seqs = first.get(author);
      if (seqs === undefined) {
        seqs = new Map();
        first.set(author, seqs);
      }
      const seen = seqs.get(w.seq);
      if (seen === undefined) {
        seqs.set(w.seq, { peer: p.name, write: w, ops: canon(w.ops) });
        continue;
      }
      if (seen.write === w) continue;
      if (seen.ops !== canon(w.ops) || !sameHlc(seen.write.hlc, w.hlc)) {
        messages.push(
          `${p.name} and ${seen.peer} hold different entries at ${showSlot(w.author, w.seq)}: ${show(w.ops)} @${show(w.hlc)} vs ${seen.ops} @${show(seen.write.hlc)}`,
        );
      }
    }
    out.push(...capped('feed-agreement', p.name, messages));
  }
  return out;
}

/** A distinct entry found in some peer's feeds. */
interface HeldEntry {
  write: ModelWrite;
  ops: string;
  peers: string[];
}

function distinctEntries(peers: readonly PeerFinal[]): HeldEntry[] {
  const byIdentity = new Map<string, HeldEntry>();
  // Write objects already placed: peers share one object per entry (sim/peer.ts), and an
  // object's identity string is the same every time it is built.
  const byObject = new Map<ModelWrite, HeldEntry>();
  for (const p of peers) {
    for (const w of p.feedWrites) {
      let e = byObject.get(w);
      if (e === undefined) {
        const ops = canon(w.ops);
        const id = `${slotOf(w.author, w.seq)}@${w.hlc.wallMs}.${w.hlc.logical}:${ops}`;
        e = byIdentity.get(id);
        if (e === undefined) {
          e = { write: w, ops, peers: [p.name] };
          byIdentity.set(id, e);
        }
        byObject.set(w, e);
      }
      if (!e.peers.includes(p.name)) e.peers.push(p.name);
    }
  }
  return [...byIdentity.values()];
}

/**
 * Every entry in any feed was written by someone: an acknowledged write at its slot with the
 * same ops and HLC, or else a write whose acknowledgement never came (it failed or the peer
 * crashed mid-write) with the same ops, by a peer that could be its author, each such write
 * accounting for at most one entry (a bipartite matching).
 */
function phantomWrites(log: WriteLog, peers: readonly PeerFinal[]): Violation[] {
  const messages: string[] = [];
  const unacked = log.invokes.filter((inv) => log.completionOf.get(inv.index)?.type !== 'ok');
  const unackedOps = new Map(unacked.map((inv) => [inv.index, canon(opsOf(inv))]));
  const orphans: HeldEntry[] = [];
  for (const e of distinctEntries(peers)) {
    const where = `${showSlot(e.write.author, e.write.seq)} (held by ${e.peers.join(', ')})`;
    const claims = log.acked.get(slotOf(e.write.author, e.write.seq));
    if (claims === undefined) {
      orphans.push(e);
      continue;
    }
    const sameOps = claims.filter((c) => canon(opsOf(c.invoke)) === e.ops);
    if (sameOps.length === 0) {
      const c = claims[0]!;
      messages.push(
        `entry ${where} has ops ${show(e.write.ops)}, never written there: write #${c.invoke.index} was acknowledged at that slot with ${show(opsOf(c.invoke))}`,
      );
    } else if (!sameOps.some((c) => sameHlc(c.result.hlc, e.write.hlc))) {
      const c = sameOps[0]!;
      messages.push(
        `entry ${where} has HLC ${show(e.write.hlc)}, but write #${c.invoke.index} was acknowledged with ${show(c.result.hlc)}`,
      );
    }
  }
  const candidates = orphans.map((e) =>
    unacked
      .filter((inv) => unackedOps.get(inv.index) === e.ops && couldBeAuthor(log, inv.peer, e.write.author))
      .map((inv) => inv.index),
  );
  for (const i of unmatched(candidates)) {
    const e = orphans[i]!;
    messages.push(
      `entry ${showSlot(e.write.author, e.write.seq)} (held by ${e.peers.join(', ')}) with ops ${show(e.write.ops)} matches no write that was invoked and not acknowledged elsewhere`,
    );
  }
  return capped('phantom-write', undefined, messages);
}

/** Whether `peer` may write as `author`: it acknowledged writes as that author, or none at all. */
function couldBeAuthor(log: WriteLog, peer: string, author: string): boolean {
  const authors = log.authorsOfPeer.get(peer);
  return authors === undefined || authors.has(author.toLowerCase());
}

/** The left vertices left unmatched by a maximum bipartite matching (Kuhn's augmenting paths). */
function unmatched(candidates: readonly number[][]): number[] {
  const owner = new Map<number, number>();
  const assign = (left: number, seen: Set<number>): boolean => {
    for (const right of candidates[left]!) {
      if (seen.has(right)) continue;
      seen.add(right);
      const current = owner.get(right);
      if (current === undefined || assign(current, seen)) {
        owner.set(right, left);
        return true;
      }
    }
    return false;
  };
  const out: number[] = [];
  for (let left = 0; left < candidates.length; left++) if (!assign(left, new Set())) out.push(left);
  return out;
}

/**
 * Every peer's documents equal the model's documents of that peer's own feeds. Peers that
 * converged hold the very same write objects in the same order (sim/peer.ts shares them), and
 * the model is a pure function of its writes: such peers are compared with one model.
 */
function modelAgreement(peers: readonly PeerFinal[]): Violation[] {
  const out: Violation[] = [];
  const models: { writes: readonly ModelWrite[]; documents: Map<string, Record<string, unknown>> }[] = [];
  for (const p of peers) {
    let expected = models.find((m) => sameElements(m.writes, p.feedWrites))?.documents;
    if (expected === undefined) {
      expected = expectedDocuments(p.feedWrites);
      if (models.length < MODELS_REMEMBERED_MAX) models.push({ writes: p.feedWrites, documents: expected });
    }
    const diffs = diffDocuments(p.documents, expected, { a: 'engine', b: 'model' });
    out.push(
      ...capped(
        'model',
        p.name,
        diffs.map((d) => `${p.name} ${d}`),
      ),
    );
  }
  return out;
}

/** Most distinct models {@link modelAgreement} keeps to compare later peers with. */
const MODELS_REMEMBERED_MAX = 4;

/** Whether two lists hold the same objects in the same order. */
function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * No lost writes, no phantom writes, one entry per slot, and documents as the model says.
 * `durable` is called with each write's `ok` record and says whether it had to survive.
 */
export function checkNoLostWrites(
  history: History,
  peers: readonly PeerFinal[],
  options: { durable: (write: OpRecord) => boolean },
): Violation[] {
  return memoizingCanon(() => {
    const log = collectWrites(history);
    const lower = new LowerAuthors();
    return [
      ...log.problems,
      ...lostWrites(log, peers, options.durable, lower),
      ...feedAgreement(peers, lower),
      ...phantomWrites(log, peers),
      ...modelAgreement(peers),
    ];
  });
}

/** Events on a peer after which its reads are no longer checked against its earlier writes. */
const READ_YOUR_WRITES_BARRIERS: ReadonlySet<OpKind> = new Set<OpKind>(['crash', 'restart', 'fault']);

/** The keys of the documents `ops` touch. */
function docsOf(ops: readonly DbOp[] | undefined): Set<string> {
  const keys = new Set<string>();
  for (const op of ops ?? []) {
    if (typeof op?.collection === 'string' && typeof op.id === 'string')
      keys.add(docKey(op.collection, op.id));
  }
  return keys;
}

/**
 * For each write invoke, a stamp its entry (if it exists) cannot exceed: the exact stamp of an
 * acknowledged write; for any other, the stamp of the same peer's next acknowledged write,
 * which is greater (the peer's HLC only moves forward, and after a crash it restarts from its
 * newest stored entry); undefined when there is none, meaning unbounded.
 */
function stampBounds(
  records: readonly OpRecord[],
  completionOf: ReadonlyMap<number, OpRecord>,
): Map<number, ModelStamp | undefined> {
  const bounds = new Map<number, ModelStamp | undefined>();
  const nextAcked = new Map<string, ModelStamp>();
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.kind !== 'write' || r.type !== 'invoke') continue;
    const done = completionOf.get(i);
    if (done?.type === 'ok' && isWriteResult(done.result)) {
      const stamp = stampOf(done.result);
      bounds.set(i, stamp);
      nextAcked.set(r.peer, stamp);
    } else {
      bounds.set(i, nextAcked.get(r.peer));
    }
  }
  return bounds;
}

/**
 * What a read must show after `ops` (one acknowledged transaction) when nothing else can beat
 * them: undefined if `read` shows it, else a description of what the write did.
 */
function readYourWriteMiss(
  ops: readonly DbOp[],
  key: string,
  result: WriteResult,
  read: unknown,
): string | undefined {
  const mine = ops.filter((op) => docKey(op.collection, op.id) === key);
  const written = expectedDocuments([{ ...result, ops: mine }]).get(key);
  const doc = read === null || read === undefined ? undefined : (read as Record<string, unknown>);
  if (mine.some((op) => op.kind === 'delete')) return doc === undefined ? undefined : 'deleted it';
  if (mine.some((op) => op.kind === 'put'))
    return canon(doc) === canon(written) ? undefined : `put exactly ${show(written)}`;
  if (written !== undefined) {
    if (doc === undefined) return `patched it with ${show(written)}`;
    for (const [name, value] of Object.entries(written)) {
      if (!Object.hasOwn(doc, name) || canon(doc[name]) !== canon(value))
        return `set ${name} to ${show(value)}`;
    }
  }
  if (doc === undefined) return undefined;
  for (const op of mine) {
    if (op.kind !== 'unset') continue;
    for (const name of op.names) {
      if (Object.hasOwn(doc, name) && !(written !== undefined && Object.hasOwn(written, name)))
        return `unset ${name}`;
    }
  }
  return undefined;
}

/** Per peer and document, the peer's latest write to it and whether a barrier came since. */
type LatestWrites = Map<string, Map<string, { invoke: number; barrier: boolean }>>;

/**
 * A read on a peer after that peer's own acknowledged write to the document must show the
 * write. Checked only when the read was invoked after the write's acknowledgement, the peer
 * neither crashed, restarted nor suffered a fault in between, its latest write to the document
 * is that one, and no other write invoked before the read's completion can have a greater
 * stamp (incoming sync is not recorded, so this bound, not the absence of sync rounds, is what
 * makes the check sound; it also covers far-future remote writes received before the write).
 */
export function checkReadYourWrites(history: History): Violation[] {
  const records = history.records;
  const completionOf = new Map<number, OpRecord>();
  for (const r of records) if (r.invokeIndex !== undefined) completionOf.set(r.invokeIndex, r);
  const bounds = stampBounds(records, completionOf);
  const writesOfDoc = new Map<string, number[]>();
  const latest: LatestWrites = new Map();
  const messages = new Map<string, string[]>();
  for (const r of records) {
    if (r.kind === 'write' && r.type === 'invoke') {
      const ofPeer = latest.get(r.peer) ?? new Map();
      latest.set(r.peer, ofPeer);
      for (const key of docsOf(opsOf(r))) {
        ofPeer.set(key, { invoke: r.index, barrier: false });
        const list = writesOfDoc.get(key);
        if (list === undefined) writesOfDoc.set(key, [r.index]);
        else list.push(r.index);
      }
    } else if (READ_YOUR_WRITES_BARRIERS.has(r.kind)) {
      for (const state of latest.get(r.peer)?.values() ?? []) state.barrier = true;
    } else if (r.kind === 'read' && r.type === 'ok') {
      const miss = checkRead(r, { records, completionOf, bounds, writesOfDoc, latest });
      if (miss === undefined) continue;
      const list = messages.get(r.peer);
      if (list === undefined) messages.set(r.peer, [miss]);
      else list.push(miss);
    }
  }
  return [...messages].flatMap(([peer, list]) => capped('read-your-writes', peer, list));
}

function checkRead(
  readOk: OpRecord,
  ctx: {
    records: readonly OpRecord[];
    completionOf: ReadonlyMap<number, OpRecord>;
    bounds: ReadonlyMap<number, ModelStamp | undefined>;
    writesOfDoc: ReadonlyMap<string, number[]>;
    latest: LatestWrites;
  },
): string | undefined {
  const invoke = ctx.records[readOk.invokeIndex ?? -1];
  const detail = invoke?.detail as Partial<ReadDetail> | undefined;
  if (typeof detail?.collection !== 'string' || typeof detail.id !== 'string') return undefined;
  const key = docKey(detail.collection, detail.id);
  const mine = ctx.latest.get(readOk.peer)?.get(key);
  if (mine === undefined || mine.barrier) return undefined;
  const writeOk = ctx.completionOf.get(mine.invoke);
  if (writeOk?.type !== 'ok' || !isWriteResult(writeOk.result) || writeOk.index > invoke!.index)
    return undefined;
  const stamp = stampOf(writeOk.result);
  for (const other of ctx.writesOfDoc.get(key) ?? []) {
    if (other >= readOk.index) break;
    if (other === mine.invoke) continue;
    const bound = ctx.bounds.get(other);
    if (bound === undefined || compareModelStamps(bound, stamp) > 0) return undefined;
  }
  const ops = opsOf(ctx.records[mine.invoke]!) ?? [];
  const miss = readYourWriteMiss(ops, key, writeOk.result, readOk.result);
  if (miss === undefined) return undefined;
  const slot = showSlot(writeOk.result.author, writeOk.result.seq);
  return `${readOk.peer} read ${showKey(key)} (#${readOk.index}) as ${show(readOk.result)}, but its own acknowledged write #${mine.invoke} (${slot}) ${miss}, and no other write can beat that write`;
}

/** Every checker: integrity, convergence and liveness, lost and phantom writes, the model, read-your-writes. */
export function runCheckers(input: {
  history: History;
  peers: PeerFinal[];
  durable: (w: OpRecord) => boolean;
}): Violation[] {
  return memoizingCanon(() => [
    ...checkIntegrity(input.peers),
    ...checkConvergence(input.peers),
    ...checkNoLostWrites(input.history, input.peers, { durable: input.durable }),
    ...checkReadYourWrites(input.history),
  ]);
}
