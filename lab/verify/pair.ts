// The shape of a live setup and of a verify's outcome: types only, shared by the runner's modules.
import type { BackendDescriptor, Installation } from '../backends/descriptor.ts';
import type { Check } from '../judge/check.ts';
import type { Placement, VerifyEvidence } from '../judge/plan.ts';
import type { Agent } from '../traffic/agent.ts';
import type { AgentPool } from '../traffic/agent-pool.ts';
import type { ThroughputResult } from '../traffic/types.ts';
import type { Lab, Pod } from '../topology/lab.ts';

export interface VerifyOutcome {
  ok: boolean;
  checks: Check[];
  evidence: VerifyEvidence;
  /** The plan's iperf3 result, when that step completed. */
  throughput?: ThroughputResult;
}

export interface CapturedPair {
  lab: Lab;
  descriptor: BackendDescriptor;
  backend: string;
  placement: Placement;
  client: Pod;
  server: Pod;
  bystanders?: { nearClient: Pod; nearServer: Pod };
  agents: AgentPool;
  clientAgent: Agent;
  serverAgent: Agent;
  installation: Installation;
  /** Drives the plan, collects the backend's evidence, and judges it. Never throws for a failed step. */
  verify(options?: { iperfSeconds?: number }): Promise<VerifyOutcome>;
}
