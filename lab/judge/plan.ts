// The standard verify plan as data: the ports it talks to (one per question), the places it talks
// between, and the shape of what it saw. Everything here is plain, serializable data, so that a run's
// evidence can be saved (`lab verify --save-evidence`) and judged again later, without a kernel.
import { ISTIO_PORTS } from '../istio/ports.ts';
import type { KernelPathEvidence } from '../tracer/evidence.ts';
import type { TracedTraffic } from '../tracer/judge.ts';
import type { AcceptRecord, BulkResult, ProbeResult } from '../traffic/agent-protocol.ts';
import type { ThroughputResult } from '../traffic/types.ts';

export const PLACEMENTS = ['same-node', 'cross-node'] as const;
export type Placement = (typeof PLACEMENTS)[number];

/** The ports the standard verify plan talks to, one per question it asks. */
export const VERIFY_PORTS = {
  /** An app talking to an app: must be captured both ways. */
  app: 8080,
  /** The same, sent by a process running as the proxy's UID (not its GID): outbound must not be captured. */
  proxyUid: 8081,
  /** The same, sent by a process running as the proxy's GID (not its UID): Istio's GID rule must let it out. */
  proxyGid: 8086,
  /** An app talking to itself on 127.0.0.1: must not be captured. */
  loopback: 8082,
  /** A process in the client pod's netns but outside every lab cgroup (cgroup BPF must not see it). */
  outsideCgroup: 8083,
  /** 8 MiB of random bytes echoed back and compared by SHA-256: the byte-exact integrity proof. */
  bulk: 8084,
  /** One connection traced by the kernel-path tracer: what the backend's path did in the kernel. */
  kernelPath: 8085,
  iperf: 5201,
} as const;

export const BULK_BYTES = 8 * 1024 * 1024;

/** The probes every backend's judge requires, by name. Excluded-port probes are named `excluded-<port>`. */
export const STANDARD_PROBES = ['app', 'proxy-uid', 'loopback', 'outside-cgroup'] as const;

/** A user and group that own nothing of the mesh (nobody/nogroup). */
const NOBODY = 65534;

/**
 * The identities of the two proxy probes. Each carries only one of the proxy's IDs, so that Istio's
 * UID rule and its GID rule are each exercised alone: a probe with both would be let out by either
 * rule, and one rule could hide the other's absence. Every plan sends both; only the sidecar judges
 * read `proxy-gid` (the eBPF backends identify their proxy by UID, or do not match on owners at all).
 */
export const PROXY_IDENTITY_PROBES = {
  'proxy-uid': { port: VERIFY_PORTS.proxyUid, uid: ISTIO_PORTS.proxyUid, gid: NOBODY },
  'proxy-gid': { port: VERIFY_PORTS.proxyGid, uid: NOBODY, gid: ISTIO_PORTS.proxyGid },
} as const;

/**
 * Where a plan's traffic starts or ends. `bystander-*` are uncaptured pods the plan adds beside the
 * client and the server when a backend asks for them (to show that uncaptured pods talk directly).
 */
export type PlanPlace = 'client' | 'server' | 'client-node' | 'server-node' | 'bystander-near-client' | 'bystander-near-server';

/** A probe a backend adds to the standard plan. Each has its own port or its own name, never another's. */
export interface ExtraProbe {
  name: string;
  from: PlanPlace;
  to: Extract<PlanPlace, 'client' | 'server' | 'bystander-near-client' | 'bystander-near-server'>;
  port: number;
  /** Dial the target's IPv4 address in its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), from an AF_INET6 socket. */
  mappedIpv6?: boolean;
  /** Whether the target's app listens on the port (default true). A probe to a closed port must be refused. */
  listen?: boolean;
}

/** What a backend asks of the plan beyond the standard probes. */
export interface TrafficPlan {
  /** Add one uncaptured pod beside the client and one beside the server. */
  bystanders: boolean;
  extraProbes: readonly ExtraProbe[];
}

export const STANDARD_PLAN: TrafficPlan = { bystanders: false, extraProbes: [] };

export interface NodeFacts {
  name: string;
  netns: string;
  /** The node's address on its pods' veths (the source of the node's own traffic to a pod). */
  gateway: string;
  underlayIp: string;
}

export interface PodFacts {
  name: string;
  node: string;
  ip: string;
  netns: string;
  /** The pod's veth end in its node's namespace. */
  hostVeth: string;
}

/** A step of the plan that did not complete: its error becomes a failed check, never a hang or a crash. */
export interface StepFailure {
  step: string;
  error: string;
}

/** The kernel-path step: one probe connection on VERIFY_PORTS.kernelPath, and what the kernel did for it. */
export interface KernelPathOutcome {
  probe: ProbeResult;
  /** The traffic the trace covered, which the per-connection and per-message minimums scale with. */
  traffic: TracedTraffic;
  /** The tracer's counts in the run's namespaces from just before the probe to just after it. */
  trace: KernelPathEvidence;
  /**
   * Milliseconds the step added to the plan: the trace attaches while the apps start, so this is the
   * wait for it beyond their start, plus the probe and the stop.
   */
  addedMs: number;
}

/** Everything the plan's traffic saw, step by step. A step that failed has no result and a failure entry. */
export interface PlanOutcome {
  /** Every probe by name: the standard ones, `excluded-<port>`, and the backend's extra probes. */
  probes: Record<string, ProbeResult>;
  bulk?: BulkResult;
  throughput?: ThroughputResult;
  /** Connections each pod's app accepted (port, and the peer address the app saw), by pod name. */
  accepts: Record<string, AcceptRecord[]>;
  /** For each extra probe, how the backend's path counters moved while it ran (empty without counters). */
  counterDeltas: Record<string, Record<string, number>>;
  /** The kernel-path step's result (absent when the step failed, or in evidence recorded before it existed). */
  kernelPath?: KernelPathOutcome;
  failures: StepFailure[];
}

/** The format tag of saved evidence files; bumped when their shape changes incompatibly. */
export const EVIDENCE_FORMAT = 'lab-verify-evidence/1';

/** One verify run's evidence: the facts of the topology, what the plan saw, and what the backend collected. */
export interface VerifyEvidence<B = unknown> {
  format: typeof EVIDENCE_FORMAT;
  backend: string;
  placement: Placement;
  runId: string;
  kernel: string;
  recordedAt: string;
  client: PodFacts;
  server: PodFacts;
  /** Present when the backend's plan asked for bystanders. */
  bystanders?: { nearClient: PodFacts; nearServer: PodFacts };
  nodes: NodeFacts[];
  plan: PlanOutcome;
  /** What the backend read from the kernel and its proxies after the plan: plain data, never handles. */
  collected: B;
}

/** The facts judges need about one node, by name. */
export function nodeOf(evidence: Pick<VerifyEvidence, 'nodes'>, name: string): NodeFacts {
  const node = evidence.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`the evidence has no node named ${name}`);
  return node;
}
