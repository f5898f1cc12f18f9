/**
 * Saving a collection vector index's graph with its checkpoint, and opening them again: the
 * graph file (docs/formats/hnsw.md) and, beside it, the checkpoint that says which feed entries
 * the graph covers (checkpoint.ts, docs/formats/vector-checkpoint.md).
 *
 * Opening never trusts more than it can check. A missing, damaged or mismatched graph file is
 * replaced by an empty graph; a graph without a valid checkpoint describing exactly its bytes,
 * or whose checkpoint no longer matches the feeds, is kept but reconciled with every document;
 * only a graph whose checkpoint passes every check resumes from the ids touched since.
 */

import type { Database } from '../db/database.ts';
import { AregulaError } from '../errors.ts';
import type { FileSystem } from '../io/fs.ts';
import { readWholeFile, writeFileAtomic } from '../io/fs.ts';
import { SeededRandom } from '../io/random.ts';
import {
  type CheckpointUnindexed,
  checkpointNameOf,
  decodeCheckpoint,
  encodeCheckpoint,
  feedMarks,
  fileDigest,
  idsTouchedSince,
} from './checkpoint.ts';
import { HnswIndex } from './hnsw-index.ts';
import type { KernelChoice } from './kernel.ts';

/** Where the graph came from when the index was opened. */
export type VectorIndexSource = 'empty' | 'checkpoint' | 'discarded-corrupt' | 'discarded-mismatch';

/** How the opened graph was brought up to date with the documents. */
export type CatchUp = 'replay' | 'scan';

/** Where a collection vector index keeps its graph. */
export interface PersistOptions {
  readonly fs: FileSystem;
  readonly name: string;
}

/** What opening found. */
export interface OpenedGraph {
  /** The loaded graph, or undefined to start from the fresh one. */
  readonly graph: HnswIndex | undefined;
  readonly source: VectorIndexSource;
  /** Present when the checkpoint holds: the ids to look at again, and the unindexed documents. */
  readonly resume:
    | { readonly touched: Set<string>; readonly unindexed: readonly CheckpointUnindexed[] }
    | undefined;
}

/**
 * Loads the graph saved in `persist` and checks it against `fresh` (the parameters the caller
 * wants) and its checkpoint against `db` (see the module comment).
 */
export function openSavedGraph(
  db: Database,
  persist: PersistOptions,
  options: { fresh: HnswIndex; seed: number; kernel: KernelChoice | undefined; collection: string },
): OpenedGraph {
  const { fs, name } = persist;
  if (!fs.exists(name)) return { graph: undefined, source: 'empty', resume: undefined };
  let graph: HnswIndex;
  try {
    graph = HnswIndex.load(fs, name, { random: new SeededRandom(options.seed), kernel: options.kernel });
  } catch (err) {
    // A damaged graph is only a lost cache: the documents rebuild it (reported as the source).
    if (err instanceof AregulaError && err.code === 'ARE_CORRUPTION')
      return { graph: undefined, source: 'discarded-corrupt', resume: undefined };
    throw err;
  }
  const want = options.fresh.stats();
  const got = graph.stats();
  const same =
    want.dimension === got.dimension &&
    want.metric === got.metric &&
    want.m === got.m &&
    want.efConstruction === got.efConstruction;
  if (!same) return { graph: undefined, source: 'discarded-mismatch', resume: undefined };
  return { graph, source: 'checkpoint', resume: resumeOf(db, persist, options.collection) };
}

/** The checkpoint's resume point, or undefined when it is missing or no longer holds. */
function resumeOf(db: Database, persist: PersistOptions, collection: string): OpenedGraph['resume'] {
  const { fs, name } = persist;
  const ckpt = checkpointNameOf(name);
  if (!fs.exists(ckpt)) return undefined;
  let checkpoint: ReturnType<typeof decodeCheckpoint>;
  try {
    checkpoint = decodeCheckpoint(readWholeFile(fs, ckpt), ckpt);
  } catch (err) {
    if (err instanceof AregulaError && err.code === 'ARE_CORRUPTION') return undefined;
    throw err;
  }
  const digest = fileDigest(fs, name);
  if (digest.bytes !== checkpoint.graphBytes || digest.crc !== checkpoint.graphCrc) return undefined;
  const touched = idsTouchedSince(db, checkpoint.marks, collection);
  return touched === undefined ? undefined : { touched, unindexed: checkpoint.unindexed };
}

/** Saves `graph` and its checkpoint (the feeds' heads now, and the unindexed documents). */
export function saveGraphCheckpoint(
  db: Database,
  persist: PersistOptions,
  graph: HnswIndex,
  unindexed: readonly CheckpointUnindexed[],
): void {
  const { fs, name } = persist;
  // The graph first: a crash between the two leaves a checkpoint that names the old graph's
  // bytes, which the new graph fails, so the next open reconciles instead of trusting it.
  graph.save(fs, name);
  const digest = fileDigest(fs, name);
  const bytes = encodeCheckpoint({
    graphBytes: digest.bytes,
    graphCrc: digest.crc,
    marks: feedMarks(db),
    unindexed,
  });
  writeFileAtomic(fs, checkpointNameOf(name), bytes);
}

/** Removes the checkpoint of `persist` (the graph file stays, to be reconciled on open). */
export function dropCheckpoint(persist: PersistOptions): void {
  const ckpt = checkpointNameOf(persist.name);
  if (!persist.fs.exists(ckpt)) return;
  persist.fs.delete(ckpt);
  persist.fs.syncDir();
}
