/**
 * The report page: one self-contained HTML file with inline CSS and the charts' inline SVG,
 * no script and no network (a Content-Security-Policy forbids loading anything). Every text
 * that comes from an input is escaped with {@link escapeHtml}; element ids are made here,
 * never taken from inputs.
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
import type { BenchSection, Chart, ReportModel, RunSection, SimSection } from './model.ts';
import { faultSettings } from './sim-data.ts';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Shorthand: escape any value's text form. */
const e = (v: unknown): string => escapeHtml(String(v));

/** `1.25x`, or `-` when there is no ratio. */
export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined) return '-';
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}x`;
}

/** Milliseconds as people read them: `850 ms`, `12.3 s`. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A number from an extra field: integers as is, others with three significant digits. */
function formatNumber(v: unknown): string {
  if (typeof v !== 'number') return '-';
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toPrecision(3);
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1f;margin:0;background:#fafafa}
header,main{max-width:1180px;margin:0 auto;padding:0 20px}
header{padding-top:18px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:20px;margin:28px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}
h4{font-size:14px;margin:14px 0 4px}
nav a{margin-right:14px}
.meta{color:#555;font-size:13px}
section.card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:8px 16px 14px;margin:14px 0}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px;background:#fff}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.fast{color:#176b2c;font-weight:600}
td.slow{color:#a3261b;font-weight:600}
table.matrix td{padding:0;width:14px;height:14px;text-align:center;font-size:10px}
table.matrix th{font-size:10px;padding:1px 3px}
table.matrix td:first-child{white-space:nowrap;padding:0 6px;width:auto;font-size:12px;text-align:left}
td.pass{background:#cfe9d5}
td.fail{background:#f08a80}
.bad{color:#a3261b;font-weight:600}
.good{color:#176b2c;font-weight:600}
figure{margin:10px 0;overflow-x:auto}
figcaption{color:#555;font-size:12px;margin-top:2px}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
code.cmd{background:#f2f2f2;padding:1px 4px;border-radius:3px;user-select:all}
pre{background:#f6f6f6;border:1px solid #e3e3e3;padding:8px;overflow-x:auto;max-height:360px}
ul.notes{color:#555;font-size:13px}
`;

