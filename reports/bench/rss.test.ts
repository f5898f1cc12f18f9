import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../engine/errors.ts';
import { SUITES } from './registry.ts';
import {
  childRssProbe,
  DEFAULT_SUITES_MODULE,
  parseRssLine,
  RSS_RESULT_PREFIX,
  RssChildError,
  rssChildArgs,
  suiteModuleFor,
} from './rss.ts';
import { BIG_ALLOCATION_BYTES } from './rss-test-suites.ts';

const TEST_SUITES = fileURLToPath(new URL('./rss-test-suites.ts', import.meta.url));
const job = { suite: 'lsm', workloadIndex: 0, workload: 'lsm.alloc', system: 'big', n: 1 };

describe('parseRssLine', () => {
  it('reads the figures of a result line', () => {
    expect(parseRssLine(`${RSS_RESULT_PREFIX}{"peakBytes":200,"baseBytes":100,"childrenBytes":50}`)).toEqual({
      peakBytes: 200,
      baseBytes: 100,
      childrenBytes: 50,
    });
  });

  it.each([
    ['another line', 'ready'],
    ['not JSON', `${RSS_RESULT_PREFIX}{peak`],
    ['not an object', `${RSS_RESULT_PREFIX}12`],
    ['null', `${RSS_RESULT_PREFIX}null`],
    ['a missing field', `${RSS_RESULT_PREFIX}{"peakBytes":200,"baseBytes":100}`],
    ['a string figure', `${RSS_RESULT_PREFIX}{"peakBytes":"200","baseBytes":100,"childrenBytes":0}`],
    ['a fraction', `${RSS_RESULT_PREFIX}{"peakBytes":200.5,"baseBytes":100,"childrenBytes":0}`],
    ['a negative figure', `${RSS_RESULT_PREFIX}{"peakBytes":200,"baseBytes":100,"childrenBytes":-1}`],
    ['a zero base', `${RSS_RESULT_PREFIX}{"peakBytes":200,"baseBytes":0,"childrenBytes":0}`],
    ['a peak below the base', `${RSS_RESULT_PREFIX}{"peakBytes":99,"baseBytes":100,"childrenBytes":0}`],
    [
      'a peak below the base and the children',
      `${RSS_RESULT_PREFIX}{"peakBytes":149,"baseBytes":100,"childrenBytes":50}`,
    ],
  ])('refuses %s', (_what, line) => {
    expect(parseRssLine(line)).toBeUndefined();
  });
});

describe('rssChildArgs', () => {
  it('refuses a negative or fractional workload index and a non-positive size', () => {
    expect(() => rssChildArgs({ ...job, workloadIndex: -1 }, TEST_SUITES)).toThrow(InvalidArgumentError);
    expect(() => rssChildArgs({ ...job, workloadIndex: 0.5 }, TEST_SUITES)).toThrow(InvalidArgumentError);
    expect(() => rssChildArgs({ ...job, n: 0 }, TEST_SUITES)).toThrow(InvalidArgumentError);
  });
});

describe('suiteModuleFor', () => {
  it("finds a registered suite's own module, which exports that suite", async () => {
    expect(suiteModuleFor('lsm').endsWith('/lsm/suite.ts')).toBe(true);
    for (const suite of SUITES) {
      const module = suiteModuleFor(suite.name);
      // A suite kept elsewhere is found through the registry, which is slower but right.
      if (module !== DEFAULT_SUITES_MODULE) expect(Object.values(await import(module))).toContain(suite);
    }
  });

  it('falls back to the registry for a name without a module, or one that is not a plain name', () => {
    expect(suiteModuleFor('nosuch')).toBe(DEFAULT_SUITES_MODULE);
    expect(suiteModuleFor('../lsm')).toBe(DEFAULT_SUITES_MODULE);
  });
});

describe('childRssProbe', () => {
  const probe = childRssProbe({ suitesModule: TEST_SUITES });

  it('measures each system alone: the peak shows what the system touched, above a shared base', async () => {
    const big = await probe.measure(job);
    const small = await probe.measure({ ...job, system: 'small' });
    expect(small.baseBytes).toBeGreaterThan(10 * 1024 * 1024); // Node itself
    expect(small.peakBytes).toBeGreaterThanOrEqual(small.baseBytes);
    expect(big.peakBytes - big.baseBytes).toBeGreaterThan(BIG_ALLOCATION_BYTES * 0.9);
    expect(small.peakBytes - small.baseBytes).toBeLessThan(BIG_ALLOCATION_BYTES / 4);
    expect(big.childrenBytes).toBe(0);
  }, 30_000);

  it('adds the peak of a process the system starts (as the sqlite3 program runs)', async () => {
    const figures = await probe.measure({ ...job, system: 'spawner' });
    expect(figures.childrenBytes).toBeGreaterThan(BIG_ALLOCATION_BYTES * 0.9);
    expect(figures.peakBytes).toBeGreaterThanOrEqual(figures.baseBytes + figures.childrenBytes);
  }, 30_000);

  it('runs a registered suite by default (lsm.put on a Map)', async () => {
    const figures = await childRssProbe().measure({
      suite: 'lsm',
      workloadIndex: 0,
      workload: 'lsm.put',
      system: 'map',
      n: 1000,
    });
    expect(figures.peakBytes).toBeGreaterThanOrEqual(figures.baseBytes);
  }, 30_000);

  it('fails, and promptly, when the system fails: the watch of child processes does not keep it alive', async () => {
    const started = performance.now();
    const error = await probe.measure({ ...job, system: 'failing' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RssChildError);
    expect((error as Error).message).toContain('the failing system failed its sample');
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 30_000);

  it.each([
    ['an unknown suite', { suite: 'nope' }, 'unknown suite nope'],
    ['a workload index past the end', { workloadIndex: 3 }, 'has no workload 3'],
    ['a workload name that does not match the index', { workload: 'lsm.other' }, 'not lsm.other'],
    ['an unknown system', { system: 'huge' }, 'has no system huge'],
  ])(
    'fails with the child message on %s',
    async (_what, change, message) => {
      const error = await probe.measure({ ...job, ...change }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RssChildError);
      expect((error as Error).message).toContain('exit code 2');
      expect((error as Error).message).toContain(message);
    },
    30_000,
  );
});
