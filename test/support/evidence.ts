// Replaying saved evidence: real runs' evidence (test/fixtures/evidence, written by
// `lab verify --save-evidence`) loaded afresh for each test, altered the way a broken install would
// leave it, and judged again by the backend's pure judge.
import { readFileSync } from 'node:fs';
import type { BackendDescriptor } from '../../lab/backends/descriptor.ts';
import type { Check } from '../../lab/judge/check.ts';
import type { Placement, VerifyEvidence } from '../../lab/judge/plan.ts';
import { judgeEvidence } from '../../lab/verify/collect.ts';

export const EVIDENCE_DIR = new URL('../fixtures/evidence/', import.meta.url);

/** A fresh copy of one recorded run's evidence, safe to alter. */
export function loadEvidence<C>(backend: string, placement: Placement): VerifyEvidence<C> {
  return JSON.parse(readFileSync(new URL(`${backend}-${placement}.json`, EVIDENCE_DIR), 'utf8')) as VerifyEvidence<C>;
}

/** Judges recorded evidence, after `alter` has broken it (or as recorded, without `alter`). */
export function judgeRecorded<C>(descriptor: BackendDescriptor<C>, placement: Placement, alter?: (evidence: VerifyEvidence<C>) => void): Check[] {
  const evidence = loadEvidence<C>(descriptor.name, placement);
  alter?.(evidence);
  return judgeEvidence(descriptor as BackendDescriptor, evidence);
}

export function checkNamed(checks: readonly Check[], name: string): Check {
  const check = checks.find((c) => c.name === name);
  if (!check) throw new Error(`no check named ${name} (checks: ${checks.map((c) => c.name).join(', ')})`);
  return check;
}

/** Records that a step of the plan failed, and drops its result, as the plan runner does. */
export function failStep<C>(evidence: VerifyEvidence<C>, step: 'bulk' | 'iperf3', error: string): void {
  evidence.plan.failures.push({ step, error });
  if (step === 'bulk') delete evidence.plan.bulk;
  else delete evidence.plan.throughput;
}
