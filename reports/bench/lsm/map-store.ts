/**
 * The `map` system: a plain JavaScript `Map`, the in-memory ceiling the other systems are
 * measured against. Range scans use a sorted array and binary search, the fair in-memory
 * equivalent of an ordered store's iterator; it is rebuilt on `reopen` (what a process
 * holding a Map would do on restart) or lazily when a scan finds it stale.
 */

import { compareBytes } from '../../../engine/lsm/coding.ts';
import type { KvStore, KvSystem } from './kv-store.ts';

/** A Map key for a byte string: one char per byte, so distinct keys stay distinct. */
function keyText(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** Index of the first element of `sorted` that is >= `key`. */
function lowerBound(sorted: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(sorted[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A store on a `Map`. */
class MapStore implements KvStore {
  private readonly map = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  private sortedKeys: Uint8Array[] = [];
  private sortedValues: Uint8Array[] = [];
  private sortedStale = false;

  async putEach(keys: readonly Uint8Array[], values: readonly Uint8Array[]): Promise<void> {
    for (let i = 0; i < keys.length; i++)
      this.map.set(keyText(keys[i]!), { key: keys[i]!, value: values[i]! });
    this.sortedStale = true;
  }

  async putBatches(
    keys: readonly Uint8Array[],
    values: readonly Uint8Array[],
    _batchSize: number,
  ): Promise<void> {
    // A Map has no batches; the atomicity a batch buys is free in a single-threaded Map.
    await this.putEach(keys, values);
  }

  async getEach(keys: readonly Uint8Array[]): Promise<number> {
    let found = 0;
    for (const key of keys) if (this.map.get(keyText(key)) !== undefined) found++;
    return found;
  }

  async scanEach(starts: readonly Uint8Array[], limit: number): Promise<number> {
    if (this.sortedStale) this.rebuildSorted();
    let entries = 0;
    let bytes = 0;
    for (const start of starts) {
      const from = lowerBound(this.sortedKeys, start);
      const to = Math.min(from + limit, this.sortedKeys.length);
      for (let i = from; i < to; i++) {
        bytes += this.sortedKeys[i]!.length + this.sortedValues[i]!.length;
        entries++;
      }
    }
    // Reading the lengths keeps the loop from being optimised away; check them to use `bytes`.
    return bytes >= entries ? entries : -1;
  }

  async reopen(): Promise<void> {
    this.rebuildSorted();
  }

  async close(): Promise<void> {}

  private rebuildSorted(): void {
    const entries = [...this.map.values()].sort((a, b) => compareBytes(a.key, b.key));
    this.sortedKeys = entries.map((e) => e.key);
    this.sortedValues = entries.map((e) => e.value);
    this.sortedStale = false;
  }
}

/** The `map` system. */
export const mapSystem: KvSystem = {
  name: 'map',
  async open(_dir: string): Promise<KvStore> {
    return new MapStore();
  },
};
