/**
 * The three systems of the `merge.lww-map` workload, each encoding the plan's updates in its
 * own update format (untimed) and applying every message to a fresh replica (timed):
 *
 * - `aregula`: each device is a {@link Database} (on a `MemoryFs`, signing with `nodeSigner`)
 *   that writes every update as `collection('m').patch('map', {key: value})`: one signed,
 *   hash-chained feed entry. A message is the range of the device's feed that the sync
 *   protocol sends (`replica.readFeed`, ending at a signature). The receiver is a fresh
 *   Database on a `MemoryFs`; applying is `replica.ingest`, which decodes, checks the
 *   signature and the hash chain, stores the entries and updates the document's LWW view in
 *   one LSM batch.
 * - `yjs`: each device is a `Y.Doc` with a fixed client id, one `Y.Map` set per update, each
 *   captured from the doc's `update` event; a message is `Y.mergeUpdates` of its updates. The
 *   receiver is a fresh `Y.Doc`; applying is `Y.applyUpdate`.
 * - `automerge`: each device is an Automerge doc with a fixed actor id, one `change` per
 *   update (the root map's key set), captured with `getLastLocalChange`; a message is the array
 *   of its changes. The receiver is a fresh doc; applying is `applyChanges`.
 *
 * Yjs and Automerge keep their replica in memory only; Aregula's receiver keeps its store in
 * a `MemoryFs`, so no system touches a disk, but Aregula still does its storage work (WAL
 * records, memtable) and its signature and hash checks, which the others do not have.
 */

import * as Automerge from '@automerge/automerge';
import * as Y from 'yjs';
import { assert } from '../../../engine/assert.ts';
import { Database } from '../../../engine/db/database.ts';
import { bytesToHex } from '../../../engine/hex.ts';
import { systemClock } from '../../../engine/io/clock.ts';
import { MemoryFs } from '../../../engine/io/memory-fs.ts';
import { identityFromSeed } from '../../../engine/log/identity.ts';
import { nodeSigner } from '../../../engine/log/node-signer.ts';
import { MAX_MESSAGE_BYTES } from '../../../engine/sync/messages.ts';
import type { MergePlan } from './updates.ts';

/** The collection and document that hold Aregula's map. */
const COLLECTION = 'm';
const DOC_ID = 'map';

/** One system prepared with a plan's messages. */
export interface MergeSystem {
  /** Total bytes of the encoded messages (the system's update format). */
  readonly wireBytes: number;
  /** Untimed: replaces the receiving replica with a fresh, empty one. */
  reset(): void;
  /** Timed: applies every message, in delivery order, to the receiving replica. */
  applyAll(): void;
  /** Untimed: the receiving replica's map. */
  content(): Record<string, unknown>;
  /** Releases the replica. */
  close(): void;
}

/** The system names, in table order. */
export const MERGE_SYSTEMS = ['aregula', 'yjs', 'automerge'] as const;

/** Encodes `plan` for `system`. */
export function prepareSystem(system: string, plan: MergePlan): MergeSystem {
  switch (system) {
    case 'aregula':
      return new AregulaMerge(plan);
    case 'yjs':
      return new YjsMerge(plan);
    case 'automerge':
      return new AutomergeMerge(plan);
    default:
      throw new Error(`merge.lww-map has no system ${system}`);
  }
}

function sumBytes(messages: readonly Uint8Array[]): number {
  return messages.reduce((sum, m) => sum + m.length, 0);
}

/** Aregula: signed feed entries, ingested by a database replica. */
class AregulaMerge implements MergeSystem {
  readonly wireBytes: number;
  private readonly messages: Uint8Array[][] = [];
  private db: Database | undefined;

