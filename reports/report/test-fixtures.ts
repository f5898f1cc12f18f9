/**
 * Small, hand-made report inputs for the report's tests (shapes as `aregula bench --json`,
 * `aregula sim --json` and the sim's failure files write them), with knobs for the cases the
 * tests need: vector rows, a failing run, hostile strings.
 */

/** A bench JSON: lsm at two sizes against two baselines, and vector rows with recall and ef. */
export function benchFixture(
  options: { workloadPrefix?: string; cpu?: string } = {},
): Record<string, unknown> {
  const p = options.workloadPrefix ?? '';
  const row = (
    workload: string,
    system: string,
    n: number,
    ops: number,
    extra: Record<string, unknown> = {},
  ) => ({
    workload: `${p}${workload}`,
    system,
    n,
    ops_per_sec: ops,
    median_ms_per_op: 1000 / ops,
    samples: 5,
    ops_per_sample: n,
    ...extra,
  });
  // Peak memory (as a full run measures it) on the lsm rows only: 100 MiB plus 2, 3 or 1 MiB per
  // thousand records over a floor of 80 MiB. The other rows have none, as at a quick run's
  // smaller sizes.
  const mib = 1024 * 1024;
  const rss = (system: string, n: number) => ({
    rss_peak_bytes: (100 + (n / 1000) * ({ aregula: 2, 'classic-level': 3 }[system] ?? 1)) * mib,
    rss_base_bytes: 80 * mib,
  });
  return {
    suite: ['lsm', 'vector'],
    machine: {
      cpu: options.cpu ?? 'Test CPU',
      cores: 2,
      memoryBytes: 24 * 1024 ** 3,
      node: 'v20.20.2',
      platform: 'linux',
      arch: 'x64',
      commit: 'a'.repeat(40),
      date: '2026-11-24T11:00:00.000Z',
    },
    rows: [
      row('lsm.put', 'aregula', 1000, 200_000, { unit: 'put', ...rss('aregula', 1000) }),
      row('lsm.put', 'classic-level', 1000, 50_000, { unit: 'put', ...rss('classic-level', 1000) }),
      row('lsm.put', 'map', 1000, 400_000, { unit: 'put', ...rss('map', 1000) }),
      row('lsm.put', 'aregula', 10_000, 150_000, { unit: 'put', ...rss('aregula', 10_000) }),
      row('lsm.put', 'classic-level', 10_000, 30_000, { unit: 'put', ...rss('classic-level', 10_000) }),
      row('lsm.put', 'map', 10_000, 300_000, { unit: 'put', ...rss('map', 10_000) }),
      row('vector.query', 'aregula', 10_000, 5000, { recall: 0.9, ef: 50 }),
      row('vector.query', 'hnswlib-node', 10_000, 8000, { recall: 0.91, ef: 50 }),
      row('vector.query', 'aregula', 10_000, 2500, { recall: 0.97, ef: 200 }),
      row('vector.query', 'hnswlib-node', 10_000, 6000, { recall: 0.96, ef: 200 }),
      row('query.live-update', 'aregula', 1000, 900, { latency_ms: 1.5 }),
    ],
  };
}

/** One run's summary line as the sim JSON holds it. */
export function runSummary(
  scenario: string,
  seed: number,
  ok: boolean,
  overrides: Record<string, unknown> = {},
) {
  return {
    scenario,
    seed,
    trace_hash: 'f'.repeat(64),
    ok,
    violations: ok
      ? []
      : [{ checker: 'lost-write', message: `write lost at seed ${seed}\nsecond line`, peer: 'pi' }],
    events: 100,
    simulated_ms: 10_000,
    wall_ms: 50,
    converged_ms: ok ? 250 * seed : null,
    writes: 40 + seed,
    crashes: 1,
    swarm: {
      faults: {
        latencyMsMin: 1,
        latencyMsMax: 100,
        lossRate: seed % 2 === 0 ? 0.1 : 0,
        duplicateRate: 0,
        bandwidthBytesPerMs: null,
      },
      writeEveryMs: 200,
      commitRate: 0.5,
      crashEveryMs: seed % 2 === 0 ? 10_000 : null,
      partitionEveryMs: null,
      clockSkewMsMax: 0,
      groupCommitEntries: 64,
    },
    ...overrides,
  };
}

