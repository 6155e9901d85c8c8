// The order setups run in, and how long the rest will take. Within each repeat, every backend runs
// once per placement before any runs twice (A B C, A B C), so slow drift of the machine (thermal,
// other work) spreads over all backends instead of favouring whichever ran first.

export interface PlannedSetup<B extends string = string, P extends string = string> {
  /** 1-based position in the run. */
  index: number;
  /** 1-based repeat number. */
  repeat: number;
  backend: B;
  placement: P;
}

export function planSetups<B extends string, P extends string>(backends: readonly B[], placements: readonly P[], repeats: number): PlannedSetup<B, P>[] {
  const plan: PlannedSetup<B, P>[] = [];
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const placement of placements) {
      for (const backend of backends) plan.push({ index: plan.length + 1, repeat, backend, placement });
    }
  }
  return plan;
}

/** Seconds left, from the mean time of the setups done so far; undefined before the first ends. */
export function estimateRemainingSeconds(elapsedSeconds: number, done: number, total: number): number | undefined {
  if (done === 0) return undefined;
  return (elapsedSeconds / done) * (total - done);
}

/** "3m05s", "42s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
