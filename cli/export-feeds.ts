/**
 * `aregula export-feeds --out DIR (--db STORE | --sim SCENARIO --seed S [--peer NAME])`:
 * writes every feed a replica holds as a feed export (docs/formats/feed-export.md), which
 * `aregula replay --feeds DIR` replays.
 *
 * - `--db STORE`: a database directory on disk (Node), closed; no identity is needed.
 * - `--sim SCENARIO --seed S`: runs one simulated world and exports one of its peers after the
 *   run (default: the hub, else the first peer), e.g. to replay what a failing run produced.
 *
 * A running process (a hub, a chaos peer) exports its open `Database` with `exportFeeds(db,
 * new NodeFs(dir))` from engine/db/feed-export.ts instead.
 *
 * Exit codes: 0 exported, 2 could not (bad arguments, a missing or locked store, a non-empty
 * output directory).
 */

import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { exportFeeds, exportStoreFeeds, type FeedExportManifest } from '../engine/db/feed-export.ts';
import { AregulaError } from '../engine/errors.ts';
import { NodeFs } from '../engine/io/node-fs.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { World } from '../sim/world.ts';
import type { CliContext, CliIo, CommandModule } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, UsageError } from './command.ts';
import { parseIntegerIn } from './options.ts';
import { guard, resolveScenarios } from './sim.ts';

/** The options of `export-feeds`. */
export interface ExportFeedsFlags {
  out?: string;
  db?: string;
  sim?: string;
  seed?: string;
  peer?: string;
}

/** Checks that `dir` does not exist or is an empty directory. */
function checkOutDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UsageError(`--out ${dir} is not a directory`);
  if (readdirSync(dir).length > 0) throw new UsageError(`--out ${dir} is not empty`);
}

function fromStore(store: string, out: string): FeedExportManifest {
  if (!existsSync(store) || !statSync(store).isDirectory())
    throw new UsageError(`--db ${store}: no such directory`);
  if (readdirSync(store).length === 0) throw new UsageError(`--db ${store} is empty, not a database`);
  return exportStoreFeeds(new NodeFs(store), new NodeFs(out), {
    signer: nodeSigner,
    note: `exported from ${store}`,
  });
}

function fromSim(flags: ExportFeedsFlags, out: string, io: CliIo): FeedExportManifest {
  const scenario = resolveScenarios([flags.sim!])[0]!;
  if (flags.seed === undefined) throw new UsageError('--sim needs --seed');
  const seed = parseIntegerIn('--seed', flags.seed, { min: 0, max: 2 ** 32 - 1 });
  const world = new World(scenario, seed);
  const run = world.run();
  const names = world.peers.map((p) => p.name);
  const peer =
    flags.peer === undefined
      ? (world.peers.find((p) => p.profile === 'pi') ?? world.peers[0]!)
      : world.peers.find((p) => p.name === flags.peer);
  if (peer === undefined)
    throw new UsageError(`--peer ${flags.peer}: no such peer (peers: ${names.join(', ')})`);
  if (peer.db === undefined) throw new UsageError(`peer ${peer.name} is down at the end of the run`);
  io.err(
    `export-feeds: ran ${scenario.name} seed ${seed} (${run.violations.length} violations); exporting ${peer.name}\n`,
  );
  return exportFeeds(peer.db, new NodeFs(out), {
    note: `sim ${scenario.name} seed ${seed} peer ${peer.name}`,
  });
}

/** Runs `export-feeds`; returns its exit code. */
export function exportFeedsCommand(flags: ExportFeedsFlags, io: CliIo): number {
  if (flags.out === undefined) throw new UsageError('--out DIR is required');
  if ((flags.db === undefined) === (flags.sim === undefined))
    throw new UsageError('give exactly one of --db and --sim');
  if (flags.db !== undefined && (flags.seed !== undefined || flags.peer !== undefined))
    throw new UsageError('--seed and --peer go with --sim');
  const out = resolve(io.cwd, flags.out);
  checkOutDir(out);
  let manifest: FeedExportManifest;
  try {
    manifest = flags.db !== undefined ? fromStore(resolve(io.cwd, flags.db), out) : fromSim(flags, out, io);
  } catch (err) {
    if (!(err instanceof AregulaError)) throw err;
    io.err(`aregula export-feeds: could not export: ${err.code}: ${err.message}\n`);
    return EXIT_CANNOT_RUN;
  }
  const entries = manifest.feeds.reduce((a, f) => a + f.entries, 0);
  io.out(
    `exported ${manifest.feeds.length} feeds, ${entries} entries to ${out}\n` +
      `  state hash ${manifest.stateHash}` +
      (manifest.omittedEntries > 0 ? ` (${manifest.omittedEntries} unsigned local entries left out)` : '') +
      `\n  replay it: npx aregula replay --feeds ${flags.out}\n`,
  );
  return EXIT_OK;
}

/** The `export-feeds` subcommand. */
export const exportFeedsCommandModule: CommandModule = {
  name: 'export-feeds',
  register(program: Command, context: CliContext): void {
    program
      .command('export-feeds')
      .description('write every feed a replica holds to a directory, for `replay --feeds`')
      .requiredOption('--out <dir>', 'the export directory (must be empty or absent)')
      .option('--db <dir>', 'export a closed database directory')
      .option('--sim <scenario>', 'run a simulated world and export one of its peers')
      .option('--seed <s>', 'with --sim: the seed')
      .option('--peer <name>', 'with --sim: the peer (default: the hub, else the first)')
      .action((flags: ExportFeedsFlags) => {
        context.exitCode = guard(context.io, () => exportFeedsCommand(flags, context.io));
      });
  },
};
