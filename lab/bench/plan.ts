// The order of a round's slices. Every round measures every live setup once per metric, each metric
// in a fresh random order of the setups, so that no backend always follows the same neighbour or
// always comes first after a busy moment. The two latency metrics stay next to each other: their
// clients are started ahead of time in one pipeline (sockperf sleeps before it sends).
import type { Metric } from '../report/results.ts';
import { shuffled, type RandomSource } from '../report/random.ts';

export interface PlannedSlice {
  round: number;
  /** 0-based position in the round. */
  position: number;
  setupId: number;
  metric: Metric;
}

const LATENCY_METRICS: readonly Metric[] = ['latency', 'round-trip'];

export const isLatencyMetric = (metric: Metric) => LATENCY_METRICS.includes(metric);

/** One round: metric groups in a random order (the latency pair kept together), setups shuffled per metric. */
export function planRound(round: number, setupIds: readonly number[], metrics: readonly Metric[], random: RandomSource): PlannedSlice[] {
  const latency = shuffled(
    metrics.filter((m) => isLatencyMetric(m)),
    random,
  );
  const groups: Metric[][] = [...(latency.length > 0 ? [latency] : []), ...metrics.filter((m) => !isLatencyMetric(m)).map((m) => [m])];
  const slices: PlannedSlice[] = [];
  for (const group of shuffled(groups, random)) {
    for (const metric of group) {
      const order = shuffled(setupIds, random);
      // Within the latency pipeline a setup never comes twice in a row (its second client could not
      // be started ahead): at the boundary between the two latency metrics, swap the first two.
      if (order.length > 1 && slices.at(-1)?.setupId === order[0] && isLatencyMetric(metric) && isLatencyMetric(slices.at(-1)!.metric)) [order[0], order[1]] = [order[1]!, order[0]!];
      for (const setupId of order) slices.push({ round, position: slices.length, setupId, metric });
    }
  }
  return slices;
}

/** Seconds left, from the mean time of the rounds done so far; undefined before the first ends. */
export function estimateRemainingSeconds(elapsedSeconds: number, done: number, total: number): number | undefined {
  if (done === 0) return undefined;
  return (elapsedSeconds / done) * (total - done);
}

/** "3m05s", "42s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
