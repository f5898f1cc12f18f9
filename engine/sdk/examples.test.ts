/**
 * The examples of docs/sdk.md run here, as the user would run them: each is a file in
 * engine/sdk/examples/ that the guide quotes verbatim, started as its own Node process
 * against a real hub process, with key and certificate files as `aregula keys` and
 * `aregula cert issue` write them (cli/keys.test.ts checks that the CLI writes exactly these).
 * Each process must exit by itself (a clean shutdown leaves nothing running).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  certify,
  killAll,
  REPO_DIR,
  runScript,
  startHub,
  tempDir,
  testIdentity,
} from '../../test/sdk-hub.ts';
import { bytesToHex } from '../hex.ts';
import type { Identity } from '../log/identity.ts';
import { encodeKeyFile } from './key-file.ts';

/** Longest a example may run, ms (tsx compiles it first; the machine may be loaded). */
const SCRIPT_MS_MAX = 60_000;
const EXAMPLES = ['quick-start.ts', 'hub-sync.ts', 'peer-sync.ts'];

afterAll(killAll);

/** Writes `NAME.key` and `NAME.cert` for device `n` in `dir`, as the CLI would; returns the device id. */
function pair(dir: string, owner: Identity, name: string, n: number): string {
  const device = testIdentity(n);
  writeFileSync(join(dir, `${name}.key`), encodeKeyFile('device', device), { mode: 0o600 });
  writeFileSync(join(dir, `${name}.cert`), certify(owner, device));
  return bytesToHex(device.publicKey);
}

function example(name: string): string {
  return join(REPO_DIR, 'engine', 'sdk', 'examples', name);
}

function hashOf(stdout: string): string {
  const m = /^hash ([0-9a-f]{64})$/m.exec(stdout);
  if (m === null) throw new Error(`no hash line in:\n${stdout}`);
  return m[1]!;
}

describe('docs/sdk.md examples', () => {
  test('the guide quotes every example file verbatim', () => {
    const guide = readFileSync(join(REPO_DIR, 'docs', 'sdk.md'), 'utf8');
    for (const name of EXAMPLES) {
      const code = readFileSync(example(name), 'utf8');
      expect(guide.includes(`\`\`\`ts\n${code}\`\`\``), `docs/sdk.md quotes ${name}`).toBe(true);
    }
  });

  test('quick-start prints what its comments say', async () => {
    const r = await runScript(example('quick-start.ts'), [], SCRIPT_MS_MAX);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"done":false,"text":"call Ada"}\n1\n64 64\n');
  });

  test('hub-sync: two devices converge through a hub process', async () => {
    const dir = tempDir('sdk-examples');
    const owner = testIdentity(600);
    pair(dir, owner, 'a', 601);
    pair(dir, owner, 'b', 602);
    const hub = await startHub(owner.publicKey, join(dir, 'hub'));
    const run = (d: string) =>
      runScript(
        example('hub-sync.ts'),
        [hub.url, join(dir, `${d}.key`), join(dir, `${d}.cert`), join(dir, `data-${d}`), `note-${d}`],
        SCRIPT_MS_MAX,
      );
    const a1 = await run('a');
    expect(a1.code, a1.stderr).toBe(0);
    expect(a1.stdout).toMatch(/^status hub online\nstatus hub syncing\nstatus hub synced\n/);
    expect(a1.stdout).toMatch(/^notes note-a$/m);
    const b = await run('b');
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/^notes note-a,note-b$/m);
    const a2 = await run('a');
    expect(a2.code, a2.stderr).toBe(0);
    expect(a2.stdout).toMatch(/^notes note-a,note-b$/m);
    expect(hashOf(a2.stdout)).toBe(hashOf(b.stdout));
    expect(await hub.stop()).toBe(0);
  });

  test('peer-sync: two processes sync over WebRTC, then both exit on their own', async () => {
    const dir = tempDir('sdk-peers');
    const owner = testIdentity(610);
    const ids = [pair(dir, owner, 'a', 611), pair(dir, owner, 'b', 612)];
    const hub = await startHub(owner.publicKey, join(dir, 'hub'));
    const [a, b] = await Promise.all(
      (['a', 'b'] as const).map((d, i) =>
        runScript(
          example('peer-sync.ts'),
          [hub.url, join(dir, `${d}.key`), join(dir, `${d}.cert`), ids[1 - i]!, `note-${d}`],
          SCRIPT_MS_MAX,
        ),
      ),
    );
    expect(a!.code, a!.stderr).toBe(0);
    expect(b!.code, b!.stderr).toBe(0);
    expect(hashOf(a!.stdout)).toBe(hashOf(b!.stdout));
    expect(await hub.stop()).toBe(0);
  });
});
