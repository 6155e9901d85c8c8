// The report's charts, from results: which runs go on which bar or curve. Only valid cells are drawn
// with numbers; a cell without evidence is drawn as "invalid".
import { barChart, type BarValue } from './bar-chart.ts';
import { PERCENTILE_LABELS, percentileChart, type PercentileLine, type PercentilePoint } from './percentile-chart.ts';
import type { Metric, ResultsFile, RunRecord } from './results.ts';
import { median } from './stats.ts';
import { primaryValue, type CellSummary } from './summarize.ts';

export interface Figure {
  file: string;
  title: string;
  svg: string;
}

type Results = Pick<ResultsFile, 'configuration' | 'runs'>;

const runsOf = (results: Results, metric: Metric, backend: string, placement: string) =>
  results.runs.filter((r) => r.metric === metric && r.backend === backend && r.placement === placement && r.result !== undefined);

function barValue(results: Results, cells: CellSummary[], metric: Metric, backend: string, placement: string): BarValue | undefined {
  const cell = cells.find((c) => c.metric === metric && c.backend === backend && c.placement === placement);
  if (!cell) return undefined;
  if (!cell.valid) return { invalid: cell.invalidReason ?? 'no evidence' };
  if (!cell.primary) return undefined;
  return { median: cell.primary.median, runs: runsOf(results, metric, backend, placement).map(primaryValue).filter((v): v is number => v !== undefined) };
}

function percentilePoints(run: RunRecord): PercentilePoint[] {
  if (run.result?.kind !== 'latency') return [];
  const p = run.result.percentilesUs;
  const values = [p.p50, p.p75, p.p90, p.p99, p.p999];
  return PERCENTILE_LABELS.map(([percentile], i) => ({ percentile, valueUs: values[i]! }));
}

export function buildFigures(results: Results, cells: CellSummary[]): Figure[] {
  const { backends, placements, metrics } = results.configuration;
  const figures: Figure[] = [];
  const hasCells = (metric: Metric) => cells.some((c) => c.metric === metric);
  if (metrics.includes('throughput') && hasCells('throughput')) {
    const title = 'Throughput, iperf3 one stream (Gbit/s)';
    figures.push({ file: 'throughput.svg', title, svg: barChart({ title, yLabel: 'Gbit/s', groups: placements, series: backends, value: (g, s) => barValue(results, cells, 'throughput', s, g) }) });
  }
  if (metrics.includes('latency') && hasCells('latency')) {
    const title = 'Latency percentiles at a fixed rate (µs, round trip)';
    const panels = placements.map((placement) => {
      const lines: PercentileLine[] = [];
      const invalid: string[] = [];
      for (const backend of backends) {
        const cell = cells.find((c) => c.metric === 'latency' && c.backend === backend && c.placement === placement);
        if (!cell) continue;
        if (!cell.valid) {
          invalid.push(backend);
          continue;
        }
        const runs = runsOf(results, 'latency', backend, placement).map(percentilePoints).filter((r) => r.length > 0);
        if (runs.length === 0) continue;
        const medianCurve = PERCENTILE_LABELS.map(([percentile], i) => ({ percentile, valueUs: median(runs.map((r) => r[i]!.valueUs)) }));
        lines.push({ series: backend, median: medianCurve, runs });
      }
      return { title: placement, lines, invalid };
    });
    figures.push({ file: 'latency.svg', title, svg: percentileChart({ title, series: backends, panels }) });
  }
  if (metrics.includes('cps') && hasCells('cps')) {
    const title = 'Connection rate: open, one exchange, close (conn/s)';
    figures.push({ file: 'connection-rate.svg', title, svg: barChart({ title, yLabel: 'connections/s', groups: placements, series: backends, value: (g, s) => barValue(results, cells, 'cps', s, g) }) });
  }
  return figures;
}