  constructor(plan: MergePlan) {
    const ranges: Uint8Array[][][] = plan.perDevice.map((updates, device) => {
      const db = Database.open({
        fs: new MemoryFs(),
        identity: identityFromSeed(new Uint8Array(32).fill(device + 1)),
        clock: systemClock,
        signer: nodeSigner,
      });
      try {
        const map = db.collection(COLLECTION);
        for (const u of updates) map.patch(DOC_ID, { [u.key]: u.value });
        db.commit();
        const author = bytesToHex(db.identity.publicKey);
        const out: Uint8Array[][] = [];
        for (const m of plan.messages.filter((x) => x.device === device)) {
          const range = db.replica.readFeed(author, m.from + 1, {
            limit: m.count,
            maxBytes: MAX_MESSAGE_BYTES,
          });
          assert(
            range.length === m.count,
            `aregula: feed range of ${range.length} entries, wanted ${m.count}`,
          );
          out.push(range);
        }
        return out;
      } finally {
        db.close();
      }
    });
    const next = plan.perDevice.map(() => 0);
    for (const m of plan.messages) this.messages.push(ranges[m.device]![next[m.device]!++]!);
    this.wireBytes = this.messages.reduce((sum, m) => sum + sumBytes(m), 0);
  }

  reset(): void {
    this.close();
    this.db = Database.open({
      fs: new MemoryFs(),
      identity: identityFromSeed(new Uint8Array(32).fill(0xee)),
      clock: systemClock,
      signer: nodeSigner,
    });
  }

  applyAll(): void {
    const replica = this.db!.replica;
    for (const message of this.messages) {
      const result = replica.ingest(message);
      if (result.applied !== message.length)
        throw new Error(`aregula: ingest applied ${result.applied} of ${message.length} entries`);
    }
  }

  content(): Record<string, unknown> {
    return { ...(this.db!.get(COLLECTION, DOC_ID) ?? {}) };
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}

/** Yjs: a Y.Map per device, merged updates per message. */
class YjsMerge implements MergeSystem {
  readonly wireBytes: number;
  private readonly messages: Uint8Array[] = [];
  private doc = new Y.Doc();

  constructor(plan: MergePlan) {
    const perDevice = plan.perDevice.map((updates, device) => {
      const doc = new Y.Doc();
      doc.clientID = device + 1;
      const captured: Uint8Array[] = [];
      doc.on('update', (update: Uint8Array) => captured.push(update));
      const map = doc.getMap<number>('m');
      for (const u of updates) map.set(u.key, u.value);
      doc.destroy();
      assert(captured.length === updates.length, 'yjs: one update event per set');
      return captured;
    });
    for (const m of plan.messages)
      this.messages.push(Y.mergeUpdates(perDevice[m.device]!.slice(m.from, m.from + m.count)));
    this.wireBytes = sumBytes(this.messages);
  }

  reset(): void {
    this.doc.destroy();
    this.doc = new Y.Doc();
  }

  applyAll(): void {
    for (const message of this.messages) Y.applyUpdate(this.doc, message);
  }

  content(): Record<string, unknown> {
    return this.doc.getMap('m').toJSON();
  }

  close(): void {
    this.doc.destroy();
  }
}

/** Automerge: the root map of a doc per device, the changes of a message applied together. */
class AutomergeMerge implements MergeSystem {
  readonly wireBytes: number;
  private readonly messages: Automerge.Change[][] = [];
  private doc: Automerge.Doc<Record<string, number>> = Automerge.init();

  constructor(plan: MergePlan) {
    const perDevice = plan.perDevice.map((updates, device) => {
      let doc = Automerge.init<Record<string, number>>({
        actor: (device + 1).toString(16).padStart(32, '0'),
      });
      const changes: Automerge.Change[] = [];
      for (const u of updates) {
        doc = Automerge.change(doc, (d) => {
          d[u.key] = u.value;
        });
        const change = Automerge.getLastLocalChange(doc);
        assert(change !== undefined, 'automerge: a change was made');
        changes.push(change);
      }
      return changes;
    });
    for (const m of plan.messages) this.messages.push(perDevice[m.device]!.slice(m.from, m.from + m.count));
    this.wireBytes = this.messages.reduce((sum, m) => sum + sumBytes(m), 0);
  }

  reset(): void {
    this.doc = Automerge.init();
  }

  applyAll(): void {
    let doc = this.doc;
    for (const message of this.messages) [doc] = Automerge.applyChanges(doc, message);
    this.doc = doc;
  }

  content(): Record<string, unknown> {
    return { ...Automerge.toJS(this.doc) };
  }

  close(): void {
    this.doc = Automerge.init();
  }
}
