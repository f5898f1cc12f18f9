/**
 * Building the report: read the inputs, shape them, render the charts, and write
 * `index.html` and `summary.md` into the output folder.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html.ts';
import type { ReportInputs } from './inputs.ts';
import { renderMarkdown } from './markdown.ts';
import { buildModel, type ReportModel } from './model.ts';

/** The page's file name in the output folder. */
export const PAGE_FILE = 'index.html';
/** The Markdown summary's file name in the output folder. */
export const SUMMARY_FILE = 'summary.md';

/** What {@link writeReport} wrote. */
export interface WrittenReport {
  model: ReportModel;
  pagePath: string;
  summaryPath: string;
  /** The Markdown summary's text. */
  summary: string;
  pageBytes: number;
  charts: number;
}

/** Renders the page and the summary from `inputs` and writes them into `outDir`. */
export async function writeReport(
  inputs: ReportInputs,
  options: { outDir: string; generatedAt: Date },
): Promise<WrittenReport> {
  const model = await buildModel(inputs, options.generatedAt);
  const html = renderHtml(model);
  const markdown = renderMarkdown(model);
  mkdirSync(options.outDir, { recursive: true });
  const pagePath = join(options.outDir, PAGE_FILE);
  const summaryPath = join(options.outDir, SUMMARY_FILE);
  writeFileSync(pagePath, html);
  writeFileSync(summaryPath, markdown);
  const charts =
    model.bench.reduce((a, b) => a + b.charts.length, 0) +
    model.sim.reduce((a, s) => a + s.charts.length, 0) +
    model.runs.reduce((a, r) => a + r.charts.length, 0);
  return { model, pagePath, summaryPath, summary: markdown, pageBytes: Buffer.byteLength(html), charts };
}
