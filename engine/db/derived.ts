/**
 * Views derived from documents (secondary indexes, vector indexes) and change listeners (live
 * queries): the two ways a higher layer follows the documents, which are themselves a view of
 * the feeds.
 *
 * A {@link DerivedView} owns the LSM rows under its key prefix and stages its changes into
 * the same atomic batch as the document rows and the feed entry that caused them, so a crash
 * never leaves an index out of step with its documents; `Database.rebuild()` recomputes its
 * rows from the rebuilt documents like every other view. A {@link ChangeListener} hears about
 * every committed change, local or remote, after the write, in commit order.
 */

import { type JsonObject, materialize } from '../crdt/lww.ts';
import { InvalidArgumentError } from '../errors.ts';
import { startsWithBytes } from '../lsm/coding.ts';
import type { WriteBatch } from '../lsm/write-batch.ts';
import type { ViewWriter } from './views.ts';

/**
 * First byte of every derived view's rows ('v'). The rest of the LSM's key space belongs to
 * the documents ('d') and the feed store ('f', 'h', 's', 'x'), so a view can never overwrite them.
 */
export const DERIVED_VIEW_PREFIX = 0x76;

/** Most derived views one database maintains (each costs work on every write). */
export const DERIVED_VIEWS_MAX = 64;

/** Most change listeners one database holds at once. */
export const CHANGE_LISTENERS_MAX = 4096;

/** One document's visible change from one committed write. */
export interface DocChange {
  readonly collection: string;
  readonly id: string;
  /** The visible document before the write (deep-frozen values), or undefined when absent. */
  readonly before: JsonObject | undefined;
  /** The visible document after the write, or undefined when absent (deleted or never written). */
  readonly after: JsonObject | undefined;
}

/** Where a committed change came from. */
export type ChangeOrigin = 'local' | 'remote' | 'rebuild';

/**
 * A view derived from documents, stored in the LSM under `prefix` and written in the same
 * batch as the documents it follows.
 */
export interface DerivedView {
  /** A name for errors and plans. Unique per database. */
  readonly name: string;
  /**
   * The first bytes of every row this view owns: {@link DERIVED_VIEW_PREFIX} and at least one
   * more byte, not a prefix of (or prefixed by) another registered view's.
   */
  readonly prefix: Uint8Array;
  /**
   * Stages the rows `changes` require (puts of new rows, deletes of stale ones) into `batch`.
   * Called before the write; a throw aborts the write with nothing stored. Must be a pure
   * function of the changes (and rows it reads), so every replica and every rebuild agrees.
   * Only a `local` write may be refused: entries from other devices (`remote`) are signed and
   * stored whatever a view thinks of them, and a `rebuild` replays what is already stored, so
   * a view must stage something (or nothing) for every change of those origins, never throw.
   */
  stage(changes: readonly DocChange[], batch: WriteBatch, origin: ChangeOrigin): void;
  /** Called after the batch is durable in the LSM (for in-memory caches of the view). */
  committed?(changes: readonly DocChange[], origin: ChangeOrigin): void;
}

/**
 * Hears every committed change, in commit order, after the write. It runs synchronously
 * inside the write, so it must be quick and must not write to the database; live queries
 * queue work for the next tick here. A throw is reported to the writer after every listener
 * has run (the write itself stays committed).
 */
export type ChangeListener = (changes: readonly DocChange[], origin: ChangeOrigin) => void;

/** Checks a derived view's shape before it is registered. */
export function checkDerivedView(view: DerivedView, existing: readonly DerivedView[]): void {
  if (typeof view.name !== 'string' || view.name.length === 0)
    throw new InvalidArgumentError('a derived view needs a non-empty name');
  if (!(view.prefix instanceof Uint8Array) || view.prefix.length < 2)
    throw new InvalidArgumentError(
      `derived view ${view.name}: prefix must be a Uint8Array of at least 2 bytes`,
    );
  if (view.prefix[0] !== DERIVED_VIEW_PREFIX)
    throw new InvalidArgumentError(
      `derived view ${view.name}: prefix must start with DERIVED_VIEW_PREFIX (0x${DERIVED_VIEW_PREFIX.toString(16)})`,
    );
  if (existing.length >= DERIVED_VIEWS_MAX)
    throw new InvalidArgumentError(`at most ${DERIVED_VIEWS_MAX} derived views per database`);
  for (const other of existing) {
    if (other.name === view.name)
      throw new InvalidArgumentError(`derived view ${view.name} is already registered`);
    if (startsWithBytes(view.prefix, other.prefix) || startsWithBytes(other.prefix, view.prefix))
      throw new InvalidArgumentError(
        `derived views ${view.name} and ${other.name} have overlapping prefixes`,
      );
  }
}

/**
 * Calls every listener with `changes`; a throwing listener does not stop the others. Throws
 * the first error (an AggregateError when several threw) after all have run.
 */
export function notifyListeners(
  listeners: ReadonlySet<ChangeListener>,
  changes: readonly DocChange[],
  origin: ChangeOrigin,
): void {
  if (changes.length === 0 || listeners.size === 0) return;
  const errors: unknown[] = [];
  // A copy: a listener may unsubscribe itself (or another) while being notified.
  for (const listener of [...listeners]) {
    try {
      listener(changes, origin);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} change listeners threw`);
}

/**
 * The visible changes a view writer holds: documents whose materialized form changed (a write
 * that only moved stamps, or lost to a newer write, changes nothing visible and is left out).
 */
export function docChangesOf(views: ViewWriter): DocChange[] {
  const changes: DocChange[] = [];
  for (const { collection, id, before, after } of views.states()) {
    const was = materialize(before);
    const now = materialize(after);
    if (was === undefined && now === undefined) continue;
    if (was !== undefined && now !== undefined && sameDocument(was, now)) continue;
    changes.push({ collection, id, before: was, after: now });
  }
  return changes;
}

/** Field-by-field equality of two materialized documents (values are canonical JSON trees). */
export function sameDocument(a: JsonObject, b: JsonObject): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    if (!sameJson(a[k], b[k])) return false;
  }
  return true;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  return sameDocument(a as JsonObject, b as JsonObject);
}