/** A sim JSON: two scenarios over seeds 1..3, with `b` failing at seed 2 (and its failure file listed). */
export function simFixture(options: { failureFile?: string } = {}): Record<string, unknown> {
  const runs = [1, 2, 3].flatMap((seed) => [runSummary('a', seed, true), runSummary('b', seed, seed !== 2)]);
  return {
    runs,
    seeds: [1, 2, 3],
    scenarios: ['a', 'b'],
    violations: [
      { scenario: 'b', seed: 2, checker: 'lost-write', message: 'write lost at seed 2', peer: 'pi' },
    ],
    events: 600,
    simulated_ms: 60_000,
    wall_ms: 300,
    speedup: 200,
    seeds_per_min: 1200,
    failures: [
      {
        scenario: 'b',
        seed: 2,
        file: options.failureFile ?? 'reports/out/sim-failures/b-2.json',
        replay: 'npx aregula sim b --seed 2',
      },
    ],
  };
}

/**
 * A failing run's file: two peers; pi writes (ok), crashes at 300 and restarts at 700 (a
 * write while down fails), phone reads; a trace tail with a partition and a heal.
 */
export function runFileFixture(options: { scenario?: string; seed?: number } = {}): Record<string, unknown> {
  const history = [
    { index: 0, peer: 'pi', kind: 'restart', type: 'info', timeMs: 0, detail: 'up' },
    { index: 1, peer: 'phone', kind: 'restart', type: 'info', timeMs: 0, detail: 'up' },
    { index: 2, peer: 'pi', kind: 'write', type: 'invoke', timeMs: 100, detail: { ops: [] } },
    {
      index: 3,
      peer: 'pi',
      kind: 'write',
      type: 'ok',
      timeMs: 100,
      result: { author: 'ab', seq: 1 },
      invokeIndex: 2,
    },
    {
      index: 4,
      peer: 'phone',
      kind: 'read',
      type: 'invoke',
      timeMs: 150,
      detail: { collection: 'notes', id: 'd1' },
    },
    { index: 5, peer: 'phone', kind: 'read', type: 'ok', timeMs: 180, result: null, invokeIndex: 4 },
    { index: 6, peer: 'pi', kind: 'crash', type: 'info', timeMs: 300, detail: 'power loss' },
    { index: 7, peer: 'pi', kind: 'write', type: 'invoke', timeMs: 400, detail: { ops: [] } },
    { index: 8, peer: 'pi', kind: 'write', type: 'fail', timeMs: 400, error: 'DOWN', invokeIndex: 7 },
    { index: 9, peer: 'pi', kind: 'restart', type: 'info', timeMs: 700, detail: 'up' },
    { index: 10, peer: 'phone', kind: 'sync', type: 'info', timeMs: 800, detail: 'hello' },
    { index: 11, peer: 'phone', kind: 'write', type: 'invoke', timeMs: 900, detail: { ops: [] } },
  ];
  return {
    kind: 'sim-failure',
    version: 1,
    shrunk: false,
    replay: 'npx aregula sim b --seed 2',
    ...runSummary(options.scenario ?? 'b', options.seed ?? 2, false, { simulated_ms: 1000 }),
    trace_tail: [
      '200|write pi',
      '250|note net partition pi | phone',
      '260|net pi->phone #4',
      '600|note net heal',
      '950|note liveness: heal, restart, stop faults',
      '950|note net calm',
    ],
    history,
  };
}

/** Strings that must come out of the page and the summary as inert text. */
export const HOSTILE =
  '</svg><script>alert(1)</script><img src=x onerror=alert(2)>|*[a](http://x.invalid)&amp;';
