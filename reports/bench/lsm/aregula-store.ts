/**
 * The `aregula` system: the Aregula LSM-tree on a `NodeFs` in its own directory, with its
 * default options. Calls are synchronous, so the loops are plain loops.
 *
 * The engine is loaded with a dynamic import so that the suite still runs (without this system,
 * and saying why) in a checkout where the LSM has not landed yet.
 */

import type { KvStore, KvSystem } from './kv-store.ts';

/** The part of the LSM's API the benchmark uses. */
interface LsmDb {
  put(key: Uint8Array, value: Uint8Array, options?: { sync?: boolean }): void;
  write(batch: WriteBatchLike, options?: { sync?: boolean }): void;
  get(key: Uint8Array): Uint8Array | undefined;
  scan(options: { gte?: Uint8Array; limit?: number }): Iterable<[Uint8Array, Uint8Array]>;
  flush(): void;
  close(): void;
}

/** The part of `WriteBatch` the benchmark uses. */
interface WriteBatchLike {
  put(key: Uint8Array, value: Uint8Array): unknown;
}

/** The engine's constructors. */
interface Engine {
  openLsm(dir: string): LsmDb;
  newBatch(): WriteBatchLike;
}

/** A store on the Aregula LSM. */
class AregulaStore implements KvStore {
  constructor(
    private readonly engine: Engine,
    private readonly dir: string,
    private db: LsmDb,
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
      const batch = this.engine.newBatch();
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
    this.db = this.engine.openLsm(this.dir);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** Loads the engine, or returns why it cannot be loaded. */
async function loadEngine(): Promise<Engine | string> {
  const at = (path: string): string => new URL(path, import.meta.url).href;
  try {
    const lsm = await import(at('../../../engine/lsm/lsm.ts'));
    const io = await import(at('../../../engine/io/node-fs.ts'));
    const batch = await import(at('../../../engine/lsm/write-batch.ts'));
    return {
      openLsm: (dir: string): LsmDb => lsm.Lsm.open(new io.NodeFs(dir), {}),
      newBatch: (): WriteBatchLike => new batch.WriteBatch(),
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND') return `the engine is not there yet (${(error as Error).message})`;
    throw error;
  }
}

/** Returns the `aregula` system, or a reason it is unavailable in this checkout. */
export async function loadAregulaSystem(): Promise<KvSystem | string> {
  const engine = await loadEngine();
  if (typeof engine === 'string') return engine;
  return {
    name: 'aregula',
    async open(dir: string): Promise<KvStore> {
      return new AregulaStore(engine, dir, engine.openLsm(dir));
    },
  };
}
