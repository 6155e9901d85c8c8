// The one shape every interception backend has. A backend folder exports one descriptor; the registry
// (index.ts) lists them; the CLI, doctor, verify, bench and report read everything they need from it.
//
// A verify run has two halves, kept apart so that the judging can be tested without a kernel:
//   collect: install, drive the traffic plan, then `installation.collect()` reads the kernel and the
//            proxies into plain data (the run's evidence, which `lab verify --save-evidence` writes);
//   judge:   `descriptor.judge(evidence)`, a pure function from that data to checks.
import type { KernelFeature } from '../features/names.ts';
import type { Check } from '../judge/check.ts';
import type { TrafficPlan, VerifyEvidence } from '../judge/plan.ts';
import type { Lab, Pod } from '../topology/lab.ts';

export interface InstallRequest {
  lab: Lab;
  /** Pods whose traffic the backend intercepts (their apps get a sidecar, or the node proxy serves them). */
  captured: Pod[];
}

/** Named counters of a backend's path (rule counters, program counters, proxy log entries), cumulative. */
export type PathCounters = Record<string, number>;

/** The traffic of one measured slice of the bench, as its driver reported it. */
export interface SliceTraffic {
  metric: 'latency' | 'throughput' | 'connection-rate';
  /** TCP connections the slice opened (and closed) between the client and the server. */
  connections: number;
  /** Payload bytes the client sent, where the driver reports them. */
  bytesSent?: number;
}

export interface Installation<Collected = unknown> {
  /**
   * Reads what the backend left in the kernel and its proxies after the plan's traffic, as plain data
   * (no handles, no functions): proxy logs, rule counters, map contents, trace lines.
   */
  collect(): Promise<Collected>;
  /**
   * The path's counters now. The plan reads them around each extra probe, and the bench around each
   * measured slice, so that the movement can be tied to the traffic that caused it.
   */
  pathCounters?(): Promise<PathCounters>;
  /**
   * Stops the proxy that serves this pod (its sidecar, or its node's proxy), for fault scenarios:
   * with the proxy gone, captured traffic must fail rather than bypass it. Absent for `none`.
   */
  stopProxy?(pod: Pod): Promise<void>;
  /**
   * Stops the instruments that only the verify judgement reads (trace_pipe readers, map samplers),
   * after verify has judged. The bench calls it before measuring: every reader's tracefs instance
   * receives every run's printk lines, so with several setups live each line would be copied and
   * parsed once per reader, and a sampler runs bpftool every few hundred ms, all beside the measured
   * slices. Path counters keep counting; collect() afterwards holds what was gathered until then.
   */
  quiet?(): Promise<void>;
  /** Removes what install added. Teardown of the lab removes it too; this is for early removal. */
  uninstall(): Promise<void>;
}

export interface BackendDescriptor<Collected = unknown> {
  readonly name: string;
  /** One line for `lab verify --help`, doctor and reports. */
  readonly description: string;
  /** How reports show it: a short label and a chart colour. */
  readonly display: { readonly label: string; readonly color: string };
  /**
   * Which Istio release's rules the backend installs, for verify output and reports, e.g. "Istio 1.30
   * (rules of 1.30.3, 56df41f)". Absent for backends that install no Istio rules.
   */
  readonly istio?: string;
  /**
   * The same backend generating the rules of another Istio version ("1.24", "1.27.3"), for `lab verify
   * --istio-version`. Throws a UsageError, saying why, for a version it has no rules for. Absent for
   * backends without Istio rules, and for ambient, whose one generator follows the current line.
   */
  withIstioVersion?(version: string): BackendDescriptor<Collected>;
  /**
   * Commands the backend runs and kernel features it needs; doctor and bad-input errors name what is
   * missing. `oneOf` lists groups of alternatives: each group needs at least one of its features
   * (tc steers with bpf_sk_assign, or with TPROXY where the kernel lacks it).
   */
  readonly requires: { readonly tools: readonly string[]; readonly features: readonly KernelFeature[]; readonly oneOf?: readonly (readonly KernelFeature[])[] };
  /** What the backend adds to the standard verify plan. */
  readonly plan: TrafficPlan;
  install(request: InstallRequest): Promise<Installation<Collected>>;
  /** Pure: the checks this run's evidence supports. Never reads the kernel, never throws on missing data. */
  judge(evidence: VerifyEvidence<Collected>): Check[];
  /**
   * Pure: whether the movement of the path counters over one measured slice accounts for that
   * slice's traffic (every connection went through the path). A slice that fails this is invalid:
   * its numbers are not the backend's. Absent only for a backend without a path (none).
   */
  judgeSlice?(delta: PathCounters, slice: SliceTraffic): Check;
}