function table(
  head: readonly string[],
  rows: readonly string[][],
  options: { numeric?: number[]; cls?: string } = {},
): string {
  const numeric = new Set(options.numeric ?? []);
  const th = head.map((h, i) => `<th${numeric.has(i) ? ' class="num"' : ''}>${h}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.join('')}</tr>`).join('\n');
  return `<table${options.cls ? ` class="${options.cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const td = (html: string, cls?: string): string => `<td${cls ? ` class="${cls}"` : ''}>${html}</td>`;
const num = (html: string, extra = ''): string => td(html, `num${extra ? ` ${extra}` : ''}`);

function figure(chart: Chart): string {
  return `<figure class="chart"><h4>${e(chart.title)}</h4>${chart.svg}<figcaption>${e(chart.caption)}</figcaption></figure>`;
}

/** One workload's table: a line per size, each system's ops/s, ratios, extra fields. */
function workloadTable(t: WorkloadTable): string {
  const head = [
    'n',
    ...t.variantFields.map(e),
    ...t.systems.map((s) => `${e(s)} ${e(t.unit)}/s`),
    ...t.baselines.map((b) => `${SUBJECT_SYSTEM} ÷ ${e(b)}`),
    ...t.extras.flatMap((x) => x.systems.map((s) => `${e(x.field)} (${e(s)})`)),
    ...t.rssSystems.map((s) => `peak MiB (${e(s)})`),
  ];
  const rows = t.lines.map((line) => [
    num(e(formatCount(line.n))),
    ...t.variantFields.map((f) => num(e(line.variant[f] ?? '-'))),
    ...t.systems.map((s) => {
      const row = line.bySystem.get(s);
      return num(row === undefined ? '-' : e(formatRate(row.ops_per_sec)));
    }),
    ...t.baselines.map((b) => {
      const ratio = lineRatio(line, b);
      return num(e(formatRatio(ratio)), ratio === undefined ? '' : ratio >= 1 ? 'fast' : 'slow');
    }),
    ...t.extras.flatMap((x) => x.systems.map((s) => num(e(formatNumber(line.bySystem.get(s)?.[x.field]))))),
    ...t.rssSystems.map((s) => {
      const row = line.bySystem.get(s);
      return num(e(formatMib(row === undefined ? undefined : rssPeakOf(row))));
    }),
  ]);
  const numeric = head.map((_, i) => i);
  return `<h4>${e(t.workload)}</h4>\n${table(head, rows, { numeric, cls: 'bench' })}`;
}

function benchSection(b: BenchSection, index: number): string {
  const m = b.machine;
  const memoryGiB = (m.memoryBytes / 1024 ** 3).toFixed(1);
  const machine =
    `${e(m.cpu)}, ${e(m.cores)} cores, ${e(memoryGiB)} GiB, ${e(m.platform)}/${e(m.arch)}; ` +
    `Node ${e(m.node)}; commit <code>${e(m.commit)}</code>; run ${e(m.date)}`;
  const notes = b.tables.some((t) => t.baselines.length > 0)
    ? `<p class="meta">Ratios are ${SUBJECT_SYSTEM}'s ops/s divided by the baseline's, measured in the same run (above 1: ${SUBJECT_SYSTEM} is faster).</p>`
    : '';
  return `<section class="card bench" id="bench-${index}">
<h3>Suite ${e(b.suite)} <span class="meta">(${e(b.file)})</span></h3>
<p class="meta machine">${machine}</p>
${notes}
${b.tables.map(workloadTable).join('\n')}
${b.charts.map(figure).join('\n')}
</section>`;
}

function seedMatrixTable(s: SimSection): string {
  const { matrix } = s;
  const head = ['scenario', ...matrix.seeds.map((seed) => e(seed))];
  const rows = matrix.scenarios.map((scenario) => {
    const cells = matrix.cells.get(scenario)!;
    return [
      td(e(scenario)),
      ...matrix.seeds.map((seed) => {
        const ok = cells.get(seed);
        if (ok === undefined) return td('');
        return ok ? td('', 'pass') : td('✗', 'fail');
      }),
    ];
  });
  const hidden =
    matrix.seedsHidden > 0
      ? `<p class="meta">${matrix.seedsHidden} more seeds are not shown as columns; every failing seed is listed below.</p>`
      : '';
  return `<h4>Scenarios × seeds</h4>${table(head, rows, { cls: 'matrix' })}${hidden}`;
}

function simSummaryTable(s: SimSection): string {
  const head = [
    'scenario',
    'runs',
    'failed',
    'writes (median)',
    'crashes',
    'converged median',
    'p95',
    'max',
    'never converged',
    'events',
    'wall',
  ];
  const rows = s.scenarios.map((x) => [
    td(e(x.scenario)),
    num(e(x.runs)),
    num(e(x.failed), x.failed > 0 ? 'slow' : ''),
    num(e(x.writesMedian)),
    num(e(x.crashesTotal)),
    num(e(formatMs(x.convergedMedianMs))),
    num(e(formatMs(x.convergedP95Ms))),
    num(e(formatMs(x.convergedMaxMs))),
    num(e(x.notConverged), x.notConverged > 0 ? 'slow' : ''),
    num(e(x.eventsTotal.toLocaleString('en-US'))),
    num(e(formatMs(x.wallMsTotal))),
  ]);
  return table(head, rows, { numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], cls: 'scenarios' });
}

