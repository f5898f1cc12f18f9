/**
 * The report page in a real browser: Debian's headless Chromium through playwright-core. The
 * page built from the test fixtures must load with no console error and no request beyond its
 * own file, show its tables, and draw every chart (each SVG laid out with a size). A
 * screenshot goes to `reports/out/report-fixture.png`.
 *
 * With `AREGULA_REPORT_PAGE=FILE` (CI sets it to `reports/out/index.html` after running
 * `aregula report`), the real page gets the same checks and its screenshot goes to
 * `reports/out/index.png`.
 *
 * Chromium comes from `scripts/provision-chromium.sh`; when it is missing the test runs that
 * script, and when it still is missing the test fails (it never skips).
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, ensureChromium, PROVISION_TIMEOUT_MS } from '../../test/chromium.ts';
import { writeReport } from './build.ts';
import { parseBench, parseRunFile, parseSim } from './schema.ts';
import { benchFixture, runFileFixture, simFixture } from './test-fixtures.ts';

const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
const OUT_DIR = join(REPO_DIR, 'reports', 'out');

/** What the page showed. */
interface PageFacts {
  title: string;
  consoleErrors: string[];
  /** Requests for anything but the page's own file. */
  requests: string[];
  tables: number;
  /** Width and height of every chart's SVG as laid out. */
  svgSizes: { width: number; height: number }[];
  headings: string[];
}

/** Opens `file`, gathers {@link PageFacts}, and saves a full-page screenshot to `screenshot`. */
async function inspect(context: BrowserContext, file: string, screenshot: string): Promise<PageFacts> {
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  const url = pathToFileURL(file).href;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  const facts = await page.evaluate(() => ({
    title: document.title,
    tables: document.querySelectorAll('table').length,
    svgSizes: [...document.querySelectorAll('figure.chart svg')].map((svg) => {
      const box = svg.getBoundingClientRect();
      return { width: box.width, height: box.height };
    }),
    headings: [...document.querySelectorAll('h2, h3, h4')].map((h) => h.textContent ?? ''),
  }));
  mkdirSync(OUT_DIR, { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return { ...facts, consoleErrors, requests };
}

describe('the report page in headless Chromium', () => {
  let context: BrowserContext;
  let profile: string;
  let site: string;

  beforeAll(async () => {
    ensureChromium();
    profile = mkdtempSync(join(tmpdir(), 'aregula-report-chromium-'));
    site = mkdtempSync(join(tmpdir(), 'aregula-report-site-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1280, height: 900 },
    });
  }, PROVISION_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await context?.close();
    for (const dir of [profile, site]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the fixture report: no console error, no request, every table and chart', async () => {
    const written = await writeReport(
      {
        bench: [{ file: 'reports/out/bench.json', report: parseBench('b', benchFixture()) }],
        sim: [{ file: 'reports/out/sim.json', report: parseSim('s', simFixture()) }],
        runs: [
          {
            file: 'reports/out/sim-failures/b-2.json',
            source: 'listed',
            run: parseRunFile('r', runFileFixture()),
          },
        ],
        notes: [],
      },
      { outDir: site, generatedAt: new Date('2026-11-24T12:00:00Z') },
    );
    const facts = await inspect(context, written.pagePath, join(OUT_DIR, 'report-fixture.png'));
    expect(facts.consoleErrors).toEqual([]);
    expect(facts.requests).toEqual([]);
    expect(facts.title).toBe('Aregula report');
    // 3 workload tables, scenarios, failing seeds, matrix, fault mixes, nemesis periods.
    expect(facts.tables).toBe(8);
    expect(facts.svgSizes).toHaveLength(written.charts);
    expect(written.charts).toBe(9);
    for (const size of facts.svgSizes) {
      expect(size.width).toBeGreaterThan(100);
      expect(size.height).toBeGreaterThan(50);
    }
    expect(facts.headings).toEqual(
      expect.arrayContaining([
        'Benchmarks',
        'Simulator',
        'Runs',
        'lsm.put',
        'Failing seeds',
        'Timeline',
        'Convergence time',
      ]),
    );
    expect(existsSync(join(OUT_DIR, 'report-fixture.png'))).toBe(true);
  }, 120_000);

  const real = process.env.AREGULA_REPORT_PAGE;
  if (real !== undefined && real !== '') {
    it(`shows ${real}: no console error, no request, tables and drawn charts`, async () => {
      const file = resolve(REPO_DIR, real);
      expect(existsSync(file), `${file} does not exist: run \`aregula report\` first`).toBe(true);
      const facts = await inspect(context, file, join(OUT_DIR, 'index.png'));
      expect(facts.consoleErrors).toEqual([]);
      expect(facts.requests).toEqual([]);
      expect(facts.tables).toBeGreaterThan(0);
      expect(facts.svgSizes.length).toBeGreaterThan(0);
      for (const size of facts.svgSizes) expect(size.width * size.height).toBeGreaterThan(0);
    }, 120_000);
  }
});
