// The noise floor, an A/A comparison: two identical `none` setups on one placement, measured against
// each other exactly as the matrix measures a backend against its baseline. Both live side by side,
// in interleaved slices, with the same pinning and the same stall rule; the per-round ratio goes
// through the same pairing and the same median with a bootstrap 95 % interval. Their true ratio is 1,
// so the spread this comparison shows is the machine's and the method's alone. No comparison of two
// backends on the same machine, with as many rounds, can be expected to be tighter.
import { cpuCount } from '../host/procstat.ts';
import type { Placement } from '../judge/plan.ts';
import { exclusion, formatChange, primaryValue, PRIMARY, MIN_PAIRED_ROUNDS } from '../report/analysis.ts';
import { bootstrapInterval, relativeHalfWidth, type Interval } from '../report/bootstrap.ts';
import { pairByRound } from '../report/pairing.ts';
import { describeStallRule } from '../report/stall.ts';
import { sampleStandardDeviation } from '../report/stats.ts';
import { deriveSeed, seededRandom } from '../report/random.ts';
import type { Metric, PinMode, SliceRecord } from '../report/results.ts';
import { chooseLatencyDriver, type LatencyTool } from '../traffic/latency.ts';
import { pinningFor } from './instruments.ts';
import { withLiveSetups, type BuildOutcome, type SetupSpec } from './live-setups.ts';
import { BUILD_CONCURRENCY, DEFAULT_PIN_MODE, DEFAULT_SEED, QUICK_METRICS, SLICE_SECONDS, VERIFY_IPERF_SECONDS } from './options.ts';
import { formatDuration, isLatencyMetric } from './plan.ts';
import { measureRounds } from './rounds.ts';
import { latencyStartPeriod } from './run.ts';
import { prepareSetup, type MeasuredSetup, type SliceEnvironment } from './slices.ts';

/** Rounds when --rounds is not given: three times quick's, for a floor tighter than what it judges. */
export const NOISE_FLOOR_ROUNDS = 15;

export interface NoiseFloorOptions {
  placement?: Placement;
  metrics?: Metric[];
  rounds?: number;
  seed?: number;
  pin?: PinMode;
  latencyTool?: LatencyTool;
  progress?: (line: string) => void;
}

export interface NoiseFloorLine {
  metric: Metric;
  /** Rounds in which both twins' slices counted. */
  pairedRounds: number;
  /** Slices of this metric (both twins) left out: flagged by the stall rule, or failed. */
  flagged: number;
  failed: number;
  /** The median per-round ratio (twin over first) with its interval; null with too few paired rounds. */
  interval: Interval | null;
  halfWidth: number | null;
  /** Standard deviation of the natural log of the per-round ratio: the spread of one round's comparison. */
  logRatioSd: number | null;
}

export interface NoiseFloorResult {
  placement: Placement;
  pin: PinMode;
  seed: number;
  roundsAsked: number;
  roundsCompleted: number;
  seconds: number;
  /** The lab runs of the two twins (their namespaces and cgroups carry it). */
  runIds: string[];
  lines: NoiseFloorLine[];
  slices: SliceRecord[];
}

const FIRST = 1;
const TWIN = 2;

/** The A/A comparison of each metric, from the slices of the two twins. */
export function noiseFloorLines(slices: readonly SliceRecord[], metrics: readonly Metric[], seed: number): NoiseFloorLine[] {
  return metrics.map((metric) => {
    const values = (setupId: number) => slices.filter((s) => s.setupId === setupId && s.metric === metric && exclusion(s) === undefined).map((s) => ({ round: s.round, value: primaryValue(s)! }));
    const pairs = pairByRound(values(TWIN), values(FIRST));
    const reasons = slices.filter((s) => s.metric === metric).map((s) => exclusion(s));
    const interval = pairs.length < MIN_PAIRED_ROUNDS ? null : bootstrapInterval(pairs.map((p) => p.ratio), seededRandom(deriveSeed(seed, `noise floor|${metric}`)));
    return {
      metric,
      pairedRounds: pairs.length,
      flagged: reasons.filter((r) => r === 'stalled').length,
      failed: reasons.filter((r) => r === 'failed').length,
      interval,
      halfWidth: interval ? relativeHalfWidth(interval) : null,
      logRatioSd: sampleStandardDeviation(pairs.map((p) => Math.log(p.ratio))),
    };
  });
}

