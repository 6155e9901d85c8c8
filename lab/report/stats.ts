// Statistics for the report: percentiles, the median and the sample standard deviation. Pure
// functions, no I/O.

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

/** The sample standard deviation (n − 1 in the denominator); null below two values. */
export function sampleStandardDeviation(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
}
