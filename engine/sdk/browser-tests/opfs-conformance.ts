/**
 * The FileSystem conformance suite (engine/io/fs-conformance.ts) over the browser's real OPFS,
 * bundled for a dedicated worker with `vitest` aliased to vitest-shim.ts. Each test gets a
 * fresh directory and pool; `reopen` closes the pool and opens a new one over the same
 * directory, as a restarted worker would.
 */

import { runFsConformance } from '../../io/fs-conformance.ts';
import { OpfsFs } from '../../io/opfs-fs.ts';
import { beforeEach, describe, runRegistered, type ShimResult } from './vitest-shim.ts';

/** Slots per test pool: the suite holds a handful of files at once. */
const POOL_SLOTS = 16;

let fs: OpfsFs;
let dir: FileSystemDirectoryHandle;
let n = 0;

describe('OpfsFs on real OPFS', () => {
  beforeEach(async () => {
    const root = await navigator.storage.getDirectory();
    dir = await root.getDirectoryHandle(`conformance-${n++}`, { create: true });
    fs = await OpfsFs.open(dir, { poolSize: POOL_SLOTS });
  });
  runFsConformance('OpfsFs (Chromium OPFS)', () => ({
    fs,
    cleanup: () => fs.close(),
    reopen: async () => {
      fs.close();
      fs = await OpfsFs.open(dir, { poolSize: POOL_SLOTS });
      return fs;
    },
  }));
});

// Any message runs the suite; the worker posts the results back.
self.onmessage = () => {
  void runRegistered().then(
    (results: ShimResult[]) => self.postMessage({ results }),
    (err: unknown) => self.postMessage({ error: String(err) }),
  );
};
