// The statistics of a report: robust centre and spread across repeats (median, IQR), the coefficient
// of variation the targets are stated in, and ratios between backends. Pure functions, no I/O.

/**
 * The p-th percentile (0..100) of ascending-sorted values, interpolated linearly between closest
 * ranks (the "type 7" estimator of R and NumPy's default), so median([1, 2, 3, 4]) is 2.5.
 */
export function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no values');
  if (p < 0 || p > 100) throw new Error(`percentile ${p} is outside 0..100`);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low]!;
  const b = sorted[high]!;
  return a + (b - a) * (rank - low);
}

const ascending = (values: readonly number[]) => [...values].sort((a, b) => a - b);

export function median(values: readonly number[]): number {
  return percentileOf(ascending(values), 50);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('mean of no values');
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Sample standard deviation (n - 1); 0 for a single value. */
export function standardDeviation(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / (values.length - 1));
}

/** Coefficient of variation: standard deviation over mean, as a fraction (0.03 = 3%). */
export function coefficientOfVariation(values: readonly number[]): number {
  const m = mean(values);
  return m === 0 ? 0 : standardDeviation(values) / Math.abs(m);
}

export interface Summary {
  n: number;
  median: number;
  q1: number;
  q3: number;
  /** Interquartile range, q3 - q1. */
  iqr: number;
  mean: number;
  stddev: number;
  /** Coefficient of variation as a fraction. */
  cv: number;
  /**
   * Robust coefficient of variation: the IQR scaled to a normal distribution's standard deviation
   * (IQR / 1.349), over the median. One stalled repeat inflates the CV but barely moves this, so
   * the two side by side tell an outlier from a spread.
   */
  robustCv: number;
  min: number;
  max: number;
}

/** Normalized IQR over the median (0 when the median is 0). */
export function robustCoefficientOfVariation(iqr: number, median: number): number {
  return median === 0 ? 0 : iqr / 1.349 / Math.abs(median);
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summary of no values');
  const sorted = ascending(values);
  const q1 = percentileOf(sorted, 25);
  const q3 = percentileOf(sorted, 75);
  return {
    n: sorted.length,
    median: percentileOf(sorted, 50),
    q1,
    q3,
    iqr: q3 - q1,
    mean: mean(sorted),
    stddev: standardDeviation(sorted),
    cv: coefficientOfVariation(sorted),
    robustCv: robustCoefficientOfVariation(q3 - q1, percentileOf(sorted, 50)),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
}

/** value / baseline, or null when there is no baseline to compare with. */
export function ratio(value: number | undefined, baseline: number | undefined): number | null {
  if (value === undefined || baseline === undefined || baseline === 0 || !Number.isFinite(baseline)) return null;
  return value / baseline;
}
