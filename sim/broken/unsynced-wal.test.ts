/**
 * Broken variant: entries are offered to peers before the WAL is synced (an unsynced WAL
 * treated as durable). A crash then loses entries another device already holds, and the
 * restarted device reuses their sequence numbers: lost writes and forks.
 */

import { describe, expect, it } from 'vitest';
import { Database } from '../../engine/db/database.ts';
import { SCENARIOS } from '../../scenarios/index.ts';
import { firstViolation } from './find.ts';
import { expectSmallShrunkCase } from './shrunk.ts';

interface DbInternals {
  unsigned: number;
  unsynced: boolean;
  feeds: { sign(identity: unknown, options?: { sync?: boolean }): unknown };
  identity: unknown;
}

(Database.prototype as unknown as { signPending(this: DbInternals): void }).signPending = function (
  this: DbInternals,
) {
  if (this.unsigned > 0) this.feeds.sign(this.identity);
  this.unsigned = 0;
  this.unsynced = false;
};

describe('broken variant: an unsynced WAL treated as durable', () => {
  it('is caught (lost or forked writes after crashes) within 20 seeds', () => {
    const scenario = SCENARIOS.find((s) => s.name === 'tab-closed')!;
    const r = firstViolation(scenario, 20);
    expect(r, 'the simulator missed entries shared before they were durable').toBeDefined();
    expectSmallShrunkCase(scenario, r!, 8);
  });
});