export async function runNoiseFloor(options: NoiseFloorOptions = {}): Promise<NoiseFloorResult> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(line + '\n'));
  const metrics = options.metrics ?? [...QUICK_METRICS];
  const placement = options.placement ?? 'same-node';
  const roundsAsked = options.rounds ?? NOISE_FLOOR_ROUNDS;
  const seed = options.seed ?? DEFAULT_SEED;
  const pin = options.pin ?? DEFAULT_PIN_MODE;
  const driver = metrics.some(isLatencyMetric) ? chooseLatencyDriver(options.latencyTool) : undefined;
  const sliceSeconds = SLICE_SECONDS;
  const env: SliceEnvironment = {
    driver,
    pinning: pinningFor(pin, cpuCount()),
    cpus: cpuCount(),
    sliceSeconds,
    latencyStartPeriodSeconds: latencyStartPeriod(driver?.leadSeconds ?? 0, Math.max(sliceSeconds.latency, sliceSeconds['round-trip'])),
    conntrackCensus: () => false,
    warmUpConnectionRate: metrics.includes('cps'),
  };
  const specs: SetupSpec[] = [
    { id: FIRST, backend: 'none', placement },
    { id: TWIN, backend: 'none', placement },
  ];
  progress(`lab bench --noise-floor: none against an identical none, ${placement}, ${roundsAsked} rounds of ${metrics.join(', ')}, seed ${seed}, pinning ${pin}`);

  const started = performance.now();
  const ready = new Map<number, MeasuredSetup>();
  const failures: string[] = [];
  const onBuilt = async (outcome: BuildOutcome) => {
    if ('error' in outcome) failures.push(`setup ${outcome.spec.id}: ${outcome.error.split('\n')[0]}`);
    else if (!outcome.verdict.ok) failures.push(`setup ${outcome.spec.id}: its checks failed (${outcome.verdict.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')})`);
    else ready.set(outcome.spec.id, await prepareSetup({ spec: outcome.spec, pair: outcome.pair, verdict: outcome.verdict }, env));
  };
  const slices: SliceRecord[] = [];
  const roundsCompleted = await withLiveSetups(specs, { verifyIperfSeconds: VERIFY_IPERF_SECONDS, concurrency: BUILD_CONCURRENCY, onBuilt, shouldStop: () => false }, async () => {
    if (ready.size < specs.length) throw new Error(`the noise floor needs both none setups, and ${failures.join('; ')}`);
    return measureRounds(ready, { rounds: roundsAsked, metrics, seed }, env, {
      keep: (slice) => slices.push(slice),
      shouldStop: () => false,
      onRound: (round, measured, seconds) => progress(`round ${round}/${roundsAsked}: ${measured.length} slices (${seconds.toFixed(1)} s)`),
    });
  });
  const seconds = (performance.now() - started) / 1000;
  progress(`lab bench --noise-floor: done in ${formatDuration(seconds)}`);
  const runIds = [...ready.values()].map((setup) => setup.pair.lab.runId);
  return { placement, pin, seed, roundsAsked, roundsCompleted, seconds, runIds, lines: noiseFloorLines(slices, metrics, seed), slices };
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)} %`;

/** The result as the lines `lab bench --noise-floor` prints. */
export function noiseFloorTable(result: NoiseFloorResult): string[] {
  const rows = result.lines.map((line) => {
    const change = line.interval ? `${formatChange(line.interval.estimate)} [${formatChange(line.interval.low)}, ${formatChange(line.interval.high)}]` : `too few paired rounds (it needs ${MIN_PAIRED_ROUNDS})`;
    return `| ${PRIMARY[line.metric].label} | ${line.pairedRounds} | ${line.flagged} / ${line.failed} | ${change} | ${line.halfWidth === null ? '–' : `±${percent(line.halfWidth)}`} | ${line.logRatioSd === null ? '–' : percent(line.logRatioSd)} |`;
  });
  return [
    `Noise floor: none against an identical none, ${result.placement}, pinning ${result.pin}, ${result.roundsCompleted} of ${result.roundsAsked} rounds, seed ${result.seed}, ${result.seconds.toFixed(0)} s wall.`,
    'Their true ratio is 1: any change or width below is the machine and the method, not a mechanism.',
    `A round pairs only when both twins' slices counted; the stall rule: ${describeStallRule()}.`,
    '',
    '| metric | paired rounds | slices flagged / failed | twin vs first (median, 95 % interval) | interval half-width | spread of one round\'s ratio (sd of its log) |',
    '| --- | ---: | ---: | --- | ---: | ---: |',
    ...rows,
  ];
}
