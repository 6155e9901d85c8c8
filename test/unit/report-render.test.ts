// The report from a real recorded bench (test/fixtures/report/README.md): which slices count, the
// paired ratios and their intervals, CPU cost, the rendered answer and charts, and `lab report`.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agreement, agreementMarkdown } from '../../lab/report/agreement.ts';
import { analyze, exclusion, headlineLine, primaryValue } from '../../lab/report/analysis.ts';
import { buildFigures } from '../../lab/report/figures.ts';
import { renderMarkdown } from '../../lab/report/markdown.ts';
import { renderReportDir } from '../../lab/report/render.ts';
import { OutdatedResultsError, parseResults, readResults, type ResultsFile } from '../../lab/report/results.ts';
import { STALL_RULE } from '../../lab/report/stall.ts';

const recordedPath = new URL('../fixtures/report/recorded/results.json', import.meta.url);
const schema1Path = new URL('../fixtures/report/schema1/results.json', import.meta.url);
const recorded = readResults(recordedPath.pathname);
/** The recording was made on a shared machine: relaxing the foreign-load and steal limits lets its slices count. */
const relaxed = { ...STALL_RULE, foreignFraction: 1.01, stealFraction: 1.01 };

describe('results file', () => {
  it('reads a real bench run through its schema', () => {
    expect(recorded.configuration).toMatchObject({ backends: ['none', 'redirect', 'tproxy'], placements: ['same-node', 'cross-node'], rounds: 4, seed: 12 });
    expect(recorded.slices).toHaveLength(6 * 4 * 4);
    expect(recorded.roundsCompleted).toBe(4);
  });

  it('says that a schema-1 file predates the current format, and names what changed', () => {
    expect(() => readResults(schema1Path.pathname)).toThrow(OutdatedResultsError);
    expect(() => readResults(schema1Path.pathname)).toThrow(/predates the current results format: it is schema 1 .* this lab reads schema 2/);
  });

  it('names the field that is wrong in a damaged file', () => {
    const damaged = JSON.parse(readFileSync(recordedPath, 'utf8')) as { slices: Array<{ metric: string }> };
    damaged.slices[3]!.metric = 'bandwidth';
    expect(() => parseResults(JSON.stringify(damaged), 'x.json')).toThrow(/x\.json is not a lab results file of schema 2:[\s\S]*slices\[3\]\.metric/);
    expect(() => parseResults('{"schema": 99}')).toThrow(/not a lab results file/);
    expect(() => parseResults('not json')).toThrow(/cannot read/);
  });
});

