/**
 * Owner keys and device certificates (docs/formats/key-file.md, docs/formats/pairing.md):
 *
 * - `aregula keys owner --out FILE` / `aregula keys device --out FILE`: a new key file (mode
 *   0600); prints the public key.
 * - `aregula keys show FILE`: the role and public key of a key file.
 * - `aregula cert issue --owner FILE --device KEY --out FILE [--expires-in-days N]`: the
 *   owner signs a 149-byte device certificate (`KEY` is a device's public key in hex or its key
 *   file); prints it in base64url too.
 * - `aregula cert revoke --owner FILE --device KEY --out FILE [--hub URL]`: the owner signs a
 *   141-byte revocation and, with `--hub`, delivers it (`POST /v1/devices/revoke`).
 *
 * Exit codes: 0 done, 2 bad arguments (a missing or malformed file, an existing output
 * without `--force`, a key of the wrong role) or a hub that refused the revocation.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AregulaError } from '../engine/errors.ts';
import { bytesToHex, hexToBytes } from '../engine/hex.ts';
import { generateIdentity, type Identity } from '../engine/log/identity.ts';
import { nodeSigner } from '../engine/log/node-signer.ts';
import { decodeKeyFile, encodeKeyFile, KEY_FILE_BYTES_MAX, type KeyRole } from '../engine/sdk/key-file.ts';
import { toBase64Url } from '../engine/sync/base64.ts';
import { issueCertificate, issueRevocation } from '../engine/sync/pairing.ts';
import type { CliContext, CommandModule } from './command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, UsageError } from './command.ts';
import { parseIntegerIn } from './options.ts';

/** Longest certificate lifetime `--expires-in-days` accepts (100 years). */
export const CERT_DAYS_MAX = 36_500;
const DAY_MS = 86_400_000;
/** How long delivering a revocation may take, ms. */
const REVOKE_TIMEOUT_MS = 10_000;

interface OutFlags {
  out: string;
  force?: boolean;
}

function writeOut(context: CliContext, flags: OutFlags, data: string | Uint8Array, mode: number): string {
  const path = resolve(context.io.cwd, flags.out);
  if (existsSync(path) && flags.force !== true)
    throw new UsageError(`--out: ${flags.out} exists (pass --force to replace it)`);
  try {
    writeFileSync(path, data, { mode });
  } catch (err) {
    throw new UsageError(`--out: cannot write ${flags.out}: ${(err as Error).message}`);
  }
  return path;
}

