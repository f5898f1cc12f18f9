import { afterAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '../../../engine/log/entry.ts';
import { checkBenchContract } from '../contract-check.ts';
import { runWorkloads } from '../harness.ts';
import { FixedSampler } from '../sampler.ts';
import { benchDevice, buildSource, feedRanges, heldOf } from './fixtures.ts';
import { LIVE_SIZE_MAX, LIVE_UPDATES_MAX, SYNC_WORKLOADS, syncWorkloads } from './suite.ts';

describe('the sync bench fixtures', () => {
  const source = buildSource(300);
  afterAll(() => source.device.db.close());

  it('builds a signed feed of n entries and measures their encoded size', () => {
    expect(heldOf(source.device, source.device.identity.publicKey)).toBe(300);
    const ranges = [...feedRanges(source.device, 100)];
    expect(ranges.flat()).toHaveLength(300);
    expect(source.entryBytes).toBe(ranges.flat().reduce((s, e) => s + e.length, 0));
    // Each range ends at a signed entry, so it verifies on its own.
    for (const r of ranges) expect(decodeEntry(r.at(-1)!).signed).toBe(true);
  });

  it('a fresh device holds nothing of the source', () => {
    const fresh = benchDevice(2);
    expect(heldOf(fresh, source.device.identity.publicKey)).toBe(0);
    fresh.db.close();
  });

  it('refuses a source without entries', () => {
    expect(() => buildSource(0)).toThrow(/at least one entry/);
  });
});

describe('the sync bench suite', () => {
  it('runs the live workloads at small sizes only, the initial syncs at every size', () => {
    for (const w of syncWorkloads()) {
      const live = w.name.endsWith('-live');
      expect(w.skip?.('aregula', LIVE_SIZE_MAX)).toBeUndefined();
      expect(w.skip?.('aregula', LIVE_SIZE_MAX + 1) === undefined).toBe(!live);
      expect(() => w.createCase('sqlite', 10, { freshDir: () => '/nonexistent' })).toThrow(/no system/);
    }
  });

  it('syncs everything over memory, a loopback hub and WebRTC, and reports wire bytes and latency', async () => {
    const rows = await runWorkloads(syncWorkloads(), {
      sizes: [200],
      warmupSamples: 0,
      samples: 1,
      sampler: new FixedSampler(100),
    });
    expect(rows.map((r) => r.workload)).toEqual(Object.values(SYNC_WORKLOADS));
    for (const row of rows.slice(0, 3)) {
      expect(row).toMatchObject({ system: 'aregula', n: 200, ops_per_sample: 200, unit: 'entry' });
      expect(row.ops_per_sec).toBeCloseTo(2000, 6);
      // Wire bytes are at least the entries themselves; at this small size HTTP's login and
      // heads weigh more than at the sizes the target is about.
      expect(row.wire_ratio as number).toBeGreaterThanOrEqual(1);
      expect(row.wire_ratio as number).toBeLessThanOrEqual(row.workload === SYNC_WORKLOADS.hub ? 2 : 1.2);
      expect(row.entry_bytes as number).toBeGreaterThan(87);
      expect(row.cpu_ops_per_sec as number).toBeGreaterThan(0);
    }
    for (const row of rows.slice(3)) {
      expect(row).toMatchObject({ n: 200, ops_per_sample: Math.min(200, LIVE_UPDATES_MAX), unit: 'update' });
      expect(row.latency_ms as number).toBeGreaterThan(0);
    }
    expect(checkBenchContract(['sync'], rows)).toContain('fits the bench contract');
  }, 120_000);
});
