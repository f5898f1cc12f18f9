/**
 * The browser bundle (`npm run build:browser`, scripts/build-browser.mjs): one ES module with
 * no import left and nothing Node-only inside; a Node import anywhere fails the build.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
// @ts-expect-error: a plain JavaScript build script without type declarations.
import { buildBrowser } from '../../scripts/build-browser.mjs';

interface Built {
  outfile: string;
  bytes: number;
  inputs: string[];
}
const build = buildBrowser as (outDir: string, entry?: string) => Promise<Built>;
const dir = mkdtempSync(join(tmpdir(), 'aregula-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the browser bundle', () => {
  test('has no import and no Node-only module, and exports the SDK', async () => {
    const built = await build(join(dir, 'ok'));
    const text = readFileSync(built.outfile, 'utf8');
    expect(text).not.toMatch(/["']node:/);
    expect(text).not.toMatch(/^\s*import\s/m);
    expect(
      built.inputs.some((i) => /node-datachannel|node-signer|node-fs|webrtc-node|sdk\/node/.test(i)),
    ).toBe(false);
    expect(built.inputs).toEqual(expect.arrayContaining(['engine/index.ts', 'engine/io/opfs-fs.ts']));
    expect(text).toMatch(/export\s*\{[^}]*\bopen\b/);
    expect(text).toMatch(/export\s*\{[^}]*\bOpfsFs\b/);
  });

  test('fails when a Node module is imported', async () => {
    const entry = join(dir, 'bad.ts');
    writeFileSync(entry, "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n");
    await expect(build(join(dir, 'bad'), entry)).rejects.toThrow(/node:fs/);
    const sdkNode = join(dir, 'bad2.ts');
    writeFileSync(sdkNode, `export * from ${JSON.stringify(join(process.cwd(), 'engine/sdk/node.ts'))};\n`);
    await expect(build(join(dir, 'bad2'), sdkNode)).rejects.toThrow(/node:/);
  });
});
