/**
 * `aregula replay --feeds DIR [--seeds N | --seed S] [--json FILE]`: replays an export of
 * feeds (engine/db/feed-export.ts, written by `aregula export-feeds` or `exportFeeds()`) into
 * fresh simulated replicas under many delivery orders, duplications and crash points, one
 * seed each (sim/replay-feeds.ts), and checks that every replay reaches the source's state.
 *
 * Exit codes (design.md): 0 every replay converged to the source's state hash; 1 a replay
 * diverged, or the export contradicts itself (its manifest's state hash is not what its
 * feeds give); 2 could not run (bad arguments, no such directory, an export refused as
 * corrupt or hostile).
 */

import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import Table from 'cli-table3';
import { type FeedExport, readFeedExport } from '../engine/db/feed-export.ts';
import { AregulaError } from '../engine/errors.ts';
import { NodeFs } from '../engine/io/node-fs.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import {
  checkExport,
  type FeedReplayResult,
  type ReplayViolation,
  replayFeeds,
} from '../sim/replay-feeds.ts';
import type { CliIo } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, EXIT_VIOLATION, UsageError } from './command.ts';
import { seedList } from './sim.ts';

/** The options of `replay --feeds`. */
export interface ReplayFeedsFlags {
  feeds: string;
  seeds?: string;
  seed?: string;
  json?: string;
}

/** A run that threw instead of finishing: a finding, reported like a violation. */
function crashedRun(seed: number, err: unknown): FeedReplayResult {
  const e = err as Error;
  return {
    scenario: 'replay-feeds',
    seed,
    trace_hash: '0'.repeat(64),
    ok: false,
    violations: [{ checker: 'exception', message: `${e.name}: ${e.message}\n${e.stack ?? ''}` }],
    mix: undefined as unknown as FeedReplayResult['mix'],
    deliveries: 0,
    gapped: 0,
    crashes: 0,
    events: 0,
    simulated_ms: 0,
    wall_ms: 0,
    converged_ms: null,
    state_hashes: {},
    trace_tail: [],
  };
}

/** Reads the export in `dir`, or explains on stderr why it cannot (returns undefined). */
function loadExport(dir: string, io: CliIo): FeedExport | undefined {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`--feeds ${dir}: no such directory`);
  try {
    return readFeedExport(new NodeFs(dir), { signer: nodeSigner });
  } catch (err) {
    if (!(err instanceof AregulaError)) throw err;
    io.err(`aregula replay: the export in ${dir} is refused: ${err.name} ${err.code}: ${err.message}\n`);
    return undefined;
  }
}

/** Runs `replay --feeds`; returns its exit code. */
export function replayFeedsCommand(flags: ReplayFeedsFlags, io: CliIo): number {
  const dir = resolve(io.cwd, flags.feeds);
  const seeds = seedList({ seeds: flags.seeds, seed: flags.seed });
  const exp = loadExport(dir, io);
  if (exp === undefined) return EXIT_CANNOT_RUN;
  const entries = exp.feeds.reduce((a, f) => a + f.entries.length, 0);
  io.err(
    `replay: ${exp.feeds.length} feeds, ${entries} entries, state ${exp.manifest.stateHash.slice(0, 16)}; ${seeds.length} seeds\n`,
  );
  const source = checkExport(exp);
  for (const v of source) io.err(`\nDIVERGENCE in the export itself: [${v.checker}] ${v.message}\n`);
  const started = performance.now();
  const runs: FeedReplayResult[] = [];
  for (const seed of seeds) {
    let r: FeedReplayResult;
    try {
      r = replayFeeds(exp, seed);
    } catch (err) {
      r = crashedRun(seed, err);
    }
    runs.push(r);
    if (!r.ok) reportFailure(io, dir, r);
  }
  const wallMs = Math.round(performance.now() - started);
  printSummary(io, runs, wallMs);
  if (flags.json !== undefined) writeJson(io, flags.json, { dir, exp, source, runs, seeds, wallMs });
  return source.length > 0 || runs.some((r) => !r.ok) ? EXIT_VIOLATION : EXIT_OK;
}

