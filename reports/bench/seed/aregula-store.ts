/**
 * The `aregula` system of the `seed` suite: the Aregula database on a `NodeFs` in its own
 * directory, signing with the Node backend (`nodeSigner`) and the default group-commit size,
 * its LSM flushing and compacting on worker threads (`nodeBackgroundMerger`).
 * Every write is `collection('docs').put(id, doc)`: one entry in the device's hash-chained
 * feed, written to the WAL without a sync; `commit()` at the end signs the last group and
 * syncs. The signer is wrapped to count signatures, so a row can say how many were made.
 */

import { assert } from '../../../engine/assert.ts';
import { type Collection, Database, DEFAULT_GROUP_COMMIT_ENTRIES } from '../../../engine/db/database.ts';
import { decodePayload } from '../../../engine/db/payload.ts';
import { systemClock } from '../../../engine/io/clock.ts';
import { NodeFs } from '../../../engine/io/node-fs.ts';
import { type Identity, identityFromSeed } from '../../../engine/log/identity.ts';
import { nodeSigner } from '../../../engine/log/node-signer.ts';
import type { Signer } from '../../../engine/log/signer.ts';
import { type FeedHead, verifySignedRanges } from '../../../engine/log/verify.ts';
import { nodeBackgroundMerger } from '../../../engine/lsm/node-background.ts';
import { COLLECTION, canonicalDocText, type SeedData } from './data.ts';
import type { DocStore, DocSystem } from './doc-store.ts';

/**
 * The database's default group commit (entries per signature). The suite does not pass it,
 * so the default is what is measured; the store checks the signatures it counts against it.
 */
export const AREGULA_GROUP_COMMIT_ENTRIES = DEFAULT_GROUP_COMMIT_ENTRIES;

/** Signatures `n` single-document writes followed by `commit()` make: one per full group, plus the tail. */
export function expectedSignatures(n: number): number {
  return Math.ceil(n / AREGULA_GROUP_COMMIT_ENTRIES);
}

/** Entries read and verified at a time by {@link AregulaDocStore.checkWrites} (then to the next signature). */
const CHECK_ENTRIES = 4096;

/** The benchmark device: a fixed seed, so every run signs with the same key. */
const IDENTITY: Identity = identityFromSeed(new Uint8Array(32).fill(0x5e));

/** `nodeSigner`, counting the signatures it makes; verify and hash go straight through. */
class CountingSigner implements Signer {
  readonly name = nodeSigner.name;
  readonly verify = nodeSigner.verify;
  readonly sha256 = nodeSigner.sha256;
  signatures = 0;

  sign(identity: Identity, message: Uint8Array): Uint8Array {
    this.signatures++;
    return nodeSigner.sign(identity, message);
  }
}

/** A store on the Aregula database. */
class AregulaDocStore implements DocStore {
  lastWriteSignatures: number | undefined = undefined;
  private readonly signer = new CountingSigner();
  private db: Database;
  private docs: Collection;

  constructor(
    private readonly dir: string,
    private readonly data: SeedData,
  ) {
    this.db = this.openDb();
    this.docs = this.db.collection(COLLECTION);
  }

  private openDb(): Database {
    return Database.open({
      fs: new NodeFs(this.dir),
      lsm: { background: nodeBackgroundMerger(this.dir) },
      identity: IDENTITY,
      clock: systemClock,
      signer: this.signer,
    });
  }

  async writeAll(): Promise<void> {
    const { ids, docs } = this.data;
    const collection = this.docs;
    const before = this.signer.signatures;
    for (let i = 0; i < ids.length; i++) collection.put(ids[i]!, docs[i]!);
    this.db.commit();
    this.lastWriteSignatures = this.signer.signatures - before;
  }

  async readPlanned(): Promise<void> {
    const collection = this.docs;
    let found = 0;
    for (const id of this.data.readIds) if (collection.get(id) !== undefined) found++;
    assert(
      found === this.data.readIds.length,
      `aregula found ${found} of ${this.data.readIds.length} documents`,
    );
  }

  async load(): Promise<void> {
    // The same path as the timed writes, so the read workloads read what those writes leave.
    await this.writeAll();
  }

  async readBack(ids: readonly string[]): Promise<(unknown | undefined)[]> {
    return ids.map((id) => this.docs.get(id));
  }

  async checkReads(): Promise<(unknown | undefined)[]> {
    return this.readBack(this.data.readIds);
  }

  /**
   * The feed after a {@link writeAll} into a fresh store: entry i is write i (one put of
   * `ids[i]` with `docs[i]`), the chain is unbroken, every group commit ends with a signature,
   * and every one of those signatures is checked, one range at a time.
   */
  async checkWrites(): Promise<void> {
    const { ids, docs, n } = this.data;
    const author = IDENTITY.publicKey;
    const head = this.db.feeds.head(author);
    assert(head !== undefined, 'aregula wrote no feed');
    assert(head.seq === n, `aregula feed holds ${head.seq} entries for ${n} writes`);
    assert(head.signedSeq === n, `aregula feed is signed up to ${head.signedSeq} of ${n}`);
    let verified: FeedHead | undefined;
    let signatures = 0;
    while ((verified?.seq ?? 0) < n) {
      const from = (verified?.seq ?? 0) + 1;
      const to = this.db.feeds.signedSeqAtOrAfter(author, Math.min(n, from + CHECK_ENTRIES - 1));
      assert(to !== undefined, `aregula feed has no signature at or after ${from}`);
      const entries = this.db.feeds.readEntries(author, from, to);
      const ends = entries.flatMap((e, i) => (e.signed ? [i] : []));
      signatures += ends.length;
      verified = verifySignedRanges(verified, entries, nodeSigner, ends);
      for (const e of entries) {
        const ops = decodePayload(e.payload);
        const i = e.seq - 1;
        const op = ops[0];
        assert(ops.length === 1 && op?.kind === 'put', `aregula entry ${e.seq} is not one put`);
        assert(op.collection === COLLECTION && op.id === ids[i], `aregula entry ${e.seq} writes ${op.id}`);
        const want = canonicalDocText(docs[i]);
        assert(canonicalDocText(op.fields) === want, `aregula entry ${e.seq} carries another document`);
      }
    }
    const expected = expectedSignatures(n);
    assert(signatures === expected, `aregula feed keeps ${signatures} signatures, expected ${expected}`);
  }

  async reopen(): Promise<void> {
    this.db.close();
    this.db = this.openDb();
    this.docs = this.db.collection(COLLECTION);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** The `aregula` system. */
export const aregulaDocSystem: DocSystem = {
  name: 'aregula',
  async open(dir: string, data: SeedData): Promise<DocStore> {
    return new AregulaDocStore(dir, data);
  },
};
