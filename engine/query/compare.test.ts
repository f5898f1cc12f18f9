import Sqlite from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../crdt/lww.ts';
import { compareValues, compilePath, valueRank } from './compare.ts';
import { checkLikePattern, compileLike } from './like.ts';

const value: fc.Arbitrary<JsonValue | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue),
  fc.constantFrom<JsonValue>(0, 1, true, false, null, '', 'a', [], {}, [1], { a: 1 }),
);
const sign = (n: number) => Math.sign(n) + 0; // +0 turns -0 into 0

describe('compareValues is a total order', () => {
  it('is reflexive and antisymmetric', () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(compareValues(a, a)).toBe(0);
        expect(sign(compareValues(a, b))).toBe(sign(-compareValues(b, a)));
      }),
      { numRuns: 1000 },
    );
  });

  it('is transitive', () => {
    fc.assert(
      fc.property(value, value, value, (a, b, c) => {
        // Sort indices: Array.prototype.sort never passes undefined elements to the comparator.
        const vs = [a, b, c];
        const [x, y, z] = [0, 1, 2].sort((i, j) => compareValues(vs[i], vs[j])).map((i) => vs[i]);
        expect(compareValues(x, y)).toBeLessThanOrEqual(0);
        expect(compareValues(y, z)).toBeLessThanOrEqual(0);
        expect(compareValues(x, z)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('ranks missing < null < booleans < numbers < strings < arrays < objects', () => {
    const ordered: (JsonValue | undefined)[] = [
      undefined,
      null,
      false,
      true,
      -1e300,
      -1,
      0,
      1.5,
      2,
      '',
      'A',
      'a',
      'é',
      '😀',
      // Arrays and objects order by canonical JSON text: '["a"]' < '[1,2]' < '[1]' < '[]'.
      ['a'],
      [1, 2],
      [1],
      [],
      { a: 1 },
      { b: 0 },
      {},
    ];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++)
        expect(sign(compareValues(ordered[i], ordered[j])), `${i} ${j}`).toBe(sign(i - j));
    }
    expect(compareValues(-0, 0)).toBe(0);
    expect(compareValues({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(0);
    expect(valueRank(undefined)).toBeLessThan(valueRank(null));
  });

  it('orders strings by UTF-8 bytes (as SQLite BINARY), not by UTF-16 units', () => {
    // U+FF61 is one unit above the surrogates in UTF-16 but below U+1F600 in UTF-8 bytes.
    expect(compareValues('\uff61', '😀')).toBeLessThan(0);
    expect('\uff61' < '😀').toBe(false);
  });
});

describe('compilePath', () => {
  it('reads own object keys only and treats anything else on the way as missing', () => {
    const doc = { a: { b: [1], c: { d: null } }, s: 'x', _id: 'stored' };
    expect(compilePath('a.c.d')(doc, 'id')).toBe(null);
    expect(compilePath('a.b.0')(doc, 'id')).toBe(undefined);
    expect(compilePath('s.length')(doc, 'id')).toBe(undefined);
    expect(compilePath('a.toString')(doc, 'id')).toBe(undefined);
    expect(compilePath('_id')(doc, 'id')).toBe('id');
  });

  it('reads a top-level key as the own property or missing, also for names Object.prototype has', () => {
    const names = ['a', 'b', 'toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', '0'];
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...names), fc.jsonValue({ maxDepth: 1 })),
        fc.constantFrom(...names),
        (fields, name) => {
          const doc = JSON.parse(JSON.stringify(fields)) as Record<string, JsonValue>;
          const want = Object.hasOwn(doc, name) ? doc[name] : undefined;
          expect(compilePath(name)(doc, 'id')).toBe(want);
        },
      ),
    );
  });
});

describe('LIKE agrees with SQLite on random patterns and strings', () => {
  const sqlite = new Sqlite(':memory:');
  const chars = ['a', 'A', 'b', 'z', 'Z', '%', '_', '!', 'é', 'É', 'ß', '😀', ' ', '['];
  const text = fc.array(fc.constantFrom(...chars), { maxLength: 8 }).map((c) => c.join(''));
  it('case-insensitive with and without an escape, and case-sensitive', () => {
    const likeEsc = sqlite.prepare("SELECT ? LIKE ? ESCAPE '!' AS m");
    const like = sqlite.prepare('SELECT ? LIKE ? AS m');
    fc.assert(
      fc.property(text, text, fc.boolean(), (s, rawPattern, useEscape) => {
        // A pattern ending in an unused escape is rejected by checkLikePattern: drop it.
        const pattern = useEscape ? rawPattern.replace(/(^|[^!])(!!)*!$/, '$1$2') : rawPattern;
        if (useEscape) checkLikePattern(pattern, '!', 'where');
        const ours = compileLike(pattern, useEscape ? { escape: '!' } : {})(s);
        const row = (useEscape ? likeEsc.get(s, pattern) : like.get(s, pattern)) as { m: number };
        expect(ours).toBe(row.m === 1);
      }),
      { numRuns: 2000 },
    );
    sqlite.pragma('case_sensitive_like = ON');
    fc.assert(
      fc.property(text, text, (s, pattern) => {
        expect(compileLike(pattern, { caseInsensitive: false })(s)).toBe(
          (like.get(s, pattern) as { m: number }).m === 1,
        );
      }),
      { numRuns: 1000 },
    );
    sqlite.close();
  });

  it('handles the edge cases', () => {
    expect(compileLike('')('')).toBe(true);
    expect(compileLike('')('a')).toBe(false);
    expect(compileLike('%')('')).toBe(true);
    expect(compileLike('_')('😀')).toBe(true); // one code point, not two UTF-16 units
    expect(compileLike('__')('😀')).toBe(false);
    expect(compileLike('ABC')('abc')).toBe(true);
    expect(compileLike('É')('é')).toBe(false); // only ASCII folds
    expect(compileLike('a%%%b')('a' + 'x'.repeat(10_000))).toBe(false);
    expect(compileLike('%!%', { escape: '!' })('50%')).toBe(true);
    expect(compileLike('%!%', { escape: '!' })('50')).toBe(false);
    expect(compileLike('a%%', { escape: '%' })('a%')).toBe(true); // an escape of % makes % literal
    expect(compileLike('a%%', { escape: '%' })('ab')).toBe(false);
  });
});
