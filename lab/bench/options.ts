// What a bench measures and for how long. Two profiles share one design (every setup live at once,
// measured in short slices, round after round, in a fresh random order each round); they differ in
// the number of rounds (quick 5, default 9) and, unless --backends and --metrics name them, the
// backends and metrics (quick measures five backends and three metrics, default all). A round's length grows with the number of setups:
// per setup, two 1 s latency slices started 1.8 s apart, a 1 s iperf3 slice, a 0.5 s connection-rate
// slice, and the counter reads between them. The report states each run's wall time and its phases.
// Slice lengths are the shortest each tool measures well: sockperf's -t takes whole seconds (and it
// sleeps 2 s before it sends, which the bench hides by starting each client ahead of its slice),
// iperf3's -t whole seconds too; the connection loop is the lab's own agent and takes any length.
import { UsageError } from '../errors.ts';
import { PLACEMENTS, type Placement } from '../judge/plan.ts';
import { METRICS, PIN_MODES, type BenchConfiguration, type Metric, type PinMode } from '../report/results.ts';

export type Profile = 'quick' | 'default';

/**
 * Rounds per profile. A ratio gets an interval only from 3 rounds in which neither of its two setups'
 * slices was flagged. When the stall rule flagged a sixth to a quarter of quick slices (2026-11-27,
 * with the 2 % steal threshold and pods pinning), 3 rounds left almost no comparison with 3: two
 * quick runs of 3 rounds gave 6 and 0 of 56 comparisons an interval. Quick therefore runs 5 rounds
 * of fewer slices (QUICK_METRICS, QUICK_BACKENDS).
 * A round costs about 5.6 s per setup with all four metrics and about 3.7 s with quick's three (the
 * measured periods of their slices: latency 1.85 s, throughput 1.13 s, cps 0.67 s). So the default
 * profile's 16 setups get 9 rounds and quick's 10 setups get 5, to fit 15 minutes and 240 s. On
 * 2026-11-28 they took 874 s and 227 s (reports/example-default and reports/example-quick: rounds of
 * 89-92 s and 37-38 s), with each setup's connection-rate warm-up overlapping the other setups' builds.
 */
export const ROUNDS: Record<Profile, number> = { quick: 5, default: 9 };

/**
 * The quick profile's metrics when none are named: the three of the headline ratios (p50 latency at a
 * fixed rate, throughput, connection rate). The closed-loop round trip is in the default profile.
 */
export const QUICK_METRICS: readonly Metric[] = ['latency', 'throughput', 'cps'];

/**
 * The quick profile's backends when none are named: the baseline and the four mechanisms the lab was
 * built around. All 8 backends in both placements cannot fit quick's rounds in 240 s; the default
 * profile measures every backend.
 */
export const QUICK_BACKENDS: readonly string[] = ['none', 'redirect', 'tproxy', 'sockmap', 'tc'];

export const SLICE_SECONDS: BenchConfiguration['sliceSeconds'] = { latency: 1, 'round-trip': 1, throughput: 1, cps: 0.5 };

/** The open-loop rate: far below what any backend saturates at, so the numbers are service times, not queueing. */
export const LATENCY_RATE = 1000;
export const MESSAGE_BYTES = 64;
export const CPS_CONCURRENCY = 4;
/** Setups built at once: building waits on commands more than it computes, so two overlap well on two cores. */
export const BUILD_CONCURRENCY = 2;
/** The verify plan's own iperf3 run, on each setup before it is measured (its evidence, not a number). */
export const VERIFY_IPERF_SECONDS = 1;
/** Seed of the slice order and the bootstrap when none is given: the same data gives the same intervals. */
export const DEFAULT_SEED = 12;
/**
 * The whole setup (both pods, their proxies, node proxies, every slice client) on CPU 0, and the bench
 * itself on the other CPUs while it measures: no message of a measured path waits for a wake-up on
 * another CPU, and the bench's counter reads between slices stay off the measured CPU. Each figure is
 * then the path's cost on one CPU. Measured against `pods` (client pod on the first CPU, server pod on
 * the last) on this project's 2-core VM, 2026-11-27 and 28, under the current stall rule:
 * - two quick runs each: 136 and 132 of 150 slices counted with one-cpu, 114 and 118 with pods (the
 *   rest flagged, mostly for steal), so 36 and 39 of 42 comparisons got an interval, against 27 and
 *   29; the intervals' median half-width was about the same (19.4 and 17.0 %, against 17.2 and 19.7 %);
 * - the noise floor (`lab bench --noise-floor`, 15 rounds): with pods no open-loop latency round
 *   paired and 6 throughput rounds did; with one-cpu 13 and 14 did.
 * `pods`, `apps` (the proxies left to the scheduler) and `off` remain for comparison.
 */
export const DEFAULT_PIN_MODE: PinMode = 'one-cpu';

/** Ports of the measurements, apart from the verify plan's so their evidence stays attributable. */
export const BENCH_PORTS = { latency: 11111, throughput: 5301, cps: 8090 } as const;

function parseList<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new UsageError(`${flag} needs at least one value: allowed values are ${allowed.join(', ')}`);
  const unknown = items.filter((i) => !(allowed as readonly string[]).includes(i));
  if (unknown.length > 0) throw new UsageError(`${flag}: unknown value${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}: allowed values are ${allowed.join(', ')}`);
  return [...new Set(items)] as T[];
}

export function parsePositiveInteger(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} takes a whole number from 1 to ${max} (got "${value}")`);
  return n;
}

export function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new UsageError(`--seed takes a whole number from 0 to ${0xffffffff} (got "${value}")`);
  return n;
}

export const parseMetrics = (value: string): Metric[] => parseList('--metrics', value, METRICS);
export const parsePlacements = (value: string): Placement[] => parseList('--placements', value, PLACEMENTS);
export const parseBackends = (value: string, available: readonly string[]): string[] => parseList('--backends', value, available);
export const parsePinMode = (value: string): PinMode => {
  const [mode] = parseList('--pin', value, PIN_MODES);
  return mode!;
};
