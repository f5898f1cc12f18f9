/**
 * `reports/out/summary.md`: the report's tables in Markdown, for CI logs and pull requests
 * (no charts). Text from inputs is escaped with {@link escapeMarkdown} so it cannot break a
 * table, open a link or inject HTML where Markdown is rendered.
 */

import { formatRate } from '../bench/report.ts';
import {
  formatCount,
  formatMib,
  lineRatio,
  rssPeakOf,
  SUBJECT_SYSTEM,
  type WorkloadTable,
} from './bench-data.ts';
import { formatMs, formatRatio } from './html.ts';
import type { BenchSection, ReportModel, SimSection } from './model.ts';

/** Most failing seeds the summary lists per sim JSON (the page lists them all). */
export const SUMMARY_FAILURES_MAX = 50;

/**
 * Escapes text for a Markdown table cell: HTML-significant characters become entities,
 * Markdown punctuation gets a backslash, and line breaks become spaces.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;');
}

const m = (v: unknown): string => escapeMarkdown(String(v));

/** Text for inline code: backticks and line breaks removed (code spans cannot escape them). */
function code(text: string): string {
  return `\`${text.replace(/[`\r\n|]/g, ' ')}\``;
}

function table(head: readonly string[], rows: readonly string[][], rightFrom = 1): string {
  const align = head.map((_, i) => (i >= rightFrom ? '---:' : '---'));
  return [
    `| ${head.join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function workloadTable(t: WorkloadTable): string {
  const head = [
    'n',
    ...t.variantFields.map(m),
    ...t.systems.map((s) => `${m(s)} ${m(t.unit)}/s`),
    ...t.baselines.map((b) => `${SUBJECT_SYSTEM} ÷ ${m(b)}`),
    ...t.rssSystems.map((s) => `${m(s)} peak MiB`),
  ];
  const rows = t.lines.map((line) => [
    m(formatCount(line.n)),
    ...t.variantFields.map((f) => m(line.variant[f] ?? '-')),
    ...t.systems.map((s) => {
      const row = line.bySystem.get(s);
      return row === undefined ? '-' : m(formatRate(row.ops_per_sec));
    }),
    ...t.baselines.map((b) => {
      const ratio = lineRatio(line, b);
      return ratio !== undefined && ratio < 1 ? `**${formatRatio(ratio)}**` : formatRatio(ratio);
    }),
    ...t.rssSystems.map((s) => {
      const row = line.bySystem.get(s);
      return formatMib(row === undefined ? undefined : rssPeakOf(row));
    }),
  ]);
  return `**${m(t.workload)}**\n\n${table(head, rows, 0)}`;
}

function benchPart(b: BenchSection): string {
  const x = b.machine;
  const machine = `${m(x.cpu)}, ${m(x.cores)} cores, Node ${m(x.node)}, ${m(x.platform)}/${m(x.arch)}, commit ${code(x.commit.slice(0, 12))}, ${m(x.date)}`;
  return [
    `### Bench: ${m(b.suite)} (${m(b.file)})`,
    '',
    machine,
    '',
    ...b.tables.map(workloadTable).flatMap((t) => [t, '']),
  ].join('\n');
}

function simPart(s: SimSection): string {
  const t = s.totals;
  const lines = [
    `### Simulator (${m(s.file)})`,
    '',
    `${t.failed === 0 ? `${t.runs} runs, all passed` : `**${t.failed} of ${t.runs} runs failed**`}; ` +
      `${t.scenarios} scenarios × ${t.seeds} seeds; ${formatMs(t.simulatedMs)} simulated in ${formatMs(t.wallMs)} (${Math.round(t.speedup)}x real time).`,
    '',
    table(
      ['scenario', 'runs', 'failed', 'writes (median)', 'converged median', 'p95', 'max', 'never converged'],
      s.scenarios.map((x) => [
        m(x.scenario),
        String(x.runs),
        x.failed > 0 ? `**${x.failed}**` : '0',
        String(x.writesMedian),
        formatMs(x.convergedMedianMs),
        formatMs(x.convergedP95Ms),
        formatMs(x.convergedMaxMs),
        String(x.notConverged),
      ]),
    ),
    '',
  ];
  if (s.failing.length > 0) {
    lines.push(
      table(
        ['scenario', 'seed', 'checkers', 'first violation', 'replay'],
        s.failing
          .slice(0, SUMMARY_FAILURES_MAX)
          .map((f) => [
            m(f.scenario),
            String(f.seed),
            m(f.checkers.join(', ')),
            m(f.firstMessage.slice(0, 300)),
            f.replay ? code(f.replay) : '-',
          ]),
      ),
      '',
    );
    if (s.failing.length > SUMMARY_FAILURES_MAX)
      lines.push(`(${s.failing.length - SUMMARY_FAILURES_MAX} more failing seeds in the report page)`, '');
  }
  return lines.join('\n');
}

/** Renders the summary. */
export function renderMarkdown(model: ReportModel): string {
  const parts = [
    '# Aregula report',
    '',
    `Generated ${model.generatedAt}; charts and timelines in \`index.html\`.`,
    '',
  ];
  parts.push('## Benchmarks', '');
  if (model.bench.length === 0) parts.push('No bench JSON read.', '');
  for (const b of model.bench) parts.push(benchPart(b));
  parts.push('## Simulator', '');
  if (model.sim.length === 0) parts.push('No sim JSON read.', '');
  for (const s of model.sim) parts.push(simPart(s));
  if (model.runs.length + model.runsNotShown.length > 0) {
    parts.push('## Run files', '');
    const runs = [
      ...model.runs.map((r) => ({ file: r.file, scenario: r.run.scenario, seed: r.run.seed })),
      ...model.runsNotShown,
    ];
    parts.push(
      table(
        ['scenario', 'seed', 'file'],
        runs.map((r) => [m(r.scenario), String(r.seed), m(r.file)]),
        1,
      ),
      '',
    );
  }
  if (model.notes.length > 0) parts.push('## Notes', '', ...model.notes.map((n) => `- ${m(n)}`), '');
  return `${parts.join('\n').trimEnd()}\n`;
}
