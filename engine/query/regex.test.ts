import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LimitExceededError } from '../errors.ts';
import { QueryError } from './errors.ts';
import { REGEX_INPUT_CHARS_MAX, REGEX_PATTERN_CHARS_MAX } from './limits.ts';
import { compileRegex } from './regex.ts';

const LITERALS = [
  'a',
  'b',
  'A',
  'k',
  'K',
  'é',
  'É',
  'ß',
  'ſ',
  ' ',
  '\\n',
  '1',
  '_',
  '\\.',
  '\\u212a',
  '\\x41',
];
const CLASSES = ['[ab]', '[^ab]', '[a-c]', '[^A-Z]', '[\\d]', '[^\\s]', '[é-ü]', '[]', '[^]', '[\\w-]', '.'];
const ESCAPES = ['\\d', '\\D', '\\w', '\\W', '\\s', '\\S'];
const ANCHORS = ['^', '$', '\\b', '\\B'];
const QUANTIFIERS = ['', '', '*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '+?'];

/** Random patterns of the supported subset. */
const pattern: fc.Arbitrary<string> = fc
  .letrec<{ alt: string; seq: string; atom: string }>((tie) => ({
    alt: fc.array(tie('seq'), { minLength: 1, maxLength: 2 }).map((xs) => xs.join('|')),
    seq: fc.array(tie('atom'), { maxLength: 3 }).map((xs) => xs.join('')),
    atom: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc
        .tuple(fc.constantFrom(...LITERALS, ...CLASSES, ...ESCAPES), fc.constantFrom(...QUANTIFIERS))
        .map(([a, q]) => a + q),
      fc.constantFrom(...ANCHORS),
      fc
        .tuple(fc.constantFrom('(', '(?:'), tie('alt'), fc.constantFrom(...QUANTIFIERS))
        .map(([open, inner, q]) => `${open}${inner})${q}`),
    ),
  }))
  .alt.filter((p) => p.length <= 80);
const input = fc
  .array(
    fc.constantFrom('a', 'b', 'A', 'k', 'K', '\u212a', 'é', 'É', 'ß', 'ſ', ' ', '\n', '1', '_', '.', 'x'),
    {
      maxLength: 12,
    },
  )
  .map((cs) => cs.join(''));
const flags = fc.constantFrom('', 'i', 'm', 's', 'im', 'is', 'ims');

describe('compileRegex', () => {
  it('answers exactly as RegExp.test for every pattern of the subset', () => {
    fc.assert(
      fc.property(pattern, flags, fc.array(input, { minLength: 1, maxLength: 5 }), (p, f, inputs) => {
        const ours = compileRegex(p, f);
        const theirs = new RegExp(p, f);
        for (const s of inputs) expect([p, f, s, ours(s)]).toEqual([p, f, s, theirs.test(s)]);
      }),
      { numRuns: 1000 * Number(process.env.QUERY_DIFF_SCALE ?? 1) },
    );
  });

  it('runs pathological patterns in linear time (these hang a backtracking engine)', () => {
    const long = `${'a'.repeat(30_000)}!`;
    expect(compileRegex('(a+)+$')(long)).toBe(false);
    expect(compileRegex('(a|aa)*b')(long)).toBe(false);
    expect(compileRegex('(a*)*(a*)*c')(long)).toBe(false);
    expect(compileRegex('^(\\w+\\s?)*$')(long)).toBe(false);
    expect(compileRegex('(.*a){12}')(long)).toBe(true);
    expect(compileRegex('(x+x+)+y')('x'.repeat(30_000))).toBe(false);
  });

  it('rejects what needs backtracking or is outside the subset, with a QueryError', () => {
    for (const p of [
      '(a)\\1',
      '(?=a)',
      '(?!a)',
      '(?<=a)b',
      '(?<n>a)',
      '\\p{L}',
      '\\k',
      'a**',
      '*a',
      'a{',
      '}',
      ']',
      '(a',
      'a)',
      '[a',
      '[b-a]',
      'a{3,2}',
      '\\',
      '[\\b]',
      '^*',
      '\\c',
    ]) {
      expect(() => compileRegex(p, ''), p).toThrow(QueryError);
    }
    for (const f of ['g', 'u', 'y', 'd', 'v', 'ii', 'x'])
      expect(() => compileRegex('a', f), f).toThrow(QueryError);
  });

  it('bounds pattern size, compiled states and input length with LimitExceededError', () => {
    expect(() => compileRegex('a'.repeat(REGEX_PATTERN_CHARS_MAX + 1))).toThrow(LimitExceededError);
    expect(() => compileRegex('a{1001}')).toThrow(/REGEX_REPEAT_MAX/);
    expect(() => compileRegex('(a{1000}){1000}')).toThrow(/REGEX_STATES_MAX/);
    expect(() => compileRegex('((a{30}){30}){30}')).toThrow(/REGEX_STATES_MAX/);
    const m = compileRegex('a');
    expect(m('a'.repeat(REGEX_INPUT_CHARS_MAX))).toBe(true);
    expect(() => m('a'.repeat(REGEX_INPUT_CHARS_MAX + 1))).toThrow(/REGEX_INPUT_CHARS_MAX/);
  });
});
