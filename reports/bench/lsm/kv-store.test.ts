import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aregulaSystem } from './aregula-store.ts';
import { classicLevelSystem } from './classic-level-store.ts';
import { generateLsmData } from './data.ts';
import type { KvSystem } from './kv-store.ts';
import { mapSystem } from './map-store.ts';

// Every system of the suite must do the same work, or the comparison means nothing: these
// checks hold each adapter to the same observable behaviour.
const systems: KvSystem[] = [aregulaSystem, classicLevelSystem, mapSystem];
const root = mkdtempSync(join(tmpdir(), 'aregula-kv-test-'));
let dirs = 0;
const freshDir = () => {
  const dir = join(root, `d${dirs++}`);
  return dir;
};
afterAll(() => rmSync(root, { recursive: true, force: true }));

const data = generateLsmData(1500);
const absent = generateLsmData(7).keys; // another seed: not among `data.keys`

describe.each(systems.map((s) => [s.name, s] as const))('%s store', (_name, system) => {
  it('finds every key put one by one, and none that was not put', async () => {
    const store = await system.open(freshDir());
    try {
      await store.putEach(data.keys, data.values);
      expect(await store.getEach(data.keys)).toBe(data.keys.length);
      expect(await store.getEach(absent)).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('finds every key put in batches, including a short last batch, after a reopen too', async () => {
    const store = await system.open(freshDir());
    try {
      await store.putBatches(data.keys, data.values, 400);
      expect(await store.getEach(data.keys)).toBe(data.keys.length);
      await store.reopen();
      expect(await store.getEach(data.keys)).toBe(data.keys.length);
      expect(await store.getEach(absent)).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('reads full scans from the planned starts and short ones near the end of the keys', async () => {
    const store = await system.open(freshDir());
    try {
      await store.putBatches(data.keys, data.values, 1000);
      expect(await store.scanEach(data.scanStarts, data.scanEntries)).toBe(
        data.scanStarts.length * data.scanEntries,
      );
      await store.reopen();
      expect(await store.scanEach(data.scanStarts, data.scanEntries)).toBe(
        data.scanStarts.length * data.scanEntries,
      );
      const last = [...data.keys].sort(Buffer.compare)[data.keys.length - 3]!;
      expect(await store.scanEach([last], 100)).toBe(3);
      expect(await store.scanEach([new Uint8Array(16).fill(0xff)], 100)).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('allows closing twice', async () => {
    const store = await system.open(freshDir());
    await store.close();
    await store.close();
  });
});
