/**
 * The report's charts: vega-lite specifications compiled with vega-lite and rendered to SVG
 * by vega, in Node, at build time. The page carries the SVG inline, so it needs no script and
 * no network to show them. Chart data is plain values built by the data-shaping modules; vega
 * escapes every text it draws, and its loader here refuses to fetch anything.
 */

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type {
  LatencyPoint as BenchLatencyPoint,
  RatePoint,
  RatioPoint,
  RecallPoint,
  RssPoint,
} from './bench-data.ts';
import { formatCount } from './bench-data.ts';
import type { ConvergencePoint } from './sim-data.ts';
import type { LatencyPoint, RatePoint as RunRatePoint, Timeline } from './timeline.ts';

/** Width of a full-width chart's plot area, in pixels. */
export const CHART_WIDTH_PX = 760;
/** Height of one peer's lane in a timeline, in pixels. */
export const LANE_HEIGHT_PX = 42;

/** Colours of operation outcomes (ok, fail, open), in the manner of Jepsen's timelines. */
const OUTCOME_COLORS = { domain: ['ok', 'fail', 'open'], range: ['#4c78a8', '#e45756', '#f58518'] };
/** Colours of nemesis periods. */
const NEMESIS_COLORS = {
  domain: ['down', 'partition', 'isolate', 'block'],
  range: ['#bab0ac', '#ff9da6', '#ffbf79', '#d6a5c9'],
};

const BASE_CONFIG = {
  font: 'sans-serif',
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 11, labelLimit: 260 },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 200 },
};

/** A loader that refuses every URL and file: charts use inline data only. */
function offlineLoader(): ReturnType<typeof vega.loader> {
  const refuse = vega.loader();
  refuse.sanitize = async (uri: string) => {
    throw new Error(`the report renders offline; refusing to load ${JSON.stringify(uri)}`);
  };
  return refuse;
}

/** Compiles a vega-lite spec and renders it to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile({ ...spec, config: { ...BASE_CONFIG, ...(spec.config ?? {}) } }, {});
  const view = new vega.View(vega.parse(compiled.spec), {
    renderer: 'none',
    loader: offlineLoader(),
    logLevel: vega.Error,
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * The layers of a labelled bar chart: a bar per `label` and `group` (side by side), coloured by
 * group, with its `text` field written at its end. `x` is the bars' encoding of their length
 * (with `x2` where they start elsewhere than 0).
 */
function labelledBars(group: string, x: Record<string, unknown> & { field: string }, x2?: { datum: number }) {
  const y = { field: 'label', type: 'nominal', sort: null, title: null } as const;
  const yOffset = { field: group, type: 'nominal' } as const;
  return [
    {
      mark: { type: 'bar' },
      encoding: {
        y,
        yOffset,
        x: { type: 'quantitative', ...x },
        ...(x2 === undefined ? {} : { x2 }),
        color: { field: group, type: 'nominal', title: group },
      },
    },
    {
      mark: { type: 'text', align: 'left', dx: 3, fontSize: 9 },
      encoding: { y, yOffset, x: { field: x.field, type: 'quantitative' }, text: { field: 'text' } },
    },
  ] as const;
}

/** Aregula's ratio to each baseline, one bar per workload, size and baseline, from 1. */
export function ratioChartSpec(points: readonly RatioPoint[]): TopLevelSpec {
  const values = points.map((p) => ({
    ...p,
    text: `${p.ratio >= 10 ? p.ratio.toFixed(1) : p.ratio.toFixed(2)}x`,
  }));
  return {
    description:
      'Aregula ops/s divided by each baseline ops/s; bars to the right of 1 mean Aregula is faster',
    data: { values },
    width: CHART_WIDTH_PX - 260,
    height: { step: 16 },
    layer: [
      ...labelledBars(
        'baseline',
        {
          field: 'ratio',
          scale: { type: 'log' },
          title: 'Aregula ÷ baseline (log scale; above 1 = Aregula faster)',
        },
        { datum: 1 },
      ),
      { mark: { type: 'rule', color: 'black' }, encoding: { x: { datum: 1 } } },
    ],
  };
}

/** A y encoding of {@link curvesOverN}. */
type CurveY = { field: string; type: 'quantitative'; title: string; scale?: { type: 'log' } };

/** Curves over n (log x), one panel per workload, one line per system, y scales independent. */
function curvesOverN(description: string, values: readonly object[], y: CurveY): TopLevelSpec {
  return {
    description,
    data: { values: [...values] },
    facet: { field: 'workload', type: 'nominal', title: null },
    columns: 3,
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 200,
      height: 140,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'n', type: 'quantitative', scale: { type: 'log' }, title: 'n (records)' },
        y,
        color: { field: 'system', type: 'nominal', title: 'system' },
      },
    },
  };
}

