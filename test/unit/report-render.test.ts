import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFigures } from '../../lab/report/figures.ts';
import { formatRatio, renderMarkdown } from '../../lab/report/markdown.ts';
import { renderReportDir } from '../../lab/report/render.ts';
import { readResults } from '../../lab/report/results.ts';
import { summarizeResults } from '../../lab/report/summarize.ts';

const fixturePath = new URL('../fixtures/report/results-small.json', import.meta.url);
const results = readResults(fixturePath.pathname);
const cells = summarizeResults(results);
const cell = (metric: string, backend: string, placement: string) => {
  const found = cells.find((c) => c.metric === metric && c.backend === backend && c.placement === placement);
  if (!found) throw new Error(`no cell ${metric} ${backend} ${placement}`);
  return found;
};

describe('cell summaries', () => {
  it('has one cell per metric, placement and backend', () => {
    expect(cells).toHaveLength(3 * 2 * 3);
  });

  it('summarizes the primary value over repeats and the ratios against none and redirect', () => {
    const redirect = cell('latency', 'redirect', 'same-node');
    // p50 per repeat: 250, 255, 242.5
    expect(redirect.primary).toMatchObject({ n: 3, median: 250 });
    expect(redirect.primary?.iqr).toBeCloseTo(6.25, 6);
    expect(redirect.ratios.none).toBeCloseTo(250 / 40, 6);
    expect(redirect.ratios.redirect).toBeCloseTo(1, 6);
    expect(cell('throughput', 'redirect', 'same-node').primary?.median).toBeCloseTo(3, 6);
  });

  it('flags cells that miss their variation target, and names them in the report', () => {
    // Repeats within -3%..+2%: CV about 2.5%, inside both targets.
    const steady = cell('throughput', 'none', 'same-node');
    expect(steady.cvTarget).toBe(0.03);
    expect(steady.primary!.cv).toBeCloseTo(0.025, 2);
    expect(steady.missedCvTarget).toBe(false);
    // One throughput run 20% low: the cell misses the 3% target.
    const noisy = structuredClone(results);
    const run = noisy.runs.find((r) => r.metric === 'throughput' && r.backend === 'none' && r.placement === 'same-node' && r.repeat === 2);
    if (run?.result?.kind !== 'throughput') throw new Error('fixture changed');
    run.result.bitsPerSecond *= 0.8;
    const noisyCells = summarizeResults(noisy);
    const missed = noisyCells.find((c) => c.metric === 'throughput' && c.backend === 'none' && c.placement === 'same-node')!;
    expect(missed.missedCvTarget).toBe(true);
    expect(missed.noisy).toBe(true);
    const markdown = renderMarkdown(noisy, noisyCells, []);
    expect(markdown).toMatch(/Cells that missed their target \(1 of \d+\): throughput none\/same-node \([\d.]+%\)/);
    expect(markdown).toMatch(/\| none \| same-node \| [\d.]+ \| [\d.]+ \| \*\*[\d.]+%\*\* ⚠ \|/);
  });

  it('marks a cell invalid when any of its setups lacked evidence, and gives it no ratios', () => {
    const invalid = cell('latency', 'sockmap', 'cross-node');
    expect(invalid.valid).toBe(false);
    expect(invalid.invalidReason).toMatch(/1 of 3 setup\(s\) lacked evidence: path-taken/);
    expect(invalid.ratios).toEqual({ none: null, redirect: null });
    expect(cell('latency', 'sockmap', 'same-node').valid).toBe(true);
  });

  it('ignores a setup that Ctrl-C cut short before its evidence, but not one that failed', () => {
    const interrupted = structuredClone(results);
    interrupted.status = 'interrupted';
    interrupted.setups.push({ id: 99, repeat: 4, backend: 'none', placement: 'same-node', startedAt: '2026-11-22T08:06:00.000Z', seconds: 0, evidence: null });
    expect(summarizeResults(interrupted).find((c) => c.metric === 'latency' && c.backend === 'none' && c.placement === 'same-node')?.valid).toBe(true);
    interrupted.setups[interrupted.setups.length - 1]!.error = 'haproxy did not start';
    const failed = summarizeResults(interrupted).find((c) => c.metric === 'latency' && c.backend === 'none' && c.placement === 'same-node');
    expect(failed?.valid).toBe(false);
    expect(failed?.invalidReason).toContain('setup failed: haproxy did not start');
  });

  it('counts failed runs apart from the numbers', () => {
    const cps = cell('cps', 'redirect', 'same-node');
    expect(cps.primary?.n).toBe(2);
    expect(cps.failedRuns).toBe(1);
  });
});

