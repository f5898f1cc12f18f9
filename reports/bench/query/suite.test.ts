import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkBenchContract } from '../contract-check.ts';
import { runWorkloads } from '../harness.ts';
import { FixedSampler } from '../sampler.ts';
import { DOCS_PER_TAG, generateQueryData } from './data.ts';
import { checkAnswers, queryWorkloads } from './suite.ts';
import { openAregula, openSqlite } from './systems.ts';

describe('the query suite', () => {
  it('runs every workload on both systems and writes rows that fit the bench contract', async () => {
    // A 1 ms warm-up: the path runs, the test stays short.
    const rows = await runWorkloads(queryWorkloads(undefined, 1), {
      sizes: [200],
      warmupSamples: 0,
      samples: 1,
      sampler: new FixedSampler(10),
    });
    expect(rows.map((r) => `${r.workload} ${r.system}`)).toEqual([
      'query.indexed-eq aregula',
      'query.indexed-eq better-sqlite3',
      'query.range aregula',
      'query.range better-sqlite3',
      'query.scan-filter aregula',
      'query.scan-filter better-sqlite3',
      'query.group-by aregula',
      'query.group-by better-sqlite3',
      'query.live-update aregula',
      'query.live-update better-sqlite3',
    ]);
    for (const row of rows.filter((r) => r.workload === 'query.live-update'))
      expect(row.latency_ms as number).toBeGreaterThan(0);
    expect(checkBenchContract(['query'], rows)).toContain('fits the bench contract');
  });

  it('both systems answer the planned queries as the data says, and a wrong answer is caught', async () => {
    const data = generateQueryData(300);
    const dir = mkdtempSync(join(tmpdir(), 'aregula-query-'));
    try {
      for (const open of [openAregula, openSqlite]) {
        const sub = mkdtempSync(join(dir, 's'));
        const store = open(sub, data);
        try {
          expect(() => checkAnswers('x', store, data)).not.toThrow();
          expect(await store.liveWrite(3, 5000)).toEqual(data.liveIds);
          const wrong = { ...store, eq: () => ['nope'] };
          expect(() => checkAnswers('x', wrong, data)).toThrow(/eq/);
        } finally {
          store.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(data.docs.filter((d) => d.tag === 't0')).toHaveLength(DOCS_PER_TAG);
    expect(() => generateQueryData(15)).toThrow(/multiple/);
  });
});
