// The report's charts, from results and their analysis: the paired ratios with their intervals (the
// answer), and the absolute figures behind them, every counted slice drawn beside its median.
import { PRIMARY, exclusion, primaryValue, type Analysis, type Baseline } from './analysis.ts';
import { barChart, type BarValue } from './bar-chart.ts';
import { PERCENTILE_LABELS, percentileChart, type PercentileLine, type PercentilePoint } from './percentile-chart.ts';
import { ratioChart, type RatioRow } from './ratio-chart.ts';
import type { Metric, ResultsFile, SliceRecord } from './results.ts';
import { median } from './stats.ts';

export interface Figure {
  file: string;
  title: string;
  svg: string;
}

type Results = Pick<ResultsFile, 'configuration' | 'setups' | 'slices'>;

const PLACEMENT_WORDS: Record<string, string> = { 'same-node': 'same node', 'cross-node': 'across nodes' };

function countedSlices(results: Results, analysis: Analysis, metric: Metric, backend: string, placement: string): SliceRecord[] {
  return results.slices.filter((s) => s.metric === metric && s.backend === backend && s.placement === placement && exclusion(s, analysis.rule) === undefined);
}

function ratioFigure(analysis: Analysis, baseline: Baseline, metrics: readonly Metric[]): Figure | undefined {
  const rows: RatioRow[] = analysis.comparisons
    .filter((c) => c.baseline === baseline && metrics.includes(c.metric))
    .map((c) => ({
      group: PRIMARY[c.metric].label,
      label: `${c.backend}, ${PLACEMENT_WORDS[c.placement] ?? c.placement}`,
      series: c.backend,
      ...(c.interval ? { estimate: c.interval.estimate, low: c.interval.low, high: c.interval.high } : {}),
      ...(c.interval ? { note: `n ${c.interval.n}${c.unproven ? ', unproven' : ''}` } : { note: 'no paired rounds' }),
    }));
  if (rows.length === 0) return undefined;
  const title = `Each backend against ${baseline}, paired by round`;
  return { file: `ratios-vs-${baseline}.svg`, title, svg: ratioChart({ title, rows }) };
}

function barValue(results: Results, analysis: Analysis, metric: Metric, backend: string, placement: string): BarValue | undefined {
  const summary = analysis.setups.find((s) => s.metric === metric && s.backend === backend && s.placement === placement);
  if (!summary) return undefined;
  if (summary.median === null) return { invalid: summary.slices === 0 ? 'no slice' : 'no slice counted' };
  return { median: summary.median, runs: countedSlices(results, analysis, metric, backend, placement).map((s) => primaryValue(s)!) };
}

function percentilePoints(slice: SliceRecord): PercentilePoint[] {
  if (slice.result?.kind !== 'latency') return [];
  const p = slice.result.percentilesUs;
  const values = [p.p50, p.p75, p.p90, p.p99, p.p999];
  return PERCENTILE_LABELS.map(([percentile], i) => ({ percentile, valueUs: values[i]! }));
}

function latencyFigure(results: Results, analysis: Analysis, metric: 'latency' | 'round-trip'): Figure {
  const { backends, placements } = results.configuration;
  const panels = placements.map((placement) => {
    const lines: PercentileLine[] = [];
    const invalid: string[] = [];
    for (const backend of backends) {
      const summary = analysis.setups.find((s) => s.metric === metric && s.backend === backend && s.placement === placement);
      if (!summary) continue;
      const runs = countedSlices(results, analysis, metric, backend, placement).map(percentilePoints).filter((r) => r.length > 0);
      if (runs.length === 0) {
        invalid.push(backend);
        continue;
      }
      lines.push({ series: backend, median: PERCENTILE_LABELS.map(([percentile], i) => ({ percentile, valueUs: median(runs.map((r) => r[i]!.valueUs)) })), runs });
    }
    return { title: PLACEMENT_WORDS[placement] ?? placement, lines, invalid };
  });
  const title = metric === 'latency' ? 'Latency percentiles at a fixed rate, open loop (µs, round trip)' : 'Round-trip percentiles, closed loop (µs)';
  return { file: metric === 'latency' ? 'latency.svg' : 'round-trip.svg', title, svg: percentileChart({ title, series: backends, panels }) };
}

export function buildFigures(results: Results, analysis: Analysis): Figure[] {
  const { backends, placements, metrics } = results.configuration;
  const has = (metric: Metric) => metrics.includes(metric) && analysis.setups.some((s) => s.metric === metric);
  const figures: Figure[] = [];
  for (const baseline of ['redirect', 'none'] as const) {
    const figure = ratioFigure(analysis, baseline, metrics);
    if (figure) figures.push(figure);
  }
  if (has('latency')) figures.push(latencyFigure(results, analysis, 'latency'));
  if (has('round-trip')) figures.push(latencyFigure(results, analysis, 'round-trip'));
  if (has('throughput')) {
    const title = 'Throughput, iperf3 one stream (Gbit/s)';
    figures.push({ file: 'throughput.svg', title, svg: barChart({ title, yLabel: 'Gbit/s', groups: placements, series: backends, value: (g, s) => barValue(results, analysis, 'throughput', s, g) }) });
  }
  if (has('cps')) {
    const title = 'Connection rate: open, one exchange, close (conn/s)';
    figures.push({ file: 'connection-rate.svg', title, svg: barChart({ title, yLabel: 'connections/s', groups: placements, series: backends, value: (g, s) => barValue(results, analysis, 'cps', s, g) }) });
  }
  return figures;
}
