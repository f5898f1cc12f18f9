import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DCLinter } from 'dclint';
import { describe, expect, it } from 'vitest';

/**
 * dclint's schema validation plus its default rules at their default levels, except that ports
 * are quoted with double quotes (the repository's formatter, Biome, writes YAML strings so).
 */
function lint(path: string) {
  const rules: ConstructorParameters<typeof DCLinter>[0]['rules'] = {
    'require-quotes-in-ports': [2, { quoteType: 'double' }],
  };
  const linter = new DCLinter({ rules, quiet: false, debug: false, exclude: [] });
  const [result] = linter.lintFiles([path], false);
  if (result === undefined) throw new Error(`dclint returned no result for ${path}`);
  return result;
}

describe('compose.yaml', () => {
  it('is a valid Compose file with no lint warnings (checked offline: CI has no Docker engine)', () => {
    const result = lint('compose.yaml');
    expect(result.messages.map((m: { line: number; message: string }) => `${m.line}: ${m.message}`)).toEqual(
      [],
    );
    expect(result.errorCount).toBe(0);
  });

  it('runs the hub command the CLI actually has, on the port its health check probes', () => {
    const text = readFileSync('compose.yaml', 'utf8');
    expect(text).toContain('node bin/aregula.js hub --host 0.0.0.0 --port 8787 --data /data');
    expect(text).toContain('"0.0.0.0:8787:8787"');
    expect(text).toContain('http://127.0.0.1:8787/v1/health');
  });

  it('the validation fails on a broken file (so the check above can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aregula-compose-'));
    try {
      const broken = join(dir, 'compose.yaml');
      writeFileSync(broken, 'services:\n  hub:\n    image: 42\n    ports: not-a-list\n');
      expect(lint(broken).errorCount).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