describe('report.md', () => {
  const markdown = renderMarkdown(results, cells, buildFigures(results, cells));

  it('opens with the environment table', () => {
    expect(markdown).toContain('## Environment');
    expect(markdown).toContain('| kernel | 6.18.0-fixture |');
    expect(markdown).toContain('| iptables backend | nf_tables |');
    expect(markdown).toContain('tcp-segmentation-offload on');
  });

  it('has a backends x placements table per metric with median, IQR, CV, robust CV, n and ratios', () => {
    expect(markdown).toContain('| backend | placement | median p50 latency (µs) | IQR | CV | robust CV | n | vs none | vs redirect | p90 | p99 | p99.9 | samples/run | tool |');
    expect(markdown).toMatch(/\| redirect \| same-node \| 250\.0 \| 6\.3 \| [\d.]+% \| [\d.]+% \| 3 \| ×6\.25 \(\+525\.0%\) \| ×1\.00 \(\+0\.0%\) \|/);
    expect(markdown).toContain('### Throughput (iperf3, one TCP stream)');
    expect(markdown).toContain('### Connection rate (open, one exchange, close)');
    expect(markdown).toMatch(/\| sockmap \| cross-node \| invalid: 1 of 3 setup\(s\) lacked evidence: path-taken \|/);
    expect(markdown).toContain('(1 run(s) failed)');
    expect(markdown).toContain('| cps | redirect | same-node | 1 | no connection succeeded (12 errors) |');
  });

  it('states the variation targets and names the cells that missed them', () => {
    expect(markdown).toContain('### Variation targets');
    expect(markdown).toContain('throughput CV ≤ 3.0%, p50 latency CV ≤ 5.0%');
  });

  it('summarizes the evidence per cell', () => {
    expect(markdown).toContain('## Evidence per cell');
    expect(markdown).toMatch(/\| sockmap \| cross-node \| 2\/3 \| \*\*invalid\*\* \| path-taken \| path-taken: sk_msg program ran 0 times \|/);
    expect(markdown).toMatch(/\| none \| same-node \| 3\/3 \| valid \|/);
  });

  it('places this run beside the published results', () => {
    expect(markdown).toContain('## Compared with published results');
    expect(markdown).toContain('about −12% latency (100 connections)');
    // sockmap p50 200 vs redirect 250 on same-node: −20%; cross-node sockmap is invalid.
    expect(markdown).toContain('same-node: ×0.80 (−20.0%) p50, sockmap vs redirect');
    expect(markdown).toContain('cross-node: not measured');
    // Cilium's claim is about loopback, which the matrix does not run: the report says so, and where.
    expect(markdown).toContain('not measured by the matrix');
    expect(markdown).toContain('scenarios/sockmap-loopback.ts');
  });

  it('links the charts', () => {
    expect(markdown).toContain('![Throughput, iperf3 one stream (Gbit/s)](throughput.svg)');
    expect(markdown).toContain('(latency.svg)');
    expect(markdown).toContain('(connection-rate.svg)');
  });

  it('formats ratios as factor and change', () => {
    expect(formatRatio(0.88)).toBe('×0.88 (−12.0%)');
    expect(formatRatio(2)).toBe('×2.00 (+100.0%)');
    expect(formatRatio(null)).toBe('–');
  });
});

describe('charts', () => {
  const figures = buildFigures(results, cells);
  const svg = (file: string) => figures.find((f) => f.file === file)?.svg ?? '';

  it('draws throughput bars with every run as a dot', () => {
    const chart = svg('throughput.svg');
    expect(chart.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    // 6 cells, 5 valid: 5 bars x 3 runs = 15 dots; one invalid cell drawn as such.
    expect(chart.match(/<g class="bar" /g)).toHaveLength(5);
    expect(chart.match(/<circle class="run"/g)).toHaveLength(15);
    expect(chart.match(/<g class="bar invalid"/g)).toHaveLength(1);
    expect(chart).toContain('data-series="sockmap" data-group="cross-node"');
  });

  it('draws latency percentile curves per backend on a log tail axis', () => {
    const chart = svg('latency.svg');
    expect(chart.match(/<g class="panel"/g)).toHaveLength(2);
    // same-node: 3 backends; cross-node: 2 valid backends.
    expect(chart.match(/<polyline class="median"/g)).toHaveLength(5);
    expect(chart.match(/<polyline class="run"/g)).toHaveLength(15);
    for (const label of ['p50', 'p90', 'p99', 'p99.9']) expect(chart).toContain(`>${label}</text>`);
    expect(chart).toContain('invalid (no evidence): sockmap');
    // p999 = 20 x p50: the latency axis goes log as well.
    expect(chart).toContain('latency (µs, log)');
  });

  it('draws connection-rate bars', () => {
    const chart = svg('connection-rate.svg');
    expect(chart.match(/<g class="bar" /g)).toHaveLength(5);
    // redirect same-node has 2 successful runs.
    expect(chart.match(/<circle class="run"/g)).toHaveLength(14);
  });
});

describe('lab report DIR', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-report-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('re-renders report.md and the charts from results.json alone', () => {
    writeFileSync(join(dir, 'results.json'), readFileSync(fixturePath));
    const files = renderReportDir(dir);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['report.md', 'throughput.svg', 'latency.svg', 'connection-rate.svg']);
    for (const file of files) expect(existsSync(file)).toBe(true);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('# Interception backends benchmark: fixture');
  });

  it('refuses a file that is not a results file', () => {
    writeFileSync(join(dir, 'results.json'), '{"schema": 99}');
    expect(() => renderReportDir(dir)).toThrow(/not a lab results file/);
  });
});
