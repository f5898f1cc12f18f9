import { describe, expect, test } from 'vitest';
import { MemoryFs } from '../engine/io/memory-fs.ts';
import { identityFromSeed } from '../engine/log/identity.ts';
import { RECORD_CRC_BYTES, RecordFile } from './record-file.ts';

const rec = (n: number) => new Uint8Array(10).fill(n);
const STRIDE = 10 + RECORD_CRC_BYTES;

describe('RecordFile', () => {
  test('appends and reads fixed-size records across reopen', () => {
    const fs = new MemoryFs();
    const f = new RecordFile(fs, 'r', 10);
    f.append([rec(1), rec(2)]);
    f.append([rec(3)]);
    expect(f.read(1, 5)).toEqual([rec(2), rec(3)]);
    f.close();
    const g = new RecordFile(fs, 'r', 10);
    expect(g.count).toBe(3);
    expect(g.read(0, 3)).toEqual([rec(1), rec(2), rec(3)]);
    expect(() => g.append([new Uint8Array(9)])).toThrow(/9 bytes/);
  });

  test('every torn end of the last append is cut back to the records before it', () => {
    for (let cut = 0; cut <= STRIDE; cut++) {
      const fs = new MemoryFs();
      const f = new RecordFile(fs, 'r', 10);
      f.append([rec(1), rec(2)]);
      f.close();
      const h = fs.open('r');
      h.truncate(STRIDE + cut);
      h.close();
      const g = new RecordFile(fs, 'r', 10);
      expect(g.count, `cut ${cut}`).toBe(cut === STRIDE ? 2 : 1);
      expect(g.tornRecordsDropped).toBe(cut === 0 || cut === STRIDE ? 0 : 1);
      g.append([rec(9)]);
      expect(g.read(0, 5).at(-1)).toEqual(rec(9));
    }
  });

  test('a bad CRC before the last record is corruption, not a torn tail', () => {
    const fs = new MemoryFs();
    const f = new RecordFile(fs, 'r', 10);
    f.append([rec(1), rec(2), rec(3)]);
    f.close();
    const h = fs.open('r');
    h.write(3, new Uint8Array([0xee]));
    h.close();
    expect(() => new RecordFile(fs, 'r', 10)).toThrow(/CRC/);
  });
});

describe('CursorIndex', async () => {
  const { CursorIndex } = await import('./cursor-index.ts');
  const { Database } = await import('../engine/db/database.ts');
  const { systemClock } = await import('../engine/io/clock.ts');
  const { nodeSigner } = await import('../engine/log/node-signer.ts');

  test('repair indexes what the replica holds and the index lacks, in feed order', () => {
    const db = Database.open({
      fs: new MemoryFs(),
      identity: identityFromSeed(new Uint8Array(32).fill(4)),
      clock: systemClock,
      signer: nodeSigner,
      groupCommitEntries: 4,
    });
    for (let i = 0; i < 10; i++) db.collection('n').put(`k${i}`, { i });
    db.commit();
    const stateFs = new MemoryFs();
    const index = new CursorIndex(stateFs);
    expect(index.repair(db.feeds)).toBe(10);
    expect(index.repair(db.feeds)).toBe(0);
    const records = index.read(0, 20);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(records.filter((r) => r.signed).map((r) => r.seq)).toEqual([4, 8, 10]);
    index.close();
    const again = new CursorIndex(stateFs);
    expect(again.end).toBe(10);
  });
});
