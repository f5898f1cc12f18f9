import { describe, expect, it } from 'vitest';
import { FixedSampler, TinybenchSampler } from './sampler.ts';
import type { BenchCase } from './types.ts';

function recordingCase(log: string[], failIn?: string): BenchCase {
  const step = (name: string) => async () => {
    log.push(name);
    if (failIn === name) throw new Error(`${name} broke`);
  };
  return {
    setup: step('setup'),
    beforeSample: step('before'),
    sample: step('sample'),
    afterSample: step('after'),
    teardown: step('teardown'),
  };
}

describe('TinybenchSampler', () => {
  it('runs the hooks around exactly one timed sample and returns its time', async () => {
    const log: string[] = [];
    const ms = await new TinybenchSampler().time(recordingCase(log), 'one');
    expect(log).toEqual(['before', 'sample', 'after']);
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(ms)).toBe(true);
  });

  it('propagates a failing sample or hook', async () => {
    for (const where of ['before', 'sample', 'after']) {
      await expect(new TinybenchSampler().time(recordingCase([], where), where)).rejects.toThrow(
        `${where} broke`,
      );
    }
  });
});

describe('FixedSampler', () => {
  it('runs the hooks around the sample and reports its fixed time', async () => {
    const log: string[] = [];
    expect(await new FixedSampler(42).time(recordingCase(log))).toBe(42);
    expect(log).toEqual(['before', 'sample', 'after']);
  });

  it('propagates a failing sample or hook', async () => {
    await expect(new FixedSampler(1).time(recordingCase([], 'after'))).rejects.toThrow('after broke');
  });
});
