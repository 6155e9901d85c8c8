// From raw slices to the report's numbers: which slices count, the absolute figures per setup, the
// CPU cost per unit of work, and the answer itself: each backend's figure over its baseline's from
// the same round, with a bootstrap 95 % interval of the median ratio over rounds. Pure, no I/O.
import { bootstrapInterval, relativeHalfWidth, type Interval } from './bootstrap.ts';
import { pairByRound, type PairedRatio } from './pairing.ts';
import { deriveSeed, seededRandom } from './random.ts';
import type { Metric, ResultsFile, SetupRecord, SliceRecord } from './results.ts';
import { stallReasons, STALL_RULE, windowOff, type StallRule } from './stall.ts';

/** Analyse with no slice flagged for the machine's state: what a busy run saw, never its result. */
export const NO_STALL_RULE = 'none';
type Rule = StallRule | typeof NO_STALL_RULE;
import { median, percentileOf } from './stats.ts';

/** The number each metric is judged on, its unit, and which way is better. */
export const PRIMARY: Record<Metric, { label: string; unit: string; higherIsBetter: boolean }> = {
  latency: { label: 'p50 latency (open loop)', unit: 'µs', higherIsBetter: false },
  'round-trip': { label: 'p50 round trip (closed loop)', unit: 'µs', higherIsBetter: false },
  throughput: { label: 'throughput', unit: 'Gbit/s', higherIsBetter: true },
  cps: { label: 'connection rate', unit: 'conn/s', higherIsBetter: true },
};

export const BASELINES = ['none', 'redirect'] as const;
export type Baseline = (typeof BASELINES)[number];

/** Fewer paired rounds than this give no interval: resampling one or two values says nothing about 95 %. */
export const MIN_PAIRED_ROUNDS = 3;

/** Largest CI half-width (relative) a headline ratio may have, per profile (issue 12's targets). */
export const CI_TARGETS = { quick: 0.1, default: 0.05 } as const;

export function primaryValue(slice: Pick<SliceRecord, 'result'>): number | undefined {
  const result = slice.result;
  if (!result) return undefined;
  switch (result.kind) {
    case 'latency':
      return result.percentilesUs.p50;
    case 'throughput':
      return result.bitsPerSecond / 1e9;
    case 'connection-rate':
      return result.connectionsPerSecond;
  }
}

/** Why a slice's number is left out of the analysis, or undefined when it counts. */
export function exclusion(slice: SliceRecord, rule: Rule = STALL_RULE): 'failed' | 'invalid' | 'stalled' | undefined {
  if (slice.error !== undefined || primaryValue(slice) === undefined) return 'failed';
  if (slice.path.status === 'invalid') return 'invalid';
  if (rule !== NO_STALL_RULE && slice.noise && stallReasons(slice.noise, rule).length > 0) return 'stalled';
  return undefined;
}

export interface CpuCost {
  /** Per request (latency, round-trip, cps: one connection is one request) in CPU-µs, or per GB moved in CPU-s (throughput). */
  unit: 'µs/request' | 's/GB';
  app: number;
  proxy: number;
  /** The kernel's softirq threads. */
  kernel: number;
  /** The machine's softirq time (tick-sampled; overlaps app and proxy, which include softirq run inside them). */
  machineSoftirq: number;
  slices: number;
}

export interface SetupSummary {
  setupId: number;
  backend: string;
  placement: string;
  metric: Metric;
  slices: number;
  counted: number;
  failed: number;
  invalid: number;
  stalled: number;
  /** How the counted slices were proven: 'judged' (valid), 'unproven' (no per-slice judge), 'no-path' (none). */
  proof: SetupRecord['sliceProof'] | 'mixed';
  /** Median and quartiles of the primary value over counted slices. */
  median: number | null;
  q1: number | null;
  q3: number | null;
  /** Latency metrics: median over slices of each percentile. */
  percentilesUs?: { p50: number; p90: number; p99: number; p999: number };
  samplesPerSlice?: number;
  tools: string[];
  cpu: CpuCost | null;
  /** Connection-rate slices: conntrack entries per 1000 connections (median). */
  conntrackPer1000?: number;
}

