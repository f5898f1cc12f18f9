/**
 * The report as data: every table shaped and every chart rendered to SVG, ready for the HTML
 * page (reports/report/html.ts) and the Markdown summary (reports/report/markdown.ts), which
 * only lay it out.
 */

import type { TopLevelSpec } from 'vega-lite';
import {
  latencySeries,
  ratioSeries,
  recallSeries,
  rssMultiSize,
  rssSeries,
  scalingSeries,
  suiteName,
  type WorkloadTable,
  workloadTables,
} from './bench-data.ts';
import {
  benchLatencyChartSpec,
  convergenceChartSpec,
  ratioChartSpec,
  recallChartSpec,
  renderSvg,
  rssBarChartSpec,
  rssChartSpec,
  runLatencyChartSpec,
  runRateChartSpec,
  scalingChartSpec,
  timelineChartSpec,
} from './charts.ts';
import type { LoadedRun, ReportInputs } from './inputs.ts';
import type { MachineInput, RunSummaryInput } from './schema.ts';
import {
  caseFromReplay,
  convergenceSeries,
  type FailingSeed,
  type FaultMixRow,
  failingSeeds,
  faultMixRows,
  replayCommand,
  type ScenarioSummary,
  type SeedMatrix,
  type SimTotals,
  scenarioSummaries,
  seedMatrix,
  simTotals,
} from './sim-data.ts';
import { buildTimeline, latencyPoints, ratePoints, type Timeline } from './timeline.ts';

/** Most runs that get a timeline (the others are listed by file). */
export const RUN_TIMELINES_MAX = 12;

/** A chart: its title and its SVG. */
export interface Chart {
  title: string;
  /** What the chart shows, in a sentence (also the figure caption). */
  caption: string;
  svg: string;
}

/** One bench JSON's section. */
export interface BenchSection {
  file: string;
  suite: string;
  machine: MachineInput;
  tables: WorkloadTable[];
  charts: Chart[];
}

/** One sim JSON's section. */
export interface SimSection {
  file: string;
  totals: SimTotals;
  scenarios: ScenarioSummary[];
  matrix: SeedMatrix;
  faultMix: FaultMixRow[];
  failing: FailingSeed[];
  charts: Chart[];
}

/** A run with its timeline. */
export interface RunSection {
  file: string;
  source: LoadedRun['source'];
  /** The run's summary (its history and trace are in the timeline and `traceTail`). */
  run: RunSummaryInput & { shrunk?: boolean | undefined };
  /** The command that replays it (built from its scenario and seed). */
  replay: string | undefined;
  timeline: Timeline;
  charts: Chart[];
  /** The trace tail's last lines, for the page's collapsed listing. */
  traceTail: string[];
}

/** The whole report. */
export interface ReportModel {
  generatedAt: string;
  bench: BenchSection[];
  sim: SimSection[];
  runs: RunSection[];
  /** Runs beyond {@link RUN_TIMELINES_MAX}: listed without a timeline. */
  runsNotShown: { file: string; scenario: string; seed: number; source: LoadedRun['source'] }[];
  notes: string[];
}

/** Trace lines a run section keeps for the page. */
export const TRACE_LINES_SHOWN = 200;

async function chart(title: string, caption: string, spec: TopLevelSpec): Promise<Chart> {
  return { title, caption, svg: await renderSvg(spec) };
}

async function benchSection(file: string, report: ReportInputs['bench'][number]['report'], notes: string[]) {
  const tables = workloadTables(report, notes);
  const charts: Chart[] = [];
  const ratios = ratioSeries(tables);
  if (ratios.length > 0) {
    const caption =
      'Aregula ops/s divided by each baseline ops/s, measured in the same run; right of 1 is faster.';
    charts.push(await chart('Ratio to each baseline', caption, ratioChartSpec(ratios)));
  }
  const scaling = scalingSeries(tables);
  if (scaling.length > 0) {
    const caption = 'Operations per second as the data grows (log-log), one panel per workload.';
    charts.push(await chart('Scaling over n', caption, scalingChartSpec(scaling)));
  }
  const recall = recallSeries(report);
  if (recall.length > 0) {
    const caption = 'Queries per second against recall, one point per search breadth (ef).';
    charts.push(await chart('Recall and queries per second', caption, recallChartSpec(recall)));
  }
  const rss = rssSeries(report);
  if (rss.length > 0) {
    const caption =
      'Peak resident memory of each system run alone in a child process, less that child’s floor (Node and the suite’s module), at each workload’s largest size; in brackets the whole peak, MiB. The data the workload generates is included, the same for every system.';
    charts.push(await chart('Peak memory', caption, rssBarChartSpec(rss)));
  }
  const rssCurves = rssMultiSize(rss);
  if (rssCurves.length > 0) {
    const caption =
      'The same peak memory (MiB above the child’s floor) as the data grows, for workloads measured at two sizes or more.';
    charts.push(await chart('Peak memory over n', caption, rssChartSpec(rssCurves)));
  }
  const latency = latencySeries(report);
  if (latency.length > 0) {
    charts.push(
      await chart('Latency', 'Latency per workload, size and system.', benchLatencyChartSpec(latency)),
    );
  }
  return { file, suite: suiteName(report), machine: report.machine, tables, charts } satisfies BenchSection;
}

