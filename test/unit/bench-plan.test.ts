import { backendNames } from '../../lab/backends/index.ts';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBackends, parseMetrics, parsePinMode, parsePlacements, parsePositiveInteger, parseSeed, ROUNDS, SLICE_SECONDS } from '../../lab/bench/options.ts';
import { estimateRemainingSeconds, formatDuration, planRound } from '../../lab/bench/plan.ts';
import { defaultReportDir } from '../../lab/bench/report-dir.ts';
import { pinningFor } from '../../lab/bench/instruments.ts';
import { cpuList, parseCpuList } from '../../lab/host/pinning.ts';
import { latencyStartPeriod, resolveConfiguration } from '../../lab/bench/run.ts';
import { scaleTopology } from '../../lab/bench/scale.ts';
import { UsageError } from '../../lab/errors.ts';
import { iptablesBackendOf, keyOffloads, parseEthtoolFeatures } from '../../lab/report/environment.ts';
import { deriveSeed, seededRandom } from '../../lab/report/random.ts';
import { METRICS } from '../../lab/report/results.ts';

describe('round plan', () => {
  const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const round = (n: number, metrics = [...METRICS]) => planRound(n, ids, metrics, seededRandom(deriveSeed(12, `round ${n}`)));

  it('measures every setup once per metric, positions in order', () => {
    const plan = round(1);
    expect(plan).toHaveLength(ids.length * METRICS.length);
    expect(plan.map((s) => s.position)).toEqual(plan.map((_, i) => i));
    for (const metric of METRICS) expect(plan.filter((s) => s.metric === metric).map((s) => s.setupId).sort((a, b) => a - b)).toEqual(ids);
    expect(plan.every((s) => s.round === 1)).toBe(true);
  });

  it('keeps each metric together and the two latency metrics next to each other (one pipeline)', () => {
    for (const n of [1, 2, 3, 4, 5]) {
      const metrics = round(n).map((s) => s.metric);
      const changes = metrics.filter((m, i) => i > 0 && m !== metrics[i - 1]).length;
      expect(changes).toBe(METRICS.length - 1);
      const latencyPositions = metrics.flatMap((m, i) => (m === 'latency' || m === 'round-trip' ? [i] : []));
      expect(latencyPositions.at(-1)! - latencyPositions[0]!).toBe(2 * ids.length - 1);
    }
  });

  it('never puts one setup twice in a row inside the latency pipeline', () => {
    for (let n = 1; n <= 200; n++) {
      const plan = round(n, ['latency', 'round-trip']);
      for (let i = 1; i < plan.length; i++) expect(plan[i]!.setupId, `round ${n} position ${i}`).not.toBe(plan[i - 1]!.setupId);
    }
    // With one setup there is nothing to swap.
    expect(planRound(1, [7], ['latency', 'round-trip'], seededRandom(1)).map((s) => s.setupId)).toEqual([7, 7]);
  });

  it('orders the setups afresh each round, the same way for the same seed', () => {
    const orders = [1, 2, 3, 4].map((n) => round(n, ['throughput']).map((s) => s.setupId).join(','));
    expect(new Set(orders).size).toBe(4);
    expect(round(2).map((s) => `${s.metric}:${s.setupId}`)).toEqual(round(2).map((s) => `${s.metric}:${s.setupId}`));
  });

  it('estimates the time left from the rounds done', () => {
    expect(estimateRemainingSeconds(0, 0, 3)).toBeUndefined();
    expect(estimateRemainingSeconds(60, 1, 3)).toBe(120);
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(42)).toBe('42s');
  });
});

