/**
 * A peer process for the hub's end-to-end tests: a database on disk that writes documents
 * while it syncs with a hub through {@link HubClient}. Configured by one JSON argument
 * (`url`, `dataDir`, `deviceSeed` and `certificate` in hex, `prefix`, `writes`, `batch`,
 * `pauseMs`). Answers each `report` line on stdin with one JSON line (writes done, client
 * status, stateHash); exits on `exit` (closing its database cleanly).
 */

import { createInterface } from 'node:readline';
import { Database } from '../engine/db/database.ts';
import { hexToBytes } from '../engine/hex.ts';
import { systemClock } from '../engine/io/clock.ts';
import { NodeFs } from '../engine/io/node-fs.ts';
import { SeededRandom } from '../engine/io/random.ts';
import { identityFromSeed } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { HubClient } from '../engine/sync/hub-client.ts';

interface PeerConfig {
  url: string;
  dataDir: string;
  deviceSeed: string;
  certificate: string;
  prefix: string;
  writes: number;
  batch: number;
  pauseMs: number;
}

const config = JSON.parse(process.argv[2]!) as PeerConfig;
const identity = identityFromSeed(hexToBytes(config.deviceSeed));
const db = Database.open({
  fs: new NodeFs(config.dataDir),
  identity,
  clock: systemClock,
  signer: nodeSigner,
});
const client = new HubClient({
  url: config.url,
  replica: db.replica,
  identity,
  certificate: hexToBytes(config.certificate),
  signer: nodeSigner,
  random: new SeededRandom(identity.publicKey[0]!),
  backoffMsMin: 20,
  backoffMsMax: 500,
  requestTimeoutMs: 5_000,
  resyncIntervalMs: 1_000,
});
client.start();

let written = 0;
async function writeAll(): Promise<void> {
  const notes = db.collection('notes');
  const shared = db.collection('shared');
  while (written < config.writes) {
    for (let i = 0; i < config.batch && written < config.writes; i++, written++) {
      notes.put(`${config.prefix}-${written}`, { by: config.prefix, n: written });
      // Both peers patch the same document: concurrent writes that must merge the same way.
      shared.patch('doc', { last: `${config.prefix}-${written}`, [config.prefix]: written });
    }
    db.commit();
    client.pushLocal();
    await new Promise((r) => setTimeout(r, config.pauseMs));
  }
}
void writeAll();

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'report') {
    const report = {
      written,
      status: client.status,
      stateHash: db.stateHash(),
      failures: client.stats.failures,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else if (line === 'exit') {
    void client.close().then(() => {
      db.close();
      process.exit(0);
    });
  }
});
