/**
 * The `classic-level` system: LevelDB through its Node binding, the reference LSM-tree the
 * Aregula LSM is compared with. Calls are awaited one at a time, as an application would;
 * batches use `batch()`, scans an iterator with a limit.
 */

import { ClassicLevel } from 'classic-level';
import type { KvStore, KvSystem } from './kv-store.ts';

/** A LevelDB database with byte keys and values. */
type Db = ClassicLevel<Uint8Array, Uint8Array>;

/** A store on LevelDB. */
class ClassicLevelStore implements KvStore {
  constructor(private readonly db: Db) {}

  async putEach(keys: readonly Uint8Array[], values: readonly Uint8Array[]): Promise<void> {
    for (let i = 0; i < keys.length; i++) await this.db.put(keys[i]!, values[i]!);
  }

  async putBatches(
    keys: readonly Uint8Array[],
    values: readonly Uint8Array[],
    batchSize: number,
  ): Promise<void> {
    for (let from = 0; from < keys.length; from += batchSize) {
      const to = Math.min(from + batchSize, keys.length);
      const ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = [];
      for (let i = from; i < to; i++) ops.push({ type: 'put', key: keys[i]!, value: values[i]! });
      await this.db.batch(ops);
    }
  }

  async getEach(keys: readonly Uint8Array[]): Promise<number> {
    let found = 0;
    for (const key of keys) if ((await this.db.get(key)) !== undefined) found++;
    return found;
  }

  async scanEach(starts: readonly Uint8Array[], limit: number): Promise<number> {
    let entries = 0;
    for (const start of starts) entries += (await this.db.iterator({ gte: start, limit }).all()).length;
    return entries;
  }

  async reopen(): Promise<void> {
    // LevelDB has no explicit flush; on open it writes the recovered log to a level-0 table.
    await this.db.close();
    await this.db.open();
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** The `classic-level` system, with LevelDB's default options. */
export const classicLevelSystem: KvSystem = {
  name: 'classic-level',
  async open(dir: string): Promise<KvStore> {
    const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await db.open();
    return new ClassicLevelStore(db);
  },
};
