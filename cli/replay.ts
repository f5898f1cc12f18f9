/**
 * `aregula replay`, in its two forms:
 *
 * - `aregula replay SCENARIO SEED`: runs one simulated seed twice and proves the trace is
 *   identical (same trace hash); see cli/sim.ts.
 * - `aregula replay --feeds DIR [--seeds N | --seed S] [--json FILE]`: replays exported feeds
 *   into fresh simulated replicas; see cli/replay-feeds.ts.
 */

import type { Command } from 'commander';
import type { CliContext, CommandModule } from './command.ts';
import { UsageError } from './command.ts';
import { type ReplayFeedsFlags, replayFeedsCommand } from './replay-feeds.ts';
import { guard, replay } from './sim.ts';

interface ReplayFlags extends Partial<ReplayFeedsFlags> {}

/** Picks the form from the arguments given; returns the exit code. */
function dispatch(
  context: CliContext,
  scenario: string | undefined,
  seed: string | undefined,
  flags: ReplayFlags,
) {
  const io = context.io;
  if (flags.feeds !== undefined) {
    if (scenario !== undefined)
      throw new UsageError('replay --feeds takes no scenario or seed arguments (use --seed)');
    return replayFeedsCommand({ ...flags, feeds: flags.feeds }, io);
  }
  if (flags.seeds !== undefined || flags.seed !== undefined || flags.json !== undefined)
    throw new UsageError(
      '--seeds, --seed and --json go with --feeds; a scenario replay is: replay SCENARIO SEED',
    );
  if (scenario === undefined || seed === undefined)
    throw new UsageError('replay needs SCENARIO SEED, or --feeds DIR (run with --help for usage)');
  return replay(scenario, seed, io);
}

/** The `replay` subcommand. */
export const replayCommand: CommandModule = {
  name: 'replay',
  register(program: Command, context: CliContext): void {
    program
      .command('replay')
      .description(
        're-run a scenario seed and prove the trace is identical, or replay exported feeds (--feeds)',
      )
      .argument('[scenario]', 'scenario name')
      .argument('[seed]', 'seed')
      .option(
        '--feeds <dir>',
        'replay the feed export in DIR (from `aregula export-feeds`) into fresh replicas',
      )
      .option('--seeds <n>', 'with --feeds: replay seeds 1..n (default 20)')
      .option('--seed <s>', 'with --feeds: replay exactly this seed')
      .option('--json <file>', 'with --feeds: write the results as JSON to FILE')
      .action((scenario: string | undefined, seed: string | undefined, flags: ReplayFlags) => {
        context.exitCode = guard(context.io, () => dispatch(context, scenario, seed, flags));
      });
  },
};