/** The command that replays one seed of an export. */
export function replayCommandLine(io: CliIo, dir: string, seed: number): string {
  const shown = relative(io.cwd, dir) || '.';
  return `npx aregula replay --feeds ${shown.includes(' ') ? JSON.stringify(shown) : shown} --seed ${seed}`;
}

function reportFailure(io: CliIo, dir: string, r: FeedReplayResult): void {
  const command = replayCommandLine(io, dir, r.seed);
  const file = join(io.cwd, 'reports', 'out', 'sim-failures', `replay-feeds-${r.seed}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ kind: 'replay-feeds-failure', export: dir, replay: command, ...r }, null, 1)}\n`,
  );
  io.err(`\nDIVERGENCE at seed ${r.seed}:\n`);
  for (const v of r.violations.slice(0, 10))
    io.err(`  [${v.checker}]${v.peer ? ` ${v.peer}:` : ''} ${v.message.split('\n')[0]}\n`);
  if (r.mix) io.err(`  mix: ${JSON.stringify(r.mix)}\n`);
  io.err(`  trace and details: ${file}\n  replay: ${command}\n`);
}

function printSummary(io: CliIo, runs: FeedReplayResult[], wallMs: number): void {
  const t = new Table({
    style: { head: [], border: [] },
    head: [
      'replays',
      'failed',
      'deliveries',
      'chunks out of order',
      'crashes',
      'converged ms (median)',
      'wall s',
    ],
  });
  const sum = (f: (r: FeedReplayResult) => number) => runs.reduce((a, r) => a + f(r), 0);
  const converged = runs
    .flatMap((r) => (r.converged_ms === null ? [] : [r.converged_ms]))
    .sort((a, b) => a - b);
  t.push([
    runs.length,
    runs.filter((r) => !r.ok).length,
    sum((r) => r.deliveries),
    sum((r) => r.gapped),
    sum((r) => r.crashes),
    converged.length > 0 ? converged[Math.floor(converged.length / 2)]! : '-',
    (wallMs / 1000).toFixed(1),
  ]);
  io.out(`${t.toString()}\n`);
  const failed = runs.filter((r) => !r.ok).length;
  io.out(`${runs.length} replays, ${runs.length - failed} reached the source state, ${failed} diverged\n`);
}

function writeJson(
  io: CliIo,
  target: string,
  o: {
    dir: string;
    exp: FeedExport;
    source: ReplayViolation[];
    runs: FeedReplayResult[];
    seeds: number[];
    wallMs: number;
  },
): void {
  const file = resolve(io.cwd, target);
  mkdirSync(dirname(file), { recursive: true });
  const simulated = o.runs.reduce((a, r) => a + r.simulated_ms, 0);
  const doc = {
    export: {
      dir: o.dir,
      feeds: o.exp.feeds.length,
      entries: o.exp.feeds.reduce((a, f) => a + f.entries.length, 0),
      state_hash: o.exp.manifest.stateHash,
      source_state_hash: o.exp.manifest.sourceStateHash,
      omitted_entries: o.exp.manifest.omittedEntries,
    },
    runs: o.runs.map(({ trace_tail: _, ...rest }) => rest),
    seeds: o.seeds,
    source_violations: o.source,
    violations: [
      ...o.source.map((v) => ({ scenario: 'replay-feeds', seed: null, ...v })),
      ...o.runs.flatMap((r) => r.violations.map((v) => ({ scenario: r.scenario, seed: r.seed, ...v }))),
    ],
    events: o.runs.reduce((a, r) => a + r.events, 0),
    simulated_ms: simulated,
    wall_ms: o.wallMs,
    speedup: simulated / Math.max(1, o.wallMs),
  };
  writeFileSync(file, `${JSON.stringify(doc, null, 1)}\n`);
  io.err(`replay: wrote ${file}\n`);
}