describe('bench profiles and timing', () => {
  it('starts sockperf clients two slices ahead, one every 1.8 s for 1 s slices, and fortio back to back', () => {
    // sockperf: 2.1 s lead + 1 s slice + 0.5 s for counter reads and the next start, over two slices.
    expect(latencyStartPeriod(2.1, 1)).toBe(1.8);
    expect(latencyStartPeriod(0, 1)).toBe(1);
    // A long slice cannot overlap two leads: the period never drops below slice + 0.6 s.
    expect(latencyStartPeriod(2.1, 5)).toBe(5.6);
  });

  it('resolves the quick and default profiles: same slices, more rounds', () => {
    const driver = { tool: 'sockperf' as const, leadSeconds: 2.1 };
    const quick = resolveConfiguration({ quick: true, backends: ['none', 'redirect'] }, driver);
    const full = resolveConfiguration({ backends: ['none', 'redirect'] }, driver);
    expect(quick).toMatchObject({ profile: 'quick', rounds: ROUNDS.quick, name: 'quick', seed: 12, sliceSeconds: SLICE_SECONDS, latencyStartPeriodSeconds: 1.8 });
    expect(full).toMatchObject({ profile: 'default', rounds: ROUNDS.default, name: 'bench' });
    expect(full.rounds).toBeGreaterThan(quick.rounds);
    expect(full.metrics).toEqual([...METRICS]);
    expect(full.pinning.mode).toBe('one-cpu');
    expect(resolveConfiguration({ rounds: 2 }, driver).profile).toBe('custom');
    // Without --backends, quick measures its five and the default profile every registered backend.
    expect(resolveConfiguration({ quick: true }, driver).backends).toEqual(['none', 'redirect', 'tproxy', 'sockmap', 'tc']);
    expect(resolveConfiguration({}, driver).backends).toEqual(backendNames());
    expect(resolveConfiguration({ quick: true }, driver).metrics).toEqual(['latency', 'throughput', 'cps']);
    expect(resolveConfiguration({ quick: true, metrics: ['round-trip'] }, driver).metrics).toEqual(['round-trip']);
    expect(resolveConfiguration({ pin: 'off' }, driver).pinning).toEqual({ mode: 'off', clientCpus: [], serverCpus: [] });
  });
});

describe('pinning', () => {
  it('puts a whole setup on CPU 0 and the bench on the other CPUs in one-cpu mode', () => {
    expect(pinningFor('one-cpu', 2)).toEqual({ mode: 'one-cpu', clientCpus: [0], serverCpus: [0], benchCpus: [1] });
    expect(pinningFor('one-cpu', 4).benchCpus).toEqual([1, 2, 3]);
    // One CPU: nowhere else to put the bench, so it is not pinned at all.
    expect(pinningFor('one-cpu', 1)).toEqual({ mode: 'one-cpu', clientCpus: [0], serverCpus: [0] });
  });

  it('reads kernel CPU lists, the form in which /proc gives the CPUs a process may use', () => {
    expect(parseCpuList('0-1,3')).toEqual([0, 1, 3]);
    expect(parseCpuList('1')).toEqual([1]);
    expect(() => parseCpuList('3-1')).toThrow(/not a CPU list/);
    expect(cpuList(parseCpuList('0,2-4'))).toBe('0,2,3,4');
  });

  it('splits the client pod and the server pod over the first and last CPU in pods and apps modes', () => {
    expect(pinningFor('pods', 2)).toEqual({ mode: 'pods', clientCpus: [0], serverCpus: [1] });
    expect(pinningFor('apps', 4)).toEqual({ mode: 'apps', clientCpus: [0], serverCpus: [3] });
    expect(pinningFor('off', 2)).toEqual({ mode: 'off', clientCpus: [], serverCpus: [] });
  });
});

describe('bench options', () => {
  it('rejects unknown values and names the allowed ones', () => {
    expect(() => parseMetrics('latency,bogus')).toThrow('--metrics: unknown value "bogus": allowed values are latency, round-trip, throughput, cps');
    expect(() => parsePlacements('same-node,elsewhere')).toThrow(/allowed values are same-node, cross-node/);
    expect(() => parseBackends('redirect,nope', ['none', 'redirect'])).toThrow(/"nope"/);
    expect(() => parsePinMode('some')).toThrow(/allowed values are off, apps, pods, one-cpu/);
    expect(() => parsePositiveInteger('--rounds', '0', 100)).toThrow(/from 1 to 100/);
    expect(() => parsePositiveInteger('--rounds', '2.5', 100)).toThrow(UsageError);
    expect(() => parseSeed('-1')).toThrow(UsageError);
    expect(parseSeed('0')).toBe(0);
  });

  it('accepts lists with spaces and drops duplicates', () => {
    expect(parseMetrics('cps, latency,cps')).toEqual(['cps', 'latency']);
    expect(parsePositiveInteger('--scale', '100', 480)).toBe(100);
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