/** Ops/s over n (log-log), one panel per workload, one line per system. */
export function scalingChartSpec(points: readonly RatePoint[]): TopLevelSpec {
  return curvesOverN('Operations per second against the number of records, per workload and system', points, {
    field: 'ops_per_sec',
    type: 'quantitative',
    scale: { type: 'log' },
    title: 'ops/s',
  });
}

/**
 * Peak memory over n, one panel per workload, one line per system: what each system and its
 * data added above the floor of its child process (Node and the suite's modules), in MiB.
 * Linear y from 0, so that a small footprint is not magnified; log x, like the scaling curves.
 */
export function rssChartSpec(points: readonly RssPoint[]): TopLevelSpec {
  return curvesOverN('Peak resident memory each system added, run alone, per workload and size', points, {
    field: 'added_mib',
    type: 'quantitative',
    title: 'MiB above the floor',
  });
}

/**
 * Peak memory at each workload's largest size measured: one bar per system, MiB above the floor
 * of its child process. This chart exists even when every workload was measured at one size (a
 * quick run), where curves over n would have nothing to draw.
 */
export function rssBarChartSpec(points: readonly RssPoint[]): TopLevelSpec {
  const largest = new Map<string, number>();
  for (const p of points) largest.set(p.workload, Math.max(largest.get(p.workload) ?? 0, p.n));
  const values = points
    .filter((p) => p.n === largest.get(p.workload))
    .map((p) => ({
      ...p,
      label: `${p.workload} n=${formatCount(p.n)}`,
      text: `${p.added_mib.toFixed(1)} (peak ${p.peak_mib.toFixed(0)})`,
    }));
  return {
    description: 'Peak resident memory each system added, run alone, at the largest size of each workload',
    data: { values },
    width: CHART_WIDTH_PX - 320,
    height: { step: 14 },
    layer: [...labelledBars('system', { field: 'added_mib', title: 'MiB above the floor' })],
  };
}

/** Queries per second against recall, one panel per workload and size, one line per system. */
export function recallChartSpec(points: readonly RecallPoint[]): TopLevelSpec {
  const values = points.map((p) => ({ ...p, panel: `${p.workload} n=${p.n}` }));
  return {
    description: 'Queries per second against recall, per system (one point per search breadth)',
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null },
    columns: 3,
    spec: {
      width: 220,
      height: 160,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'recall', type: 'quantitative', scale: { zero: false }, title: 'recall' },
        y: { field: 'ops_per_sec', type: 'quantitative', scale: { type: 'log' }, title: 'queries/s' },
        color: { field: 'system', type: 'nominal', title: 'system' },
        order: { field: 'recall', type: 'quantitative' },
      },
    },
  };
}

/** Latency per workload, size and system (rows with `latency_ms`). */
export function benchLatencyChartSpec(points: readonly BenchLatencyPoint[]): TopLevelSpec {
  const values = points.map((p) => ({ ...p, label: `${p.workload} n=${p.n}` }));
  return {
    description: 'Latency in milliseconds per workload, size and system',
    data: { values },
    width: CHART_WIDTH_PX - 260,
    height: { step: 16 },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null },
      yOffset: { field: 'system', type: 'nominal' },
      x: { field: 'latency_ms', type: 'quantitative', title: 'latency (ms)' },
      color: { field: 'system', type: 'nominal', title: 'system' },
    },
  };
}

/** The distribution of convergence times per scenario: a box plot over every run's point. */
export function convergenceChartSpec(points: readonly ConvergencePoint[]): TopLevelSpec {
  const y = { field: 'scenario', type: 'nominal', title: null } as const;
  const x = {
    field: 'converged_ms',
    type: 'quantitative',
    title: 'virtual ms from healing to convergence',
  } as const;
  return {
    description: 'Convergence time after the faults are healed, per scenario, one tick per run',
    data: { values: [...points] },
    width: CHART_WIDTH_PX - 200,
    height: { step: 26 },
    layer: [
      { mark: { type: 'boxplot', extent: 'min-max', size: 14, opacity: 0.5 }, encoding: { y, x } },
      { mark: { type: 'tick', color: '#333', opacity: 0.6, thickness: 1 }, encoding: { y, x } },
    ],
  };
}

/**
 * The Jepsen-style timeline: one lane per peer (a sub-lane per operation kind), operations as
 * bars from invoke to completion coloured by outcome, peer events as marks, and nemesis
 * periods shaded (a peer's own lane, or every lane for a partition). Operations that take no
 * virtual time are drawn two pixels wide so they stay visible.
 */
