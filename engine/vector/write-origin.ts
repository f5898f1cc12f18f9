/**
 * Which kind of write is staging a derived view's rows: a local write (which a view may refuse
 * by throwing), an ingest of entries from another device, or a rebuild (neither of which may be
 * refused: the entries are signed and stored whatever a view thinks of them).
 *
 * `DerivedView.stage(changes, batch)` is not told its origin (engine/db/derived.ts), so this
 * module finds out by wrapping, once per database, the calls that lead to a stage: the local
 * writes (`transaction`, and `writeOne` behind every `Collection` write) and the remote and
 * rebuild paths (`replica.ingest`, `rebuild`), each pushing its origin for the duration of the
 * call. A stage with nothing pushed (a path added later and not wrapped here) counts as
 * remote, the safe default: it never refuses a write, it only indexes less. The wrappers
 * forward arguments and results unchanged. A `stage` that took its origin as an argument would
 * make this module unnecessary (reported as a gap of the derived-view API).
 */

import type { Database } from '../db/database.ts';

/** Where the write being staged came from, as far as this module can tell. */
export type StageOrigin = 'local' | 'remote' | 'rebuild';

/** Tells the origin of the write being staged. */
export interface WriteOriginProbe {
  /** The origin of the innermost wrapped call in progress; 'remote' when there is none. */
  current(): StageOrigin;
}

const probes = new WeakMap<Database, WriteOriginProbe>();

/** The probe of `db`, installing its wrappers on first use. */
export function writeOriginProbe(db: Database): WriteOriginProbe {
  const existing = probes.get(db);
  if (existing !== undefined) return existing;
  const stack: StageOrigin[] = [];
  const within = <T>(origin: StageOrigin, run: () => T): T => {
    stack.push(origin);
    try {
      return run();
    } finally {
      stack.pop();
    }
  };
  const transaction = db.transaction.bind(db);
  db.transaction = (fn, options) => within('local', () => transaction(fn, options));
  const writeOne = db.writeOne.bind(db);
  db.writeOne = (op, nameBytes, options) => within('local', () => writeOne(op, nameBytes, options));
  const rebuild = db.rebuild.bind(db);
  db.rebuild = () => within('rebuild', rebuild);
  const replica = db.replica;
  const ingest = replica.ingest.bind(replica);
  replica.ingest = (wire) => within('remote', () => ingest(wire));
  const probe: WriteOriginProbe = { current: () => stack[stack.length - 1] ?? 'remote' };
  probes.set(db, probe);
  return probe;
}
