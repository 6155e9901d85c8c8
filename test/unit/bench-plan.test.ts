import { describe, expect, it } from 'vitest';
import { UsageError } from '../../lab/errors.ts';
import { defaultDurations, parseBackends, parseList, parseMetrics, parsePlacements, parsePositiveInteger, quickDurations } from '../../lab/bench/options.ts';
import { estimateRemainingSeconds, formatDuration, planSetups } from '../../lab/bench/plan.ts';
import { defaultReportDir } from '../../lab/bench/report-dir.ts';
import { scaleTopology } from '../../lab/bench/scale.ts';
import { summaryLines } from '../../lab/cli/bench.ts';
import { keyOffloads, iptablesBackendOf, parseEthtoolFeatures } from '../../lab/report/environment.ts';
import { readFileSync } from 'node:fs';

describe('bench plan', () => {
  it('interleaves backends within each repeat (A B C A B C)', () => {
    const plan = planSetups(['a', 'b', 'c'], ['same-node'], 2);
    expect(plan.map((p) => p.backend).join(' ')).toBe('a b c a b c');
    expect(plan.map((p) => p.repeat)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(plan.map((p) => p.index)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('runs every backend of a placement back to back, for both placements, in each repeat', () => {
    const plan = planSetups(['none', 'redirect'], ['same-node', 'cross-node'], 3);
    expect(plan).toHaveLength(12);
    expect(plan.slice(0, 4).map((p) => `${p.backend}/${p.placement}`)).toEqual(['none/same-node', 'redirect/same-node', 'none/cross-node', 'redirect/cross-node']);
  });

  it('estimates the time left from the setups done', () => {
    expect(estimateRemainingSeconds(30, 3, 30)).toBe(270);
    expect(estimateRemainingSeconds(0, 0, 30)).toBeUndefined();
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(42.4)).toBe('42s');
  });
});

describe('bench options', () => {
  it('rejects unknown values and names the allowed ones', () => {
    expect(() => parseMetrics('latency,bogus')).toThrow(UsageError);
    expect(() => parseMetrics('latency,bogus')).toThrow('--metrics: unknown value "bogus": allowed values are latency, throughput, cps');
    expect(() => parsePlacements('same-node,far')).toThrow(/allowed values are same-node, cross-node/);
    expect(() => parseBackends('none,tproxy', ['none', 'redirect'])).toThrow(/"tproxy": allowed values are none, redirect/);
    expect(() => parseList('--x', ' , ', ['a'])).toThrow(/needs at least one value/);
    expect(() => parsePositiveInteger('--repeats', '0', 100)).toThrow(/from 1 to 100/);
    expect(() => parsePositiveInteger('--repeats', '2.5', 100)).toThrow(UsageError);
  });

  it('accepts lists with spaces and drops duplicates', () => {
    expect(parseMetrics('cps, latency,cps')).toEqual(['cps', 'latency']);
    expect(parsePositiveInteger('--scale', '100', 480)).toBe(100);
  });

  it('keeps quick runs short and default runs long enough for stable tails', () => {
    const quick = quickDurations('sockperf');
    const full = defaultDurations('sockperf');
    expect(quick.latency.seconds).toBeLessThan(full.latency.seconds);
    expect(full.latency.rate * full.latency.seconds).toBeGreaterThanOrEqual(10_000);
    expect(full.throughput.omitSeconds).toBeGreaterThan(0);
    // quick takes throughput from the verify plan's iperf3 run instead of a second run.
    expect(quick.throughput.fromVerifyPlan).toBe(true);
    expect(full.throughput.fromVerifyPlan).toBeUndefined();
    expect(defaultDurations('fortio').latency.warmupSeconds).toBeGreaterThan(0);
  });

  it('names report directories by date and never reuses one', () => {
    const dir = defaultReportDir('quick', new Date('2026-11-22T10:00:00Z'), '/nonexistent-root');
    expect(dir).toBe('/nonexistent-root/2026-11-22-quick');
  });

  it('spreads scale pods over two nodes past one node\'s capacity', () => {
    expect(scaleTopology(100).nodes).toHaveLength(1);
    expect(scaleTopology(100).nodes[0]!.pods).toHaveLength(100);
    const big = scaleTopology(300);
    expect(big.nodes.map((n) => n.pods.length)).toEqual([240, 60]);
    expect(() => scaleTopology(0)).toThrow(/1 to 480/);
  });
});

describe('environment parsing', () => {
  it('reads the offloads of a lab veth from real ethtool output', () => {
    const text = readFileSync(new URL('../fixtures/ethtool/veth-features.txt', import.meta.url), 'utf8');
    const features = parseEthtoolFeatures(text);
    expect(features['tcp-segmentation-offload']).toBe('on');
    expect(features['large-receive-offload']).toBe('off (fixed)');
    const key = keyOffloads(features);
    expect(Object.keys(key)).toContain('generic-receive-offload');
    expect(Object.keys(key).length).toBeLessThan(Object.keys(features).length);
  });

  it('reads the iptables backend from its version line', () => {
    expect(iptablesBackendOf('iptables v1.8.9 (nf_tables)')).toBe('nf_tables');
    expect(iptablesBackendOf('iptables v1.8.9 (legacy)')).toBe('legacy');
    expect(iptablesBackendOf('missing')).toBe('unknown');
  });
});

describe('terminal summary', () => {
  it('prints one line per cell, invalid ones as such', () => {
    const lines = summaryLines([
      {
        metric: 'latency', backend: 'redirect', placement: 'same-node', valid: true, primary: { n: 3, median: 250, q1: 245, q3: 255, iqr: 10, mean: 250, stddev: 5, cv: 0.02, robustCv: 0.03, min: 240, max: 260 },
        secondary: {}, failedRuns: 0, tools: ['sockperf'], evidence: { setups: 3, passed: 3, failedChecks: [] }, ratios: { none: 6.25, redirect: 1 }, cvTarget: 0.05, missedCvTarget: false, noisy: false,
      },
      {
        metric: 'cps', backend: 'sockmap', placement: 'cross-node', valid: false, invalidReason: '1 of 3 setup(s) lacked evidence: path-taken', primary: null,
        secondary: {}, failedRuns: 0, tools: [], evidence: { setups: 3, passed: 2, failedChecks: ['path-taken'] }, ratios: { none: null, redirect: null }, cvTarget: null, missedCvTarget: false, noisy: false,
      },
    ]);
    expect(lines[0]).toMatch(/latency\s+redirect\s+same-node\s+250\.0 µs \(n 3 CV 2\.0%\) vs none ×6\.25/);
    expect(lines[1]).toMatch(/cps\s+sockmap\s+cross-node\s+INVALID: 1 of 3 setup/);
  });
});
