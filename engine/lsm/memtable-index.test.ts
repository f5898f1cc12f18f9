import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { hashUserKey, type IndexedNodes, NewestVersionIndex } from './memtable-index.ts';

/** Nodes 1..n, each a (key, seq) pair; node 0 is the head and holds nothing. */
class FakeNodes implements IndexedNodes {
  readonly keys: Uint8Array[] = [new Uint8Array(0)];
  readonly seqs: number[] = [0];
  add(key: Uint8Array, seq: number): number {
    this.keys.push(key);
    this.seqs.push(seq);
    return this.keys.length - 1;
  }
  nodeHasUserKey(n: number, key: Uint8Array, at: number, len: number): boolean {
    const k = this.keys[n]!;
    if (k.length !== len) return false;
    for (let i = 0; i < len; i++) if (k[i] !== key[at + i]) return false;
    return true;
  }
  nodeSeq(n: number): number {
    return this.seqs[n]!;
  }
}

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 3, min: 0, max: 3 });

describe('NewestVersionIndex', () => {
  // `collide` gives every key the same hash: then every lookup walks the probe chain and only
  // the key comparison tells keys apart, across every growth of the table.
  test.prop([fc.array(fc.tuple(keyArb, fc.nat({ max: 1_000_000 })), { maxLength: 3000 }), fc.boolean()])(
    'finds the node of each key with the highest sequence, and nothing for other keys',
    (writes, collide) => {
      const nodes = new FakeNodes();
      const index = new NewestVersionIndex(nodes);
      const hash = (k: Uint8Array) => (collide ? 7 : hashUserKey(k, 0, k.length));
      const model = new Map<string, { seq: number; node: number }>();
      writes.forEach(([key, seq], i) => {
        const s = seq * 4096 + i; // unique sequences, in any order
        const n = nodes.add(key, s);
        index.put(hash(key), n, s, key, 0, key.length);
        const name = key.join(',');
        const had = model.get(name);
        if (had === undefined || s > had.seq) model.set(name, { seq: s, node: n });
      });
      expect(index.size).toBe(model.size);
      for (const [name, { node }] of model) {
        const key = Uint8Array.from(name === '' ? [] : name.split(',').map(Number));
        expect(index.get(hash(key), key, 0, key.length)).toBe(node);
      }
      const absent = Uint8Array.of(9, 9, 9, 9);
      expect(index.get(hash(absent), absent, 0, absent.length)).toBe(0);
    },
  );

  it('reads a key inside a larger array at an offset', () => {
    const nodes = new FakeNodes();
    const index = new NewestVersionIndex(nodes);
    const n = nodes.add(Uint8Array.of(1, 2, 3), 5);
    index.put(hashUserKey(Uint8Array.of(1, 2, 3), 0, 3), n, 5, Uint8Array.of(1, 2, 3), 0, 3);
    const probe = Uint8Array.of(0, 1, 2, 3, 0xff);
    expect(index.get(hashUserKey(probe, 1, 3), probe, 1, 3)).toBe(n);
    expect(index.get(hashUserKey(probe, 1, 2), probe, 1, 2)).toBe(0);
  });

  it('refuses to index the head', () => {
    const index = new NewestVersionIndex(new FakeNodes());
    expect(() => index.put(1, 0, 1, Uint8Array.of(1), 0, 1)).toThrow(AssertionError);
  });

  it('hashes like 32-bit FNV-1a', () => {
    // The FNV-1a reference values for "" and "a".
    expect(hashUserKey(new Uint8Array(0), 0, 0) >>> 0).toBe(0x811c9dc5);
    expect(hashUserKey(Uint8Array.of(0x61), 0, 1) >>> 0).toBe(0xe40c292c);
  });
});
