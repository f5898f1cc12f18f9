import { describe, expect, it } from 'vitest';
import { parseSim, type SimReportInput } from './schema.ts';
import {
  caseFromReplay,
  convergenceSeries,
  failingSeeds,
  faultMixRows,
  faultSettings,
  quantile,
  replayCommand,
  SEED_COLUMNS_MAX,
  scenarioSummaries,
  seedMatrix,
  simTotals,
} from './sim-data.ts';
import { runSummary, simFixture } from './test-fixtures.ts';

function fixture(): SimReportInput {
  return parseSim('s.json', simFixture());
}

describe('sim summaries', () => {
  it('totals the runs', () => {
    expect(simTotals(fixture())).toEqual({
      runs: 6,
      passed: 5,
      failed: 1,
      scenarios: 2,
      seeds: 3,
      simulatedMs: 60_000,
      wallMs: 300,
      speedup: 200,
    });
  });

  it('summarises each scenario, leaving runs that never converged out of the times', () => {
    const [a, b] = scenarioSummaries(fixture());
    expect(a).toMatchObject({ scenario: 'a', runs: 3, failed: 0, writesMedian: 42, crashesTotal: 3 });
    expect(a).toMatchObject({
      convergedMedianMs: 500,
      convergedP95Ms: 750,
      convergedMaxMs: 750,
      notConverged: 0,
    });
    expect(b).toMatchObject({
      scenario: 'b',
      failed: 1,
      notConverged: 1,
      convergedMedianMs: 250,
      convergedMaxMs: 750,
    });
    expect(b?.eventsTotal).toBe(300);
  });

  it('has no convergence figures for a scenario where no run converged', () => {
    const doc = simFixture();
    doc.runs = [runSummary('c', 1, false)];
    const [c] = scenarioSummaries(parseSim('s', doc));
    expect(c).toMatchObject({
      convergedMedianMs: undefined,
      convergedP95Ms: undefined,
      convergedMaxMs: undefined,
    });
    expect(convergenceSeries(parseSim('s', doc))).toEqual([]);
  });

  it('takes quantiles by nearest rank', () => {
    expect(quantile([], 0.5)).toBeUndefined();
    expect(quantile([5], 0.95)).toBe(5);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBe(10);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0)).toBe(1);
  });
});

describe('scenarios x seeds', () => {
  it('marks each run pass or fail', () => {
    const m = seedMatrix(fixture());
    expect(m.scenarios).toEqual(['a', 'b']);
    expect(m.seeds).toEqual([1, 2, 3]);
    expect(m.seedsHidden).toBe(0);
    expect([...m.cells.get('b')!.entries()]).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
  });

  it('shows a seed run twice as failed if either run failed', () => {
    const doc = simFixture();
    (doc.runs as unknown[]).push(runSummary('a', 1, false));
    expect(seedMatrix(parseSim('s', doc)).cells.get('a')!.get(1)).toBe(false);
  });

  it(`shows at most ${SEED_COLUMNS_MAX} seed columns and counts the rest`, () => {
    const doc = simFixture();
    doc.runs = Array.from({ length: SEED_COLUMNS_MAX + 7 }, (_, i) => runSummary('a', 200 - i, true));
    const m = seedMatrix(parseSim('s', doc));
    expect(m.seeds).toHaveLength(SEED_COLUMNS_MAX);
    expect(m.seeds[0]).toBe(200 - SEED_COLUMNS_MAX - 6);
    expect(m.seedsHidden).toBe(7);
    expect(m.cells.get('a')!.size).toBe(SEED_COLUMNS_MAX);
  });
});

