import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runWorkloads, WARMUP_SAMPLES_MAX, warmupSamplesFor } from './harness.ts';
import type { Progress } from './progress.ts';
import type { RssJob, RssProbe } from './rss.ts';
import type { Sampler } from './sampler.ts';
import type { BenchCase, CaseEnv, Workload } from './types.ts';

/** A case that records its lifecycle in `log` and knows which system it is. */
class FakeCase implements BenchCase {
  constructor(
    readonly system: string,
    readonly n: number,
    private readonly log: string[],
    private readonly failOn?: 'setup' | 'sample' | 'teardown',
  ) {}
  async setup() {
    this.log.push(`setup ${this.system} ${this.n}`);
    if (this.failOn === 'setup') throw new Error(`setup of ${this.system} failed`);
  }
  async beforeSample() {}
  async sample() {
    if (this.failOn === 'sample') throw new Error(`sample of ${this.system} failed`);
  }
  async afterSample() {}
  async teardown() {
    this.log.push(`teardown ${this.system} ${this.n}`);
    if (this.failOn === 'teardown') throw new Error(`teardown of ${this.system} failed`);
  }
}

/**
 * A sampler that plays scripted timings: for each system a list of sample times in the order
 * it will be asked, and records the order in which systems were sampled.
 */
class ScriptedSampler implements Sampler {
  readonly order: string[] = [];
  private readonly next = new Map<string, number>();
  constructor(private readonly script: Record<string, number[]>) {}
  async time(benchCase: BenchCase): Promise<number> {
    const fake = benchCase as FakeCase;
    await benchCase.sample();
    this.order.push(fake.system);
    const i = this.next.get(fake.system) ?? 0;
    this.next.set(fake.system, i + 1);
    const ms = this.script[fake.system]?.[i];
    if (ms === undefined) throw new Error(`no scripted timing ${i} for ${fake.system}`);
    return ms;
  }
}

function fakeWorkload(
  log: string[],
  systems: string[],
  options: { opsPerSample?: number; failing?: { system: string; on: 'setup' | 'sample' | 'teardown' } } = {},
): Workload {
  return {
    name: 'lsm.fake',
    systems,
    opsPerSample: () => options.opsPerSample ?? 100,
    fields: (n) => ({ unit: 'thing', half: n / 2 }),
    createCase: (system: string, n: number, _env: CaseEnv) =>
      new FakeCase(system, n, log, options.failing?.system === system ? options.failing.on : undefined),
  };
}

class RecordingProgress implements Progress {
  total = 0;
  done = 0;
  groups: string[] = [];
  stopped = false;
  start(total: number) {
    this.total = total;
  }
  group(label: string) {
    this.groups.push(label);
  }
  sampleDone() {
    this.done++;
  }
  note() {}
  stop() {
    this.stopped = true;
  }
}

