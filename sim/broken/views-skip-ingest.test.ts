/**
 * Broken variant: remote entries are stored but their operations never reach the document
 * views. Feeds agree, documents do not: the convergence and integrity checkers (rebuild from
 * the log differs from the live views) must notice.
 */

import { describe, expect, it } from 'vitest';
import { ViewWriter } from '../../engine/db/views.ts';
import { SCENARIOS } from '../../scenarios/index.ts';
import { firstViolation } from './find.ts';
import { expectSmallShrunkCase } from './shrunk.ts';

const original = ViewWriter.prototype.applyEntry;
// Ingest (whose ViewWriter reads the live rows: a one-argument reader) silently skips every
// entry with an even seq; a rebuild (whose reader takes no argument) still applies them all.
ViewWriter.prototype.applyEntry = function (this: ViewWriter, entry) {
  const reader = (this as unknown as { read: (k: Uint8Array) => unknown }).read;
  if (reader.length === 1 && entry.seq % 2 === 0) return true;
  return original.call(this, entry);
};

describe('broken variant: remote entries never reach the views', () => {
  it('is caught within 5 seeds', () => {
    const scenario = SCENARIOS.find((s) => s.name === 'offline-edit')!;
    const r = firstViolation(scenario, 5);
    expect(r, 'the simulator missed views that ignore remote entries').toBeDefined();
    expectSmallShrunkCase(scenario, r!, 8);
  });
});
