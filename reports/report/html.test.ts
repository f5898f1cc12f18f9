import { describe, expect, it } from 'vitest';
import { escapeHtml, formatMs, formatRatio, renderHtml } from './html.ts';
import type { ReportInputs } from './inputs.ts';
import { escapeMarkdown, renderMarkdown } from './markdown.ts';
import { buildModel, type ReportModel } from './model.ts';
import { parseBench, parseRunFile, parseSim } from './schema.ts';
import { benchFixture, HOSTILE, runFileFixture, simFixture } from './test-fixtures.ts';

function inputs(options: { hostile?: boolean } = {}): ReportInputs {
  const hostile = options.hostile === true;
  const bench = benchFixture(hostile ? { workloadPrefix: HOSTILE, cpu: HOSTILE } : {});
  const sim = simFixture();
  const run = runFileFixture();
  if (hostile) {
    (sim.runs as Record<string, unknown>[])[3]!.violations = [{ checker: HOSTILE, message: HOSTILE }];
    (run.history as Record<string, unknown>[])[6]!.detail = HOSTILE;
    (run.trace_tail as string[]).push(`999|${HOSTILE}`);
  }
  return {
    bench: [{ file: hostile ? `${HOSTILE}.json` : 'reports/out/bench.json', report: parseBench('b', bench) }],
    sim: [{ file: 'reports/out/sim.json', report: parseSim('s', sim) }],
    runs: [{ file: 'reports/out/sim-failures/b-2.json', source: 'listed', run: parseRunFile('r', run) }],
    notes: hostile ? [HOSTILE] : [],
  };
}

async function model(options: { hostile?: boolean } = {}): Promise<ReportModel> {
  return buildModel(inputs(options), new Date('2026-11-24T12:00:00Z'));
}

describe('escaping', () => {
  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
    );
  });

  it('keeps Markdown cells inert: no HTML, no table break, no link, no line break', () => {
    const cell = escapeMarkdown('a|b <b>x</b> [l](http://x) *e* _u_ `c` ~s~ \\ & line\nbreak');
    expect(cell).toBe(
      'a\\|b &lt;b&gt;x&lt;/b&gt; \\[l\\](http://x) \\*e\\* \\_u\\_ \\`c\\` \\~s\\~ \\\\ &amp; line break',
    );
  });

  it('formats ratios and times', () => {
    expect([formatRatio(undefined), formatRatio(0.0612), formatRatio(4), formatRatio(15.55)]).toEqual([
      '-',
      '0.06x',
      '4.00x',
      '15.6x',
    ]);
    expect([formatMs(undefined), formatMs(250), formatMs(9999.6), formatMs(12_345)]).toEqual([
      '-',
      '250 ms',
      '10000 ms',
      '12.3 s',
    ]);
  });
});

describe('the page', () => {
  it('has every part: machine, workload tables, charts, simulator tables, failing seed, timeline', async () => {
    const m = await model();
    const html = renderHtml(m);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('Test CPU, 2 cores, 24.0 GiB, linux/x64; Node v20.20.2; commit <code>aaaaaaaa');
    for (const workload of ['lsm.put', 'vector.query', 'query.live-update'])
      expect(html).toContain(`<h4>${workload}</h4>`);
    expect(html).toContain('aregula ÷ classic-level');
    expect(html).toContain('<td class="num fast">4.00x</td>');
    expect(html).toContain('<td class="num slow">0.50x</td>');
    expect(m.bench[0]?.charts.map((c) => c.title)).toEqual([
      'Ratio to each baseline',
      'Scaling over n',
      'Recall and queries per second',
      'Peak memory',
      'Peak memory over n',
      'Latency',
    ]);
    expect(html).toContain('<th class="num">peak MiB (classic-level)</th>');
    expect(html).toContain('<td class="num">130.0</td>'); // classic-level at 10K
    expect(m.sim[0]?.charts.map((c) => c.title)).toEqual(['Convergence time']);
    expect(m.runs[0]?.charts.map((c) => c.title)).toEqual(['Timeline', 'Latency']);
    const charts = m.bench[0]!.charts.length + m.sim[0]!.charts.length + m.runs[0]!.charts.length;
    expect(html.match(/<svg /g)).toHaveLength(charts);
    expect(html).toContain('1 of 6 runs failed');
    expect(html).toContain('<code class="cmd">npx aregula sim b --seed 2</code>');
    expect(html).toContain('<td class="fail">✗</td>');
    expect(html).toContain('<section class="card run" id="run-0">');
    expect(html).toContain('listed by a sim JSON');
    expect(html).toContain('<summary>Nemesis periods (2)</summary>');
    expect(html).toContain(
      '<td>partition</td><td>every peer</td><td class="num">250 ms</td><td class="num">600 ms</td>',
    );
  });

  it('loads nothing: a strict Content-Security-Policy, no script, no external reference', async () => {
    const html = renderHtml(await model());
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/<script|<link|<iframe|<img|@import|url\(/i);
    for (const [, target] of html.matchAll(/\bhref="([^"]*)"/g)) expect(target).toMatch(/^#/);
    expect(html).not.toMatch(/\bsrc=/);
  });

  it('shows hostile input strings as text, in the page and the summary', async () => {
    const m = await model({ hostile: true });
    const html = renderHtml(m);
    // Inert text may spell `onerror=`; what must never appear is a tag the input opened.
    expect(html).not.toMatch(/<script|<img|<\/svg><script/i);
    expect(html).toContain('&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    const md = renderMarkdown(m);
    expect(md).not.toMatch(/<script|<img|(?<!\\)\]\(http/);
    expect(md).toContain('&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(md).toContain('\\|\\*\\[a\\](http://x.invalid)&amp;amp;');
  });

  it('says so when there is nothing of a kind, and draws the operation rate when every latency is 0', async () => {
    const run = runFileFixture();
    (run.history as Record<string, unknown>[])[5]!.timeMs = 150;
    const m = await buildModel(
      {
        bench: [],
        sim: [],
        runs: [{ file: 'r.json', source: 'found', run: parseRunFile('r', run) }],
        notes: [],
      },
      new Date(0),
    );
    const html = renderHtml(m);
    expect(html).toContain('No bench JSON read');
    expect(html).toContain('No sim JSON read');
    expect(m.runs[0]?.charts.map((c) => c.title)).toEqual(['Timeline', 'Operations over time']);
    expect(html).toContain('found in the failures folder');
  });
});

describe('the summary', () => {
  it('has the machine, one table per workload with ratios (slower in bold), the sim tables and replay commands', async () => {
    const md = renderMarkdown(await model());
    expect(md).toContain('Test CPU, 2 cores, Node v20.20.2, linux/x64, commit `aaaaaaaaaaaa`');
    expect(md).toContain(
      '| n | aregula put/s | classic-level put/s | map put/s | aregula ÷ classic-level | aregula ÷ map | aregula peak MiB | classic-level peak MiB | map peak MiB |',
    );
    expect(md).toContain('| 1K | 200K | 50.0K | 400K | 4.00x | **0.50x** | 102.0 | 103.0 | 101.0 |');
    expect(md).toContain('| n | ef | aregula op/s | hnswlib-node op/s | aregula ÷ hnswlib-node |');
    expect(md).toContain('**1 of 6 runs failed**');
    expect(md).toContain('| b | 3 | **1** |');
    expect(md).toContain('| b | 2 | lost-write | write lost at seed 2 | `npx aregula sim b --seed 2` |');
    expect(md).toContain('| b | 2 | reports/out/sim-failures/b-2.json |');
  });
});