function readKeyFile(context: CliContext, option: string, file: string, role: KeyRole): Identity {
  const path = resolve(context.io.cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${option}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (text.length > KEY_FILE_BYTES_MAX)
    throw new UsageError(`${option}: ${file} is not a key file (too large)`);
  try {
    return decodeKeyFile(text, role).identity;
  } catch (err) {
    if (err instanceof AregulaError) throw new UsageError(`${option}: ${file}: ${err.message}`);
    throw err;
  }
}

/** A device public key: 64 hex digits, or a device key file. */
function readDeviceKey(context: CliContext, text: string): Uint8Array {
  if (/^[0-9a-f]{64}$/.test(text)) return hexToBytes(text);
  if (/^[0-9a-fA-F]+$/.test(text) && !existsSync(resolve(context.io.cwd, text)))
    throw new UsageError('--device: a public key is 64 lowercase hex digits');
  return readKeyFile(context, '--device', text, 'device').publicKey;
}

function newKey(role: KeyRole, flags: OutFlags, context: CliContext): number {
  const identity = generateIdentity((n) => new Uint8Array(randomBytes(n)));
  writeOut(context, flags, encodeKeyFile(role, identity), 0o600);
  context.io.out(`${bytesToHex(identity.publicKey)}\n`);
  context.io.err(`aregula keys: wrote a new ${role} key to ${flags.out} (keep it secret)\n`);
  return EXIT_OK;
}

interface IssueFlags extends OutFlags {
  owner: string;
  device: string;
  expiresInDays?: string;
}

function issue(flags: IssueFlags, context: CliContext): number {
  const owner = readKeyFile(context, '--owner', flags.owner, 'owner');
  const device = readDeviceKey(context, flags.device);
  const nowMs = Date.now();
  const days =
    flags.expiresInDays === undefined
      ? 0
      : parseIntegerIn('--expires-in-days', flags.expiresInDays, { min: 1, max: CERT_DAYS_MAX });
  const cert = issueCertificate({
    owner,
    device,
    issuedAtMs: nowMs,
    expiresAtMs: days === 0 ? 0 : nowMs + days * DAY_MS,
    signer: nodeSigner,
  });
  writeOut(context, flags, cert.bytes, 0o644);
  context.io.out(`${toBase64Url(cert.bytes)}\n`);
  return EXIT_OK;
}

interface RevokeFlags extends OutFlags {
  owner: string;
  device: string;
  hub?: string;
}

async function revoke(flags: RevokeFlags, context: CliContext): Promise<number> {
  const owner = readKeyFile(context, '--owner', flags.owner, 'owner');
  const device = readDeviceKey(context, flags.device);
  if (flags.hub !== undefined && !/^https?:\/\/[^\s]+$/.test(flags.hub))
    throw new UsageError('--hub must be an http:// or https:// URL');
  const revocation = issueRevocation({ owner, device, revokedAtMs: Date.now(), signer: nodeSigner });
  writeOut(context, flags, revocation.bytes, 0o644);
  context.io.out(`${toBase64Url(revocation.bytes)}\n`);
  if (flags.hub === undefined) return EXIT_OK;
  try {
    const res = await fetch(`${flags.hub.replace(/\/+$/, '')}/v1/devices/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ revocation: toBase64Url(revocation.bytes) }),
      signal: AbortSignal.timeout(REVOKE_TIMEOUT_MS),
    });
    const text = await res.text();
    if (!res.ok) {
      context.io.err(`aregula cert revoke: the hub refused the revocation: ${res.status} ${text}\n`);
      return EXIT_CANNOT_RUN;
    }
    context.io.err(`aregula cert revoke: delivered to ${flags.hub}: ${text}\n`);
    return EXIT_OK;
  } catch (err) {
    context.io.err(`aregula cert revoke: cannot reach ${flags.hub}: ${(err as Error).message}\n`);
    return EXIT_CANNOT_RUN;
  }
}

function registerKeys(program: Command, context: CliContext): void {
  const keys = program.command('keys').description('make and inspect owner and device keys');
  for (const role of ['owner', 'device'] as const) {
    keys
      .command(role)
      .description(`write a new ${role} key file (prints its public key)`)
      .requiredOption('--out <file>', 'where to write the key file')
      .option('--force', 'replace an existing file')
      .action((flags: OutFlags) => {
        context.exitCode = newKey(role, flags, context);
      });
  }
  keys
    .command('show')
    .description('print the role and public key of a key file')
    .argument('<file>', 'a key file')
    .action((file: string) => {
      for (const role of ['owner', 'device'] as const) {
        try {
          const id = readKeyFile(context, 'show', file, role);
          context.io.out(`${role} ${bytesToHex(id.publicKey)}\n`);
          context.exitCode = EXIT_OK;
          return;
        } catch (err) {
          if (!(err instanceof UsageError) || !/expected a/.test(err.message)) throw err;
        }
      }
    });
}

function registerCert(program: Command, context: CliContext): void {
  const cert = program.command('cert').description('issue and revoke device certificates');
  cert
    .command('issue')
    .description('sign a device certificate with the owner key')
    .requiredOption('--owner <file>', 'the owner key file')
    .requiredOption('--device <key>', 'the device public key (64 hex digits) or its key file')
    .requiredOption('--out <file>', 'where to write the certificate (149 bytes)')
    .option('--expires-in-days <n>', 'valid for this many days (default: no expiry)')
    .option('--force', 'replace an existing file')
    .action((flags: IssueFlags) => {
      context.exitCode = issue(flags, context);
    });
  cert
    .command('revoke')
    .description('sign a revocation of a device with the owner key (and deliver it to a hub)')
    .requiredOption('--owner <file>', 'the owner key file')
    .requiredOption('--device <key>', 'the device public key (64 hex digits) or its key file')
    .requiredOption('--out <file>', 'where to write the revocation (141 bytes)')
    .option('--hub <url>', 'deliver the revocation to this hub')
    .option('--force', 'replace an existing file')
    .action(async (flags: RevokeFlags) => {
      context.exitCode = await revoke(flags, context);
    });
}

/** The `keys` subcommand. */
export const keysCommand: CommandModule = { name: 'keys', register: registerKeys };
/** The `cert` subcommand. */
export const certCommand: CommandModule = { name: 'cert', register: registerCert };
