// Percentile bootstrap confidence interval of a statistic (the median by default): resample the
// values with replacement many times, compute the statistic each time, and take the middle 95 % of
// those. Distribution-free, which suits per-round ratios whose spread is not normal. With a seeded
// source the interval is reproducible. With few values it is coarse (with 3 values it is their
// range): the report shows n beside every interval.
import { median, percentileOf } from './stats.ts';
import type { RandomSource } from './random.ts';

export interface Interval {
  /** The statistic on the values themselves. */
  estimate: number;
  low: number;
  high: number;
  n: number;
  confidence: number;
}

export const DEFAULT_RESAMPLES = 4000;

export function bootstrapInterval(
  values: readonly number[],
  random: RandomSource,
  options: { resamples?: number; confidence?: number; statistic?: (sample: readonly number[]) => number } = {},
): Interval {
  if (values.length === 0) throw new Error('a bootstrap interval needs at least one value');
  const statistic = options.statistic ?? median;
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const estimates = new Array<number>(resamples);
  const sample = new Array<number>(values.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < values.length; i++) sample[i] = values[Math.floor(random() * values.length)]!;
    estimates[r] = statistic(sample);
  }
  estimates.sort((a, b) => a - b);
  const tail = ((1 - confidence) / 2) * 100;
  return { estimate: statistic(values), low: percentileOf(estimates, tail), high: percentileOf(estimates, 100 - tail), n: values.length, confidence };
}

/** Half the interval's width relative to its estimate (0.05 = ±5 %). */
export function relativeHalfWidth(interval: Pick<Interval, 'estimate' | 'low' | 'high'>): number {
  return interval.estimate === 0 ? Infinity : (interval.high - interval.low) / 2 / Math.abs(interval.estimate);
}
