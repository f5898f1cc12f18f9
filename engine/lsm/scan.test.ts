/**
 * `visitScanKeys`: the keys it hands over equal those of the scan read entry by entry, for
 * random contents (overwrites and deletes spread over the memtable and several tables) and
 * random bounds; keys are views valid during the call only; the scan is ended in every case.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryFs } from '../io/memory-fs.ts';
import { Lsm } from './lsm.ts';
import { type ScanOptions, visitScanKeys } from './scan.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A key of 1..3 bytes drawn from a small alphabet, so that bounds and keys collide often. */
const keyArb = fc.uint8Array({ minLength: 1, maxLength: 3 }).map((k) => k.map((b) => b % 5));

const boundsArb: fc.Arbitrary<ScanOptions> = fc.record(
  {
    gte: keyArb,
    gt: keyArb,
    lt: keyArb,
    lte: keyArb,
    prefix: fc.uint8Array({ minLength: 0, maxLength: 2 }).map((k) => k.map((b) => b % 5)),
    limit: fc.nat(20),
  },
  { requiredKeys: [] },
);

/** A store holding `writes` (undefined value: delete), flushed every `flushEvery` writes. */
function storeOf(writes: [Uint8Array, Uint8Array | undefined][], flushEvery: number): Lsm {
  const db = Lsm.open(new MemoryFs(), { memtableBytes: 1 << 20 });
  writes.forEach(([k, v], i) => {
    if (v === undefined) db.delete(k);
    else db.put(k, v);
    if ((i + 1) % flushEvery === 0) db.flush();
  });
  return db;
}

/** The keys `writes` leave live within bounds `b`, in order (the model of a scan). */
function modelKeys(writes: [Uint8Array, Uint8Array | undefined][], b: ScanOptions): string[] {
  const live = new Map<string, Uint8Array>();
  for (const [k, v] of writes) {
    if (v === undefined) live.delete(hex(k));
    else live.set(hex(k), k);
  }
  const cmp = (x: Uint8Array, y: Uint8Array) => Buffer.compare(Buffer.from(x), Buffer.from(y));
  const keys = [...live.values()]
    .filter(
      (k) =>
        (b.gte === undefined || cmp(k, b.gte) >= 0) &&
        (b.gt === undefined || cmp(k, b.gt) > 0) &&
        (b.lt === undefined || cmp(k, b.lt) < 0) &&
        (b.lte === undefined || cmp(k, b.lte) <= 0) &&
        (b.prefix === undefined || hex(k).startsWith(hex(b.prefix))),
    )
    .sort(cmp);
  return keys.slice(0, b.limit ?? keys.length).map(hex);
}

describe('visitScanKeys', () => {
  it('hands over the keys the scan yields, in order, for any contents and bounds', () => {
    const write = fc.tuple(keyArb, fc.option(fc.uint8Array({ maxLength: 3 }), { nil: undefined }));
    fc.assert(
      fc.property(
        fc.array(write, { maxLength: 60 }),
        fc.integer({ min: 1, max: 25 }),
        boundsArb,
        (w, every, b) => {
          const db = storeOf(w, every);
          const want = modelKeys(w, b);
          expect([...db.scan(b)].map(([k]) => hex(k))).toEqual(want);
          const got: string[] = [];
          visitScanKeys(db.scan(b), (k) => got.push(hex(k)));
          expect(got).toEqual(want);
          db.close();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hands over views of one reused buffer: a kept key must be copied', () => {
    const db = storeOf(
      [
        [Uint8Array.of(1, 1), Uint8Array.of(9)],
        [Uint8Array.of(1, 2), Uint8Array.of(9)],
      ],
      1,
    );
    const kept: Uint8Array[] = [];
    const copies: string[] = [];
    visitScanKeys(db.scan(), (k) => {
      kept.push(k);
      copies.push(hex(k));
    });
    expect(copies).toEqual(['0101', '0102']);
    expect(hex(kept[0]!)).toBe('0102'); // the first view now shows the second key
    db.close();
  });

  it('ends the scan when the visitor throws, and reads a plain iterable entry by entry', () => {
    const db = storeOf(
      [
        [Uint8Array.of(1), Uint8Array.of(2)],
        [Uint8Array.of(3), Uint8Array.of(4)],
      ],
      1,
    );
    const scan = db.scan();
    expect(() =>
      visitScanKeys(scan, () => {
        throw new Error('visitor failed');
      }),
    ).toThrow('visitor failed');
    // Ended: the second key is not yielded any more.
    expect(scan.next().done).toBe(true);
    const keys: string[] = [];
    const plain = new Map([[Uint8Array.of(7), Uint8Array.of(8)]]).entries();
    visitScanKeys(plain, (k) => keys.push(hex(k)));
    expect(keys).toEqual(['07']);
    db.close();
  });
});
