// Grouped bars: one group per placement, one bar per backend at the median, and every slice drawn as a
// dot on its bar, so the spread is visible and not only summarized.
import { colourOf, element, linearScale, shortNumber, svgDocument, text, ticksFromZero } from './svg.ts';

export type BarValue = { median: number; runs: number[] } | { invalid: string };

export interface BarChartInput {
  title: string;
  yLabel: string;
  groups: string[];
  series: string[];
  value(group: string, series: string): BarValue | undefined;
}

const MARGIN = { top: 52, right: 130, bottom: 50, left: 70 };
const BAR_WIDTH = 34;
const BAR_GAP = 8;
const GROUP_GAP = 40;

export function barChart(input: BarChartInput): string {
  const groupWidth = input.series.length * (BAR_WIDTH + BAR_GAP) - BAR_GAP;
  const plotWidth = Math.max(240, input.groups.length * (groupWidth + GROUP_GAP));
  const plotHeight = 260;
  // Wide enough for the title too (about 8.5 px per character at 15 px bold).
  const width = Math.max(MARGIN.left + plotWidth + MARGIN.right, MARGIN.left + input.title.length * 8.5);
  const height = MARGIN.top + plotHeight + MARGIN.bottom;

  const numbers = input.groups.flatMap((g) => input.series.flatMap((s) => {
    const v = input.value(g, s);
    return v && 'median' in v ? [v.median, ...v.runs] : [];
  }));
  // 12% headroom above the tallest bar or dot keeps its value label inside the plot.
  const ticks = ticksFromZero(Math.max(...numbers, 0) * 1.12);
  const y = linearScale([0, ticks.at(-1) ?? 1], [MARGIN.top + plotHeight, MARGIN.top]);
  const body: string[] = [text(MARGIN.left, 22, input.title, { 'font-size': 15, 'font-weight': 'bold' })];

  // Axis and horizontal grid.
  body.push(element('g', { class: 'y-axis' }, ticks.map((t) => element('line', { x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y(t), y2: y(t), stroke: '#e5e5e5' }) + text(MARGIN.left - 6, y(t) + 4, shortNumber(t), { 'text-anchor': 'end' }))));
  body.push(text(24, MARGIN.top + plotHeight / 2, input.yLabel, { transform: `rotate(-90 24 ${MARGIN.top + plotHeight / 2})`, 'text-anchor': 'middle' }));
  body.push(element('line', { x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y(0), y2: y(0), stroke: '#333' }));

  input.groups.forEach((group, gi) => {
    const groupX = MARGIN.left + GROUP_GAP / 2 + gi * (groupWidth + GROUP_GAP);
    body.push(text(groupX + groupWidth / 2, MARGIN.top + plotHeight + 20, group, { 'text-anchor': 'middle' }));
    input.series.forEach((series, si) => {
      const value = input.value(group, series);
      if (!value) return;
      const x = groupX + si * (BAR_WIDTH + BAR_GAP);
      if ('invalid' in value) {
        body.push(element('g', { class: 'bar invalid', 'data-series': series, 'data-group': group }, [
          element('rect', { x, y: MARGIN.top, width: BAR_WIDTH, height: plotHeight, fill: 'none', stroke: '#c00', 'stroke-dasharray': '4 3' }),
          text(x + BAR_WIDTH / 2 + 4, MARGIN.top + plotHeight / 2, 'invalid', { 'text-anchor': 'middle', fill: '#c00', 'font-size': 11, transform: `rotate(-90 ${x + BAR_WIDTH / 2 + 4} ${MARGIN.top + plotHeight / 2})` }),
          element('title', {}, `${series}, ${group}: invalid (${value.invalid})`),
        ]));
        return;
      }
      const colour = colourOf(series, si);
      const dots = value.runs.map((run, ri) =>
        element('circle', { class: 'run', cx: x + BAR_WIDTH / 2 + (ri - (value.runs.length - 1) / 2) * 4, cy: y(run), r: 3, fill: 'white', stroke: '#222', 'stroke-width': 1.2 }),
      );
      body.push(element('g', { class: 'bar', 'data-series': series, 'data-group': group }, [
        element('rect', { x, y: y(value.median), width: BAR_WIDTH, height: y(0) - y(value.median), fill: colour, opacity: 0.85 }, element('title', {}, `${series}, ${group}: median ${shortNumber(value.median)} (${value.runs.length} slices)`)),
        ...dots,
        text(x + BAR_WIDTH / 2, y(Math.max(value.median, ...value.runs)) - 7, shortNumber(value.median), { 'text-anchor': 'middle', 'font-size': 10 }),
      ]));
    });
  });

  body.push(legend(input.series, MARGIN.left + plotWidth + 16, MARGIN.top));
  return svgDocument(width, height, input.title, body);
}

export function legend(series: string[], x: number, y: number, extra: string[] = ['o  one slice']): string {
  const rows = series.map((s, i) => element('rect', { x, y: y + i * 20, width: 12, height: 12, fill: colourOf(s, i) }) + text(x + 18, y + i * 20 + 10, s));
  const notes = extra.map((note, i) => text(x, y + (series.length + i) * 20 + 14, note, { fill: '#555', 'font-size': 11 }));
  return element('g', { class: 'legend' }, [...rows, ...notes]);
}
