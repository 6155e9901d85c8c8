// A few SVG primitives, scales and tick rules: enough for the report's charts without a browser or
// a charting dependency. Every function returns markup as a string, so tests can read it.

export const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

type Attributes = Record<string, string | number | undefined>;

/** Rounds coordinates to 0.1 px: smaller files, stable output for tests. */
const fmt = (value: string | number) => (typeof value === 'number' ? String(Math.round(value * 10) / 10) : escapeXml(value));

export function element(name: string, attributes: Attributes, children: string | string[] = []): string {
  const attrs = Object.entries(attributes)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${fmt(v!)}"`)
    .join('');
  const body = Array.isArray(children) ? children.join('') : children;
  return body === '' ? `<${name}${attrs}/>` : `<${name}${attrs}>${body}</${name}>`;
}

export const text = (x: number, y: number, content: string, attributes: Attributes = {}) => element('text', { x, y, ...attributes }, escapeXml(content));

export function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return (
    element(
      'svg',
      { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': 'sans-serif', 'font-size': 12 },
      [element('title', {}, escapeXml(title)), element('rect', { x: 0, y: 0, width, height, fill: 'white' }), ...body],
    ) + '\n'
  );
}

export type Scale = (value: number) => number;

export function linearScale([d0, d1]: [number, number], [r0, r1]: [number, number]): Scale {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

export function logScale([d0, d1]: [number, number], [r0, r1]: [number, number]): Scale {
  if (d0 <= 0 || d1 <= 0) throw new Error('a log scale needs a positive domain');
  const l0 = Math.log10(d0);
  const span = Math.log10(d1) - l0 || 1;
  return (v) => r0 + ((Math.log10(Math.max(v, d0)) - l0) / span) * (r1 - r0);
}

/** Round tick values (1, 2, 5 x 10^k) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  return ticks.map((t) => Number(t.toPrecision(12)));
}

/** Nice ticks from 0 whose last tick is at or above `max` (an axis that never cuts off a bar). */
export function ticksFromZero(max: number, count = 5): number[] {
  const ticks = niceTicks(0, max > 0 ? max : 1, count);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : max || 1;
  while ((ticks.at(-1) ?? 0) < max) ticks.push(Number(((ticks.at(-1) ?? 0) + step).toPrecision(12)));
  return ticks;
}

/** Powers of ten covering [min, max] (and 2x, 5x between them when the range is narrow). */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  const decades = Math.log10(max / min);
  const multipliers = decades < 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of multipliers) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) ticks.push(Number(v.toPrecision(12)));
    }
  }
  return ticks;
}

/** Short numbers for axis labels: 1500 -> "1.5k", 0.25 -> "0.25". */
export function shortNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e3) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(3)));
}

/** One colour per backend, the same in every chart (Okabe-Ito: distinguishable with colour blindness). */
const PALETTE: Record<string, string> = { none: '#555555', redirect: '#E69F00', tproxy: '#56B4E9', sockmap: '#009E73', tc: '#CC79A7' };
const EXTRA = ['#0072B2', '#D55E00', '#F0E442'];

export function colourOf(backend: string, index: number): string {
  return PALETTE[backend] ?? EXTRA[index % EXTRA.length]!;
}