async function simSection(file: string, report: ReportInputs['sim'][number]['report']): Promise<SimSection> {
  const charts: Chart[] = [];
  const convergence = convergenceSeries(report);
  if (convergence.length > 0) {
    const caption =
      'Virtual time from healing every fault until all peers held every entry; one tick per run.';
    charts.push(await chart('Convergence time', caption, convergenceChartSpec(convergence)));
  }
  return {
    file,
    totals: simTotals(report),
    scenarios: scenarioSummaries(report),
    matrix: seedMatrix(report),
    faultMix: faultMixRows(report),
    failing: failingSeeds(report),
    charts,
  };
}

/** Orders runs for timelines: chosen and given first, then listed, then found; shrunk after its run. */
function orderRuns(runs: readonly LoadedRun[]): LoadedRun[] {
  const rank = { chosen: 0, given: 1, listed: 2, found: 3 } as const;
  return [...runs].sort(
    (a, b) =>
      rank[a.source] - rank[b.source] ||
      a.run.scenario.localeCompare(b.run.scenario) ||
      a.run.seed - b.run.seed ||
      Number(a.run.shrunk === true) - Number(b.run.shrunk === true),
  );
}

async function runSection(loaded: LoadedRun): Promise<RunSection> {
  const { history: _history, trace_tail, actions: _actions, ...run } = loaded.run;
  const timeline = buildTimeline(loaded.run);
  const charts: Chart[] = [
    await chart(
      'Timeline',
      'One lane per peer (a sub-lane per operation kind); bars run from invoke to completion; shaded: peer down, network cut.',
      timelineChartSpec(timeline),
    ),
  ];
  const latency = latencyPoints(timeline.ops);
  if (latency.some((p) => p.latencyMs > 0)) {
    charts.push(
      await chart(
        'Latency',
        'Each completed operation: virtual ms from invoke to completion.',
        runLatencyChartSpec(latency),
      ),
    );
  } else {
    const caption =
      'Every operation completed at the virtual instant it was invoked (the simulator runs operations synchronously), so latency is 0; this plots the operation rate instead.';
    charts.push(
      await chart(
        'Operations over time',
        caption,
        runRateChartSpec(ratePoints(timeline.ops, timeline.endMs)),
      ),
    );
  }
  return {
    file: loaded.file,
    source: loaded.source,
    run,
    replay: replayCommand(
      run.scenario,
      run.seed,
      run.shrunk === true ? { caseText: caseFromReplay(loaded.run.replay) } : undefined,
    ),
    timeline,
    charts,
    traceTail: trace_tail.slice(-TRACE_LINES_SHOWN),
  };
}

/** Shapes every input and renders every chart. */
export async function buildModel(inputs: ReportInputs, generatedAt: Date): Promise<ReportModel> {
  const notes = [...inputs.notes];
  const bench: BenchSection[] = [];
  for (const b of inputs.bench) bench.push(await benchSection(b.file, b.report, notes));
  const sim: SimSection[] = [];
  for (const s of inputs.sim) sim.push(await simSection(s.file, s.report));
  const ordered = orderRuns(inputs.runs);
  const runs: RunSection[] = [];
  for (const r of ordered.slice(0, RUN_TIMELINES_MAX)) runs.push(await runSection(r));
  const runsNotShown = ordered
    .slice(RUN_TIMELINES_MAX)
    .map((r) => ({ file: r.file, scenario: r.run.scenario, seed: r.run.seed, source: r.source }));
  return { generatedAt: generatedAt.toISOString(), bench, sim, runs, runsNotShown, notes };
}
