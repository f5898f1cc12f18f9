import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
