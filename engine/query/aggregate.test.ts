import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../crdt/lww.ts';
import { compareTuples, newAccumulator, runAggregate } from './aggregate.ts';
import { compilePath } from './compare.ts';
import type { Aggregate, AggregateQuery } from './types.ts';

const value: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom<JsonValue>(null, true, false, 'a', 'b', [1], { k: 1 }, -0),
  // Magnitudes far apart: where compensated summation gives another result than plain addition.
  fc.constantFrom<JsonValue>(1e16, -1e16, 0.1, 1, 3e-5),
);
const doc: fc.Arbitrary<JsonObject> = fc.record(
  { g: fc.constantFrom<JsonValue>(0, 1, 'x', null, [1]), x: value, y: value },
  { requiredKeys: [] },
);
const FNS = ['count', 'sum', 'avg', 'min', 'max'] as const;
const aggregateOf: fc.Arbitrary<Aggregate> = fc
  .record({ fn: fc.constantFrom(...FNS), field: fc.constantFrom(undefined, 'x', 'y') })
  .map(({ fn, field }) =>
    fn === 'count' && field === undefined ? { fn, as: '' } : { fn, field: field ?? 'x', as: '' },
  );

/** The reference: each group folded through its own accumulators (newAccumulator), rows in order. */
function reference(rows: [string, JsonObject][], q: AggregateQuery) {
  const keyOf = (q.groupBy ?? []).map(compilePath);
  const groups: { keys: (JsonValue | undefined)[]; accs: ReturnType<typeof newAccumulator>[] }[] = [];
  for (const [id, d] of rows) {
    const keys = keyOf.map((k) => k(d, id));
    let group = groups.find((g) => compareTuples(g.keys, keys) === 0);
    if (group === undefined) {
      group = { keys, accs: q.aggregates.map(newAccumulator) };
      groups.push(group);
    }
    for (const [i, a] of q.aggregates.entries())
      group.accs[i]!.add(a.field === undefined ? undefined : compilePath(a.field)(d, id));
  }
  if (groups.length === 0 && keyOf.length === 0)
    groups.push({ keys: [], accs: q.aggregates.map(newAccumulator) });
  groups.sort((a, b) => compareTuples(a.keys, b.keys));
  return groups.map((g) => ({
    group: g.keys,
    values: Object.fromEntries(q.aggregates.map((a, i) => [a.as, g.accs[i]!.result()])),
  }));
}

describe('runAggregate', () => {
  it('gives, bit for bit, what one accumulator per group and aggregate gives', () => {
    fc.assert(
      fc.property(
        fc.array(doc, { maxLength: 40 }),
        fc.array(aggregateOf, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.boolean(),
        (docs, aggs, grouped, asIterable) => {
          const q: AggregateQuery = {
            collection: 'c',
            ...(grouped ? { groupBy: ['g'] } : {}),
            aggregates: aggs.map((a, i) => ({ ...a, as: `a${i}` })),
          };
          const rows = docs.map((d, i): [string, JsonObject] => [`id${i}`, d]);
          const got = runAggregate(asIterable ? new Set(rows) : rows, q);
          const want = reference(rows, q);
          expect(got).toEqual(want);
          // toEqual treats -0 and 0 alike for numbers inside objects; compare the bits of every sum.
          got.forEach((g, i) => {
            for (const k of Object.keys(g.values))
              expect(Object.is(g.values[k], want[i]!.values[k]), k).toBe(true);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
