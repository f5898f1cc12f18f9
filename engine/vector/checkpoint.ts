/**
 * The checkpoint of a collection's vector index: which feed entries its saved graph covers, so
 * that reopening replays only the documents touched since, instead of scanning every document.
 *
 * The file (`<graph name>.ckpt`, docs/formats/vector-checkpoint.md) names the graph file it
 * describes (length and CRC-32C of its bytes), the head of every feed at the moment of the save
 * (author, seq, hash of the entry at that seq), and the documents stored but not indexed. On
 * open it is trusted only if everything still holds: the graph file has that length and CRC,
 * and for every author the database still holds an entry at that seq with that hash (the hash
 * chain then vouches for every earlier entry). A crash that lost entries the checkpoint covered
 * (unsynced writes), a device that reused a lost seq, a graph saved without its checkpoint:
 * each fails a check and the caller falls back to the full reconcile with the documents.
 * Otherwise the documents can differ from the checkpointed state only through entries past
 * those heads, and the ids those entries touch are exactly the documents to look at again.
 */

import type { Database } from '../db/database.ts';
import { decodePayload } from '../db/payload.ts';
import { AregulaError, CorruptionError } from '../errors.ts';
import { crc32c, crc32cUpdate } from '../io/crc32c.ts';
import type { FileSystem } from '../io/fs.ts';
import { bytesEqual } from '../lsm/coding.ts';
import { MAX_ELEMENTS } from './limits.ts';
import { VECTOR_PROBLEMS, type VectorProblem } from './vector-field.ts';

/** First bytes of a checkpoint file: "AVCP". */
export const CHECKPOINT_MAGIC = 0x41564350;

/** The checkpoint format's version (docs/formats/vector-checkpoint.md). */
export const CHECKPOINT_VERSION = 1;

/** Most feeds one checkpoint records. */
export const CHECKPOINT_AUTHORS_MAX = 1 << 20;

/** Entries read per call while collecting the ids touched since a checkpoint. */
export const REPLAY_READ_ENTRIES_MAX = 1024;

const KEY_BYTES = 32;
const HASH_BYTES = 32;
const FILE_READ_BYTES = 1 << 20;

/** The head of one feed when the checkpoint was taken. */
export interface FeedMark {
  readonly author: Uint8Array;
  readonly seq: number;
  readonly hash: Uint8Array;
}

/** A document stored but not indexed, as the checkpoint keeps it. */
export interface CheckpointUnindexed {
  readonly id: string;
  readonly problem: VectorProblem;
  readonly detail: string;
}

/** What a checkpoint file holds. */
export interface Checkpoint {
  readonly graphBytes: number;
  readonly graphCrc: number;
  readonly marks: readonly FeedMark[];
  readonly unindexed: readonly CheckpointUnindexed[];
}

/** The name of the checkpoint file of graph file `graphName`. */
export function checkpointNameOf(graphName: string): string {
  return `${graphName}.ckpt`;
}

/** The head of every feed `db` holds now. */
export function feedMarks(db: Database): FeedMark[] {
  const marks: FeedMark[] = [];
  for (const author of db.feeds.authors()) {
    const head = db.feeds.head(author);
    if (head !== undefined) marks.push({ author: author.slice(), seq: head.seq, hash: head.hash.slice() });
  }
  return marks;
}

/** Length and CRC-32C of file `name`, read in bounded chunks. */
export function fileDigest(fs: FileSystem, name: string): { bytes: number; crc: number } {
  const h = fs.open(name);
  try {
    const size = h.size();
    let crc = 0;
    for (let at = 0; at < size; at += FILE_READ_BYTES) crc = crc32cUpdate(crc, h.read(at, FILE_READ_BYTES));
    return { bytes: size, crc };
  } finally {
    h.close();
  }
}

/**
 * The ids of `collection` touched by entries past `marks` (including every entry of an author
 * the marks do not name), or undefined when the marks no longer describe `db`'s feeds or an
 * entry's payload cannot be read (the caller then reconciles every document).
 */
export function idsTouchedSince(
  db: Database,
  marks: readonly FeedMark[],
  collection: string,
): Set<string> | undefined {
  const markOf = new Map<string, FeedMark>();
  for (const m of marks) markOf.set(hexOf(m.author), m);
  for (const m of marks) {
    const at = db.feeds.readEntries(m.author, m.seq, m.seq);
    if (at.length !== 1 || !bytesEqual(db.signer.sha256(at[0]!.body), m.hash)) return undefined;
  }
  const touched = new Set<string>();
  for (const author of db.feeds.authors()) {
    const head = db.feeds.head(author);
    if (head === undefined) continue;
    const from = (markOf.get(hexOf(author))?.seq ?? 0) + 1;
    for (let seq = from; seq <= head.seq; seq += REPLAY_READ_ENTRIES_MAX) {
      const to = Math.min(head.seq, seq + REPLAY_READ_ENTRIES_MAX - 1);
      for (const entry of db.feeds.readEntries(author, seq, to)) {
        let ops: ReturnType<typeof decodePayload>;
        try {
          ops = decodePayload(entry.payload);
        } catch (err) {
          // The views skipped this entry too, but a full reconcile is the safe answer.
          if (err instanceof AregulaError) return undefined;
          throw err;
        }
        for (const op of ops) if (op.collection === collection) touched.add(op.id);
      }
    }
  }
  return touched;
}

