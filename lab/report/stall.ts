// The stall rule: which measured slices were taken while the machine was not the bench's. Each slice
// records the machine's counters over its own measurement window; a slice is flagged when any of
// these held during that window, and flagged slices are left out of the ratios (and counted):
// - steal: the hypervisor ran something else for at least 5 % of the machine's CPU time. The rule
//   said 2 % until 2026-11-28. Then 2016 slices of eleven bench runs on this project's 2-core VM
//   (2026-11-27/28), banded as steal-bands.ts does, put the median distance of a slice from its
//   setup's median at 6.5 % below 2 % steal, 5.5 % at 2-5 %, 7.8 % at 5-10 % and 22.8 % from 10 %.
//   Every report prints these bands for its own slices, so a run shows whether the threshold held;
// - foreign load: processes outside this setup's pods (and outside the kernel's softirq threads)
//   used at least 15 % of the machine's CPU time: another program, or another user's work;
// - window: the measurement window the bench recorded was 50 % longer or shorter than asked (the tool
//   or the bench itself was held up, so the window's readings do not describe the slice);
// - disturbed: the bench itself had other work in flight during the window (it never should).

/** The machine over one slice's measurement window; CPU times in microseconds. */
export interface SliceNoise {
  /** The window the tool measured in, and the window it was asked for, in milliseconds. */
  windowMs: number;
  plannedMs: number;
  cpus: number;
  /** /proc/stat deltas (tick-sampled, 10 ms per CPU): steal, and everything busy (not idle/iowait/steal). */
  stealUs: number;
  machineBusyUs: number;
  /** Exact CPU time of this setup's pods (their cgroups' usage_usec). */
  setupUs: number;
  /** Exact CPU time of the ksoftirqd threads (softirq work the kernel deferred out of tasks). */
  softirqThreadsUs: number;
  /** PSI cpu "some" delta: time at least one task waited for a CPU; null without PSI. */
  cpuPressureUs: number | null;
  /** Preemptions of this setup's processes, and context switches of the whole machine. */
  involuntarySwitches: number;
  contextSwitches: number;
  loadAverage1: number;
  /** The bench had another task in flight (a counter read, a process start) during the window. */
  disturbed: boolean;
}

export interface StallRule {
  stealFraction: number;
  foreignFraction: number;
  overrunFraction: number;
}

export const STALL_RULE: StallRule = { stealFraction: 0.05, foreignFraction: 0.15, overrunFraction: 0.5 };

export function describeStallRule(rule: StallRule = STALL_RULE): string {
  const pct = (f: number) => `${Math.round(f * 100)} %`;
  return (
    `a slice is flagged when, during its measurement window, the hypervisor's steal time reached ${pct(rule.stealFraction)} of the machine's CPU time, ` +
    `or processes outside the measured setup's pods and the kernel's softirq threads used ${pct(rule.foreignFraction)} of it, ` +
    `or the recorded measurement window was ${pct(rule.overrunFraction)} longer or shorter than asked, or the bench itself had other work in flight`
  );
}

const capacityUs = (noise: SliceNoise) => Math.max(1, noise.windowMs * 1000 * noise.cpus);

/** CPU time used outside the measured setup, as a fraction of the machine's CPU time in the window. */
export function foreignFraction(noise: SliceNoise): number {
  return Math.max(0, noise.machineBusyUs - noise.setupUs - noise.softirqThreadsUs) / capacityUs(noise);
}

export function stealFraction(noise: SliceNoise): number {
  return noise.stealUs / capacityUs(noise);
}

/** The recorded window is too far from the planned one for its readings to describe the slice. */
export function windowOff(noise: SliceNoise, rule: StallRule = STALL_RULE): boolean {
  return noise.plannedMs > 0 && Math.abs(noise.windowMs / noise.plannedMs - 1) >= rule.overrunFraction;
}

/** Why the slice is flagged (empty when it is not). */
export function stallReasons(noise: SliceNoise, rule: StallRule = STALL_RULE): string[] {
  const reasons: string[] = [];
  const pct = (f: number) => `${(f * 100).toFixed(1)} %`;
  const steal = stealFraction(noise);
  if (steal >= rule.stealFraction) reasons.push(`steal ${pct(steal)}`);
  const foreign = foreignFraction(noise);
  if (foreign >= rule.foreignFraction) reasons.push(`foreign load ${pct(foreign)}`);
  if (windowOff(noise, rule)) reasons.push(`window ${noise.windowMs.toFixed(0)} ms for ${noise.plannedMs.toFixed(0)} ms`);
  if (noise.disturbed) reasons.push('bench work in flight');
  return reasons;
}
