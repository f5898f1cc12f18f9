/**
 * The shapes the report reads, checked with zod before anything is rendered: the bench JSON
 * (`aregula bench --json`), the sim JSON (`aregula sim --json`) and a failing run's file
 * (`reports/out/sim-failures/*.json`, written by `aregula sim`). Every input is untrusted:
 * a file that does not fit gives a {@link ReportInputError} naming the file and the first
 * fields that are wrong, never a crash further down.
 *
 * The schemas accept fields they do not know (the JSON contracts grow by adding fields) and
 * bound every array, so a huge or hostile file is refused instead of exhausting memory.
 */

import { z } from 'zod';

/** Most bench rows one file may hold. */
export const BENCH_ROWS_MAX = 100_000;
/** Most runs one sim JSON may hold. */
export const SIM_RUNS_MAX = 1_000_000;
/** Most violations one run (or one sim JSON) may list. */
export const VIOLATIONS_MAX = 1_000_000;
/** Most history records one run file may hold. */
export const HISTORY_RECORDS_MAX = 2_000_000;
/** Most trace lines one run file may hold. */
export const TRACE_LINES_MAX = 100_000;
/** Most actions one run file may hold. */
export const ACTIONS_MAX = 1_000_000;
/** Longest name (workload, system, scenario, peer, ...) accepted. */
export const NAME_CHARS_MAX = 500;
/** How many schema problems an error message lists. */
export const ISSUES_SHOWN_MAX = 5;

/** A report input does not parse or does not fit its schema. Names the file. */
export class ReportInputError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'ARE_REPORT_INPUT';
  override readonly name = 'ReportInputError';
  /** The file at fault, as the user named it. */
  readonly file: string;
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.file = file;
  }
}

const name = z.string().min(1).max(NAME_CHARS_MAX);
const count = z.number().int().nonnegative();
const amount = z.number().nonnegative();
/** `JSON.stringify` writes Infinity and NaN as null: a "none" in the sim's swarm settings. */
const amountOrNull = z.number().nullable();

/** `MachineInfo` of reports/bench/types.ts. */
export const machineSchema = z.looseObject({
  cpu: z.string().max(NAME_CHARS_MAX),
  cores: count,
  memoryBytes: amount,
  node: z.string().max(NAME_CHARS_MAX),
  platform: z.string().max(NAME_CHARS_MAX),
  arch: z.string().max(NAME_CHARS_MAX),
  commit: z.string().max(NAME_CHARS_MAX),
  date: z.string().max(NAME_CHARS_MAX),
});

/** `BenchRow`: the contract fields, then any extra string or number field. */
export const benchRowSchema = z
  .object({
    workload: name,
    system: name,
    n: count,
    ops_per_sec: amount,
    median_ms_per_op: amount.optional(),
    samples: count.optional(),
    ops_per_sample: count.optional(),
    rss_peak_bytes: amount.optional(),
    rss_base_bytes: amount.optional(),
  })
  .catchall(z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]));

/** `BenchReport`: what `aregula bench --json FILE` writes. */
export const benchReportSchema = z.looseObject({
  suite: z.union([name, z.array(name).min(1).max(1000)]),
  machine: machineSchema,
  rows: z.array(benchRowSchema).max(BENCH_ROWS_MAX),
});

const violationSchema = z.looseObject({
  checker: name,
  message: z.string().max(1_000_000),
  peer: name.optional(),
});

const faultsSchema = z.looseObject({
  latencyMsMin: amountOrNull.optional(),
  latencyMsMax: amountOrNull.optional(),
  lossRate: amountOrNull.optional(),
  duplicateRate: amountOrNull.optional(),
  bandwidthBytesPerMs: amountOrNull.optional(),
});

/** `Swarm` of sim/world.ts: a run's fault mix (Infinity arrives as null). */
export const swarmSchema = z.looseObject({
  faults: faultsSchema.optional(),
  writeEveryMs: amountOrNull.optional(),
  commitRate: amountOrNull.optional(),
  crashEveryMs: amountOrNull.optional(),
  partitionEveryMs: amountOrNull.optional(),
  clockSkewMsMax: amountOrNull.optional(),
  groupCommitEntries: amountOrNull.optional(),
});

/** `RunSummary` of cli/sim.ts: one run's line in the sim JSON. */
export const runSummarySchema = z.looseObject({
  scenario: name,
  seed: count,
  trace_hash: z.string().max(200),
  ok: z.boolean(),
  violations: z.array(violationSchema).max(VIOLATIONS_MAX),
  events: count,
  simulated_ms: amount,
  wall_ms: amount,
  converged_ms: amount.nullable(),
  writes: count,
  crashes: count,
  swarm: swarmSchema.optional(),
});

/** `FailureFile` of cli/sim.ts: where a failing run's file is, and how to replay it. */
const failureRefSchema = z.looseObject({
  scenario: name,
  seed: count,
  file: z.string().min(1).max(4096),
  replay: z.string().max(4096),
  shrunk_file: z.string().min(1).max(4096).optional(),
  shrunk_replay: z.string().max(4096).optional(),
});

/** What `aregula sim --json FILE` writes. */
export const simReportSchema = z.looseObject({
  runs: z.array(runSummarySchema).max(SIM_RUNS_MAX),
  seeds: z.array(count).max(SIM_RUNS_MAX),
  scenarios: z.array(name).max(10_000).optional(),
  violations: z.array(violationSchema.extend({ scenario: name, seed: count })).max(VIOLATIONS_MAX),
  events: count,
  simulated_ms: amount,
  wall_ms: amount,
  speedup: amount.optional(),
  seeds_per_min: amount.optional(),
  failures: z.array(failureRefSchema).max(SIM_RUNS_MAX).optional(),
});

