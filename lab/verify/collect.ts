// The two halves of a verify, and the seam between them. Collect: drive the plan, then let the backend
// read the kernel and its proxies into plain data. Judge: the backend's pure function from that data
// to checks. The evidence in between is what `lab verify --save-evidence` writes and what unit tests
// replay, so a check can be seen failing on real evidence altered the way a broken install would be.
import { mkdirSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { BackendDescriptor } from '../backends/descriptor.ts';
import { allPassed, type Check } from '../judge/check.ts';
import { EVIDENCE_FORMAT, type PodFacts, type VerifyEvidence } from '../judge/plan.ts';
import { planCompleted } from '../judge/shared.ts';
import type { LabNode, Pod } from '../topology/lab.ts';
import { KERNEL_PATH_CHECK } from '../tracer/index.ts';
import { kernelPathCheck } from './kernel-path.ts';
import { drivePlan } from './plan-runner.ts';
import type { CapturedPair, VerifyOutcome } from './pair.ts';

const podFacts = (pod: Pod): PodFacts => ({ name: pod.name, node: pod.node.name, ip: pod.ip, netns: pod.netns, hostVeth: pod.hostVeth });
const nodeFacts = (node: LabNode) => ({ name: node.name, netns: node.netns, gateway: node.gateway, underlayIp: node.underlayIp });

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 4).join(' | ');

/** Drives the plan and collects the backend's evidence. A collect that fails is recorded as a failed step. */
export async function collectEvidence(pair: CapturedPair, options: { iperfSeconds: number }): Promise<VerifyEvidence> {
  const plan = await drivePlan(pair, options);
  let collected: unknown = undefined;
  try {
    collected = await pair.installation.collect();
  } catch (e) {
    plan.failures.push({ step: 'collect', error: errorText(e) });
  }
  return {
    format: EVIDENCE_FORMAT,
    backend: pair.backend,
    placement: pair.placement,
    runId: pair.lab.runId,
    kernel: release(),
    recordedAt: new Date().toISOString(),
    client: podFacts(pair.client),
    server: podFacts(pair.server),
    ...(pair.bystanders ? { bystanders: { nearClient: podFacts(pair.bystanders.nearClient), nearServer: podFacts(pair.bystanders.nearServer) } } : {}),
    nodes: [...pair.lab.nodes.values()].map(nodeFacts),
    plan,
    collected,
  };
}

/**
 * The backend's checks for this evidence, after `plan-completed` when a step failed. Judging is pure,
 * but a judge given evidence it cannot read (a collect that failed) must still end in a verdict.
 */
export function judgeEvidence(descriptor: BackendDescriptor, evidence: VerifyEvidence): Check[] {
  const completed = planCompleted(evidence);
  // Every backend's verify ends with kernel-path, judged from the plan's trace, not from collect().
  const kernelPath = judgedKernelPath(evidence);
  if (evidence.collected === undefined) return [completed, kernelPath];
  let checks: Check[];
  try {
    checks = descriptor.judge(evidence);
  } catch (e) {
    checks = [{ name: 'judged', ok: false, detail: `the ${descriptor.name} judge could not read this evidence: ${errorText(e)}` }];
  }
  return completed.ok ? [...checks, kernelPath] : [completed, ...checks, kernelPath];
}

/** The kernel-path check, which must end in a verdict even on evidence it cannot read. */
function judgedKernelPath(evidence: VerifyEvidence): Check {
  try {
    return kernelPathCheck(evidence);
  } catch (e) {
    return { name: KERNEL_PATH_CHECK, ok: false, detail: `the kernel-path evidence could not be read: ${errorText(e)}` };
  }
}

export async function collectAndJudge(pair: CapturedPair, options: { iperfSeconds: number }): Promise<VerifyOutcome> {
  const evidence = await collectEvidence(pair, options);
  const checks = judgeEvidence(pair.descriptor, evidence);
  return { ok: allPassed(checks), checks, evidence, ...(evidence.plan.throughput ? { throughput: evidence.plan.throughput } : {}) };
}

/** Writes a run's evidence as `<dir>/<backend>-<placement>.json`; returns the file's path. */
export function saveEvidence(dir: string, evidence: VerifyEvidence): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${evidence.backend}-${evidence.placement}.json`);
  writeFileSync(file, JSON.stringify(evidence, null, 1) + '\n');
  return file;
}