describe('fault mixes', () => {
  it('flattens a run’s settings, writing Infinity (null) as none', () => {
    const settings = new Map(faultSettings(fixture().runs[0]!.swarm));
    expect(settings.get('crashEveryMs')).toBe('none');
    expect(settings.get('lossRate')).toBe('0');
    expect(settings.get('bandwidthBytesPerMs')).toBe('none');
    expect(settings.get('writeEveryMs')).toBe('200');
    expect(faultSettings(undefined)).toEqual([['swarm', 'unknown']]);
  });

  it('counts runs and failures per value, values in numeric order', () => {
    const rows = faultMixRows(fixture()).filter(
      (r) => r.setting === 'lossRate' || r.setting === 'crashEveryMs',
    );
    expect(rows).toEqual([
      { setting: 'crashEveryMs', value: '10000', runs: 2, failed: 1 },
      { setting: 'crashEveryMs', value: 'none', runs: 4, failed: 0 },
      { setting: 'lossRate', value: '0', runs: 4, failed: 0 },
      { setting: 'lossRate', value: '0.1', runs: 2, failed: 1 },
    ]);
  });
});

describe('failing seeds', () => {
  it('lists each failing run with its checkers, first line, replay commands and files', () => {
    expect(failingSeeds(fixture())).toEqual([
      {
        scenario: 'b',
        seed: 2,
        checkers: ['lost-write'],
        firstMessage: 'write lost at seed 2',
        violations: 1,
        replay: 'npx aregula sim b --seed 2',
        shrunkReplay: undefined,
        file: 'reports/out/sim-failures/b-2.json',
        shrunkFile: undefined,
      },
    ]);
  });

  it('builds replay commands from the name and seed, never copying a hostile name into a shell line', () => {
    expect(replayCommand('tab-closed', 17)).toBe('npx aregula sim tab-closed --seed 17');
    expect(replayCommand('tab-closed', 17, { caseText: 'half-chaos,no-loss:3,17' })).toBe(
      "npx aregula sim tab-closed --seed 17 --case 'half-chaos,no-loss:3,17'",
    );
    expect(replayCommand('tab-closed', 17, { caseText: undefined })).toBe(
      'npx aregula sim tab-closed --seed 17 --shrink',
    );
    for (const caseText of ["x'; rm -rf ~; '", '$(id)', 'a b', 'A']) {
      expect(replayCommand('tab-closed', 17, { caseText })).toBeUndefined();
    }
    for (const name of ['a; rm -rf /', '$(id)', '-x', 'a b', '`id`', '', 'x'.repeat(101)]) {
      expect(replayCommand(name, 1)).toBeUndefined();
    }
    const doc = simFixture();
    (doc.runs as Record<string, unknown>[])[3]!.scenario = 'b; curl x';
    expect(failingSeeds(parseSim('s', doc))[0]?.replay).toBeUndefined();
  });

  it('offers the shrunk replay when the sim wrote a shrunk case', () => {
    const doc = simFixture();
    const ref = (doc.failures as Record<string, unknown>[])[0]!;
    ref.shrunk_file = 'reports/out/sim-failures/b-2-shrunk.json';
    ref.shrunk_replay = "npx aregula sim b --seed 2 --case 'no-loss:4,9'";
    const [f] = failingSeeds(parseSim('s', doc));
    expect(f?.shrunkReplay).toBe("npx aregula sim b --seed 2 --case 'no-loss:4,9'");
    expect(f?.shrunkFile).toBe('reports/out/sim-failures/b-2-shrunk.json');
    ref.shrunk_replay = "npx aregula sim b --seed 2 --case 'x'''; id'";
    expect(failingSeeds(parseSim('s', doc))[0]?.shrunkReplay).toBeUndefined();
  });

  it('finds the case text at the end of a replay command', () => {
    expect(caseFromReplay("npx aregula sim b --seed 2 --case 'no-loss:4,9'")).toBe('no-loss:4,9');
    expect(caseFromReplay("npx aregula sim b --seed 2 --case ''")).toBe('');
    expect(caseFromReplay('npx aregula sim b --seed 2')).toBeUndefined();
    expect(caseFromReplay(undefined)).toBeUndefined();
    expect(caseFromReplay("npx aregula sim b --seed 2 --case 'a' ; id")).toBe("'a' ; id");
  });
});

describe('convergence', () => {
  it('takes every converged run', () => {
    const points = convergenceSeries(fixture());
    expect(points).toHaveLength(5);
    expect(points.filter((p) => p.scenario === 'a').map((p) => p.converged_ms)).toEqual([250, 500, 750]);
  });
});