/** `OpRecord` of sim/history.ts. */
export const opRecordSchema = z.looseObject({
  index: count,
  peer: name,
  kind: name,
  type: z.enum(['invoke', 'ok', 'fail', 'info']),
  timeMs: amount,
  detail: z.unknown().optional(),
  result: z.unknown().optional(),
  error: z.string().max(10_000).optional(),
  invokeIndex: count.optional(),
});

/** `SimAction` of sim/actions.ts (the run's chaos-phase steps), when the file carries them. */
export const actionSchema = z.looseObject({
  id: count,
  timeMs: amount,
  kind: name,
  performed: z.boolean(),
  peer: name.optional(),
  detail: z.unknown().optional(),
});

/** A history is well formed when records are numbered in order and completions point back. */
function checkHistory(history: readonly z.infer<typeof opRecordSchema>[], ctx: z.RefinementCtx): void {
  for (let i = 0; i < history.length; i++) {
    const r = history[i]!;
    if (r.index !== i) {
      ctx.addIssue({ code: 'custom', path: ['history', i, 'index'], message: `expected ${i}` });
      return;
    }
    const completes = r.type === 'ok' || r.type === 'fail';
    if (completes !== (r.invokeIndex !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['history', i, 'invokeIndex'],
        message: completes ? `an '${r.type}' record needs invokeIndex` : `an '${r.type}' record has none`,
      });
      return;
    }
    if (r.invokeIndex === undefined) continue;
    const inv = r.invokeIndex < i ? history[r.invokeIndex] : undefined;
    if (inv?.type !== 'invoke' || inv.peer !== r.peer) {
      ctx.addIssue({
        code: 'custom',
        path: ['history', i, 'invokeIndex'],
        message: `${r.invokeIndex} is not an earlier invoke by ${r.peer}`,
      });
      return;
    }
  }
}

/** A failing (or chosen) run with its history: `reports/out/sim-failures/*.json`. */
export const runFileSchema = runSummarySchema
  .extend({
    kind: z.literal('sim-failure').optional(),
    version: count.optional(),
    shrunk: z.boolean().optional(),
    replay: z.string().max(4096).optional(),
    trace_tail: z.array(z.string().max(100_000)).max(TRACE_LINES_MAX),
    history: z.array(opRecordSchema).max(HISTORY_RECORDS_MAX),
    actions: z.array(actionSchema).max(ACTIONS_MAX).optional(),
  })
  .superRefine((file, ctx) => checkHistory(file.history, ctx));

/** A bench JSON document. */
export type BenchReportInput = z.infer<typeof benchReportSchema>;
/** One bench row. */
export type BenchRowInput = z.infer<typeof benchRowSchema>;
/** The machine a bench ran on. */
export type MachineInput = z.infer<typeof machineSchema>;
/** A sim JSON document. */
export type SimReportInput = z.infer<typeof simReportSchema>;
/** One run's summary in a sim JSON. */
export type RunSummaryInput = z.infer<typeof runSummarySchema>;
/** A run's fault mix. */
export type SwarmInput = z.infer<typeof swarmSchema>;
/** A run file: summary, history, trace tail and (optionally) actions. */
export type RunFileInput = z.infer<typeof runFileSchema>;
/** One history record. */
export type OpRecordInput = z.infer<typeof opRecordSchema>;
/** One chaos-phase action. */
export type ActionInput = z.infer<typeof actionSchema>;

/** What kind of report input a JSON document is. */
export type InputKind = 'bench' | 'sim' | 'run';

/**
 * Recognises a parsed JSON document by its top-level keys (design.md): a bench JSON has
 * `suite` and `rows`, a sim JSON `runs` and `violations`, a run file `history` and
 * `trace_tail` (or `kind: "sim-failure"`). Anything else is undefined: not a report input.
 */
export function classify(doc: unknown): InputKind | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const has = (key: string) => Object.hasOwn(doc, key);
  if (has('suite') && has('rows')) return 'bench';
  if (has('runs') && has('violations')) return 'sim';
  if ((has('history') && has('trace_tail')) || (doc as { kind?: unknown }).kind === 'sim-failure')
    return 'run';
  return undefined;
}

/** Formats zod's issues: `rows[3].ops_per_sec: Invalid input: expected number, received string`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, ISSUES_SHOWN_MAX).map((issue) => {
    const path = issue.path
      .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
      .join('');
    return `${path === '' ? '(top level)' : path}: ${issue.message}`;
  });
  const more = issues.length > ISSUES_SHOWN_MAX ? `; and ${issues.length - ISSUES_SHOWN_MAX} more` : '';
  return shown.join('; ') + more;
}

/** Parses JSON text; a syntax error becomes a {@link ReportInputError} naming `file`. */
export function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ReportInputError(file, `not valid JSON (${(error as Error).message})`);
  }
}

/** Checks `doc` against `schema`; a mismatch becomes a {@link ReportInputError} naming `file`. */
export function validate<T>(file: string, what: string, schema: z.ZodType<T>, doc: unknown): T {
  const result = schema.safeParse(doc);
  if (result.success) return result.data;
  throw new ReportInputError(file, `not a valid ${what}: ${describeIssues(result.error.issues)}`);
}

/** Validates a bench JSON document. */
export function parseBench(file: string, doc: unknown): BenchReportInput {
  return validate(file, 'bench JSON', benchReportSchema, doc);
}

/** Validates a sim JSON document. */
export function parseSim(file: string, doc: unknown): SimReportInput {
  return validate(file, 'sim JSON', simReportSchema, doc);
}

/** Validates a run file (a failing run's history and trace). */
export function parseRunFile(file: string, doc: unknown): RunFileInput {
  return validate(file, 'sim run file', runFileSchema, doc);
}
