import { describe, expect, it } from 'vitest';
import { ClosedError } from '../errors.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { Lsm } from '../lsm/lsm.ts';
import { makeFeed, testIdentity } from './feed-fixtures.ts';
import { FeedStore } from './feed-store.ts';
import { nodeSigner } from './node-signer.ts';

describe('FeedStore.ingest on a closed store', () => {
  it('throws ClosedError instead of blaming the sender with a rejection', () => {
    const lsm = Lsm.open(new MemoryFs());
    const store = new FeedStore(lsm, nodeSigner);
    const feed = makeFeed(testIdentity(3), 4);
    lsm.close();
    expect(() => store.ingest(feed)).toThrow(ClosedError);
  });

  it('ingests a run of one author and a mixed batch alike', () => {
    const lsm = Lsm.open(new MemoryFs());
    const store = new FeedStore(lsm, nodeSigner);
    const a = makeFeed(testIdentity(3), 6, { signed: (seq) => seq % 3 === 0 });
    const b = makeFeed(testIdentity(4), 6, { signed: (seq) => seq % 3 === 0 });
    const mixed = [a[0]!, a[1]!, b[0]!, a[2]!, b[1]!, b[2]!];
    const first = store.ingest(mixed);
    expect(first.rejected).toEqual([]);
    expect(first.added).toHaveLength(6);
    const second = store.ingest([...a.slice(3), ...b.slice(3)]);
    expect(second.added).toHaveLength(6);
    expect(store.head(testIdentity(3).publicKey)?.seq).toBe(6);
    expect(store.head(testIdentity(4).publicKey)?.seq).toBe(6);
  });
});
