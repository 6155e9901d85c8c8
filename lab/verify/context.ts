// What a backend's verify sees: the lab, the two pods the standard plan used, and the outcome of
// every piece of traffic the plan drove. Ports are fixed so evidence (a proxy log line, a conntrack
// entry) can be attributed to the probe that caused it.
import type { AcceptRecord, BulkResult, ProbeResult } from '../traffic/agent-protocol.ts';
import type { ThroughputResult } from '../traffic/types.ts';
import type { Lab, Place, Pod } from '../topology/lab.ts';

export { ISTIO_PORTS } from '../istio/ports.ts';

export const PLACEMENTS = ['same-node', 'cross-node'] as const;
export type Placement = (typeof PLACEMENTS)[number];

/** The ports the standard verify plan talks to, one per question it asks. */
export const VERIFY_PORTS = {
  /** An app talking to an app: must be captured both ways. */
  app: 8080,
  /** The same, sent by a process running as the proxy's UID: outbound must not be captured. */
  proxyUid: 8081,
  /** An app talking to itself on 127.0.0.1: must not be captured. */
  loopback: 8082,
  /** A process in the client pod's netns but outside every lab cgroup (cgroup BPF must not see it). */
  outsideCgroup: 8083,
  /** 8 MiB of random bytes echoed back and compared by SHA-256: the byte-exact integrity proof. */
  bulk: 8084,
  iperf: 5201,
} as const;

export const BULK_BYTES = 8 * 1024 * 1024;

export type ProbeName = 'app' | 'proxy-uid' | 'loopback' | 'outside-cgroup' | `excluded-${number}`;

export interface VerifyContext {
  lab: Lab;
  placement: Placement;
  client: Pod;
  server: Pod;
  /** Every probe of the plan, by name; each carries its own echo verdict. */
  probes: Map<ProbeName, ProbeResult>;
  /** The bulk echo through the backend's path (client to server:8084). */
  bulk: BulkResult;
  /** Connections the server pod's app accepted: port, and the peer address the app saw. */
  serverAccepts: AcceptRecord[];
  /** iperf3 through whatever path the backend set up (client to server:5201). */
  throughput: ThroughputResult;
  /** Runs one more request/response probe, for checks the standard plan does not cover. */
  probe(from: Place, host: string, port: number, options?: { uid?: number; inCgroup?: boolean }): Promise<ProbeResult>;
}
