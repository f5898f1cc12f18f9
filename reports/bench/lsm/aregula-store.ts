/**
 * The `aregula` system: the Aregula LSM-tree on a `NodeFs` in its own directory, with its
 * default options and its flushes and compactions on worker threads (`nodeBackgroundMerger`,
 * as LevelDB runs them on its background thread). Calls are synchronous, so the loops are
 * plain loops.
 */

import { NodeFs } from '../../../engine/io/node-fs.ts';
import { Lsm } from '../../../engine/lsm/lsm.ts';
import { nodeBackgroundMerger } from '../../../engine/lsm/node-background.ts';
import { WriteBatch } from '../../../engine/lsm/write-batch.ts';
import type { KvStore, KvSystem } from './kv-store.ts';

/** Opens (creating) the LSM in `dir` with default options and background merges. */
function openLsm(dir: string): Lsm {
  return Lsm.open(new NodeFs(dir), { background: nodeBackgroundMerger(dir) });
}

/** A store on the Aregula LSM. */
class AregulaStore implements KvStore {
  constructor(
    private readonly dir: string,
    private db: Lsm,
  ) {}

  async putEach(keys: readonly Uint8Array[], values: readonly Uint8Array[]): Promise<void> {
    const db = this.db;
    for (let i = 0; i < keys.length; i++) db.put(keys[i]!, values[i]!, { sync: false });
  }

  async putBatches(
    keys: readonly Uint8Array[],
    values: readonly Uint8Array[],
    batchSize: number,
  ): Promise<void> {
    for (let from = 0; from < keys.length; from += batchSize) {
      const batch = new WriteBatch();
      const to = Math.min(from + batchSize, keys.length);
      for (let i = from; i < to; i++) batch.put(keys[i]!, values[i]!);
      this.db.write(batch, { sync: false });
    }
  }

  async getEach(keys: readonly Uint8Array[]): Promise<number> {
    const db = this.db;
    let found = 0;
    for (const key of keys) if (db.get(key) !== undefined) found++;
    return found;
  }

  async scanEach(starts: readonly Uint8Array[], limit: number): Promise<number> {
    let entries = 0;
    for (const start of starts) {
      for (const _entry of this.db.scan({ gte: start, limit })) entries++;
    }
    return entries;
  }

  async reopen(): Promise<void> {
    this.db.flush();
    this.db.close();
    this.db = openLsm(this.dir);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** The `aregula` system. */
export const aregulaSystem: KvSystem = {
  name: 'aregula',
  async open(dir: string): Promise<KvStore> {
    return new AregulaStore(dir, openLsm(dir));
  },
};