/** Encodes a checkpoint (docs/formats/vector-checkpoint.md). */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const enc = new TextEncoder();
  const texts = c.unindexed.map((u) => ({
    id: enc.encode(u.id),
    detail: enc.encode(u.detail.slice(0, 1000)),
  }));
  let size = 24 + c.marks.length * (KEY_BYTES + 8 + HASH_BYTES) + 4 + 4;
  for (const t of texts) size += 1 + 2 + t.id.length + 2 + t.detail.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, CHECKPOINT_MAGIC);
  v.setUint8(4, CHECKPOINT_VERSION);
  v.setBigUint64(8, BigInt(c.graphBytes));
  v.setUint32(16, c.graphCrc);
  v.setUint32(20, c.marks.length);
  let at = 24;
  for (const m of c.marks) {
    out.set(m.author, at);
    v.setBigUint64(at + KEY_BYTES, BigInt(m.seq));
    out.set(m.hash, at + KEY_BYTES + 8);
    at += KEY_BYTES + 8 + HASH_BYTES;
  }
  v.setUint32(at, c.unindexed.length);
  at += 4;
  for (const [i, u] of c.unindexed.entries()) {
    const t = texts[i]!;
    v.setUint8(at, VECTOR_PROBLEMS.indexOf(u.problem) + 1);
    v.setUint16(at + 1, t.id.length);
    out.set(t.id, at + 3);
    at += 3 + t.id.length;
    v.setUint16(at, t.detail.length);
    out.set(t.detail, at + 2);
    at += 2 + t.detail.length;
  }
  v.setUint32(at, crc32c(out, 0, at));
  return out;
}

/** Decodes a checkpoint; throws `CorruptionError` (naming `file`) for any malformed byte. */
export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const fail = (offset: number, detail: string): never => {
    throw new CorruptionError({ file, offset, detail });
  };
  if (bytes.length < 32) fail(0, 'too short for a vector index checkpoint');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(bytes.length - 4) !== crc32c(bytes, 0, bytes.length - 4))
    fail(bytes.length - 4, 'CRC mismatch');
  if (v.getUint32(0) !== CHECKPOINT_MAGIC) fail(0, 'bad magic');
  if (v.getUint8(4) !== CHECKPOINT_VERSION) fail(4, `unknown version ${v.getUint8(4)}`);
  const end = bytes.length - 4;
  const graphBytes = Number(v.getBigUint64(8));
  const graphCrc = v.getUint32(16);
  const authors = v.getUint32(20);
  if (authors > CHECKPOINT_AUTHORS_MAX || 24 + authors * (KEY_BYTES + 8 + HASH_BYTES) + 4 > end)
    fail(20, `author count ${authors} does not fit`);
  const marks: FeedMark[] = [];
  let at = 24;
  for (let i = 0; i < authors; i++) {
    const seq = Number(v.getBigUint64(at + KEY_BYTES));
    if (seq < 1 || !Number.isSafeInteger(seq)) fail(at + KEY_BYTES, `bad seq ${seq}`);
    marks.push({
      author: bytes.slice(at, at + KEY_BYTES),
      seq,
      hash: bytes.slice(at + KEY_BYTES + 8, at + KEY_BYTES + 8 + HASH_BYTES),
    });
    at += KEY_BYTES + 8 + HASH_BYTES;
  }
  const count = v.getUint32(at);
  if (count > MAX_ELEMENTS) fail(at, `unindexed count ${count} over MAX_ELEMENTS`);
  at += 4;
  const dec = new TextDecoder('utf-8', { fatal: true });
  const text = (from: number, length: number): string => {
    if (from + length > end) fail(from, 'string runs past the end');
    try {
      return dec.decode(bytes.subarray(from, from + length));
    } catch {
      return fail(from, 'string is not UTF-8');
    }
  };
  const unindexed: CheckpointUnindexed[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 3 > end) fail(at, 'unindexed entry runs past the end');
    const problem = VECTOR_PROBLEMS[v.getUint8(at) - 1];
    if (problem === undefined) fail(at, `unknown problem code ${v.getUint8(at)}`);
    const id = text(at + 3, v.getUint16(at + 1));
    at += 3 + v.getUint16(at + 1);
    if (at + 2 > end) fail(at, 'unindexed entry runs past the end');
    const detail = text(at + 2, v.getUint16(at));
    at += 2 + v.getUint16(at);
    unindexed.push({ id, problem: problem!, detail });
  }
  if (at !== end) fail(at, 'trailing bytes');
  return { graphBytes, graphCrc, marks, unindexed };
}

function hexOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
