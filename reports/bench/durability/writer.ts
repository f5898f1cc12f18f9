/**
 * The child process of the `durability` suite: opens the Aregula database in the directory
 * given as the first argument (on `NodeFs`, recovering from whatever the last kill left), then
 * writes documents one by one until it is killed, each with `{ commit: true }` (the entry is
 * signed and the WAL fsynced before `put` returns). Only then does it print `ack <id>` on
 * stdout, with a synchronous write to the pipe, so an acknowledgement the parent reads always
 * follows the write's sync.
 *
 * Usage: `node --import tsx writer.ts DIR RUN` where `RUN` names this incarnation: document
 * ids are `<RUN>-<i>` and each document is `{ run: RUN, i }`. Prints `ready` once open.
 */

import { writeSync } from 'node:fs';
import { Database } from '../../../engine/db/database.ts';
import { systemClock } from '../../../engine/io/clock.ts';
import { NodeFs } from '../../../engine/io/node-fs.ts';
import { nodeSigner } from '../../../engine/log/node-signer.ts';
import { DURABILITY_COLLECTION, DURABILITY_IDENTITY, WRITER_WRITES_MAX } from './store.ts';

const [dir, run] = process.argv.slice(2);
if (dir === undefined || run === undefined) {
  process.stderr.write('usage: writer.ts DIR RUN\n');
  process.exit(2);
}
const db = Database.open({
  fs: new NodeFs(dir),
  identity: DURABILITY_IDENTITY,
  clock: systemClock,
  signer: nodeSigner,
});
const docs = db.collection(DURABILITY_COLLECTION);
writeSync(1, 'ready\n');
// Bounded: the parent kills the writer long before this; if it does not, the writer stops.
for (let i = 0; i < WRITER_WRITES_MAX; i++) {
  const id = `${run}-${i}`;
  docs.put(id, { run, i }, { commit: true });
  writeSync(1, `ack ${id}\n`);
}
db.close();
