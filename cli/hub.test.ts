import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, startHub, testIdentity } from '../test/sdk-hub.ts';
import type { CliIo } from './command.ts';
import { EXIT_CANNOT_RUN } from './command.ts';
import { main } from './main.ts';

async function run(...args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const io: CliIo = { out: () => {}, err: (t) => (err += t), tty: undefined, cwd: tmpdir() };
  return { code: await main(args, io), err };
}

describe('aregula hub', () => {
  it('refuses bad arguments with exit code 2 and a reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aregula-cli-hub-'));
    try {
      expect(await run('hub', '--data', dir)).toMatchObject({ code: EXIT_CANNOT_RUN });
      expect((await run('hub', '--port', 'x', '--data', dir)).code).toBe(EXIT_CANNOT_RUN);
      expect((await run('hub', '--port', '99999', '--data', dir)).code).toBe(EXIT_CANNOT_RUN);
      const badOwner = await run('hub', '--port', '0', '--data', dir, '--owner', 'zz');
      expect(badOwner).toMatchObject({ code: EXIT_CANNOT_RUN, err: expect.stringMatching(/--owner/) });
      const noOwner = await run('hub', '--port', '0', '--data', join(dir, 'new'));
      expect(noOwner).toMatchObject({
        code: EXIT_CANNOT_RUN,
        err: expect.stringMatching(/owner public key/),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad --cors-origin with exit code 2 and a reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aregula-cli-hub-'));
    try {
      const owner = Buffer.from(testIdentity(1).publicKey).toString('hex');
      for (const bad of ['*', 'null', 'not a url']) {
        const r = await run('hub', '--port', '0', '--data', dir, '--owner', owner, '--cors-origin', bad);
        expect(r).toMatchObject({ code: EXIT_CANNOT_RUN, err: expect.stringMatching(/origin/i) });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers preflights from every --cors-origin it was given, and refuses other origins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aregula-cli-hub-'));
    const listed = ['https://app.example', 'http://localhost:5173'];
    const hub = await startHub(
      testIdentity(1).publicKey,
      dir,
      0,
      listed.flatMap((o) => ['--cors-origin', o]),
    );
    try {
      const preflight = (origin: string) =>
        fetch(`${hub.url}/v1/health`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'GET' },
        });
      for (const origin of listed) {
        const res = await preflight(origin);
        expect(res.status).toBe(204);
        expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      }
      const other = await preflight('https://evil.example');
      expect(other.status).toBe(403);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      expect(await hub.stop()).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

afterAll(killAll);
