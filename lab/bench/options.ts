// What a bench runs: the matrix (backends x placements x metrics x repeats) and how long each
// measurement lasts. Two profiles: the default, sized for stable numbers, and --quick, sized so that
// all five backends in both placements finish in under five minutes on two cores.
import { UsageError } from '../errors.ts';
import { METRICS, type BenchConfiguration, type Metric } from '../report/results.ts';
import { PLACEMENTS, type Placement } from '../judge/plan.ts';

export interface Durations {
  latency: BenchConfiguration['latency'];
  throughput: BenchConfiguration['throughput'];
  cps: BenchConfiguration['cps'];
  /** iperf3 seconds inside the verify plan (its evidence run, not a measurement). */
  verifyIperfSeconds: number;
}

/**
 * Default profile. Latency at 1000 requests/s: far below what any backend saturates at, so the
 * numbers are service times and not queueing; 10 s gives about 10,000 samples, enough for a stable
 * p99.9. sockperf discards its own first 400 ms and every setup's verify traffic has already warmed
 * the path, so only fortio (which has no warm-up of its own) gets a separate warm-up run.
 */
export function defaultDurations(tool: string): Durations {
  return {
    latency: { tool, rate: 1000, seconds: 10, connections: 1, warmupSeconds: tool === 'fortio' ? 2 : 0, messageBytes: 64 },
    throughput: { seconds: 10, omitSeconds: 2, blockSize: '64K', streams: 1 },
    cps: { maxConnections: 50_000, seconds: 5, concurrency: 4, warmupSeconds: 1 },
    verifyIperfSeconds: 2,
  };
}

/**
 * --quick: short runs, sized for 30 setups (5 backends x 2 placements x 3 repeats) in about 5
 * minutes. What a setup costs here: topology + install 1-9 s (tc the most), the verify plan ~2.5 s,
 * and sockperf's client always spends ~2.2 s connecting and warming up before its measured window.
 * So quick takes its throughput number from the verify plan's own iperf3 run (one stream, -l 64K,
 * 2 s, no -O: on a veth, slow start is over within milliseconds) instead of a second iperf3 run, and
 * the connection rate needs no warm-up of its own: the verify probes just opened connections on
 * the same path. Latency keeps the default rate but runs 1 s: sockperf measures ~550 requests of it
 * (it discards its first 400 ms), enough for p50 and p90; its p99.9 is close to the maximum and the
 * report shows the sample count beside it.
 */
export function quickDurations(tool: string): Durations {
  return {
    latency: { tool, rate: 1000, seconds: 1, connections: 1, warmupSeconds: tool === 'fortio' ? 0.5 : 0, messageBytes: 64 },
    throughput: { seconds: 2, omitSeconds: 0, blockSize: '64K', streams: 1, fromVerifyPlan: true },
    cps: { maxConnections: 10_000, seconds: 0.5, concurrency: 4, warmupSeconds: 0 },
    verifyIperfSeconds: 2,
  };
}

export const DEFAULT_REPEATS = 5;
export const QUICK_REPEATS = 3;

/** Splits "a,b" and checks every item against the allowed values (exit 2 names them). */
export function parseList<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`${flag} needs at least one value: allowed values are ${allowed.join(', ')}`);
  const unknown = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown.length > 0) throw new UsageError(`${flag}: unknown value${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}: allowed values are ${allowed.join(', ')}`);
  return [...new Set(items)] as T[];
}

export function parsePositiveInteger(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} must be a whole number from 1 to ${max} (got "${value}")`);
  return n;
}

export const parseMetrics = (value: string): Metric[] => parseList('--metrics', value, METRICS);
export const parsePlacements = (value: string): Placement[] => parseList('--placements', value, PLACEMENTS);
export const parseBackends = (value: string, available: readonly string[]): string[] => parseList('--backends', value, available);
