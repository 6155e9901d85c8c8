import { describe, expect, it } from 'vitest';
import { ratioChart } from '../../lab/report/ratio-chart.ts';
import { barChart } from '../../lab/report/bar-chart.ts';
import { tailPosition } from '../../lab/report/percentile-chart.ts';
import { escapeXml, linearScale, logScale, logTicks, niceTicks, shortNumber, ticksFromZero } from '../../lab/report/svg.ts';

describe('svg helpers', () => {
  it('escapes text for XML', () => {
    expect(escapeXml('a < b & "c" > d')).toBe('a &lt; b &amp; &quot;c&quot; &gt; d');
  });

  it('picks round ticks', () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(ticksFromZero(6.9)).toEqual([0, 2, 4, 6, 8]);
    expect(ticksFromZero(1300 * 1.12).at(-1)).toBeGreaterThanOrEqual(1456);
    expect(logTicks(30, 12000)).toEqual([100, 1000, 10000]);
    expect(logTicks(30, 400)).toEqual([50, 100, 200]);
  });

  it('maps values onto linear and log scales', () => {
    expect(linearScale([0, 10], [100, 0])(5)).toBe(50);
    const log = logScale([10, 1000], [0, 200]);
    expect(log(100)).toBeCloseTo(100, 10);
    expect(() => logScale([0, 10], [0, 1])).toThrow(/positive/);
  });

  it('places percentiles on the tail axis one step per nine', () => {
    expect(tailPosition(90)).toBeCloseTo(1, 10);
    expect(tailPosition(99)).toBeCloseTo(2, 10);
    expect(tailPosition(99.9)).toBeCloseTo(3, 10);
  });

  it('shortens axis numbers', () => {
    expect(shortNumber(1500)).toBe('1.5k');
    expect(shortNumber(2_000_000)).toBe('2M');
    expect(shortNumber(0.25)).toBe('0.25');
  });
});

describe('bar chart', () => {
  const svg = barChart({
    title: 'T & <test>',
    yLabel: 'Gbit/s',
    groups: ['same-node'],
    series: ['none', 'redirect'],
    value: (_g, s) => (s === 'none' ? { median: 6, runs: [5.9, 6, 6.2] } : { invalid: 'no evidence' }),
  });

  it('is a standalone SVG document with an escaped title', () => {
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
    expect(svg).toContain('<title>T &amp; &lt;test&gt;</title>');
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });

  it('draws the bar at the median with a dot per slice, and a cell without slices as such', () => {
    expect(svg.match(/<circle class="run"/g)).toHaveLength(3);
    expect(svg).toContain('median 6 (3 slices)');
    expect(svg).toContain('redirect, same-node: invalid (no evidence)');
    // The tallest dot (6.2) lies inside the plot: the axis reaches past it.
    const ys = [...svg.matchAll(/<circle class="run" cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(Math.min(...ys)).toBeGreaterThan(52);
  });
});

describe('ratio chart', () => {
  const svg = ratioChart({
    title: 'Each backend against redirect',
    rows: [
      { group: 'p50 round trip', label: 'sockmap, same node', series: 'sockmap', estimate: 0.82, low: 0.79, high: 0.85, note: 'n 12' },
      { group: 'p50 round trip', label: 'tc, same node', series: 'tc' },
      { group: 'throughput', label: 'sockmap, same node', series: 'sockmap', estimate: 1.3, low: 1.1, high: 1.5 },
    ],
  });

  it('draws each comparison as its median with its interval, grouped by metric, with 0 % marked', () => {
    expect(svg.match(/<circle class="estimate"/g)).toHaveLength(2);
    expect(svg.match(/<line class="interval"/g)).toHaveLength(2);
    expect(svg).toContain('>p50 round trip</text>');
    expect(svg).toContain('>throughput</text>');
    expect(svg).toContain('>0 %</text>');
    expect(svg).toContain('no paired rounds');
    // -18 % sits left of 0 %, +30 % right of it.
    const zero = Number(/<line x1="([\d.]+)"[^>]*stroke="#333"/.exec(svg)![1]);
    const [first, second] = [...svg.matchAll(/<circle class="estimate" cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(first).toBeLessThan(zero);
    expect(second).toBeGreaterThan(zero);
  });
});