describe('analysis', () => {
  it('leaves out every slice the stall rule flags, and counts them', () => {
    const strict = analyze(recorded);
    expect(strict.counts).toMatchObject({ slices: 96, counted: 0, stalled: 96, invalid: 0, failed: 0 });
    expect(strict.comparisons.every((c) => c.interval === null)).toBe(true);
    expect(headlineLine(strict.comparisons[0]!)).toMatch(/: no paired rounds$/);
  });

  it('pairs each backend with its baseline round by round and gives the median ratio a 95 % interval', () => {
    const analysis = analyze(recorded, relaxed);
    expect(analysis.counts.counted).toBe(96);
    const c = analysis.comparisons.find((x) => x.metric === 'round-trip' && x.placement === 'same-node' && x.backend === 'redirect' && x.baseline === 'none')!;
    expect(c.pairs.map((p) => p.round)).toEqual([1, 2, 3, 4]);
    for (const pair of c.pairs) {
      const subject = recorded.slices.find((s) => s.round === pair.round && s.metric === 'round-trip' && s.backend === 'redirect' && s.placement === 'same-node')!;
      const base = recorded.slices.find((s) => s.round === pair.round && s.metric === 'round-trip' && s.backend === 'none' && s.placement === 'same-node')!;
      expect(pair.ratio).toBeCloseTo(primaryValue(subject)! / primaryValue(base)!, 12);
    }
    const sorted = c.pairs.map((p) => p.ratio).sort((a, b) => a - b);
    expect(c.interval!.estimate).toBeCloseTo((sorted[1]! + sorted[2]!) / 2, 12);
    expect(c.interval!.low).toBeGreaterThanOrEqual(sorted[0]!);
    expect(c.interval!.high).toBeLessThanOrEqual(sorted[3]!);
    expect(c.halfWidth).toBeCloseTo((c.interval!.high - c.interval!.low) / 2 / c.interval!.estimate, 12);
    // redirect's sidecars cost round-trip time: the ratio is above 1.
    expect(c.interval!.estimate).toBeGreaterThan(1);
    expect(c.unproven).toBe(true);
  });

  it('compares against none and against redirect, never none against redirect', () => {
    const analysis = analyze(recorded, relaxed);
    const keys = analysis.comparisons.map((c) => `${c.backend}/${c.baseline}`);
    expect(new Set(keys)).toEqual(new Set(['redirect/none', 'tproxy/none', 'tproxy/redirect']));
    expect(analysis.comparisons).toHaveLength(3 * 2 * 4);
  });

  it('gives the same intervals for the same data and seed', () => {
    const a = analyze(recorded, relaxed).comparisons.map((c) => c.interval);
    expect(analyze(structuredClone(recorded), relaxed).comparisons.map((c) => c.interval)).toEqual(a);
    // With 4 rounds the 95 % interval is fixed by the extreme resamples, whatever the seed.
    const reseeded: ResultsFile = { ...recorded, configuration: { ...recorded.configuration, seed: 99 } };
    expect(analyze(reseeded, relaxed).comparisons.map((c) => c.interval)).toEqual(a);
  });

  it('drops a slice whose traffic left the path from its pair, and a failed one', () => {
    const broken = structuredClone(recorded);
    const slice = broken.slices.find((s) => s.round === 2 && s.metric === 'throughput' && s.backend === 'tproxy' && s.placement === 'cross-node')!;
    slice.path = { status: 'invalid', check: { name: 'slice-through-path', ok: false, detail: 'client sidecar carried 0 of 2 connections' } };
    const failed = broken.slices.find((s) => s.round === 3 && s.metric === 'cps' && s.backend === 'none' && s.placement === 'same-node')!;
    delete failed.result;
    failed.error = 'no connection succeeded';
    expect(exclusion(slice, relaxed)).toBe('invalid');
    expect(exclusion(failed, relaxed)).toBe('failed');
    const analysis = analyze(broken, relaxed);
    expect(analysis.counts).toMatchObject({ invalid: 1, failed: 1, counted: 94 });
    const rounds = (metric: string, backend: string, baseline: string, placement: string) =>
      analysis.comparisons.find((c) => c.metric === metric && c.backend === backend && c.baseline === baseline && c.placement === placement)!.pairs.map((p) => p.round);
    expect(rounds('throughput', 'tproxy', 'none', 'cross-node')).toEqual([1, 3, 4]);
    expect(rounds('cps', 'redirect', 'none', 'same-node')).toEqual([1, 2, 4]);
    expect(rounds('throughput', 'redirect', 'none', 'cross-node')).toEqual([1, 2, 3, 4]);
  });

  it('gives no interval to fewer than three paired rounds, and says so', () => {
    const thin = structuredClone(recorded);
    for (const slice of thin.slices) if (slice.backend === 'redirect' && slice.metric === 'round-trip' && slice.placement === 'same-node' && slice.round >= 3) slice.path = { status: 'invalid' };
    const c = analyze(thin, relaxed).comparisons.find((x) => x.metric === 'round-trip' && x.placement === 'same-node' && x.backend === 'redirect' && x.baseline === 'none')!;
    expect(c.pairs).toHaveLength(2);
    expect(c.interval).toBeNull();
    expect(headlineLine(c)).toBe('redirect vs none, same node, p50 round trip (closed loop): 2 paired round(s), too few for an interval (it needs 3)');
  });

  it('reports CPU per request and per GB, split into app, proxy and kernel', () => {
    const analysis = analyze(recorded, relaxed);
    const cost = (metric: string, backend: string) => analysis.setups.find((s) => s.metric === metric && s.backend === backend && s.placement === 'same-node')!.cpu!;
    expect(cost('round-trip', 'none')).toMatchObject({ unit: 'µs/request', proxy: 0 });
    expect(cost('round-trip', 'redirect').proxy).toBeGreaterThan(0);
    expect(cost('throughput', 'redirect').unit).toBe('s/GB');
    // Two HAProxy sidecars copying every byte cost more CPU per GB than the direct path's apps alone.
    expect(cost('throughput', 'redirect').app + cost('throughput', 'redirect').proxy).toBeGreaterThan(cost('throughput', 'none').app);
    expect(cost('cps', 'redirect').proxy).toBeGreaterThan(0);
  });
});