export function timelineChartSpec(timeline: Timeline): TopLevelSpec {
  const widthPx = CHART_WIDTH_PX + 100;
  const minMs = (Math.max(1, timeline.endMs) / widthPx) * 2;
  const ops = timeline.ops.map((op) => ({ ...op, endVisMs: Math.max(op.endMs, op.startMs + minMs) }));
  const lanes = timeline.nemesis.filter((p) => p.peer !== undefined);
  const everywhere = timeline.nemesis.filter((p) => p.peer === undefined).map(({ peer: _, ...p }) => p);
  const y = { field: 'peer', type: 'nominal', title: null, scale: { domain: timeline.peers } } as const;
  const x = {
    field: 'startMs',
    type: 'quantitative' as const,
    title: 'virtual time (ms)',
    scale: { domain: [0, Math.max(1, timeline.endMs)] },
  };
  const nemesisColor = { field: 'kind', type: 'nominal', title: 'nemesis', scale: NEMESIS_COLORS } as const;
  return {
    description: 'Timeline of the run: one lane per peer, operations as bars, nemesis periods shaded',
    width: widthPx,
    height: Math.max(1, timeline.peers.length) * LANE_HEIGHT_PX,
    resolve: { scale: { color: 'independent', shape: 'independent' } },
    layer: [
      {
        data: { values: everywhere },
        mark: { type: 'rect', opacity: 0.35 },
        // The lanes' layer draws the legend; both use the same fixed colours.
        encoding: { x, x2: { field: 'endMs' }, color: { ...nemesisColor, legend: null } },
      },
      {
        data: { values: lanes },
        mark: { type: 'rect', opacity: 0.6 },
        encoding: { x, x2: { field: 'endMs' }, y, color: nemesisColor },
      },
      {
        data: { values: ops },
        mark: { type: 'rect' },
        encoding: {
          x,
          x2: { field: 'endVisMs' },
          y,
          yOffset: { field: 'kind', type: 'nominal' },
          color: { field: 'outcome', type: 'nominal', title: 'operation', scale: OUTCOME_COLORS },
        },
      },
      {
        data: { values: [...timeline.events] },
        mark: { type: 'point', filled: true, size: 28, color: '#222' },
        encoding: {
          x: { ...x, field: 'timeMs' },
          y,
          shape: { field: 'kind', type: 'nominal', title: 'event' },
        },
      },
    ],
  };
}

/** Each completed operation's latency against the time it started, coloured by outcome. */
export function runLatencyChartSpec(points: readonly LatencyPoint[]): TopLevelSpec {
  return {
    description: 'Latency of each completed operation against the time it was invoked',
    data: { values: [...points] },
    width: CHART_WIDTH_PX,
    height: 200,
    mark: { type: 'point', size: 16 },
    encoding: {
      x: { field: 'timeMs', type: 'quantitative', title: 'virtual time (ms)' },
      y: { field: 'latencyMs', type: 'quantitative', title: 'latency (virtual ms)' },
      color: { field: 'outcome', type: 'nominal', title: 'outcome', scale: OUTCOME_COLORS },
      shape: { field: 'kind', type: 'nominal', title: 'operation' },
    },
  };
}

/** Operations started per time bucket: one row per kind, stacked by outcome. */
export function runRateChartSpec(rate: { widthMs: number; points: readonly RunRatePoint[] }): TopLevelSpec {
  const values = rate.points.map((p) => ({ ...p, bucketEndMs: p.bucketMs + rate.widthMs }));
  const endMs = Math.max(rate.widthMs, ...values.map((v) => v.bucketEndMs));
  return {
    description: 'Operations started per time bucket, one row per kind, stacked by outcome',
    data: { values },
    facet: { row: { field: 'kind', type: 'nominal', title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: CHART_WIDTH_PX,
      height: 70,
      mark: { type: 'bar' },
      encoding: {
        x: {
          field: 'bucketMs',
          type: 'quantitative',
          title: `virtual time (ms), ${rate.widthMs} ms buckets`,
          scale: { domain: [0, endMs], nice: false },
        },
        x2: { field: 'bucketEndMs' },
        y: {
          field: 'count',
          type: 'quantitative',
          aggregate: 'sum',
          stack: 'zero',
          title: 'operations',
          axis: { format: 'd', tickMinStep: 1 },
        },
        color: { field: 'outcome', type: 'nominal', title: 'outcome', scale: OUTCOME_COLORS },
      },
    },
  };
}