function failingTable(s: SimSection): string {
  if (s.failing.length === 0) return '<p class="good">Every run held every check.</p>';
  const rows = s.failing.map((f) => [
    td(e(f.scenario)),
    num(e(f.seed)),
    td(e(f.checkers.join(', '))),
    td(
      `${e(f.firstMessage)}${f.violations > 1 ? ` <span class="meta">(+${f.violations - 1} more)</span>` : ''}`,
    ),
    td(
      [f.replay, f.shrunkReplay]
        .filter((c): c is string => c !== undefined)
        .map((c) => `<code class="cmd">${e(c)}</code>`)
        .join('<br>') || '<span class="meta">(scenario name not a plain word; replay by hand)</span>',
    ),
    td(
      [f.file, f.shrunkFile]
        .filter((x) => x !== undefined)
        .map(e)
        .join('<br>'),
    ),
  ]);
  return `<h4 class="bad">Failing seeds</h4>${table(['scenario', 'seed', 'checkers', 'first violation', 'replay', 'history and trace'], rows, { numeric: [1], cls: 'failing' })}`;
}

function faultMixTable(s: SimSection): string {
  const settings = [...new Set(s.faultMix.map((f) => f.setting))];
  const rows = settings.map((setting) => {
    const values = s.faultMix.filter((f) => f.setting === setting);
    const drawn = values.map((f) => `${e(f.value)}: ${e(f.runs)}`).join(', ');
    const failing = values
      .filter((f) => f.failed > 0)
      .map((f) => `${e(f.value)}: ${e(f.failed)} of ${e(f.runs)}`)
      .join(', ');
    return [td(e(setting)), td(drawn), td(failing || '-', failing ? 'slow' : '')];
  });
  const intro =
    '<p class="meta">Each seed draws its own fault mix (swarm testing): how many runs drew each value of each setting, and how many of those failed (none: the fault was off).</p>';
  return `<h4>Fault mixes</h4>${intro}${table(['setting', 'value: runs', 'value: failed runs'], rows, { cls: 'faults' })}`;
}

function simSection(s: SimSection, index: number): string {
  const t = s.totals;
  const verdict =
    t.failed === 0
      ? `<span class="good">${e(t.runs)} runs, all passed</span>`
      : `<span class="bad">${e(t.failed)} of ${e(t.runs)} runs failed</span>`;
  return `<section class="card sim" id="sim-${index}">
<h3>Simulator <span class="meta">(${e(s.file)})</span></h3>
<p>${verdict}: ${e(t.scenarios)} scenarios × ${e(t.seeds)} seeds; ${e(formatMs(t.simulatedMs))} simulated in ${e(formatMs(t.wallMs))} (${e(Math.round(t.speedup))}x real time).</p>
${simSummaryTable(s)}
${failingTable(s)}
${seedMatrixTable(s)}
${s.charts.map(figure).join('\n')}
${faultMixTable(s)}
</section>`;
}

function runSection(r: RunSection, index: number): string {
  const run = r.run;
  const tl = r.timeline;
  const source = {
    listed: 'listed by a sim JSON',
    found: 'found in the failures folder (not listed by a sim JSON read here; it may be from an earlier run)',
    given: 'named on the command line',
    chosen: 'chosen with --run',
  }[r.source];
  const violations = run.violations
    .slice(0, 20)
    .map((v) => `<li>[${e(v.checker)}]${v.peer ? ` ${e(v.peer)}:` : ''} ${e(v.message.split('\n')[0])}</li>`)
    .join('');
  const hidden = [
    tl.opsHidden > 0 ? `${tl.opsHidden} earlier operations are not drawn` : '',
    tl.networkSource === 'trace-tail'
      ? `network cuts come from the trace tail, which starts at ${formatMs(tl.traceStartMs)}: earlier ones are not shaded`
      : tl.networkSource === 'none'
        ? 'this file carries no network steps (no actions, no net notes in its trace tail): only crashes are shaded'
        : '',
  ].filter((x) => x !== '');
  return `<section class="card run" id="run-${index}">
<h3>${e(run.scenario)} seed ${e(run.seed)}${run.shrunk ? ' (shrunk)' : ''} <span class="meta">(${e(r.file)}; ${e(source)})</span></h3>
<p>${run.ok ? '<span class="good">passed</span>' : '<span class="bad">failed</span>'}: ${e(run.writes)} writes, ${e(run.crashes)} crashes, ${e(formatMs(run.simulated_ms))} simulated; converged ${e(run.converged_ms === null ? 'never' : formatMs(run.converged_ms))}.
${r.replay ? `Replay: <code class="cmd">${e(r.replay)}</code>` : ''}</p>
${violations ? `<ul class="violations">${violations}</ul>` : ''}
${
  run.swarm
    ? `<p class="meta">Fault mix: ${faultSettings(run.swarm)
        .map(([k, v]) => `${e(k)}=${e(v)}`)
        .join(', ')}</p>`
    : ''
}
${hidden.length > 0 ? `<p class="meta">${e(hidden.join('; '))}.</p>` : ''}
${r.charts.map(figure).join('\n')}
${nemesisTable(r)}
<details><summary>Trace tail (last ${e(r.traceTail.length)} lines)</summary><pre>${e(r.traceTail.join('\n'))}</pre></details>
</section>`;
}