export interface Comparison {
  metric: Metric;
  placement: string;
  backend: string;
  baseline: Baseline;
  pairs: PairedRatio[];
  /** Median ratio over rounds with its bootstrap interval; null with fewer than MIN_PAIRED_ROUNDS pairs. */
  interval: Interval | null;
  halfWidth: number | null;
  /** True when either side's slices were not proven by a per-slice judge (the backend has none yet). */
  unproven: boolean;
}

export interface Analysis {
  setups: SetupSummary[];
  comparisons: Comparison[];
  counts: { slices: number; counted: number; failed: number; invalid: number; stalled: number; unproven: number };
  rule: Rule;
}

function cpuCost(slices: readonly SliceRecord[], metric: Metric): CpuCost | null {
  const perUnit = slices.flatMap((slice) => {
    const cpu = slice.cpu;
    const traffic = slice.traffic;
    if (!cpu || !traffic) return [];
    const units = metric === 'throughput' ? (traffic.bytesSent ?? 0) / 1e9 : metric === 'cps' ? traffic.connections : (traffic.requests ?? 0);
    if (!(units > 0)) return [];
    // Throughput is reported in CPU-seconds per GB; the rest in CPU-µs per request.
    const scale = metric === 'throughput' ? 1e-6 : 1;
    return [{ app: (cpu.appUs * scale) / units, proxy: (cpu.proxyUs * scale) / units, kernel: (cpu.softirqThreadsUs * scale) / units, machineSoftirq: (cpu.machineSoftirqUs * scale) / units }];
  });
  if (perUnit.length === 0) return null;
  const med = (key: 'app' | 'proxy' | 'kernel' | 'machineSoftirq') => median(perUnit.map((p) => p[key]));
  return { unit: metric === 'throughput' ? 's/GB' : 'µs/request', app: med('app'), proxy: med('proxy'), kernel: med('kernel'), machineSoftirq: med('machineSoftirq'), slices: perUnit.length };
}

function summarizeSetup(setup: SetupRecord, metric: Metric, slices: readonly SliceRecord[], rule: Rule): SetupSummary {
  const reasons = slices.map((s) => exclusion(s, rule));
  const counted = slices.filter((_, i) => reasons[i] === undefined);
  const values = counted.map((s) => primaryValue(s)!).sort((a, b) => a - b);
  const proofs = new Set(counted.map((s) => (s.path.status === 'valid' ? 'judged' : s.path.status)));
  const latency = counted.flatMap((s) => (s.result?.kind === 'latency' ? [s.result] : []));
  const cps = counted.flatMap((s) => (s.result?.kind === 'connection-rate' && s.result.conntrackEntriesPer1000 !== undefined ? [s.result.conntrackEntriesPer1000] : []));
  return {
    setupId: setup.id,
    backend: setup.backend,
    placement: setup.placement,
    metric,
    slices: slices.length,
    counted: counted.length,
    failed: reasons.filter((r) => r === 'failed').length,
    invalid: reasons.filter((r) => r === 'invalid').length,
    stalled: reasons.filter((r) => r === 'stalled').length,
    proof: proofs.size === 1 ? ([...proofs][0] as SetupSummary['proof']) : proofs.size === 0 ? setup.sliceProof : 'mixed',
    median: values.length > 0 ? percentileOf(values, 50) : null,
    q1: values.length > 0 ? percentileOf(values, 25) : null,
    q3: values.length > 0 ? percentileOf(values, 75) : null,
    ...(latency.length > 0
      ? {
          percentilesUs: {
            p50: median(latency.map((r) => r.percentilesUs.p50)),
            p90: median(latency.map((r) => r.percentilesUs.p90)),
            p99: median(latency.map((r) => r.percentilesUs.p99)),
            p999: median(latency.map((r) => r.percentilesUs.p999)),
          },
          samplesPerSlice: median(latency.map((r) => r.samples)),
        }
      : {}),
    tools: [...new Set(counted.flatMap((s) => (s.result ? [s.result.tool] : [])))],
    // CPU per unit is the setup's own time, counted by its cgroups and threads: a slice flagged for
    // the machine's load still measured it. Failed and off-path slices are left out, and so is a slice
    // whose recorded window is off (its readings were not taken at its start and end).
    cpu: cpuCost(
      slices.filter((s, i) => reasons[i] === undefined || (reasons[i] === 'stalled' && !(s.noise && windowOff(s.noise)))),
      metric,
    ),
    ...(cps.length > 0 ? { conntrackPer1000: median(cps) } : {}),
  };
}

