// Latency percentile curves, the way HdrHistogram and fortio plot them: the x axis is the tail,
// log-scaled as 1/(1 - p), so p50, p90, p99 and p99.9 sit one step apart and the tail is not squeezed
// into the right edge. One panel per placement, one line per backend (the median over slices of
// each percentile), every slice's curve drawn faintly behind it.
import { legend } from './bar-chart.ts';
import { colourOf, element, linearScale, logScale, logTicks, shortNumber, svgDocument, text, ticksFromZero, type Scale } from './svg.ts';

export interface PercentilePoint {
  /** Percentile, 0..100 exclusive of 100. */
  percentile: number;
  valueUs: number;
}

export interface PercentileLine {
  series: string;
  median: PercentilePoint[];
  runs: PercentilePoint[][];
}

export interface PercentileChartInput {
  title: string;
  series: string[];
  panels: Array<{ title: string; lines: PercentileLine[]; invalid: string[] }>;
}

/** Position on the tail axis: log10(1 / (1 - p)); p50 -> 0.30, p90 -> 1, p99 -> 2, p99.9 -> 3. */
export const tailPosition = (percentile: number) => Math.log10(100 / (100 - percentile));

export const PERCENTILE_LABELS: Array<[number, string]> = [
  [50, 'p50'],
  [75, 'p75'],
  [90, 'p90'],
  [99, 'p99'],
  [99.9, 'p99.9'],
];

const PANEL = { width: 380, height: 260, gap: 60 };
const MARGIN = { top: 58, right: 130, bottom: 50, left: 70 };

export function percentileChart(input: PercentileChartInput): string {
  const panels = input.panels.length || 1;
  const width = MARGIN.left + panels * PANEL.width + (panels - 1) * PANEL.gap + MARGIN.right;
  const height = MARGIN.top + PANEL.height + MARGIN.bottom;
  const values = input.panels.flatMap((p) => p.lines.flatMap((l) => [...l.median, ...l.runs.flat()].map((pt) => pt.valueUs))).filter((v) => v > 0);
  const low = Math.min(...values, Infinity);
  const high = Math.max(...values, 0);
  // The latency axis goes log too when the tail is an order of magnitude above the median, else the
  // differences at p50 (the ones the backends are compared on) would be a few pixels.
  const useLog = values.length > 0 && high / low > 10;
  const yTicks = values.length === 0 ? [0, 1] : useLog ? logTicks(low * 0.9, high * 1.1) : ticksFromZero(high * 1.1);
  const yDomain: [number, number] = useLog ? [Math.min(low * 0.9, yTicks[0] ?? low), Math.max(high * 1.1, yTicks.at(-1) ?? high)] : [0, yTicks.at(-1) ?? 1];
  const xDomain: [number, number] = [tailPosition(50) - 0.1, tailPosition(99.9) + 0.1];

  const body: string[] = [text(MARGIN.left, 22, input.title, { 'font-size': 15, 'font-weight': 'bold' })];
  input.panels.forEach((panel, pi) => {
    const left = MARGIN.left + pi * (PANEL.width + PANEL.gap);
    const x = linearScale(xDomain, [left, left + PANEL.width]);
    const y: Scale = (useLog ? logScale : linearScale)(yDomain, [MARGIN.top + PANEL.height, MARGIN.top]);
    const parts: string[] = [text(left + PANEL.width / 2, MARGIN.top - 10, panel.title, { 'text-anchor': 'middle', 'font-weight': 'bold' })];
    parts.push(element('rect', { x: left, y: MARGIN.top, width: PANEL.width, height: PANEL.height, fill: 'none', stroke: '#999' }));
    for (const tick of yTicks) {
      parts.push(element('line', { x1: left, x2: left + PANEL.width, y1: y(tick), y2: y(tick), stroke: '#eee' }));
      if (pi === 0) parts.push(text(left - 6, y(tick) + 4, shortNumber(tick), { 'text-anchor': 'end' }));
    }
    for (const [p, label] of PERCENTILE_LABELS) {
      parts.push(element('line', { x1: x(tailPosition(p)), x2: x(tailPosition(p)), y1: MARGIN.top, y2: MARGIN.top + PANEL.height, stroke: '#eee' }));
      parts.push(text(x(tailPosition(p)), MARGIN.top + PANEL.height + 18, label, { 'text-anchor': 'middle' }));
    }
    const path = (points: PercentilePoint[]) => points.map((pt) => `${Math.round(x(tailPosition(pt.percentile)) * 10) / 10},${Math.round(y(pt.valueUs) * 10) / 10}`).join(' ');
    for (const line of panel.lines) {
      const colour = colourOf(line.series, input.series.indexOf(line.series));
      const runs = line.runs.map((run) => element('polyline', { class: 'run', points: path(run), fill: 'none', stroke: colour, 'stroke-opacity': 0.3, 'stroke-width': 1 }));
      const markers = line.median.map((pt) => element('circle', { cx: x(tailPosition(pt.percentile)), cy: y(pt.valueUs), r: 3, fill: colour }, element('title', {}, `${line.series} p${pt.percentile}: ${shortNumber(pt.valueUs)} µs`)));
      parts.push(element('g', { class: 'curve', 'data-series': line.series }, [...runs, element('polyline', { class: 'median', points: path(line.median), fill: 'none', stroke: colour, 'stroke-width': 2.2 }), ...markers]));
    }
    if (panel.invalid.length > 0) parts.push(text(left + 8, MARGIN.top + 16, `invalid (no evidence): ${panel.invalid.join(', ')}`, { fill: '#c00', 'font-size': 11 }));
    body.push(element('g', { class: 'panel', 'data-panel': panel.title }, parts));
  });
  body.push(text(14, MARGIN.top + PANEL.height / 2, `latency (µs${useLog ? ', log' : ''})`, { transform: `rotate(-90 14 ${MARGIN.top + PANEL.height / 2})`, 'text-anchor': 'middle' }));
  body.push(text(MARGIN.left + (width - MARGIN.left - MARGIN.right) / 2, height - 8, 'percentile (tail axis, log 1/(1-p))', { 'text-anchor': 'middle', fill: '#555' }));
  body.push(legend(input.series, width - MARGIN.right + 16, MARGIN.top, ['thin: one slice', 'thick: median']));
  return svgDocument(width, height, input.title, body);
}
