/**
 * A {@link BackgroundMerger} for stores on a `NodeFs`: flushes and compactions run on worker
 * threads, as LevelDB runs them on its background thread, so a writer pays only for its WAL
 * append and memtable insert. Node-only (it imports `node:worker_threads`), kept apart like
 * node-signer.ts: the engine core never imports it; a Node application passes
 * `background: nodeBackgroundMerger(dir)` to `Lsm.open` (or `Database.open`'s `lsm` options).
 *
 * Two workers per process, shared by every store: one for flushes and one for compactions, so
 * a flush never waits behind a long compaction. The store stays synchronous: it polls for an
 * outcome with `receiveMessageOnPort` and blocks, when it must (back-pressure, `flush()`,
 * `close()`), with `Atomics.wait` on a counter the worker bumps after each reply. The workers
 * are unref'd: they never keep a process alive.
 */

import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { assert } from '../assert.ts';
import type { BackgroundMerger, MergeOutcome, MergeTask } from './background.ts';
import type { WorkerReply, WorkerRequest } from './node-background-worker.ts';

/** How long one `Atomics.wait` sleeps before the store looks at its port again, in ms. */
export const BACKGROUND_WAIT_SLICE_MS = 50;

/**
 * Longest a store waits for one reply before it gives the worker up, in ms. A flush of a full
 * memtable takes well under a second and a compaction step a few; a worker silent for this
 * long is stuck or gone without a word (its 'exit' event needs the event loop the waiting store
 * blocks), and waiting on would hang the process. Past it the thread counts as failed: the
 * task, and every later one, fails with a typed error (the store's sticky background error).
 */
export const BACKGROUND_REPLY_WAIT_MS_MAX = 300_000;

/** One worker thread, its reply port and its wake-up counter. @internal Exported for tests. */
export class MergeThread {
  private readonly port: MessagePort;
  private readonly counter = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  /** Replies received but not yet claimed, by task id. */
  private readonly replies = new Map<number, MergeOutcome>();
  /** Set when the worker could not start: every task then fails with this outcome. */
  private fatal: MergeOutcome | undefined;
  /** Set once the worker has said it listens for tasks. */
  private started = false;

  /** Starts a worker running `entry` (the worker module next to this one unless a test says otherwise). */
  constructor(
    entry = new URL(
      import.meta.url.endsWith('.ts') ? './node-background-worker.ts' : './node-background-worker.js',
      import.meta.url,
    ),
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.port.unref();
    this.worker = new Worker(new URL('./node-background-boot.mjs', import.meta.url), {
      workerData: { entry: entry.href, port: port2, counter: this.counter },
      transferList: [port2],
    });
    this.worker.unref();
  }

  send(req: WorkerRequest): void {
    this.port.postMessage(req);
  }

  /** True once the worker listens for tasks (and has not failed). */
  ready(): boolean {
    this.drain();
    return this.started && this.fatal === undefined;
  }

  /** Moves every message the worker has sent into {@link replies} (or the started/fatal flags). */
  private drain(): void {
    for (;;) {
      const got = receiveMessageOnPort(this.port);
      if (got === undefined) return;
      const reply = got.message as WorkerReply | { fatal: string } | { ready: true };
      if ('fatal' in reply) {
        const message = `the background worker failed: ${reply.fatal}`;
        this.fatal = { ok: false, code: 'ARE_IO', message };
      } else if ('ready' in reply) this.started = true;
      else this.replies.set(reply.id, reply.outcome);
    }
  }

  poll(id: number): MergeOutcome | undefined {
    this.drain();
    const outcome = this.replies.get(id) ?? this.fatal;
    if (outcome !== undefined) this.replies.delete(id);
    return outcome;
  }

  wait(id: number, replyWaitMsMax = BACKGROUND_REPLY_WAIT_MS_MAX): MergeOutcome {
    // Counted in slices, not read from a clock: a slice that timed out took at least its length.
    let silentSlices = 0;
    for (;;) {
      const seen = Atomics.load(this.counter, 0);
      const outcome = this.poll(id);
      if (outcome !== undefined) return outcome;
      if (silentSlices * BACKGROUND_WAIT_SLICE_MS >= replyWaitMsMax) return this.giveUp(replyWaitMsMax);
      const woke = Atomics.wait(this.counter, 0, seen, BACKGROUND_WAIT_SLICE_MS);
      silentSlices = woke === 'timed-out' ? silentSlices + 1 : 0;
    }
  }

  /** Marks the worker failed after it stayed silent too long, and stops it. */
  private giveUp(replyWaitMsMax: number): MergeOutcome {
    const message = `the background worker did not answer within ${replyWaitMsMax} ms`;
    this.fatal = { ok: false, code: 'ARE_IO', message };
    void this.worker.terminate();
    return this.fatal;
  }
}

let threads: { flush: MergeThread; compaction: MergeThread } | undefined;
let nextTaskId = 1;

function sharedThreads(): { flush: MergeThread; compaction: MergeThread } {
  threads ??= { flush: new MergeThread(), compaction: new MergeThread() };
  return threads;
}

/** A merger for the store in directory `dir` (the directory its `NodeFs` was made with). */
export function nodeBackgroundMerger(dir: string): BackgroundMerger {
  const t = sharedThreads();
  const owner = new Map<number, MergeThread>();
  return {
    ready(): boolean {
      return t.flush.ready() && t.compaction.ready();
    },
    start(task: MergeTask, flush: boolean): number {
      const id = nextTaskId++;
      const thread = flush ? t.flush : t.compaction;
      owner.set(id, thread);
      thread.send({ kind: 'task', id, dir, task });
      return id;
    },
    poll(id: number): MergeOutcome | undefined {
      const thread = owner.get(id);
      assert(thread !== undefined, `unknown background task ${id}`);
      const outcome = thread.poll(id);
      if (outcome !== undefined) owner.delete(id);
      return outcome;
    },
    wait(id: number): MergeOutcome {
      const thread = owner.get(id);
      assert(thread !== undefined, `unknown background task ${id}`);
      owner.delete(id);
      return thread.wait(id);
    },
    close(): void {
      for (const [id, thread] of owner) thread.wait(id);
      owner.clear();
      t.flush.send({ kind: 'forget', dir });
      t.compaction.send({ kind: 'forget', dir });
    },
  };
}
