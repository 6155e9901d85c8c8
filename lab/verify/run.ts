// `lab verify`: build a client/server topology for a placement, install a backend on both pods,
// drive the standard plan, collect the backend's evidence and judge it.
import type { BackendDescriptor } from '../backends/descriptor.ts';
import type { Check } from '../judge/check.ts';
import type { Placement, VerifyEvidence } from '../judge/plan.ts';
import type { ThroughputResult } from '../traffic/types.ts';
import { saveEvidence } from './collect.ts';
import { withCapturedPair } from './setup.ts';

export interface VerifyReport {
  backend: string;
  placement: Placement;
  ok: boolean;
  checks: Check[];
  runId: string;
  seconds: number;
  throughput?: ThroughputResult;
  evidence: VerifyEvidence;
  /** Where the evidence was written, when it was asked for. */
  evidenceFile?: string;
}

/** One backend, one placement, build to teardown. */
export async function verifyBackend(
  backendOrDescriptor: string | BackendDescriptor,
  placement: Placement,
  options: { iperfSeconds?: number; runId?: string; saveEvidenceDir?: string } = {},
): Promise<VerifyReport> {
  const started = performance.now();
  const backend = typeof backendOrDescriptor === 'string' ? backendOrDescriptor : backendOrDescriptor.name;
  return withCapturedPair(
    backendOrDescriptor,
    placement,
    async (pair) => {
      const outcome = await pair.verify(options.iperfSeconds === undefined ? {} : { iperfSeconds: options.iperfSeconds });
      const evidenceFile = options.saveEvidenceDir === undefined ? undefined : saveEvidence(options.saveEvidenceDir, outcome.evidence);
      return {
        backend,
        placement,
        ok: outcome.ok,
        checks: outcome.checks,
        runId: pair.lab.runId,
        seconds: Math.round((performance.now() - started) / 100) / 10,
        evidence: outcome.evidence,
        ...(outcome.throughput ? { throughput: outcome.throughput } : {}),
        ...(evidenceFile ? { evidenceFile } : {}),
      };
    },
    options.runId === undefined ? {} : { runId: options.runId },
  );
}
