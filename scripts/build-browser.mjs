#!/usr/bin/env node
// Builds the browser bundle of the SDK: `dist/browser/aregula.js`, one ES module with every
// dependency inside and no Node-only import (engine/index.ts imports none; esbuild with
// platform "browser" refuses `node:` modules, and this script checks the output too).
// Usage: node scripts/build-browser.mjs [OUT_DIR]   (npm run build:browser)
//
// esbuild comes with tsx (a dependency of this package), so it is resolved through tsx.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Builds the bundle of `entry` (default engine/index.ts) into `outDir`; returns the bundle's
 * path, size and input modules. Throws on a Node-only import. `alias` maps module names to
 * files (the browser tests swap `vitest` for a small shim).
 */
export async function buildBrowser(
  outDir = join(ROOT, 'dist', 'browser'),
  entry = join(ROOT, 'engine', 'index.ts'),
  alias = {},
) {
  const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
  const esbuild = await import(pathToFileURL(fromTsx.resolve('esbuild')).href);
  const outfile = join(outDir, 'aregula.js');
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'eof',
    alias,
  });
  const output = result.metafile.outputs[Object.keys(result.metafile.outputs).find((k) => k.endsWith('.js'))];
  const imports = output.imports.map((i) => i.path);
  if (imports.length > 0) throw new Error(`the browser bundle imports ${imports.join(', ')}`);
  const text = readFileSync(outfile, 'utf8');
  const node = /\b(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:[a-z_/]+["']/.exec(text);
  if (node !== null) throw new Error(`the browser bundle contains a Node import: ${node[0]}`);
  return { outfile, bytes: text.length, inputs: Object.keys(result.metafile.inputs) };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] === undefined ? undefined : resolve(process.argv[2]);
  const { outfile, bytes, inputs } = await buildBrowser(out);
  console.log(
    `build-browser: wrote ${outfile} (${(bytes / 1024).toFixed(0)} KiB from ${inputs.length} modules)`,
  );
}
