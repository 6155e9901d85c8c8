// Drives the standard verify plan, plus what the backend's descriptor adds, through a live setup.
// Every step runs on its own: a step that fails is recorded with its error and the plan goes on, so
// that the run still ends in a verdict (the checks needing that step fail and name the error).
import type { PathCounters } from '../backends/descriptor.ts';
import { ISTIO_PORTS } from '../istio/ports.ts';
import { BULK_BYTES, PROXY_IDENTITY_PROBES, VERIFY_PORTS, type ExtraProbe, type PlanOutcome, type PlanPlace } from '../judge/plan.ts';
import type { AcceptRecord, ProbeResult } from '../traffic/agent-protocol.ts';
import type { AgentPool } from '../traffic/agent-pool.ts';
import { runIperf3 } from '../traffic/iperf3.ts';
import type { Place, Pod } from '../topology/lab.ts';
import { verifyIperfPace } from './iperf-pace.ts';
import { finishKernelPathStep, KERNEL_PATH_STEP, startKernelPathStep } from './kernel-path.ts';
import type { CapturedPair as LiveSetup } from './pair.ts';

/** Proxies log a connection when it closes: give the last close a moment to reach the log. */
const LOG_SETTLE_MS = 300;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 4).join(' | ');

/** The places a plan names, resolved in a live setup. */
export function placeOf(setup: LiveSetup, place: PlanPlace): Place {
  switch (place) {
    case 'client':
      return setup.client;
    case 'server':
      return setup.server;
    case 'client-node':
      return setup.client.node;
    case 'server-node':
      return setup.server.node;
    case 'bystander-near-client':
    case 'bystander-near-server': {
      const pod = place === 'bystander-near-client' ? setup.bystanders?.nearClient : setup.bystanders?.nearServer;
      if (!pod) throw new Error(`the plan uses ${place}, but the backend's plan did not ask for bystanders`);
      return pod;
    }
  }
}

function counterDelta(after: PathCounters, before: PathCounters): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, value]) => [name, value - (before[name] ?? 0)]));
}

/**
 * The apps of the standard plan: the server app listens on its pod IPv4 address on every port the
 * plan probes, the client app on 127.0.0.1 for the loopback question. A live setup starts them as
 * soon as it is ready (tests and scenarios dial them too); the plan starts them again, which is a
 * no-op for a port already listening.
 */
export async function startStandardApps(agents: AgentPool, client: Pod, server: Pod): Promise<void> {
  const serverPorts = [VERIFY_PORTS.app, VERIFY_PORTS.proxyUid, VERIFY_PORTS.proxyGid, VERIFY_PORTS.outsideCgroup, VERIFY_PORTS.bulk, VERIFY_PORTS.kernelPath, ...ISTIO_PORTS.excludedInbound];
  await Promise.all([...serverPorts.map((port) => agents.listen(server, server.ip, port)), agents.listen(client, '127.0.0.1', VERIFY_PORTS.loopback)]);
}

export async function drivePlan(setup: LiveSetup, options: { iperfSeconds: number }): Promise<PlanOutcome> {
  const { client, server, agents, descriptor } = setup;
  const outcome: PlanOutcome = { probes: {}, accepts: {}, counterDeltas: {}, failures: [] };
  const step = async <T>(name: string, body: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await body();
    } catch (e) {
      outcome.failures.push({ step: name, error: errorText(e) });
      return undefined;
    }
  };
  const probe = async (name: string, from: Place, host: string, port: number, identity: { uid?: number; gid?: number; inCgroup?: boolean } = {}) => {
    const result = await step<ProbeResult>(`probe ${name}`, async () => (await agents.agent(from, identity)).probe(host, port));
    if (result) outcome.probes[name] = result;
  };
  const extras = descriptor.plan.extraProbes;

  // The kernel-path trace attaches while the apps start (a few hundred milliseconds of loading that
  // would otherwise add to the run; starting listeners moves no packet), and counts until its probe,
  // the plan's first connection, is done: everything it counts is that probe's.
  const tracing = step(KERNEL_PATH_STEP, () => startKernelPathStep(setup));
  await step('start the apps', async () => {
    const extraListeners = extras.filter((p) => p.listen !== false).map((p) => ({ pod: placeOf(setup, p.to) as Pod, port: p.port }));
    await Promise.all([startStandardApps(agents, client, server), ...extraListeners.map(({ pod, port }) => agents.listen(pod, pod.ip, port))]);
  });
  const appsStarted = performance.now();
  const trace = await tracing;
  if (trace) {
    const kernelPath = await step(KERNEL_PATH_STEP, () => finishKernelPathStep(setup, trace, appsStarted));
    if (kernelPath) outcome.kernelPath = kernelPath;
  }

  await probe('app', client, server.ip, VERIFY_PORTS.app);
  for (const port of ISTIO_PORTS.excludedInbound) await probe(`excluded-${port}`, client, server.ip, port);
  for (const [name, { port, uid, gid }] of Object.entries(PROXY_IDENTITY_PROBES)) await probe(name, client, server.ip, port, { uid, gid });
  await probe('loopback', client, '127.0.0.1', VERIFY_PORTS.loopback);
  await probe('outside-cgroup', client, server.ip, VERIFY_PORTS.outsideCgroup, { inCgroup: false });
  for (const extra of extras) await driveExtraProbe(setup, extra, outcome, probe, step);

  const bulk = await step('bulk', async () => (await agents.agent(client)).bulk(server.ip, VERIFY_PORTS.bulk, BULK_BYTES));
  if (bulk) outcome.bulk = bulk;
  const throughput = await step('iperf3', async () => {
    const bitrate = String(await verifyIperfPace(options.iperfSeconds));
    return runIperf3(setup.lab, { client, server, address: server.ip, port: VERIFY_PORTS.iperf, seconds: options.iperfSeconds, length: '64K', bitrate });
  });
  if (throughput) outcome.throughput = throughput;
  await new Promise((r) => setTimeout(r, LOG_SETTLE_MS));

  const listeningPods = [server, ...extras.filter((p) => p.listen !== false).map((p) => placeOf(setup, p.to) as Pod)];
  for (const pod of new Set(listeningPods)) {
    const accepts = await step<AcceptRecord[]>(`read ${pod.name}'s accepted connections`, async () => (await agents.agent(pod)).accepts());
    if (accepts) outcome.accepts[pod.name] = accepts;
  }
  return outcome;
}

/** One extra probe, with the backend's path counters read before and after it when the backend has them. */
async function driveExtraProbe(
  setup: LiveSetup,
  extra: ExtraProbe,
  outcome: PlanOutcome,
  probe: (name: string, from: Place, host: string, port: number) => Promise<void>,
  step: <T>(name: string, body: () => Promise<T>) => Promise<T | undefined>,
): Promise<void> {
  const counters = setup.installation.pathCounters?.bind(setup.installation);
  const before = counters ? await step(`read path counters before ${extra.name}`, counters) : undefined;
  const target = placeOf(setup, extra.to) as Pod;
  await probe(extra.name, placeOf(setup, extra.from), extra.mappedIpv6 ? `::ffff:${target.ip}` : target.ip, extra.port);
  if (!counters || !before) return;
  // Proxies and programs count a connection as it closes: let the probe's close land first.
  await new Promise((r) => setTimeout(r, LOG_SETTLE_MS));
  const after = await step(`read path counters after ${extra.name}`, counters);
  if (after) outcome.counterDeltas[extra.name] = counterDelta(after, before);
}
