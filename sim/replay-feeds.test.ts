/**
 * Replaying exported feeds into fresh simulated replicas: every replay of an honest export
 * converges to the source's state, deterministically per seed; a manifest whose state hash is
 * wrong, and an engine whose views drop remote entries, are both reported as divergences.
 */

import { describe, expect, it } from 'vitest';
import { Database } from '../engine/db/database.ts';
import { exportFeeds, type FeedExport, readFeedExport } from '../engine/db/feed-export.ts';
import { ViewWriter } from '../engine/db/views.ts';
import { MemoryFs } from '../engine/io/memory-fs.ts';
import { identityFromSeed } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { checkExport, replayFeeds } from './replay-feeds.ts';

/** Three devices with different group-commit sizes; the hub holds all three feeds. */
function sourceExport(): FeedExport {
  const devices = [1, 4, 16].map((group, n) => {
    const clock = { t: 1_700_000_000_000 + n * 7, nowMs: () => clock.t++ };
    const identity = identityFromSeed(new Uint8Array(32).fill(n + 1));
    return Database.open({
      fs: new MemoryFs(),
      identity,
      clock,
      signer: nodeSigner,
      groupCommitEntries: group,
    });
  });
  devices.forEach((db, n) => {
    for (let i = 0; i < 40 + 13 * n; i++) {
      const id = `d${(i * 7 + n) % 9}`;
      if (i % 11 === 10) db.collection('notes').delete(id);
      else db.collection(i % 3 === 0 ? 'lists' : 'notes').patch(id, { [`f${i % 4}`]: i * 10 + n });
    }
    db.commit();
  });
  const hub = devices[0]!;
  for (const other of devices.slice(1)) {
    const head = other.feeds.head(other.identity.publicKey)!;
    expect(
      hub.replica.ingest(other.feeds.read(other.identity.publicKey, 1, head.signedSeq)).rejected,
    ).toEqual([]);
  }
  const out = new MemoryFs();
  exportFeeds(hub, out, { note: 'replay-feeds test' });
  return readFeedExport(out, { signer: nodeSigner });
}

const SEEDS = 12;

describe('replaying exported feeds', () => {
  const exp = sourceExport();

  it('converges to the source state hash at every seed, under gaps, duplicates and crashes', () => {
    expect(checkExport(exp)).toEqual([]);
    const runs = Array.from({ length: SEEDS }, (_, i) => replayFeeds(exp, i + 1));
    for (const r of runs) {
      expect(
        r.violations,
        `seed ${r.seed}; replay with: aregula replay --feeds DIR --seed ${r.seed}`,
      ).toEqual([]);
      expect(Object.values(r.state_hashes)).toEqual(Array(r.mix.peers).fill(exp.manifest.stateHash));
    }
    // The regimes really exercised what they claim: out-of-order chunks and power losses.
    expect(runs.some((r) => r.gapped > 0)).toBe(true);
    expect(runs.some((r) => r.crashes > 0)).toBe(true);
    expect(runs.some((r) => r.mix.fedPeers < r.mix.peers)).toBe(true);
  });

  it('is deterministic: one seed, one trace; another seed, another trace', () => {
    const a = replayFeeds(exp, 5);
    const b = replayFeeds(exp, 5);
    const c = replayFeeds(exp, 6);
    expect(b.trace_hash).toBe(a.trace_hash);
    expect(b.events).toBe(a.events);
    expect(c.trace_hash).not.toBe(a.trace_hash);
  });

  it('reports a manifest whose state hash is not the source state as a divergence', () => {
    const wrong = { ...exp, manifest: { ...exp.manifest, stateHash: 'f'.repeat(64) } };
    expect(checkExport(wrong).map((v) => v.checker)).toEqual(['source', 'source']);
    const r = replayFeeds(wrong, 1);
    expect(r.ok).toBe(false);
    expect(r.violations.map((v) => v.checker)).toContain('state-hash');
  });

  it('catches an engine whose views skip remote entries (patched here only)', () => {
    const original = ViewWriter.prototype.applyEntry;
    ViewWriter.prototype.applyEntry = function (this: ViewWriter, entry) {
      const reader = (this as unknown as { read: (k: Uint8Array) => unknown }).read;
      if (reader.length === 1 && entry.seq % 2 === 0) return true;
      return original.call(this, entry);
    };
    try {
      const r = replayFeeds(exp, 2);
      const checkers = new Set(r.violations.map((v) => v.checker));
      expect(checkers.has('state-hash')).toBe(true);
      expect(checkers.has('integrity')).toBe(true);
    } finally {
      ViewWriter.prototype.applyEntry = original;
    }
  });
});