/** The rounds' values of one setup and metric that count. */
function roundValues(slices: readonly SliceRecord[], rule: Rule) {
  return slices.filter((s) => exclusion(s, rule) === undefined).map((s) => ({ round: s.round, value: primaryValue(s)! }));
}

export function analyze(results: Pick<ResultsFile, 'configuration' | 'setups' | 'slices'>, rule: Rule = STALL_RULE): Analysis {
  const { metrics, placements, backends, seed } = results.configuration;
  const slicesOf = (setupId: number, metric: Metric) => results.slices.filter((s) => s.setupId === setupId && s.metric === metric);
  const setupFor = (backend: string, placement: string) => results.setups.find((s) => s.backend === backend && s.placement === placement && s.error === undefined && s.evidence?.ok === true);

  const setups: SetupSummary[] = [];
  for (const metric of metrics) {
    for (const placement of placements) {
      for (const backend of backends) {
        const setup = results.setups.find((s) => s.backend === backend && s.placement === placement);
        if (setup) setups.push(summarizeSetup(setup, metric, slicesOf(setup.id, metric), rule));
      }
    }
  }

  const comparisons: Comparison[] = [];
  for (const metric of metrics) {
    for (const placement of placements) {
      for (const baseline of BASELINES) {
        const base = setupFor(baseline, placement);
        if (!base) continue;
        for (const backend of backends) {
          if (backend === baseline) continue;
          // redirect vs none is asked for; none vs redirect is its inverse and adds nothing.
          if (baseline === 'redirect' && backend === 'none') continue;
          const subject = setupFor(backend, placement);
          if (!subject) continue;
          const subjectSlices = slicesOf(subject.id, metric);
          const baseSlices = slicesOf(base.id, metric);
          const pairs = pairByRound(roundValues(subjectSlices, rule), roundValues(baseSlices, rule));
          const counted = [...subjectSlices, ...baseSlices].filter((s) => exclusion(s, rule) === undefined);
          const interval = pairs.length < MIN_PAIRED_ROUNDS ? null : bootstrapInterval(pairs.map((p) => p.ratio), seededRandom(deriveSeed(seed, `${metric}|${placement}|${backend}|${baseline}`)));
          comparisons.push({
            metric,
            placement,
            backend,
            baseline,
            pairs,
            interval,
            halfWidth: interval ? relativeHalfWidth(interval) : null,
            unproven: counted.some((s) => s.path.status === 'unproven'),
          });
        }
      }
    }
  }

  const reasons = results.slices.map((s) => exclusion(s, rule));
  return {
    setups,
    comparisons,
    counts: {
      slices: results.slices.length,
      counted: reasons.filter((r) => r === undefined).length,
      failed: reasons.filter((r) => r === 'failed').length,
      invalid: reasons.filter((r) => r === 'invalid').length,
      stalled: reasons.filter((r) => r === 'stalled').length,
      unproven: results.slices.filter((s, i) => reasons[i] === undefined && s.path.status === 'unproven').length,
    },
    rule,
  };
}

/** "−18.2 %": a ratio as the change it means. */
export function formatChange(ratio: number): string {
  const change = (ratio - 1) * 100;
  return `${change >= 0 ? '+' : '−'}${Math.abs(change).toFixed(1)} %`;
}

const PLACEMENT_WORDS: Record<string, string> = { 'same-node': 'same node', 'cross-node': 'across nodes' };

/** The answer in one line: "sockmap vs redirect, same node, p50 round trip (closed loop): −18.2 % [−21.0 %, −15.1 %] (n 12)". */
export function headlineLine(c: Comparison): string {
  const where = PLACEMENT_WORDS[c.placement] ?? c.placement;
  const what = `${c.backend} vs ${c.baseline}, ${where}, ${PRIMARY[c.metric].label}`;
  if (!c.interval) return c.pairs.length === 0 ? `${what}: no paired rounds` : `${what}: ${c.pairs.length} paired round(s), too few for an interval (it needs ${MIN_PAIRED_ROUNDS})`;
  const { estimate, low, high, n } = c.interval;
  return `${what}: ${formatChange(estimate)} [${formatChange(low)}, ${formatChange(high)}] (n ${n}${c.unproven ? ', path unproven' : ''})`;
}
