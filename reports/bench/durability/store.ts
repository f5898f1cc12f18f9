/**
 * What the `durability` suite's parent and its writer child share: the store's identity and
 * collection, and the check of acknowledged writes against a reopened store.
 */

import { Database } from '../../../engine/db/database.ts';
import { systemClock } from '../../../engine/io/clock.ts';
import { NodeFs } from '../../../engine/io/node-fs.ts';
import { type Identity, identityFromSeed } from '../../../engine/log/identity.ts';
import { nodeSigner } from '../../../engine/log/node-signer.ts';

/** The writer's device: a fixed seed, so every incarnation appends to the same feed. */
export const DURABILITY_IDENTITY: Identity = identityFromSeed(new Uint8Array(32).fill(0xd0));
/** The collection the writer puts its documents in. */
export const DURABILITY_COLLECTION = 'acks';
/** Most writes one writer incarnation makes before stopping on its own. */
export const WRITER_WRITES_MAX = 1_000_000;

/** An acknowledged write: the document id and the document the writer put. */
export interface AckedWrite {
  id: string;
  run: string;
  i: number;
}

/** Parses an `ack <run>-<i>` line, or returns undefined for any other line. */
export function parseAck(line: string): AckedWrite | undefined {
  const match = /^ack ((.+)-(\d+))$/.exec(line);
  if (match === null) return undefined;
  return { id: match[1]!, run: match[2]!, i: Number(match[3]) };
}

/**
 * Reopens the store in `dir` (running its crash recovery) and returns the acknowledged writes
 * that are missing or changed, closing the store again.
 */
export function missingAcks(dir: string, acked: readonly AckedWrite[]): AckedWrite[] {
  const db = Database.open({
    fs: new NodeFs(dir),
    identity: DURABILITY_IDENTITY,
    clock: systemClock,
    signer: nodeSigner,
  });
  try {
    const docs = db.collection(DURABILITY_COLLECTION);
    return acked.filter((a) => {
      const doc = docs.get(a.id);
      return doc === undefined || doc.run !== a.run || doc.i !== a.i;
    });
  } finally {
    db.close();
  }
}
