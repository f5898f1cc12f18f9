/**
 * The worker thread of {@link nodeBackgroundMerger} (node-background.ts): receives merge tasks
 * on its port, runs each with {@link runMergeTask} over a `NodeFs` on the store's directory,
 * posts the outcome back, and bumps a shared counter so that a store blocked in `wait` wakes.
 */

import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { assert } from '../assert.ts';
import { CorruptionError } from '../errors.ts';
import { NodeFs } from '../io/node-fs.ts';
import { type MergeOutcome, type MergeTask, runMergeTask } from './background.ts';
import type { SsTableReader } from './sstable.ts';

/** A message from the store's side: a task for a directory, or the end of a store. */
export type WorkerRequest =
  | { kind: 'task'; id: number; dir: string; task: MergeTask }
  | { kind: 'forget'; dir: string };

/** What the worker posts back for a task. */
export interface WorkerReply {
  id: number;
  outcome: MergeOutcome;
}

interface Store {
  fs: NodeFs;
  readers: Map<number, SsTableReader>;
}

const { port, counter } = workerData as { port: MessagePort; counter: Int32Array };
assert(parentPort !== null, 'node-background-worker runs in a worker thread');
const stores = new Map<string, Store>();

function outcomeOf(err: unknown): MergeOutcome {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof CorruptionError)
    return { ok: false, code: 'ARE_CORRUPTION', message, file: err.file, offset: err.offset };
  return { ok: false, code: typeof code === 'string' ? code : 'ARE_IO', message };
}

function run(req: WorkerRequest & { kind: 'task' }): MergeOutcome {
  try {
    let store = stores.get(req.dir);
    if (store === undefined) {
      store = { fs: new NodeFs(req.dir), readers: new Map() };
      stores.set(req.dir, store);
    }
    return { ok: true, meta: runMergeTask(store.fs, req.task, store.readers) };
  } catch (err) {
    return outcomeOf(err);
  }
}

port.on('message', onRequest);
// Only now can the worker take tasks: stores send none before this arrives (see MergeThread).
port.postMessage({ ready: true });
Atomics.add(counter, 0, 1);
Atomics.notify(counter, 0);

function onRequest(req: WorkerRequest): void {
  if (req.kind === 'forget') {
    const store = stores.get(req.dir);
    stores.delete(req.dir);
    for (const r of store?.readers.values() ?? []) r.close();
    return;
  }
  const reply: WorkerReply = { id: req.id, outcome: run(req) };
  port.postMessage(reply);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}
