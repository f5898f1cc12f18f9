/**
 * Sync status events: a small typed emitter (synchronous, bounded), the same in Node and in
 * browsers, so a test can assert the exact order of events.
 *
 * The statuses of one link (the hub, or one peer):
 * - `online`: the other side answered (after being unreachable, or for the first time);
 * - `syncing`: messages are being exchanged;
 * - `synced`: this side holds everything the other side last said it had;
 * - `error`: the other side refused us (a revoked or uncertified device, a protocol error);
 *   `detail` says why; for a refusal that retrying cannot fix, the link stops;
 * - `offline`: unreachable; the SDK retries with backoff on its own.
 */

import { LimitExceededError } from '../errors.ts';

/** The status of one link. */
export type SyncStatus = 'online' | 'syncing' | 'synced' | 'error' | 'offline';

/** Every status, in no particular order. */
export const SYNC_STATUSES: readonly SyncStatus[] = Object.freeze([
  'online',
  'syncing',
  'synced',
  'error',
  'offline',
]);

/** One status change. */
export interface SyncStatusEvent {
  status: SyncStatus;
  /** Which link: `hub` (the hub connection) or `peer` (a direct WebRTC link). */
  link: 'hub' | 'peer';
  /** The hub's URL, or the peer's device id (hex public key). */
  target: string;
  /** For `error` and `offline`: a stable code (`revoked`, `network`, `timeout`, ...) and a message. */
  detail?: { code: string; message: string };
}

/** A listener of status events. */
export type SyncStatusListener = (event: SyncStatusEvent) => void;

/** Most listeners one emitter holds (a leak guard: listeners are meant to be few). */
export const STATUS_LISTENERS_MAX = 1024;

/** A typed emitter of {@link SyncStatusEvent}s. */
export class StatusEmitter {
  private readonly listeners = new Map<SyncStatus | '*', Set<SyncStatusListener>>();
  private count = 0;

  /**
   * Calls `listener` for every event of `status` (or every event, with `'*'`). Returns a
   * function that removes it.
   */
  on(status: SyncStatus | '*', listener: SyncStatusListener): () => void {
    if (this.count >= STATUS_LISTENERS_MAX)
      throw new LimitExceededError({
        limit: 'STATUS_LISTENERS_MAX',
        max: STATUS_LISTENERS_MAX,
        actual: this.count + 1,
        what: 'status listeners',
      });
    let set = this.listeners.get(status);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(status, set);
    }
    if (!set.has(listener)) {
      set.add(listener);
      this.count++;
    }
    return () => {
      if (set.delete(listener)) this.count--;
    };
  }

  /** Resolves with the next event of `status`. */
  once(status: SyncStatus | '*'): Promise<SyncStatusEvent> {
    return new Promise((resolve) => {
      const off = this.on(status, (e) => {
        off();
        resolve(e);
      });
    });
  }

  /**
   * Delivers `event` to its listeners. A listener that throws stops neither the others nor the
   * sync machinery that emitted the event: its error is rethrown from a microtask, where the
   * platform reports it as uncaught (as `EventTarget` does).
   */
  emit(event: SyncStatusEvent): void {
    const targets = [...(this.listeners.get(event.status) ?? []), ...(this.listeners.get('*') ?? [])];
    for (const l of targets) {
      try {
        l(event);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners.clear();
    this.count = 0;
  }
}