describe('rendered report', () => {
  const analysis = analyze(recorded, relaxed);
  const figures = buildFigures(recorded, analysis);
  const markdown = renderMarkdown(recorded, analysis, figures);

  it('leads with the answer: one line per comparison with its interval and n', () => {
    expect(markdown.indexOf('## The answer')).toBeLessThan(markdown.indexOf('## Absolute figures'));
    expect(markdown).toMatch(/- redirect vs none, same node, p50 round trip \(closed loop\): \+[\d.]+ % \[[+−][\d.]+ %, \+[\d.]+ %\] \(n 4, path unproven\)/);
    expect(markdown).toMatch(/- tproxy vs redirect, across nodes, throughput: [+−][\d.]+ %/);
    expect(markdown).toMatch(/Interval target for this profile: half-width ≤ 10 % of the ratio\. \d+ of 24 intervals meet it; the widest is ±[\d.]+ %/);
    expect(markdown).toContain('The two latency views:');
  });

  it('shows the CPU cost, the path evidence, the noise with the stated rule, and how the numbers were made', () => {
    expect(markdown).toContain('## CPU cost');
    expect(markdown).toMatch(/\| p50 round trip \(closed loop\) \| redirect \| same-node \| CPU-µs per request \| [\d.]+ \| [\d.]+ \|/);
    expect(markdown).toContain('none has no path to prove: its slices are the baseline');
    expect(markdown).toContain('no per-slice judge: 16 slices unproven');
    expect(markdown).toContain('The stall rule: a slice is flagged when');
    expect(markdown).toMatch(/in a fresh random order of the setups for each metric \(seeded\)/);
    expect(markdown).toContain('percentile bootstrap 95 % interval (4000 resamples');
    expect(markdown).toContain('Pinning: every process of the client pod on CPU 0 and of the server pod on CPU 1');
  });

  it('under the default rule, still says what a busy machine saw, marked as not a result', () => {
    const strict = analyze(recorded);
    const text = renderMarkdown(recorded, strict, buildFigures(recorded, strict));
    expect(text).toMatch(/- redirect vs none, same node, throughput: no paired rounds — with flagged slices included \(not a result\): [+−][\d.]+ % \[/);
    expect(text).toContain('96 of 96 slices flagged (foreign: 96');
    // The fallback counts every round, whatever flagged its slices.
    expect(text).toMatch(/- redirect vs none, same node, p50 round trip \(closed loop\): no paired rounds — with flagged slices included \(not a result\): .* \(n 4\)/);
  });

  it('draws the ratios with their intervals, and every counted slice beside its median', () => {
    expect(figures.map((f) => f.file)).toEqual(['ratios-vs-redirect.svg', 'ratios-vs-none.svg', 'latency.svg', 'round-trip.svg', 'throughput.svg', 'connection-rate.svg']);
    const ratios = figures.find((f) => f.file === 'ratios-vs-none.svg')!.svg;
    expect(ratios.match(/<line class="interval"/g)).toHaveLength(16);
    expect(ratios.match(/<circle class="estimate"/g)).toHaveLength(16);
    const throughput = figures.find((f) => f.file === 'throughput.svg')!.svg;
    expect(throughput.match(/<circle class="run"/g)).toHaveLength(6 * 4);
    const latency = figures.find((f) => f.file === 'round-trip.svg')!.svg;
    expect(latency.match(/<polyline class="median"/g)).toHaveLength(6);
  });
});

describe('agreement of two runs', () => {
  it('sets every ratio of two runs side by side and names the largest disagreement', () => {
    const first = analyze(recorded, relaxed);
    // A second run in which every tproxy throughput slice came out 10 % faster.
    const faster = structuredClone(recorded);
    for (const slice of faster.slices) if (slice.backend === 'tproxy' && slice.result?.kind === 'throughput') slice.result.bitsPerSecond *= 1.1;
    const rows = agreement(first, analyze(faster, relaxed));
    expect(rows).toHaveLength(first.comparisons.length);
    const moved = rows.filter((r) => r.disagreement !== null && r.disagreement > 1e-9);
    expect(moved.map((r) => r.key).sort()).toEqual(['throughput|cross-node|tproxy|none', 'throughput|cross-node|tproxy|redirect', 'throughput|same-node|tproxy|none', 'throughput|same-node|tproxy|redirect']);
    for (const row of moved) expect(row.disagreement).toBeCloseTo(0.1, 10);
    const text = agreementMarkdown(rows, ['run-a', 'run-b']);
    expect(text).toContain('| comparison | run-a | run-b | disagreement |');
    expect(text).toMatch(/20 of 24 ratios agree within ±5 %; the largest disagreement is 10\.0 % \(tproxy vs /);
    expect(agreementMarkdown(agreement(analyze(recorded), analyze(recorded)), ['a', 'b'])).toContain('No comparison has paired rounds in both runs.');
  });
});

describe('lab report DIR', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-report-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('re-renders report.md and the charts from results.json alone', () => {
    writeFileSync(join(dir, 'results.json'), readFileSync(recordedPath));
    const files = renderReportDir(dir);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['report.md', 'ratios-vs-redirect.svg', 'ratios-vs-none.svg', 'latency.svg', 'round-trip.svg', 'throughput.svg', 'connection-rate.svg']);
    for (const file of files) expect(existsSync(file)).toBe(true);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('# Interception backends benchmark: bench');
  });

  it('names the Istio rules each backend installed when the setups record them, and nothing when they do not', () => {
    const istio = 'Istio 1.30 (rules of 1.30.3, 56df41f)';
    const withIstio: ResultsFile = { ...recorded, setups: recorded.setups.map((s) => (s.backend === 'none' ? s : { ...s, istio })) };
    expect(renderMarkdown(withIstio, analyze(withIstio), buildFigures(withIstio, analyze(withIstio)))).toContain(`Istio rules installed: redirect, tproxy: ${istio}.`);
    expect(renderMarkdown(recorded, analyze(recorded), buildFigures(recorded, analyze(recorded)))).not.toContain('Istio rules installed');
  });

  it('refuses an old file with the reason, and leaves its report alone', () => {
    writeFileSync(join(dir, 'results.json'), readFileSync(schema1Path));
    writeFileSync(join(dir, 'report.md'), 'old report');
    expect(() => renderReportDir(dir)).toThrow(/predates the current results format/);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toBe('old report');
  });
});
