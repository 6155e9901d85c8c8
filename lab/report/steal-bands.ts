// Does steal move the numbers? The slices of a run, banded by the share of the machine's CPU time
// the hypervisor stole during their windows, with how far each slice's figure sits from the median
// of its own setup and metric. A band whose slices sit no further out than the lowest band's shows
// no sign that its steal moved them, and the stall rule need not drop it. The rule's steal threshold was set
// from these bands over this project's runs (stall.ts), and every report prints them, so a run on
// another machine shows whether the threshold holds there too.
import { primaryValue } from './analysis.ts';
import type { Metric, SliceRecord } from './results.ts';
import { stealFraction } from './stall.ts';
import { median, percentileOf } from './stats.ts';

/** Lower edges of the bands, as shares of the machine's CPU time; the last band is open. */
export const STEAL_BAND_EDGES = [0, 0.02, 0.05, 0.1] as const;

export interface SliceDeviation {
  metric: Metric;
  steal: number;
  /** |figure / median of its setup and metric − 1| */
  deviation: number;
}

export interface StealBand {
  from: number;
  /** Upper edge (exclusive), or null for the last, open band. */
  to: number | null;
  slices: number;
  /** Deviations over the band: median and 90th percentile; null when the band is empty. */
  medianDeviation: number | null;
  p90Deviation: number | null;
}

/**
 * Each slice that has a figure and noise readings (failed and off-path slices are left out), with its
 * steal and its distance from the median of every such slice of the same setup and metric, flagged
 * or not, so that the bands compare like with like.
 */
export function sliceDeviations(slices: readonly SliceRecord[]): SliceDeviation[] {
  const measured = slices.flatMap((slice) => {
    const value = primaryValue(slice);
    if (value === undefined || value <= 0 || slice.noise === undefined || slice.path.status === 'invalid') return [];
    return [{ key: `${slice.setupId}/${slice.metric}`, metric: slice.metric, value, steal: stealFraction(slice.noise) }];
  });
  const medians = new Map<string, number>();
  for (const key of new Set(measured.map((m) => m.key))) medians.set(key, median(measured.filter((m) => m.key === key).map((m) => m.value)));
  return measured.map((m) => ({ metric: m.metric, steal: m.steal, deviation: Math.abs(m.value / medians.get(m.key)! - 1) }));
}

export function stealBands(deviations: readonly SliceDeviation[]): StealBand[] {
  return STEAL_BAND_EDGES.map((from, i) => {
    const to = STEAL_BAND_EDGES[i + 1] ?? null;
    const inBand = deviations
      .filter((d) => d.steal >= from && (to === null || d.steal < to))
      .map((d) => d.deviation)
      .sort((a, b) => a - b);
    return {
      from,
      to,
      slices: inBand.length,
      medianDeviation: inBand.length ? median(inBand) : null,
      p90Deviation: inBand.length ? percentileOf(inBand, 90) : null,
    };
  });
}
