import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../engine/io/random.ts';
import { checkBenchContract } from '../contract-check.ts';
import { runWorkloads } from '../harness.ts';
import { killCycle } from './kill-cycle.ts';
import { type AckedWrite, missingAcks, parseAck } from './store.ts';
import { DURABILITY_WORKLOAD, durabilityWorkload, killAndCheck } from './suite.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aregula-durability-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('acknowledgement lines', () => {
  it('parses an ack and nothing else', () => {
    expect(parseAck('ack r3-17')).toEqual({ id: 'r3-17', run: 'r3', i: 17 });
    expect(parseAck('ack r1-2-5')).toEqual({ id: 'r1-2-5', run: 'r1-2', i: 5 });
    expect(parseAck('ready')).toBeUndefined();
    expect(parseAck('ack r3-')).toBeUndefined();
    expect(parseAck('ack r3-1x')).toBeUndefined();
    expect(parseAck('ac')).toBeUndefined();
  });
});

describe('the durability bench suite', () => {
  it('really kills the writer and finds every acknowledged write after reopening', async () => {
    const dir = tempDir();
    const first = await killCycle({ dir, run: 'a', killAfterMs: 150 });
    expect(first.acked.length).toBeGreaterThan(0);
    expect(first.writingMs).toBeGreaterThan(0);
    // Acks are in write order, one incarnation's ids consecutive from 0.
    expect(first.acked.map((a) => a.i)).toEqual(first.acked.map((_, i) => i));
    expect(missingAcks(dir, first.acked)).toEqual([]);
    // The next incarnation recovers the killed store and keeps writing to it.
    const second = await killCycle({ dir, run: 'b', killAfterMs: 60 });
    expect(missingAcks(dir, [...first.acked, ...second.acked])).toEqual([]);
  }, 60_000);

  it('reports a lost acknowledged write, and the sample fails', async () => {
    const dir = tempDir();
    // On a loaded machine a short window may end before the first acknowledged write: widen it.
    let real: AckedWrite[] = [];
    for (const [i, killAfterMs] of [40, 300, 2000].entries()) {
      if (real.length > 0) break;
      real = (await killCycle({ dir, run: `a${i}`, killAfterMs })).acked;
    }
    expect(real.length, 'no write acknowledged within 2 s of the writer starting').toBeGreaterThan(0);
    const never: AckedWrite = { id: 'ghost-0', run: 'ghost', i: 0 };
    const changed: AckedWrite = { ...real[0]!, i: real[0]!.i + 1000 };
    expect(missingAcks(dir, [...real, never, changed])).toEqual([never, changed]);
    const totals = { kills: 0, acked: 0, writingMs: 0, lostAcked: 0 };
    await expect(
      killAndCheck({
        dir,
        kills: 1,
        random: new SeededRandom(1),
        acked: [never],
        totals,
        runPrefix: 'x',
      }),
    ).rejects.toThrow(/1 acknowledged write\(s\) lost after kill 1 \(seed 9/);
    expect(totals.lostAcked).toBe(1);
    expect(totals.kills).toBe(1);
  }, 60_000);

  it('writes a row with lost_acked 0, the kills and the acked write rate', async () => {
    const rows = await runWorkloads([durabilityWorkload()], { sizes: [2], warmupSamples: 0, samples: 1 });
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({
      workload: DURABILITY_WORKLOAD,
      system: 'aregula',
      n: 2,
      lost_acked: 0,
      kills: 2,
    });
    expect(row.acked as number).toBeGreaterThan(0);
    expect(row.ops_per_sample).toBe(row.acked);
    expect(row.ops_per_sec).toBeCloseTo((1000 * (row.acked as number)) / (row.writing_ms as number), 6);
    expect(checkBenchContract(['durability'], rows)).toContain('fits the bench contract');
  }, 60_000);

  it('fails when the writer cannot start', async () => {
    // A file where the store's directory should be: the writer cannot open it.
    const dir = join(tempDir(), 'not-a-dir');
    writeFileSync(dir, 'x');
    await expect(killCycle({ dir, run: 'a', killAfterMs: 10 })).rejects.toThrow(/never became ready/);
  }, 60_000);
});
