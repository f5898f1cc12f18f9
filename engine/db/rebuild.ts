/**
 * Rebuilding every view from the feeds: the documents (recomputed by a `ViewWriter` that
 * replayed every entry) and each derived view (restaged from the rebuilt documents as if
 * every document were new). The live rows are compared with the rebuilt ones byte for byte,
 * then replaced.
 */

import { materialize } from '../crdt/lww.ts';
import { materializeEncoded } from '../crdt/state-codec.ts';
import { compareBytes } from '../lsm/coding.ts';
import { EntryKind } from '../lsm/internal-key.ts';
import type { Lsm } from '../lsm/lsm.ts';
import { decodeBatch, WriteBatch } from '../lsm/write-batch.ts';
import { type DerivedView, type DocChange, sameDocument } from './derived.ts';
import { docKeyParts, hashRows, type ViewWriter, viewRows } from './views.ts';

/** Documents staged into one derived-view batch during a rebuild (bounds each batch's size). */
export const REBUILD_STAGE_DOCS_MAX = 256;

/** Rows deleted or put per LSM write while a rebuild replaces the live rows. */
export const REBUILD_WRITE_ROWS_MAX = 10_000;

type Row = [Uint8Array, Uint8Array];

/** What a rebuild found and did. */
export interface RebuildOutcome {
  /** Whether every live view equalled its rebuilt form byte for byte. */
  readonly same: boolean;
  /** Documents whose visible form the rebuild changed. */
  readonly changes: DocChange[];
}

/** Replaces the live views in `lsm` with `rebuilt` documents and their derived rows. */
export function rebuildViews(lsm: Lsm, rebuilt: ViewWriter, derived: readonly DerivedView[]): RebuildOutcome {
  const docRows = rebuilt.rows();
  const liveDocs = [...viewRows(lsm)];
  let same = hashRows(docRows) === hashRows(liveDocs);
  const fresh: DocChange[] = [];
  for (const { collection, id, after } of rebuilt.states()) {
    const doc = materialize(after);
    if (doc !== undefined) fresh.push({ collection, id, before: undefined, after: doc });
  }
  const replaced: { live: Row[]; rows: Row[] }[] = [{ live: liveDocs, rows: docRows }];
  for (const view of derived) {
    const rows = stagedRows(view, fresh);
    const live = [...lsm.scan({ prefix: view.prefix })];
    if (hashRows(rows) !== hashRows(live)) same = false;
    replaced.push({ live, rows });
  }
  writeReplacement(lsm, replaced);
  return { same, changes: visibleChanges(liveDocs, docRows) };
}

/**
 * Recomputes one derived view from `docs` (the current documents, each as a fresh change) and
 * replaces its live rows when they differ. Returns true when they already equalled the
 * recomputed rows byte for byte (then nothing is written). The replacement is written in
 * bounded batches, so a crash in the middle leaves the view partly filled: a caller that
 * refills on every open repairs it.
 */
export function refillView(lsm: Lsm, view: DerivedView, docs: readonly DocChange[]): boolean {
  const rows = stagedRows(view, docs);
  const live = [...lsm.scan({ prefix: view.prefix })];
  if (hashRows(rows) === hashRows(live)) return true;
  writeReplacement(lsm, [{ live, rows }]);
  return false;
}

/** The rows `view` stages for `changes`, in key order (later puts of one key win). */
function stagedRows(view: DerivedView, changes: readonly DocChange[]): Row[] {
  const rows = new Map<string, Row>();
  for (let at = 0; at < changes.length; at += REBUILD_STAGE_DOCS_MAX) {
    const batch = new WriteBatch();
    view.stage(changes.slice(at, at + REBUILD_STAGE_DOCS_MAX), batch, 'rebuild');
    if (batch.count === 0) continue;
    for (const op of decodeBatch(batch.encode(0)).ops) {
      const name = keyName(op.key);
      if (op.kind === EntryKind.Value) rows.set(name, [op.key.slice(), op.value.slice()]);
      else rows.delete(name);
    }
  }
  return [...rows.values()].sort((a, b) => compareBytes(a[0], b[0]));
}

/** A key as a string of byte values (a Map key that compares bytes exactly). */
function keyName(key: Uint8Array): string {
  let s = '';
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}

/** Deletes every live row and puts every rebuilt one, in bounded batches. */
function writeReplacement(lsm: Lsm, replaced: readonly { live: Row[]; rows: Row[] }[]): void {
  let batch = new WriteBatch();
  const flush = () => {
    if (batch.count > 0) lsm.write(batch);
    batch = new WriteBatch();
  };
  for (const { live, rows } of replaced) {
    for (const [k] of live) {
      batch.delete(k);
      if (batch.count >= REBUILD_WRITE_ROWS_MAX) flush();
    }
    for (const [k, v] of rows) {
      batch.put(k, v);
      if (batch.count >= REBUILD_WRITE_ROWS_MAX) flush();
    }
  }
  flush();
}

/** Documents whose visible form differs between two sorted lists of document rows. */
function visibleChanges(live: readonly Row[], rebuilt: readonly Row[]): DocChange[] {
  const changes: DocChange[] = [];
  let i = 0;
  let j = 0;
  while (i < live.length || j < rebuilt.length) {
    const order =
      i === live.length ? 1 : j === rebuilt.length ? -1 : compareBytes(live[i]![0], rebuilt[j]![0]);
    const key = order <= 0 ? live[i]![0] : rebuilt[j]![0];
    const before = order <= 0 ? materializeEncoded(live[i]![1]) : undefined;
    const after = order >= 0 ? materializeEncoded(rebuilt[j]![1]) : undefined;
    if (order <= 0) i++;
    if (order >= 0) j++;
    if (before === undefined && after === undefined) continue;
    if (before !== undefined && after !== undefined && sameDocument(before, after)) continue;
    changes.push({ ...docKeyParts(key), before, after });
  }
  return changes;
}
