/**
 * The hub side of `sync.hub-initial`, run as its own process (`node --import tsx
 * hub-process.ts N DATA_DIR`), as a hub on a shelf is its own machine: it builds the source
 * device's feed of N entries, serves a counted hub (`counted-hub.ts`) on a loopback port over
 * DATA_DIR, fills it with that feed, and prints one line, `{"ready": HubProcessReady}`.
 *
 * Then it answers lines on stdin: `bytes` with `{"bytes": N}` (every byte its connections
 * carried so far), `close` by closing the hub and exiting. It also closes when stdin ends, so
 * a bench that dies does not leave it serving.
 */

import { createInterface } from 'node:readline';
import { startCountedHub } from './counted-hub.ts';
import { buildSource, fillHub } from './fixtures.ts';

/** What the hub process reports once it serves. */
export interface HubProcessReady {
  /** The hub's base URL on the loopback interface. */
  url: string;
  /** Entries in the source's feed (the hub holds them all). */
  n: number;
  /** The source's `stateHash()`: what a device holding every entry must have. */
  stateHash: string;
  /** Lowercase hex of the source's key (the feed's author). */
  author: string;
  /** The entries' encoded size (body, flags, signature), summed. */
  entryBytes: number;
}

async function main(argv: string[]): Promise<void> {
  const n = Number(argv[0]);
  const dataDir = argv[1];
  if (!Number.isSafeInteger(n) || n < 1 || dataDir === undefined) {
    process.stderr.write('usage: hub-process.ts N DATA_DIR\n');
    process.exitCode = 2;
    return;
  }
  const source = buildSource(n);
  const hub = await startCountedHub(dataDir);
  fillHub(hub.hub, source);
  const ready: HubProcessReady = {
    url: hub.url,
    n,
    stateHash: source.device.db.stateHash(),
    author: source.device.hex,
    entryBytes: source.entryBytes,
  };
  source.device.db.close();
  process.stdout.write(`${JSON.stringify({ ready })}\n`);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= hub.close();
    return closing;
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line === 'bytes') process.stdout.write(`${JSON.stringify({ bytes: hub.wireBytes() })}\n`);
    else if (line === 'close') lines.close();
  });
  await new Promise<void>((resolve) => lines.once('close', resolve));
  await close();
}

await main(process.argv.slice(2));
