import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hexToBytes } from '../engine/hex.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { decodeKeyFile } from '../engine/sdk/key-file.ts';
import {
  CERTIFICATE_BYTES,
  decodeCertificate,
  decodeRevocation,
  REVOCATION_BYTES,
  verifyCertificate,
  verifyRevocation,
} from '../engine/sync/pairing.ts';
import { memoryLog } from '../hub/log.ts';
import { startHubServer } from '../hub/server.ts';
import type { CliIo } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK } from './command.ts';
import { main } from './main.ts';

const dir = mkdtempSync(join(tmpdir(), 'aregula-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), tty: undefined, cwd: dir };
  const code = await main(args, io);
  return { code, out, err };
}

describe('aregula keys and cert', () => {
  it('makes owner and device keys, issues a certificate and a revocation the owner signed', async () => {
    const owner = await run('keys', 'owner', '--out', 'owner.key');
    expect(owner.code).toBe(EXIT_OK);
    expect(owner.out).toMatch(/^[0-9a-f]{64}\n$/);
    expect(statSync(join(dir, 'owner.key')).mode & 0o777).toBe(0o600);
    const ownerKey = decodeKeyFile(readFileSync(join(dir, 'owner.key'), 'utf8'), 'owner').identity;
    const device = await run('keys', 'device', '--out', 'device.key');
    expect(device.code).toBe(EXIT_OK);
    const devicePub = device.out.trim();
    expect(await run('keys', 'show', 'device.key')).toMatchObject({ code: 0, out: `device ${devicePub}\n` });

    // By key file and by hex: the same device.
    for (const [out, dev] of [
      ['a.cert', 'device.key'],
      ['b.cert', devicePub],
    ] as const) {
      const r = await run(
        'cert',
        'issue',
        '--owner',
        'owner.key',
        '--device',
        dev,
        '--out',
        out,
        '--expires-in-days',
        '30',
      );
      expect(r.code).toBe(EXIT_OK);
      const bytes = new Uint8Array(readFileSync(join(dir, out)));
      expect(bytes.length).toBe(CERTIFICATE_BYTES);
      expect(Buffer.from(bytes).toString('base64url')).toBe(r.out.trim());
      const cert = decodeCertificate(bytes);
      expect(Buffer.from(cert.device).toString('hex')).toBe(devicePub);
      expect(cert.expiresAtMs - cert.issuedAtMs).toBe(30 * 86_400_000);
      expect(
        verifyCertificate(cert, { owner: ownerKey.publicKey, nowMs: Date.now(), signer: nodeSigner }),
      ).toBe(true);
    }
    const rev = await run(
      'cert',
      'revoke',
      '--owner',
      'owner.key',
      '--device',
      devicePub,
      '--out',
      'd.revoked',
    );
    expect(rev.code).toBe(EXIT_OK);
    const revocation = decodeRevocation(new Uint8Array(readFileSync(join(dir, 'd.revoked'))));
    expect(revocation.bytes.length).toBe(REVOCATION_BYTES);
    expect(verifyRevocation(revocation, { owner: ownerKey.publicKey, signer: nodeSigner })).toBe(true);
  });

  it('refuses wrong arguments with a clear message and exit 2, writing nothing', async () => {
    writeFileSync(join(dir, 'junk.key'), 'not json');
    writeFileSync(join(dir, 'other.key'), '{"format":"aregula-key","version":2}');
    await run('keys', 'owner', '--out', 'o2.key');
    await run('keys', 'device', '--out', 'd2.key');
    const cases: [string[], RegExp][] = [
      [['keys'], /Usage: aregula keys/],
      [['keys', 'owner'], /required option '--out <file>'/],
      [['keys', 'owner', '--out', 'o2.key'], /exists \(pass --force/],
      [['keys', 'owner', '--out', 'no/such/dir/k.key'], /cannot write/],
      [['keys', 'show', 'missing.key'], /cannot read missing.key: ENOENT/],
      [['keys', 'show', 'junk.key'], /not a key file \(not JSON\)/],
      [['cert', 'issue', '--device', 'd2.key', '--out', 'x.cert'], /required option '--owner <file>'/],
      [['cert', 'issue', '--owner', 'o2.key', '--out', 'x.cert'], /required option '--device <key>'/],
      [
        ['cert', 'issue', '--owner', 'd2.key', '--device', 'd2.key', '--out', 'x.cert'],
        /expected a owner key, got a device key/,
      ],
      [
        ['cert', 'issue', '--owner', 'o2.key', '--device', 'o2.key', '--out', 'x.cert'],
        /expected a device key, got a owner key/,
      ],
      [
        ['cert', 'issue', '--owner', 'other.key', '--device', 'd2.key', '--out', 'x.cert'],
        /unsupported key file version 2/,
      ],
      [
        ['cert', 'issue', '--owner', 'o2.key', '--device', 'abc123', '--out', 'x.cert'],
        /64 lowercase hex digits/,
      ],
      [
        [
          'cert',
          'issue',
          '--owner',
          'o2.key',
          '--device',
          'd2.key',
          '--out',
          'x.cert',
          '--expires-in-days',
          '0',
        ],
        /outside 1\.\.36500/,
      ],
      [
        [
          'cert',
          'issue',
          '--owner',
          'o2.key',
          '--device',
          'd2.key',
          '--out',
          'x.cert',
          '--expires-in-days',
          'soon',
        ],
        /not a whole number/,
      ],
      [
        ['cert', 'revoke', '--owner', 'o2.key', '--device', 'd2.key', '--out', 'x.rev', '--hub', 'ftp://x'],
        /--hub must be an http/,
      ],
      [['cert', 'frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args);
      expect({ args, code: r.code }).toEqual({ args, code: EXIT_CANNOT_RUN });
      expect(r.err, args.join(' ')).toMatch(message);
    }
    expect(() => statSync(join(dir, 'x.cert'))).toThrow();
    expect(() => statSync(join(dir, 'x.rev'))).toThrow();
  });

  it('says so when the hub is unreachable for a revocation (exit 2)', async () => {
    await run('keys', 'owner', '--out', 'o3.key');
    const pub = '11'.repeat(32);
    const r = await run(
      'cert',
      'revoke',
      '--owner',
      'o3.key',
      '--device',
      pub,
      '--out',
      'r3',
      '--hub',
      'http://127.0.0.1:9',
    );
    expect(r.code).toBe(EXIT_CANNOT_RUN);
    expect(r.err).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('delivers a revocation to a hub with --hub; a hub of another owner refuses it (exit 2)', async () => {
    const ownerPub = (await run('keys', 'owner', '--out', 'o4.key')).out.trim();
    const otherPub = (await run('keys', 'owner', '--out', 'o5.key')).out.trim();
    const device = (await run('keys', 'device', '--out', 'd4.key')).out.trim();
    const hubs = await Promise.all(
      [ownerPub, otherPub].map((o, i) =>
        startHubServer({ dataDir: join(dir, `hub-${i}`), port: 0, owner: hexToBytes(o), log: memoryLog() }),
      ),
    );
    try {
      const ok = await run(
        'cert',
        'revoke',
        '--owner',
        'o4.key',
        '--device',
        device,
        '--out',
        'r4',
        '--hub',
        hubs[0]!.url,
      );
      expect(ok.code).toBe(EXIT_OK);
      expect(ok.err).toMatch(/delivered to .*"already":false/);
      expect(hubs[0]!.hub.access.feedStatus(device)).toBe('revoked');
      const refused = await run(
        'cert',
        'revoke',
        '--owner',
        'o4.key',
        '--device',
        device,
        '--out',
        'r5',
        '--hub',
        hubs[1]!.url,
      );
      expect(refused.code).toBe(EXIT_CANNOT_RUN);
      expect(refused.err).toMatch(/refused the revocation: 403/);
    } finally {
      await Promise.all(hubs.map((h) => h.close()));
    }
  });
});
