// The measuring loop both the matrix bench and the noise floor run: round after round, every ready
// setup once per metric, in the seeded order planRound gives; the latency slices of a round run as one
// pipeline (their clients started ahead), every other slice alone. With one-cpu pinning the bench's
// own process keeps off the measured CPU for the whole loop.
import { deriveSeed, seededRandom } from '../report/random.ts';
import type { Metric, SliceRecord } from '../report/results.ts';
import { withBenchPinned } from './instruments.ts';
import { isLatencyMetric, planRound, type PlannedSlice } from './plan.ts';
import { Activity, runLatencyPipeline, runSlice, type MeasuredSetup, type SliceEnvironment } from './slices.ts';

export interface RoundsPlan {
  rounds: number;
  metrics: readonly Metric[];
  seed: number;
}

export interface RoundsHooks {
  /** Each slice as soon as it is measured. */
  keep(slice: SliceRecord): void;
  /** Checked between slices: true stops the loop, and the round under way is not completed. */
  shouldStop(): boolean;
  /** After each completed round, with its slices and how long it took. */
  onRound(round: number, slices: readonly SliceRecord[], seconds: number): Promise<void> | void;
}

/** Splits a round's plan into runs: consecutive latency slices (one pipeline), and each other slice alone. */
function runsOf(plan: readonly PlannedSlice[]): PlannedSlice[][] {
  const runs: PlannedSlice[][] = [];
  for (const slice of plan) {
    const last = runs[runs.length - 1];
    if (last && isLatencyMetric(slice.metric) && isLatencyMetric(last[0]!.metric)) last.push(slice);
    else runs.push([slice]);
  }
  return runs;
}

/** Measures the setups round after round; returns the number of rounds completed. */
export async function measureRounds(setups: ReadonlyMap<number, MeasuredSetup>, plan: RoundsPlan, env: SliceEnvironment, hooks: RoundsHooks): Promise<number> {
  // In setup order, not the order they became ready (which varies): the seeded shuffle then gives the same plan.
  const ids = [...setups.keys()].sort((a, b) => a - b);
  const setupOf = (planned: PlannedSlice) => setups.get(planned.setupId)!;
  const activity = new Activity();
  let completed = 0;
  await withBenchPinned(env.pinning, async () => {
    for (let round = 1; round <= plan.rounds && ids.length > 0 && !hooks.shouldStop(); round++) {
      const slices = planRound(round, ids, plan.metrics, seededRandom(deriveSeed(plan.seed, `round ${round}`)));
      const started = performance.now();
      const measured: SliceRecord[] = [];
      const keep = (slice: SliceRecord) => {
        measured.push(slice);
        hooks.keep(slice);
      };
      for (const run of runsOf(slices)) {
        if (hooks.shouldStop()) break;
        if (isLatencyMetric(run[0]!.metric)) await runLatencyPipeline(run, setupOf, env, activity, keep, hooks.shouldStop);
        else keep(await runSlice(setupOf(run[0]!), run[0]!, env, activity));
      }
      if (hooks.shouldStop()) break;
      completed = round;
      await hooks.onRound(round, measured, (performance.now() - started) / 1000);
    }
  });
  return completed;
}
