// The answer as a chart: one row per comparison (backend vs baseline, per placement), the median
// paired ratio as a dot and its 95 % interval as a bar, on a change-in-percent axis with 0 marked.
// Rows are grouped by metric; a comparison without paired rounds is labelled as such.
import { colourOf, element, linearScale, niceTicks, svgDocument, text } from './svg.ts';

export interface RatioRow {
  group: string;
  label: string;
  series: string;
  /** Ratios (1 = no change); absent when no round was paired. */
  estimate?: number;
  low?: number;
  high?: number;
  note?: string;
}

const MARGIN = { top: 50, right: 40, bottom: 46, left: 250 };
const ROW = 20;
const GROUP_GAP = 26;
const PLOT_WIDTH = 420;

export function ratioChart(input: { title: string; rows: RatioRow[] }): string {
  const groups = [...new Set(input.rows.map((r) => r.group))];
  const height = MARGIN.top + input.rows.length * ROW + groups.length * GROUP_GAP + MARGIN.bottom;
  const width = MARGIN.left + PLOT_WIDTH + MARGIN.right;
  const changes = input.rows.flatMap((r) => [r.low, r.high, r.estimate].filter((v): v is number => v !== undefined).map((v) => (v - 1) * 100));
  const ticks = niceTicks(Math.min(-5, ...changes), Math.max(5, ...changes), 6);
  const x = linearScale([Math.min(ticks[0]!, ...changes), Math.max(ticks.at(-1)!, ...changes)], [MARGIN.left, MARGIN.left + PLOT_WIDTH]);
  const plotBottom = height - MARGIN.bottom;
  const body: string[] = [text(10, 22, input.title, { 'font-size': 15, 'font-weight': 'bold' })];
  body.push(
    element(
      'g',
      { class: 'x-axis' },
      ticks.map((t) => element('line', { x1: x(t), x2: x(t), y1: MARGIN.top - 6, y2: plotBottom, stroke: t === 0 ? '#333' : '#e5e5e5' }) + text(x(t), plotBottom + 16, `${t > 0 ? '+' : ''}${t} %`, { 'text-anchor': 'middle' })),
    ),
  );
  body.push(text(MARGIN.left + PLOT_WIDTH / 2, plotBottom + 36, 'change against the baseline, median over rounds, 95 % interval', { 'text-anchor': 'middle', fill: '#555' }));
  let y = MARGIN.top;
  let seriesIndex = 0;
  for (const group of groups) {
    body.push(text(10, y + 12, group, { 'font-weight': 'bold' }));
    y += GROUP_GAP - 6;
    for (const row of input.rows.filter((r) => r.group === group)) {
      const cy = y + ROW / 2;
      const parts = [text(MARGIN.left - 8, cy + 4, row.label, { 'text-anchor': 'end' })];
      if (row.estimate === undefined) {
        parts.push(text(x(0) + 6, cy + 4, row.note ?? 'no paired rounds', { fill: '#c00', 'font-size': 11 }));
      } else {
        const colour = colourOf(row.series, seriesIndex++);
        const change = (row.estimate - 1) * 100;
        if (row.low !== undefined && row.high !== undefined) {
          parts.push(element('line', { class: 'interval', x1: x((row.low - 1) * 100), x2: x((row.high - 1) * 100), y1: cy, y2: cy, stroke: colour, 'stroke-width': 3 }));
        }
        parts.push(element('circle', { class: 'estimate', cx: x(change), cy, r: 4.5, fill: colour, stroke: '#222' }));
        if (row.note) parts.push(text(MARGIN.left + PLOT_WIDTH + 4, cy + 4, row.note, { fill: '#555', 'font-size': 10 }));
      }
      body.push(element('g', { class: 'row', 'data-series': row.series }, parts));
      y += ROW;
    }
    y += 6;
  }
  return svgDocument(width, height, input.title, body);
}
