/**
 * The headless Chromium that browser tests drive (playwright-core with Debian's chromium): its
 * path, the flags measured to work on this project's machines (shared/environment-notes.md),
 * and provisioning through the project's own script when it is missing. A test that needs it
 * calls {@link ensureChromium}, which installs it or fails with the script's last lines: it
 * never skips silently.
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Launch flags for headless runs (no sandbox as root, no GPU, no background traffic). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Longest the provisioning script may run (an apt install on a cold cache). */
export const PROVISION_TIMEOUT_MS = 600_000;

const REPO_DIR = fileURLToPath(new URL('../', import.meta.url));

/** Installs Chromium with the project's script when it is missing; throws when it cannot. */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const script = join(REPO_DIR, 'scripts', 'provision-chromium.sh');
  const result = spawnSync('bash', [script], { encoding: 'utf8', timeout: PROVISION_TIMEOUT_MS });
  if (existsSync(CHROMIUM)) return;
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-10).join('\n');
  throw new Error(
    `Chromium is missing at ${CHROMIUM} and scripts/provision-chromium.sh could not install it ` +
      `(exit ${result.status ?? result.signal ?? result.error?.message}); its last lines:\n${output}`,
  );
}