/** Most nemesis periods listed in a run's table (the timeline shades them all). */
const NEMESIS_ROWS_MAX = 100;

/** The nemesis periods as a table, collapsed: what the shading in the timeline stands for. */
function nemesisTable(r: RunSection): string {
  const periods = r.timeline.nemesis;
  if (periods.length === 0)
    return '<p class="meta">No nemesis period: no peer was down and no network cut is known.</p>';
  const rows = periods
    .slice(0, NEMESIS_ROWS_MAX)
    .map((p) => [
      td(e(p.kind)),
      td(p.peer === undefined ? 'every peer' : e(p.peer)),
      num(`${p.openStart ? '≤ ' : ''}${e(formatMs(p.startMs))}`),
      num(e(formatMs(p.endMs))),
      td(e(p.label)),
    ]);
  const more =
    periods.length > NEMESIS_ROWS_MAX
      ? `<p class="meta">${periods.length - NEMESIS_ROWS_MAX} more not listed.</p>`
      : '';
  return `<details class="nemesis"><summary>Nemesis periods (${periods.length})</summary>${table(['kind', 'lane', 'from', 'to', 'what'], rows, { numeric: [2, 3] })}${more}</details>`;
}

function runsPart(model: ReportModel): string {
  if (model.runs.length === 0) {
    return '<p class="meta">No run files: no failing run was found, and none was chosen (<code>aregula report --run SCENARIO:SEED</code> draws one).</p>';
  }
  const more =
    model.runsNotShown.length === 0
      ? ''
      : `<h4>More runs (no timeline drawn)</h4>${table(
          ['scenario', 'seed', 'file'],
          model.runsNotShown.map((r) => [td(e(r.scenario)), num(e(r.seed)), td(e(r.file))]),
          { numeric: [1] },
        )}`;
  return model.runs.map(runSection).join('\n') + more;
}

/** Renders the whole page. */
export function renderHtml(model: ReportModel): string {
  const notes =
    model.notes.length === 0
      ? ''
      : `<ul class="notes">${model.notes.map((n) => `<li>${e(n)}</li>`).join('')}</ul>`;
  const bench =
    model.bench.length === 0
      ? '<p class="meta">No bench JSON read (<code>npm run bench -- --json reports/out/bench.json</code> writes one).</p>'
      : model.bench.map(benchSection).join('\n');
  const sim =
    model.sim.length === 0
      ? '<p class="meta">No sim JSON read (<code>aregula sim --json reports/out/sim.json</code> writes one).</p>'
      : model.sim.map(simSection).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Aregula report</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Aregula report</h1>
<p class="meta">Generated ${e(model.generatedAt)}.</p>
<nav><a href="#benchmarks">Benchmarks</a><a href="#simulator">Simulator</a><a href="#runs">Runs</a></nav>
${notes}
</header>
<main>
<h2 id="benchmarks">Benchmarks</h2>
${bench}
<h2 id="simulator">Simulator</h2>
${sim}
<h2 id="runs">Runs</h2>
${runsPart(model)}
</main>
</body>
</html>
`;
}
