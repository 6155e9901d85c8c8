// `lab verify`: build a client/server topology for a placement, install a backend on both pods,
// drive the standard plan (probes that each ask one question, then iperf3), and let the backend
// judge it from its evidence. The same session serves `lab bench`, which measures inside it.
import { backendByName } from '../backends/index.ts';
import type { BackendName, Check, Installation } from '../backends/types.ts';
import { ISTIO_PORTS } from '../istio/ports.ts';
import type { ProbeResult } from '../traffic/agent-protocol.ts';
import type { Agent } from '../traffic/agent.ts';
import { AgentPool } from '../traffic/agent-pool.ts';
import { runIperf3 } from '../traffic/iperf3.ts';
import type { ThroughputResult } from '../traffic/types.ts';
import { withLab, type Lab, type Pod, type TopologySpec } from '../topology/lab.ts';
import { BULK_BYTES, VERIFY_PORTS, type Placement, type ProbeName, type VerifyContext } from './context.ts';

export interface VerifyReport {
  backend: BackendName;
  placement: Placement;
  ok: boolean;
  checks: Check[];
  runId: string;
  seconds: number;
  throughput?: ThroughputResult;
}

export const CLIENT_POD = 'client';
export const SERVER_POD = 'server';

export function placementTopology(placement: Placement): TopologySpec {
  return placement === 'same-node'
    ? { nodes: [{ name: 'node-a', pods: [CLIENT_POD, SERVER_POD] }] }
    : { nodes: [{ name: 'node-a', pods: [CLIENT_POD] }, { name: 'node-b', pods: [SERVER_POD] }] };
}

export interface CapturedPair {
  lab: Lab;
  backend: BackendName;
  placement: Placement;
  client: Pod;
  server: Pod;
  agents: AgentPool;
  clientAgent: Agent;
  serverAgent: Agent;
  installation: Installation;
  /** Drives the standard verify plan and returns the backend's checks. */
  verify(options?: { iperfSeconds?: number }): Promise<{ ok: boolean; checks: Check[]; throughput: ThroughputResult }>;
}

/** Starts the apps of the standard plan in an installed lab and returns the pair that drives it. */
export async function preparePair(lab: Lab, backend: BackendName, installation: Installation, client: Pod, server: Pod, agents = new AgentPool(lab)): Promise<CapturedPair> {
  // The server app listens on its pod IPv4 address on every port the plan probes.
  const serverPorts = [VERIFY_PORTS.app, VERIFY_PORTS.proxyUid, VERIFY_PORTS.outsideCgroup, VERIFY_PORTS.bulk, ...ISTIO_PORTS.excludedInbound];
  await Promise.all([...serverPorts.map((port) => agents.listen(server, server.ip, port)), agents.listen(client, '127.0.0.1', VERIFY_PORTS.loopback)]);
  const placement: Placement = client.node === server.node ? 'same-node' : 'cross-node';
  const [clientAgent, serverAgent] = await Promise.all([agents.agent(client), agents.agent(server)]);
  const pair: CapturedPair = {
    lab,
    backend,
    placement,
    client,
    server,
    agents,
    clientAgent,
    serverAgent,
    installation,
    verify: async (options = {}) => {
      const context = await driveStandardPlan(pair, options.iperfSeconds ?? 2);
      const checks = await installation.verify(context);
      return { ok: checks.length > 0 && checks.every((c) => c.ok), checks, throughput: context.throughput };
    },
  };
  return pair;
}

/** Builds the pair for a placement, installs the backend, starts the apps; always tears down. */
export async function withCapturedPair<T>(backendName: BackendName, placement: Placement, body: (pair: CapturedPair) => Promise<T>, options: { runId?: string } = {}): Promise<T> {
  const backend = backendByName(backendName);
  return withLab(placementTopology(placement), async (lab) => {
    const client = lab.pod(CLIENT_POD);
    const server = lab.pod(SERVER_POD);
    const installation = await backend.install({ lab, captured: [client, server] });
    return body(await preparePair(lab, backendName, installation, client, server));
  }, options);
}

async function driveStandardPlan(pair: CapturedPair, iperfSeconds: number): Promise<VerifyContext> {
  const { lab, client, server, clientAgent, serverAgent, agents } = pair;
  const probe: VerifyContext['probe'] = async (from, host, port, identity = {}) => (await agents.agent(from, identity)).probe(host, port);

  const probes = new Map<ProbeName, ProbeResult>();
  probes.set('app', await probe(client, server.ip, VERIFY_PORTS.app));
  for (const port of ISTIO_PORTS.excludedInbound) probes.set(`excluded-${port}`, await probe(client, server.ip, port));
  probes.set('proxy-uid', await probe(client, server.ip, VERIFY_PORTS.proxyUid, { uid: ISTIO_PORTS.proxyUid }));
  probes.set('loopback', await probe(client, '127.0.0.1', VERIFY_PORTS.loopback));
  probes.set('outside-cgroup', await probe(client, server.ip, VERIFY_PORTS.outsideCgroup, { inCgroup: false }));
  const bulk = await clientAgent.bulk(server.ip, VERIFY_PORTS.bulk, BULK_BYTES);
  const throughput = await runIperf3(lab, { client, server, address: server.ip, port: VERIFY_PORTS.iperf, seconds: iperfSeconds, length: '64K' });
  // Proxies log a connection when it closes; give the last close a moment to reach the log.
  await new Promise((r) => setTimeout(r, 300));
  const serverAccepts = await serverAgent.accepts();
  return { lab, placement: pair.placement, client, server, probes, bulk, serverAccepts, throughput, probe };
}

/** `lab verify`: one backend, one placement, build to teardown. */
export async function verifyBackend(backend: BackendName, placement: Placement, options: { iperfSeconds?: number; runId?: string } = {}): Promise<VerifyReport> {
  const started = performance.now();
  return withCapturedPair(backend, placement, async (pair) => {
    const result = await pair.verify(options);
    return { backend, placement, ok: result.ok, checks: result.checks, runId: pair.lab.runId, seconds: Math.round((performance.now() - started) / 100) / 10, throughput: result.throughput };
  }, options.runId === undefined ? {} : { runId: options.runId });
}
