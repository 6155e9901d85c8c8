// Surgery on a verify's kernel-path trace (evidence.plan.kernelPath.trace, recorded by a real run):
// counts taken away or added, the way the kernel would have counted another path.
import { expect } from 'vitest';
import type { VerifyEvidence } from '../../lab/judge/plan.ts';
import type { KernelPathEvidence } from '../../lab/tracer/index.ts';

type Count = KernelPathEvidence['counts'][number];

/** The recorded trace; a fixture without one cannot be altered. */
export function traceOf(evidence: VerifyEvidence<unknown>): KernelPathEvidence {
  const traced = evidence.plan.kernelPath;
  if (!traced) throw new Error(`the ${evidence.backend}-${evidence.placement} evidence has no kernel-path trace`);
  return traced.trace;
}

const carries = (count: Count, flags: readonly string[]) => flags.every((f) => count.flags.includes(f as never));

/** Takes away the counts at `point` in `netns` whose events carry every flag of `flags` (at least one must exist). */
export function dropCounts(evidence: VerifyEvidence<unknown>, netns: string, point: Count['point'], flags: readonly string[]): void {
  const trace = traceOf(evidence);
  const kept = trace.counts.filter((c) => !(c.netns === netns && c.point === point && carries(c, flags)));
  expect(kept.length).toBeLessThan(trace.counts.length);
  trace.counts = kept;
}

/** Adds `count` events at `point` in `netns`, carrying exactly `flags`. */
export function addCount(evidence: VerifyEvidence<unknown>, netns: string, point: Count['point'], flags: readonly Count['flags'][number][], count: number): void {
  traceOf(evidence).counts.push({ netns, point, flags: [...flags], count });
}

/**
 * Makes a kernel function traced, as on a kernel that allows fentry (this lab's refuses it, so every
 * function is recorded unavailable), with the given counts per namespace (none: counted 0 everywhere).
 */
export function traceFunction(evidence: VerifyEvidence<unknown>, fn: string, counts: Record<string, number> = {}): void {
  const trace = traceOf(evidence);
  const point = `fn:${fn}` as const;
  const status = trace.points.find((p) => p.point === point);
  expect(status, `the trace asked for ${point}`).toBeDefined();
  trace.points = trace.points.map((p) => (p.point === point ? { point, available: true } : p));
  for (const [netns, count] of Object.entries(counts)) trace.counts.push({ netns, point, flags: [], count });
}
