// The statistics behind every headline number: percentiles, the seeded random source, the bootstrap
// interval, ratios paired by round, and the stall rule. Pure functions on recorded data.
import { describe, expect, it } from 'vitest';
import { bootstrapInterval, relativeHalfWidth } from '../../lab/report/bootstrap.ts';
import { pairByRound } from '../../lab/report/pairing.ts';
import { deriveSeed, seededRandom, shuffled } from '../../lab/report/random.ts';
import { describeStallRule, foreignFraction, stallReasons, STALL_RULE, type SliceNoise } from '../../lab/report/stall.ts';
import { median, percentileOf, sampleStandardDeviation } from '../../lab/report/stats.ts';
import { readFileSync } from 'node:fs';
import { parseResults } from '../../lab/report/results.ts';
import { primaryValue } from '../../lab/report/analysis.ts';
import { sliceDeviations, stealBands } from '../../lab/report/steal-bands.ts';

/** A real bench run of this machine (test/fixtures/report/README.md says which). */
const recordedResults = () => parseResults(readFileSync(new URL('../fixtures/report/recorded/results.json', import.meta.url), 'utf8'));

describe('percentiles', () => {
  it('interpolates between closest ranks', () => {
    expect(percentileOf([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentileOf([10], 99.9)).toBe(10);
    expect(percentileOf([1, 2, 3, 4, 5], 25)).toBe(2);
    expect(percentileOf([0, 10], 90)).toBe(9);
    expect(() => percentileOf([], 50)).toThrow(/no values/);
    expect(() => percentileOf([1], 101)).toThrow(/outside/);
  });

  it('takes the median of unsorted input without reordering it', () => {
    const values = [5, 1, 3];
    expect(median(values)).toBe(3);
    expect(values).toEqual([5, 1, 3]);
  });
});

describe('sample standard deviation', () => {
  it('divides by n − 1 and needs two values', () => {
    expect(sampleStandardDeviation([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(sampleStandardDeviation([3, 3])).toBe(0);
    expect(sampleStandardDeviation([3])).toBeNull();
  });
});

describe('seeded random source', () => {
  it('gives the same stream for the same seed and another for another seed', () => {
    const a = seededRandom(12);
    const b = seededRandom(12);
    const first = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    const c = seededRandom(13);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(first);
  });

  it('derives one seed per label', () => {
    expect(deriveSeed(12, 'round 1')).toBe(deriveSeed(12, 'round 1'));
    expect(deriveSeed(12, 'round 1')).not.toBe(deriveSeed(12, 'round 2'));
    expect(deriveSeed(12, 'round 1')).not.toBe(deriveSeed(13, 'round 1'));
  });

  it('shuffles into a permutation, differently per round, leaving the input alone', () => {
    const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const orders = [1, 2, 3].map((round) => shuffled(ids, seededRandom(deriveSeed(12, `round ${round}`))));
    for (const order of orders) expect([...order].sort((x, y) => x - y)).toEqual(ids);
    expect(new Set(orders.map((o) => o.join(','))).size).toBe(3);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('spreads first places evenly over many shuffles', () => {
    const random = seededRandom(1);
    const firsts = new Map<number, number>();
    for (let i = 0; i < 6000; i++) {
      const first = shuffled([0, 1, 2], random)[0]!;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    for (const n of firsts.values()) expect(Math.abs(n - 2000)).toBeLessThan(150);
  });
});

describe('bootstrap interval of the median', () => {
  // The per-round ratios of a recorded bench (see test/fixtures/report/README.md).
  const results = recordedResults();
  const ratios = pairByRound(
    results.slices.filter((s) => s.backend === 'redirect' && s.placement === 'same-node' && s.metric === 'round-trip').map((s) => ({ round: s.round, value: s.result!.kind === 'latency' ? s.result!.percentilesUs.p50 : NaN })),
    results.slices.filter((s) => s.backend === 'none' && s.placement === 'same-node' && s.metric === 'round-trip').map((s) => ({ round: s.round, value: s.result!.kind === 'latency' ? s.result!.percentilesUs.p50 : NaN })),
  ).map((p) => p.ratio);

  it('brackets the median ratio and is reproducible from its seed', () => {
    expect(ratios.length).toBeGreaterThanOrEqual(4);
    const a = bootstrapInterval(ratios, seededRandom(7));
    const b = bootstrapInterval(ratios, seededRandom(7));
    expect(a).toEqual(b);
    expect(a.estimate).toBe(median(ratios));
    expect(a.low).toBeLessThanOrEqual(a.estimate);
    expect(a.high).toBeGreaterThanOrEqual(a.estimate);
    expect(a.low).toBeGreaterThanOrEqual(Math.min(...ratios));
    expect(a.high).toBeLessThanOrEqual(Math.max(...ratios));
    expect(a.n).toBe(ratios.length);
    expect(a.confidence).toBe(0.95);
  });

  it('is exact where it can be: identical values give a zero-width interval, three values their range', () => {
    expect(bootstrapInterval([1.2, 1.2, 1.2, 1.2], seededRandom(1))).toMatchObject({ estimate: 1.2, low: 1.2, high: 1.2 });
    // With 3 values each tail of the resampled medians holds ~26 %, so the 95 % interval is the range.
    expect(bootstrapInterval([0.9, 1.0, 1.3], seededRandom(1))).toMatchObject({ estimate: 1.0, low: 0.9, high: 1.3 });
  });

  it('resamples with the source it is given, and only through it', () => {
    const spread = [0.95, 1.0, 1.05, 0.98, 1.02, 0.97, 1.03, 0.99, 1.01, 1.0, 0.93, 1.08];
    // A source stuck at 0 draws the first value every time: every resample's median is 0.95.
    expect(bootstrapInterval(spread, () => 0)).toMatchObject({ estimate: 1.0, low: 0.95, high: 0.95 });
    const a = bootstrapInterval(spread, seededRandom(1));
    const b = bootstrapInterval(spread, seededRandom(2));
    expect(a.estimate).toBe(b.estimate);
    expect(Math.abs(a.low - b.low)).toBeLessThan(0.02);
    expect(Math.abs(a.high - b.high)).toBeLessThan(0.02);
  });

  it('narrows as rounds are added from the same spread', () => {
    const spread = [0.95, 1.0, 1.05, 0.98, 1.02, 0.97, 1.03, 0.99, 1.01, 1.0];
    const few = bootstrapInterval(spread.slice(0, 5), seededRandom(3));
    const many = bootstrapInterval([...spread, ...spread, ...spread], seededRandom(3));
    expect(relativeHalfWidth(many)).toBeLessThan(relativeHalfWidth(few));
  });

  it('measures the half-width relative to the estimate', () => {
    expect(relativeHalfWidth({ estimate: 0.8, low: 0.76, high: 0.84 })).toBeCloseTo(0.05, 10);
    expect(() => bootstrapInterval([], seededRandom(1))).toThrow(/at least one/);
  });
});

describe('ratios paired by round', () => {
  it('divides each round by the same round of the baseline, skipping rounds either side lacks', () => {
    const pairs = pairByRound(
      [
        { round: 1, value: 120 },
        { round: 2, value: 150 },
        { round: 4, value: 90 },
      ],
      [
        { round: 1, value: 100 },
        { round: 2, value: 100 },
        { round: 3, value: 100 },
        { round: 4, value: 0 },
      ],
    );
    expect(pairs).toEqual([
      { round: 1, value: 120, baseline: 100, ratio: 1.2 },
      { round: 2, value: 150, baseline: 100, ratio: 1.5 },
    ]);
  });

  it('cancels drift that falls on both sides of a round', () => {
    // The recorded run's redirect and none round trips, then the same with a machine 50 % slower in
    // the even rounds: the per-round ratios do not move.
    const results = recordedResults();
    const p50 = (backend: string, drift: (round: number) => number) =>
      results.slices
        .filter((s) => s.backend === backend && s.placement === 'same-node' && s.metric === 'round-trip' && s.result?.kind === 'latency')
        .map((s) => ({ round: s.round, value: (s.result as { percentilesUs: { p50: number } }).percentilesUs.p50 * drift(s.round) }));
    const steady = pairByRound(p50('redirect', () => 1), p50('none', () => 1));
    const drifting = pairByRound(p50('redirect', (r) => (r % 2 === 0 ? 1.5 : 1)), p50('none', (r) => (r % 2 === 0 ? 1.5 : 1)));
    expect(drifting.length).toBe(steady.length);
    for (let i = 0; i < steady.length; i++) expect(drifting[i]!.ratio).toBeCloseTo(steady[i]!.ratio, 10);
    expect(drifting[1]!.value).toBeCloseTo(steady[1]!.value * 1.5, 10);
  });

  it('refuses two values of one side in one round', () => {
    expect(() =>
      pairByRound(
        [
          { round: 1, value: 1 },
          { round: 1, value: 2 },
        ],
        [{ round: 1, value: 1 }],
      ),
    ).toThrow(/two subject values in round 1/);
  });
});

describe('the stall rule', () => {
  const quiet: SliceNoise = {
    windowMs: 1000,
    plannedMs: 1000,
    cpus: 2,
    stealUs: 0,
    machineBusyUs: 1_200_000,
    setupUs: 1_150_000,
    softirqThreadsUs: 10_000,
    cpuPressureUs: 300_000,
    involuntarySwitches: 40,
    contextSwitches: 30_000,
    loadAverage1: 1.2,
    disturbed: false,
  };

  it('leaves a quiet slice alone and states its thresholds', () => {
    expect(stallReasons(quiet)).toEqual([]);
    expect(foreignFraction(quiet)).toBeCloseTo(0.02, 10);
    expect(describeStallRule()).toContain('5 %');
    expect(describeStallRule()).toContain('15 %');
    expect(describeStallRule()).toContain('50 %');
  });

  it('flags steal, foreign load, a window off its plan and bench work in flight, each by name', () => {
    // 5 % of two CPUs for one second is 100 ms of steal.
    expect(stallReasons({ ...quiet, stealUs: 100_000 })).toEqual(['steal 5.0 %']);
    expect(stallReasons({ ...quiet, stealUs: 99_000 })).toEqual([]);
    expect(stallReasons({ ...quiet, machineBusyUs: 1_460_000 })).toEqual(['foreign load 15.0 %']);
    expect(stallReasons({ ...quiet, windowMs: 1500, machineBusyUs: 1_200_000 * 1.5, setupUs: 1_150_000 * 1.5 })).toEqual(['window 1500 ms for 1000 ms']);
    // A window recorded far too short: the bench took its readings late, they do not describe the slice.
    expect(stallReasons({ ...quiet, windowMs: 40, machineBusyUs: 60_000, setupUs: 40_000, softirqThreadsUs: 0 })).toEqual(['foreign load 25.0 %', 'window 40 ms for 1000 ms']);
    expect(stallReasons({ ...quiet, windowMs: 1400, machineBusyUs: 1_200_000 * 1.4, setupUs: 1_150_000 * 1.4 })).toEqual([]);
    expect(stallReasons({ ...quiet, disturbed: true })).toEqual(['bench work in flight']);
  });

  it('applies to recorded slices: a busy machine flags them, the thresholds say how much', () => {
    const results = recordedResults();
    const withNoise = results.slices.filter((s) => s.noise);
    expect(withNoise.length).toBe(results.slices.length);
    const flagged = withNoise.filter((s) => stallReasons(s.noise!).length > 0);
    const lenient = withNoise.filter((s) => stallReasons(s.noise!, { ...STALL_RULE, foreignFraction: 1, stealFraction: 1 }).length > 0);
    expect(lenient.length).toBeLessThanOrEqual(flagged.length);
  });
});

describe('steal bands', () => {
  it('bands every recorded slice with a figure by its steal, and measures its distance from its own setup and metric', () => {
    const results = recordedResults();
    const deviations = sliceDeviations(results.slices);
    const withFigure = results.slices.filter((s) => primaryValue(s) !== undefined && s.path.status !== 'invalid');
    expect(deviations).toHaveLength(withFigure.length);
    const bands = stealBands(deviations);
    expect(bands.map((b) => [b.from, b.to])).toEqual([
      [0, 0.02],
      [0.02, 0.05],
      [0.05, 0.1],
      [0.1, null],
    ]);
    // The bands partition the slices: each slice is in exactly one.
    expect(bands.reduce((n, b) => n + b.slices, 0)).toBe(deviations.length);
    for (const b of bands) if (b.slices > 0) expect(b.p90Deviation!).toBeGreaterThanOrEqual(b.medianDeviation!);
  });

  it('shows a band whose slices were pushed off their setup’s median', () => {
    const slice = (setupId: number, value: number, stealUs: number) => ({ ...recordedResults().slices[0]!, setupId, metric: 'throughput' as const, path: { status: 'no-path' as const }, result: { kind: 'throughput' as const, tool: 'iperf3' as const, bitsPerSecond: value * 1e9, bytesSent: 1, bytesReceived: 1, seconds: 1, retransmits: 0 }, noise: { ...recordedResults().slices[0]!.noise!, windowMs: 1000, cpus: 2, stealUs } });
    // Setup 1: four quiet slices at 10 Gbit/s and one with 12 % steal at 5 Gbit/s.
    const slices = [slice(1, 10, 0), slice(1, 10, 0), slice(1, 10, 0), slice(1, 10, 10_000), slice(1, 5, 240_000)];
    const bands = stealBands(sliceDeviations(slices));
    expect(bands.map((b) => b.slices)).toEqual([4, 0, 0, 1]);
    expect(bands[0]!.medianDeviation).toBe(0);
    expect(bands[1]!.medianDeviation).toBeNull();
    expect(bands[3]!.medianDeviation).toBeCloseTo(0.5, 10);
  });
});
