import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { classify, parseBench, parseJsonText, parseRunFile, parseSim, ReportInputError } from './schema.ts';
import { benchFixture, runFileFixture, simFixture } from './test-fixtures.ts';

/** Runs `fn` and returns the ReportInputError it throws (fails the test if it throws anything else). */
function inputError(fn: () => unknown): ReportInputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ReportInputError);
    return error as ReportInputError;
  }
  throw new Error('expected a ReportInputError, nothing was thrown');
}

describe('classify', () => {
  it('recognises each input by its top-level keys', () => {
    expect(classify(benchFixture())).toBe('bench');
    expect(classify(simFixture())).toBe('sim');
    expect(classify(runFileFixture())).toBe('run');
    expect(classify({ kind: 'sim-failure' })).toBe('run');
  });

  it('returns undefined for anything else', () => {
    for (const doc of [null, 3, 'x', [], [1], {}, { suite: 'lsm' }, { runs: [] }, { history: [] }]) {
      expect(classify(doc)).toBeUndefined();
    }
  });

  it('does not look at inherited keys', () => {
    const doc = Object.create({ suite: 'x', rows: [] }) as object;
    expect(classify(doc)).toBeUndefined();
  });
});

describe('bench JSON', () => {
  it('accepts what aregula bench writes, keeping extra fields', () => {
    const report = parseBench('b.json', benchFixture());
    expect(report.rows).toHaveLength(11);
    expect(report.rows[6]?.recall).toBe(0.9);
    expect(report.machine.cores).toBe(2);
  });

  it('names the file and the field that is wrong', () => {
    const doc = benchFixture();
    (doc.rows as Record<string, unknown>[])[3]!.ops_per_sec = 'fast';
    const error = inputError(() => parseBench('reports/out/bad.json', doc));
    expect(error.file).toBe('reports/out/bad.json');
    expect(error.code).toBe('ARE_REPORT_INPUT');
    expect(error.message).toMatch(
      /^reports\/out\/bad\.json: not a valid bench JSON: rows\[3\]\.ops_per_sec: /,
    );
  });

  it('refuses a missing machine, negative or non-integer sizes, and nested extra fields', () => {
    const noMachine = benchFixture();
    delete noMachine.machine;
    expect(inputError(() => parseBench('f', noMachine)).message).toMatch(/machine/);
    const negative = benchFixture();
    (negative.rows as Record<string, unknown>[])[0]!.n = -1;
    expect(inputError(() => parseBench('f', negative)).message).toMatch(/rows\[0\]\.n/);
    const fractional = benchFixture();
    (fractional.rows as Record<string, unknown>[])[0]!.n = 1.5;
    expect(inputError(() => parseBench('f', fractional)).message).toMatch(/rows\[0\]\.n/);
    const nested = benchFixture();
    (nested.rows as Record<string, unknown>[])[0]!.extra = { deep: true };
    expect(inputError(() => parseBench('f', nested)).message).toMatch(/rows\[0\]\.extra/);
  });

  it('lists at most five problems and counts the rest', () => {
    const doc = benchFixture();
    for (const row of doc.rows as Record<string, unknown>[]) row.system = 7;
    const message = inputError(() => parseBench('f', doc)).message;
    expect(message.match(/rows\[\d+\]\.system/g)).toHaveLength(5);
    expect(message).toMatch(/and 6 more$/);
  });
});

describe('sim JSON', () => {
  it('accepts what aregula sim writes, with Infinity settings written as null', () => {
    const report = parseSim('s.json', simFixture());
    expect(report.runs).toHaveLength(6);
    expect(report.runs[0]?.swarm?.crashEveryMs).toBeNull();
    expect(report.failures?.[0]?.file).toBe('reports/out/sim-failures/b-2.json');
  });

  it('accepts a run without a swarm (a run that threw) and converged_ms null', () => {
    const doc = simFixture();
    const runs = doc.runs as Record<string, unknown>[];
    delete runs[0]!.swarm;
    runs[0]!.converged_ms = null;
    expect(parseSim('s', doc).runs[0]?.swarm).toBeUndefined();
  });

  it('refuses runs that are not an array, and a seed that is not a whole number', () => {
    expect(inputError(() => parseSim('s', { ...simFixture(), runs: {} })).message).toMatch(/runs: /);
    const doc = simFixture();
    (doc.runs as Record<string, unknown>[])[2]!.seed = '3';
    expect(inputError(() => parseSim('s', doc)).message).toMatch(/runs\[2\]\.seed/);
  });
});

describe('run file', () => {
  it('accepts a failure file as aregula sim writes it', () => {
    const run = parseRunFile('r.json', runFileFixture());
    expect(run.history).toHaveLength(12);
    expect(run.trace_tail).toHaveLength(6);
  });

  it('refuses records out of order', () => {
    const doc = runFileFixture();
    (doc.history as Record<string, unknown>[])[4]!.index = 9;
    expect(inputError(() => parseRunFile('r', doc)).message).toMatch(/history\[4\]\.index: expected 4/);
  });

  it('refuses a completion that does not point back to an earlier invoke by the same peer', () => {
    const forward = runFileFixture();
    (forward.history as Record<string, unknown>[])[3]!.invokeIndex = 7;
    expect(inputError(() => parseRunFile('r', forward)).message).toMatch(/history\[3\]\.invokeIndex/);
    const otherPeer = runFileFixture();
    (otherPeer.history as Record<string, unknown>[])[5]!.invokeIndex = 2;
    expect(inputError(() => parseRunFile('r', otherPeer)).message).toMatch(/not an earlier invoke by phone/);
    const missing = runFileFixture();
    delete (missing.history as Record<string, unknown>[])[3]!.invokeIndex;
    expect(inputError(() => parseRunFile('r', missing)).message).toMatch(/needs invokeIndex/);
  });

  it('refuses an unknown record type and a trace that is not strings', () => {
    const badType = runFileFixture();
    (badType.history as Record<string, unknown>[])[0]!.type = 'maybe';
    expect(inputError(() => parseRunFile('r', badType)).message).toMatch(/history\[0\]\.type/);
    expect(inputError(() => parseRunFile('r', { ...runFileFixture(), trace_tail: [1] })).message).toMatch(
      /trace_tail\[0\]/,
    );
  });
});

describe('JSON text', () => {
  it('names the file when the text is not JSON', () => {
    const error = inputError(() => parseJsonText('reports/out/half.json', '{"suite": "lsm", "rows": ['));
    expect(error.message).toMatch(/^reports\/out\/half\.json: not valid JSON/);
  });

  test.prop([fc.jsonValue()], { numRuns: 300 })(
    'any JSON value either validates or gives a ReportInputError, never another exception',
    (doc) => {
      for (const parse of [parseBench, parseSim, parseRunFile]) {
        try {
          parse('f.json', doc);
        } catch (error) {
          if (!(error instanceof ReportInputError)) throw error;
          expect(error.message.startsWith('f.json: ')).toBe(true);
        }
      }
    },
  );
});