describe('runWorkloads', () => {
  it('alternates systems round by round and reports the median of the timed samples only', async () => {
    const log: string[] = [];
    // Warm-up sample first (huge, must be ignored), then three timed ones per system.
    const sampler = new ScriptedSampler({ a: [999, 10, 30, 20], b: [999, 40, 40, 400] });
    const progress = new RecordingProgress();
    const rows = await runWorkloads([fakeWorkload(log, ['a', 'b'])], {
      sizes: [1000],
      warmupSamples: 1,
      samples: 3,
      sampler,
      progress,
    });
    expect(sampler.order).toEqual(['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
    expect(rows).toHaveLength(2);
    const [a, b] = rows;
    expect(a).toMatchObject({ workload: 'lsm.fake', system: 'a', n: 1000, samples: 3, ops_per_sample: 100 });
    expect(a!.median_ms_per_op).toBeCloseTo(0.2, 12); // median 20 ms / 100 ops
    expect(a!.ops_per_sec).toBeCloseTo(5000, 6);
    expect(b!.median_ms_per_op).toBeCloseTo(0.4, 12); // median of 40, 40, 400
    expect(a).toMatchObject({ unit: 'thing', half: 500 });
    expect(a).not.toHaveProperty('rss_peak_bytes'); // no probe given: memory not measured
    expect(progress).toMatchObject({ total: 8, done: 8, groups: ['lsm.fake n=1000'], stopped: true });
  });

  it('takes more warm-up samples when they are small, up to warmupOpsMin operations, never fewer than warmupSamples', async () => {
    const log: string[] = [];
    // 100 ops per sample: 250 warm-up ops are three samples (ignored: 999), then two timed.
    const sampler = new ScriptedSampler({ a: [999, 999, 999, 10, 30], b: [999, 999, 999, 40, 20] });
    const progress = new RecordingProgress();
    const rows = await runWorkloads([fakeWorkload(log, ['a', 'b'])], {
      sizes: [1000],
      warmupSamples: 1,
      warmupOpsMin: 250,
      samples: 2,
      sampler,
      progress,
    });
    expect(rows[0]!.median_ms_per_op).toBeCloseTo(0.2, 12);
    expect(rows[1]!.median_ms_per_op).toBeCloseTo(0.3, 12);
    expect(progress).toMatchObject({ total: 10, done: 10 });
    expect(warmupSamplesFor({ sizes: [1], warmupSamples: 2, warmupOpsMin: 50, samples: 1 }, 100)).toBe(2);
    expect(warmupSamplesFor({ sizes: [1], warmupSamples: 0, warmupOpsMin: 10 ** 9, samples: 1 }, 1)).toBe(
      WARMUP_SAMPLES_MAX,
    );
    expect(warmupSamplesFor({ sizes: [1], warmupSamples: 0, samples: 1 }, 1)).toBe(0);
    const w = [fakeWorkload([], ['a'])];
    await expect(
      runWorkloads(w, { sizes: [1], warmupSamples: 0, warmupOpsMin: -1, samples: 1, sampler }),
    ).rejects.toThrow(/warmupOpsMin/);
    await expect(
      runWorkloads(w, { sizes: [1], warmupSamples: 0, warmupOpsMin: 0.5, samples: 1, sampler }),
    ).rejects.toThrow(/warmupOpsMin/);
  });

  it('sets every system up before the first sample and tears every one down after', async () => {
    const log: string[] = [];
    await runWorkloads([fakeWorkload(log, ['a', 'b'])], {
      sizes: [10, 20],
      warmupSamples: 0,
      samples: 1,
      sampler: new ScriptedSampler({ a: [1, 1], b: [1, 1] }),
    });
    expect(log).toEqual([
      'setup a 10',
      'setup b 10',
      'teardown a 10',
      'teardown b 10',
      'setup a 20',
      'setup b 20',
      'teardown a 20',
      'teardown b 20',
    ]);
  });

  it('asks the probe for each system alone, after the group, and puts its figures in the rows', async () => {
    const log: string[] = [];
    const jobs: RssJob[] = [];
    const probe: RssProbe = {
      async measure(job) {
        log.push(`probe ${job.system} ${job.n}`);
        jobs.push(job);
        return { peakBytes: 1000 * job.n + job.system.length, baseBytes: 7, childrenBytes: 0 };
      },
    };
    const rows = await runWorkloads([fakeWorkload([], ['x']), fakeWorkload(log, ['a', 'bb'])], {
      sizes: [1, 2],
      warmupSamples: 0,
      samples: 1,
      sampler: new ScriptedSampler({ a: [1, 1], bb: [1, 1], x: [1, 1] }),
      rss: { probe, suite: 'lsm', scope: 'all' },
    });
    // The x workload's two probes come first; then the group at size 1, probed after teardown.
    expect(log.slice(2, 7)).toEqual([
      'setup a 1',
      'setup bb 1',
      'teardown a 1',
      'teardown bb 1',
      'probe a 1',
    ]);
    expect(jobs[2]).toEqual({ suite: 'lsm', workloadIndex: 1, workload: 'lsm.fake', system: 'a', n: 1 });
    expect(rows.map((r) => [r.system, r.n, r.rss_peak_bytes, r.rss_base_bytes])).toEqual([
      ['x', 1, 1001, 7],
      ['x', 2, 2001, 7],
      ['a', 1, 1001, 7],
      ['bb', 1, 1002, 7],
      ['a', 2, 2001, 7],
      ['bb', 2, 2002, 7],
    ]);
  });

  it('probes once per workload name, size and system; quick: the largest size of comparisons only; never an opted-out workload', async () => {
    const jobs: string[] = [];
    const probe: RssProbe = {
      async measure(job) {
        jobs.push(`${job.workloadIndex} ${job.system} ${job.n}`);
        return { peakBytes: 9, baseBytes: 3, childrenBytes: 2 };
      },
    };
    const optedOut = { ...fakeWorkload([], ['a', 'b']), name: 'lsm.other', rssNotMeasured: 'not this one' };
    const alone = { ...fakeWorkload([], ['a']), name: 'lsm.alone' };
    const rows = await runWorkloads(
      [fakeWorkload([], ['a', 'b']), fakeWorkload([], ['a', 'b']), optedOut, alone],
      {
        sizes: [1, 5],
        warmupSamples: 0,
        samples: 1,
        sampler: new ScriptedSampler({ a: Array(8).fill(1), b: Array(6).fill(1) }),
        rss: { probe, suite: 'lsm', scope: 'quick' },
      },
    );
    expect(jobs).toEqual(['0 a 5', '0 b 5']);
    const figures = rows.map((r) => `${r.workload} ${r.n} ${r.system} ${r.rss_peak_bytes}`);
    expect(figures.filter((f) => !f.endsWith('undefined'))).toEqual([
      'lsm.fake 5 a 9',
      'lsm.fake 5 b 9',
      'lsm.fake 5 a 9',
      'lsm.fake 5 b 9',
    ]);
    expect(rows[2]).toMatchObject({ rss_base_bytes: 3, rss_children_bytes: 2 });
    expect(rows.filter((r) => r.workload === 'lsm.other').map((r) => r.rss_not_measured)).toEqual(
      Array(4).fill('not this one'),
    );
  });

  it('fails the run when the probe fails', async () => {
    const probe: RssProbe = {
      measure: async () => {
        throw new Error('child died');
      },
    };
    await expect(
      runWorkloads([fakeWorkload([], ['a'])], {
        sizes: [1],
        warmupSamples: 0,
        samples: 1,
        sampler: new ScriptedSampler({ a: [1] }),
        rss: { probe, suite: 'lsm', scope: 'all' },
      }),
    ).rejects.toThrow('child died');
  });

  it('measures only the systems asked for, and skips workloads left with none', async () => {
    const sampler = new ScriptedSampler({ b: [5] });
    const rows = await runWorkloads([fakeWorkload([], ['a', 'b']), fakeWorkload([], ['a'])], {
      sizes: [1],
      warmupSamples: 0,
      samples: 1,
      systems: ['b'],
      sampler,
    });
    expect(rows.map((r) => r.system)).toEqual(['b']);
    expect(sampler.order).toEqual(['b']);
  });

  it('tears everything down and deletes its temp dir when a sample fails', async () => {
    const log: string[] = [];
    let dir = '';
    const workload = fakeWorkload(log, ['a', 'b'], { failing: { system: 'b', on: 'sample' } });
    const create = workload.createCase;
    workload.createCase = (system, n, env) => {
      dir = env.freshDir('x y/z');
      return create(system, n, env);
    };
    await expect(
      runWorkloads([workload], {
        sizes: [1],
        warmupSamples: 0,
        samples: 1,
        sampler: new ScriptedSampler({ a: [1] }),
      }),
    ).rejects.toThrow('sample of b failed');
    expect(log).toContain('teardown a 1');
    expect(log).toContain('teardown b 1');
    expect(dir).toMatch(/x_y_z$/);
    expect(existsSync(dir)).toBe(false);
  });

  it('tears down the systems already set up when a later setup fails', async () => {
    const log: string[] = [];
    const workload = fakeWorkload(log, ['a', 'b', 'c'], { failing: { system: 'b', on: 'setup' } });
    await expect(
      runWorkloads([workload], {
        sizes: [1],
        warmupSamples: 0,
        samples: 1,
        sampler: new ScriptedSampler({}),
      }),
    ).rejects.toThrow('setup of b failed');
    expect(log).toEqual(['setup a 1', 'setup b 1', 'teardown a 1', 'teardown b 1']);
  });

  it('reports a failing teardown, and both failures when a sample failed too', async () => {
    const teardownOnly = fakeWorkload([], ['a'], { failing: { system: 'a', on: 'teardown' } });
    await expect(
      runWorkloads([teardownOnly], {
        sizes: [1],
        warmupSamples: 0,
        samples: 1,
        sampler: new ScriptedSampler({ a: [1] }),
      }),
    ).rejects.toThrow('teardown of a failed');
    const both = fakeWorkload([], ['a'], { failing: { system: 'a', on: 'teardown' } });
    const sampler: Sampler = {
      time: async () => {
        throw new Error('sampler broke');
      },
    };
    const failure = await runWorkloads([both], { sizes: [1], warmupSamples: 0, samples: 1, sampler }).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(AggregateError);
    expect((failure as AggregateError).errors.map((e: Error) => e.message)).toEqual([
      'sampler broke',
      'teardown of a failed',
    ]);
  });

  it('rejects malformed options', async () => {
    const w = [fakeWorkload([], ['a'])];
    const sampler = new ScriptedSampler({ a: [1] });
    await expect(runWorkloads(w, { sizes: [1], warmupSamples: 0, samples: 0, sampler })).rejects.toThrow(
      /samples/,
    );
    await expect(runWorkloads(w, { sizes: [1], warmupSamples: -1, samples: 1, sampler })).rejects.toThrow(
      /warmup/,
    );
    await expect(runWorkloads(w, { sizes: [0], warmupSamples: 0, samples: 1, sampler })).rejects.toThrow(
      /size/,
    );
    await expect(runWorkloads(w, { sizes: [1.5], warmupSamples: 0, samples: 1, sampler })).rejects.toThrow(
      /size/,
    );
  });
});
