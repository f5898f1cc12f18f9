/**
 * `aregula hub --port P --data DIR [--owner HEX] [--host ADDR] [--cors-origin ORIGIN...]`: runs
 * the always-on hub (a
 * full replica on disk, the HTTP + Server-Sent Events API of docs/protocol.md) until SIGTERM
 * or SIGINT, then shuts down gracefully. Logs are JSON lines on stdout. `--owner` (the replica
 * set owner's public key, 64 hex digits) is required the first time a data directory is used
 * and checked against it afterwards. `--cors-origin` (repeatable) lets pages of that web origin
 * call the hub from a browser (docs/protocol.md, "CORS"); without it no other origin may.
 *
 * Exit codes: 0 after a clean shutdown, 2 could not start (bad arguments, a data directory of
 * another owner, a port in use).
 */

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AregulaError } from '../engine/errors.ts';
import { hexToBytes } from '../engine/hex.ts';
import { startHubServer } from '../hub/server.ts';
import type { CliContext, CommandModule } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, UsageError } from './command.ts';
import { parseIntegerIn } from './options.ts';

interface HubFlags {
  port: string;
  data: string;
  owner?: string;
  host?: string;
  corsOrigin: string[];
}

/** Collects a repeatable option's values. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseOwner(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new UsageError('--owner must be 64 lowercase hex digits (a public key)');
  return hexToBytes(text);
}

async function runHub(flags: HubFlags, context: CliContext): Promise<number> {
  const port = parseIntegerIn('--port', flags.port, { min: 0, max: 65535 });
  const owner = parseOwner(flags.owner);
  let server: Awaited<ReturnType<typeof startHubServer>>;
  try {
    server = await startHubServer({
      dataDir: resolve(context.io.cwd, flags.data),
      owner,
      port,
      host: flags.host,
      corsOrigins: flags.corsOrigin,
    });
  } catch (err) {
    if (err instanceof AregulaError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      context.io.err(`aregula hub: ${(err as Error).message}\n`);
      return EXIT_CANNOT_RUN;
    }
    throw err;
  }
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      server.hub.log.log('info', 'signal', { signal });
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      void server.close().then(done);
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  return EXIT_OK;
}

/** The `hub` subcommand. */
export const hubCommand: CommandModule = {
  name: 'hub',
  register(program: Command, context: CliContext): void {
    program
      .command('hub')
      .description('run the always-on hub: a full replica on disk served over HTTP + Server-Sent Events')
      .requiredOption('--port <port>', 'TCP port (0 picks a free one)')
      .requiredOption('--data <dir>', 'data directory (created if missing)')
      .option('--owner <hex>', 'the replica set owner’s public key (required for a new data directory)')
      .option('--host <addr>', 'address to bind (default 127.0.0.1)')
      .option(
        '--cors-origin <origin>',
        'a web origin (e.g. https://app.example) whose pages may call the hub from a browser; repeatable',
        collect,
        [],
      )
      .action(async (flags: HubFlags) => {
        context.exitCode = await runHub(flags, context);
      });
  },
};
