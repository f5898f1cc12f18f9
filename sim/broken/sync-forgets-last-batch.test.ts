/**
 * Broken variant: the sync session forgets to send its last batch of entries. Entries still
 * trickle through later exchanges unless they are the tail of a feed, which then never
 * arrives: the liveness checker must notice that peers do not converge after healing.
 */

import { describe, expect, it } from 'vitest';
import { SyncSession } from '../../engine/sync/session.ts';
import { SCENARIOS } from '../../scenarios/index.ts';
import { firstViolation } from './find.ts';
import { expectSmallShrunkCase } from './shrunk.ts';

interface SessionInternals {
  replica: SyncSession extends never
    ? never
    : {
        stateVector(): Map<string, number>;
        readFeed(a: string, f: number, o: { limit: number; maxBytes: number }): Uint8Array[];
      };
  peerKnown: Map<string, number>;
  entriesMax: number;
  bytesMax: number;
  post(m: { type: 'entries'; entries: Uint8Array[] }): void;
}

// A copy of sendMissing without its final flush: only full batches are ever sent.
(SyncSession.prototype as unknown as { sendMissing(this: SessionInternals): void }).sendMissing = function (
  this: SessionInternals,
) {
  const mine = this.replica.stateVector();
  let batch: Uint8Array[] = [];
  for (const author of [...mine.keys()].sort()) {
    const head = mine.get(author)!;
    let next = (this.peerKnown.get(author) ?? 0) + 1;
    while (next <= head) {
      const entries = this.replica.readFeed(author, next, {
        limit: this.entriesMax - batch.length,
        maxBytes: this.bytesMax,
      });
      if (entries.length === 0) break;
      batch.push(...entries);
      next += entries.length;
      if (batch.length >= this.entriesMax) {
        this.post({ type: 'entries', entries: batch });
        batch = [];
      }
    }
    this.peerKnown.set(author, next - 1);
  }
};

describe('broken variant: a sync that forgets the last batch', () => {
  it('is caught (no convergence after healing) within 10 seeds', () => {
    const scenario = SCENARIOS.find((s) => s.name === 'offline-edit')!;
    const r = firstViolation(scenario, 10);
    expect(r, 'the simulator missed a sync that drops its last batch').toBeDefined();
    expect(r!.violations.some((v) => v.checker === 'liveness' || v.checker === 'convergence')).toBe(true);
    expectSmallShrunkCase(scenario, r!, 8);
  });
});
