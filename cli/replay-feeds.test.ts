/**
 * `aregula export-feeds` and `aregula replay --feeds` end to end, in-process: an export from a
 * simulated peer and from a database directory on disk replays cleanly (exit 0); a manifest
 * with a wrong state hash is a divergence (exit 1, with a failure file and the replay command);
 * a tampered feed file and bad arguments cannot run (exit 2).
 */

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Database } from '../engine/db/database.ts';
import { MANIFEST_FILE } from '../engine/db/feed-export.ts';
import { NodeFs } from '../engine/io/node-fs.ts';
import { identityFromSeed } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import type { CliIo } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, EXIT_VIOLATION } from './command.ts';
import { main } from './main.ts';

let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'aregula-replay-feeds-'));
});

afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

/** Runs `aregula args` in-process, in the temporary working directory. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), tty: undefined, cwd };
  const code = await main(args, io);
  return { code, out, err };
}

function manifestOf(dir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(cwd, dir, MANIFEST_FILE), 'utf8'));
}

describe('aregula export-feeds and replay --feeds', () => {
  it('exports a simulated peer and replays it at every seed (exit 0), with JSON in the sim shape', async () => {
    const exp = await run('export-feeds', '--sim', 'offline-edit', '--seed', '3', '--out', 'ex');
    expect(exp.err).not.toContain('could not');
    expect(exp.code).toBe(EXIT_OK);
    expect(exp.out).toContain('replay it: npx aregula replay --feeds ex');
    const files = readdirSync(join(cwd, 'ex'));
    expect(files).toContain(MANIFEST_FILE);
    expect(files.filter((f) => f.endsWith('.arf')).length).toBeGreaterThan(1);

    const r = await run('replay', '--feeds', 'ex', '--seeds', '4', '--json', 'out/replay.json');
    expect(r.err).not.toContain('DIVERGENCE');
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain('4 replays, 4 reached the source state, 0 diverged');
    const doc = JSON.parse(readFileSync(join(cwd, 'out', 'replay.json'), 'utf8'));
    expect(doc.runs.map((x: { seed: number }) => x.seed)).toEqual([1, 2, 3, 4]);
    expect(doc.violations).toEqual([]);
    expect(doc.export.state_hash).toBe(manifestOf('ex').stateHash);
    for (const x of doc.runs) expect(x.trace_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('exports a closed database directory without its identity', async () => {
    const store = join(cwd, 'store');
    const clock = { t: 1_700_000_000_000, nowMs: () => clock.t++ };
    const db = Database.open({
      fs: new NodeFs(store),
      identity: identityFromSeed(new Uint8Array(32).fill(9)),
      clock,
      signer: nodeSigner,
    });
    for (let i = 0; i < 30; i++) db.collection('notes').patch(`n${i % 5}`, { i });
    db.commit();
    const hash = db.stateHash();
    db.close();
    const exp = await run('export-feeds', '--db', 'store', '--out', 'ex');
    expect(exp.code).toBe(EXIT_OK);
    expect(manifestOf('ex')).toMatchObject({ stateHash: hash, sourceStateHash: hash, omittedEntries: 0 });
    const r = await run('replay', '--feeds', 'ex', '--seed', '7');
    expect(r.code).toBe(EXIT_OK);
  });

  it('reports a manifest whose state hash is wrong as a divergence (exit 1) with a failure file', async () => {
    expect((await run('export-feeds', '--sim', 'offline-edit', '--seed', '3', '--out', 'ex')).code).toBe(
      EXIT_OK,
    );
    const m = manifestOf('ex');
    m.stateHash = 'e'.repeat(64);
    writeFileSync(join(cwd, 'ex', MANIFEST_FILE), JSON.stringify(m, null, 1));
    const r = await run('replay', '--feeds', 'ex', '--seeds', '2');
    expect(r.code).toBe(EXIT_VIOLATION);
    expect(r.err).toContain('DIVERGENCE in the export itself: [source]');
    expect(r.err).toMatch(/DIVERGENCE at seed 1:\n {2}\[state-hash\]/);
    expect(r.err).toContain('replay: npx aregula replay --feeds ex --seed 1');
    const failure = JSON.parse(
      readFileSync(join(cwd, 'reports', 'out', 'sim-failures', 'replay-feeds-1.json'), 'utf8'),
    );
    expect(failure).toMatchObject({
      kind: 'replay-feeds-failure',
      replay: 'npx aregula replay --feeds ex --seed 1',
      ok: false,
    });
    expect(failure.trace_tail.length).toBeGreaterThan(0);
  });

  it('refuses a tampered export with its typed error (exit 2)', async () => {
    expect((await run('export-feeds', '--sim', 'offline-edit', '--seed', '3', '--out', 'ex')).code).toBe(
      EXIT_OK,
    );
    const feed = readdirSync(join(cwd, 'ex')).find((f) => f.endsWith('.arf'))!;
    const bytes = readFileSync(join(cwd, 'ex', feed));
    bytes[60] = bytes[60]! ^ 0xff;
    writeFileSync(join(cwd, 'ex', feed), bytes);
    const r = await run('replay', '--feeds', 'ex');
    expect(r.code).toBe(EXIT_CANNOT_RUN);
    expect(r.err).toContain('is refused: FeedExportError ARE_CORRUPTION');
    expect(r.err).toContain('checksum');
  });

  it.each([
    [['replay', '--feeds', 'nowhere'], /--feeds .*nowhere: no such directory/],
    [['replay', '--feeds', '.', 'offline-edit'], /takes no scenario or seed arguments/],
    [['replay', 'offline-edit'], /replay needs SCENARIO SEED, or --feeds DIR/],
    [['replay', 'offline-edit', '1', '--seeds', '3'], /go with --feeds/],
    [['replay', '--feeds', '.', '--seeds', 'x'], /--seeds: "x" is not a whole number/],
    [['export-feeds', '--db', 'a'], /required option '--out <dir>' not specified/],
    [['export-feeds', '--out', 'o'], /exactly one of --db and --sim/],
    [['export-feeds', '--out', 'o', '--db', 'a', '--sim', 'offline-edit'], /exactly one of --db and --sim/],
    [['export-feeds', '--out', 'o', '--sim', 'offline-edit'], /--sim needs --seed/],
    [['export-feeds', '--out', 'o', '--sim', 'nosuch', '--seed', '1'], /unknown scenario "nosuch"/],
    [['export-feeds', '--out', 'o', '--db', 'missing'], /--db .*missing: no such directory/],
  ])('%j exits 2 with a message', async (args, message) => {
    const r = await run(...args);
    expect(r.code).toBe(EXIT_CANNOT_RUN);
    expect(r.err).toMatch(message);
  });

  it('will not export into a non-empty directory', async () => {
    writeFileSync(join(cwd, 'keep'), 'x');
    const r = await run('export-feeds', '--sim', 'offline-edit', '--seed', '1', '--out', '.');
    expect(r.code).toBe(EXIT_CANNOT_RUN);
    expect(r.err).toMatch(/is not empty/);
    expect(existsSync(join(cwd, MANIFEST_FILE))).toBe(false);
  });
});
