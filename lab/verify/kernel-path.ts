// The `kernel-path` question of every verify, for every backend alike: the kernel-path tracer
// (lab/tracer) counts what one probe connection did inside the kernel, in the run's namespaces, and
// the backend's expectation (lab/tracer/signatures.ts) judges it. Driving: startKernelPathTrace,
// then probe, then finish. Judging: kernelPathCheck, pure, from the saved evidence alone.
import type { Check } from '../judge/check.ts';
import { VERIFY_PORTS, type KernelPathOutcome, type VerifyEvidence } from '../judge/plan.ts';
import { describeProbe, whyMissing } from '../judge/shared.ts';
import { nodeProxyName } from '../proxy/node-proxy.ts';
import type { Place, Pod } from '../topology/lab.ts';
import {
  expectationFunctions,
  judgeKernelPath,
  KERNEL_PATH_CHECK,
  KERNEL_PATH_EXPECTATIONS,
  pathNamespaces,
  startKernelPathTrace,
  type KernelPathExpectation,
  type KernelPathTrace,
  type TracedTraffic,
} from '../tracer/index.ts';
import type { CapturedPair as LiveSetup } from './pair.ts';

/** The plan step's name, in `plan.failures` and in the check's detail when it failed. */
export const KERNEL_PATH_STEP = 'kernel-path';

/** What the traced probe is: one connection carrying one request and its echo. */
const PROBE_TRAFFIC: TracedTraffic = { connections: 1, messages: 1 };

function expectationFor(backend: string): KernelPathExpectation {
  const expectation = KERNEL_PATH_EXPECTATIONS[backend];
  if (!expectation) throw new Error(`no kernel-path expectation for the ${backend} backend (lab/tracer/signatures.ts)`);
  return expectation;
}

/**
 * The namespaces to trace, with their roles: the pods and their nodes, the node proxy serving each
 * (the shared node proxy's namespace, lab/proxy/node-proxy.ts, when the backend started one on that
 * node), and every other namespace of the run without a role, so that a step taken anywhere in the
 * lab is counted.
 */
export function kernelPathPlaces(setup: Pick<LiveSetup, 'lab' | 'client' | 'server'>): Parameters<typeof pathNamespaces>[0] {
  const { lab, client, server } = setup;
  const proxyOf = (pod: Pod) => lab.pods.get(nodeProxyName(pod.node));
  const clientProxy = proxyOf(client);
  const serverProxy = proxyOf(server);
  const named = new Set<Place>([client, server, client.node, server.node, ...(clientProxy ? [clientProxy] : []), ...(serverProxy ? [serverProxy] : [])]);
  const others = [...lab.pods.values(), ...lab.nodes.values()].filter((p) => !named.has(p));
  return { client, server, ...(clientProxy ? { clientProxy } : {}), ...(serverProxy ? { serverProxy } : {}), others };
}

const phase = (what: string, e: unknown) => new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);

/** Attaches the tracer over the run's namespaces, counting only (no trail); resolves once it counts. */
export async function startKernelPathStep(setup: LiveSetup): Promise<KernelPathTrace> {
  try {
    const expectation = expectationFor(setup.backend);
    return await startKernelPathTrace(setup.lab, { netns: pathNamespaces(kernelPathPlaces(setup)), functions: expectationFunctions(expectation), trail: 0 });
  } catch (e) {
    throw phase('starting the trace', e);
  }
}

/**
 * Sends the one probe the trace is about (client app to server app on its own port), then stops the
 * trace. A probe that fails still returns its result: the trace shows how far it got. If the probe
 * throws, the trace is stopped before the error goes on. `planReadyAt` (performance.now()) is when
 * the plan could have gone on without this step: the time from there is what the step added.
 */
export async function finishKernelPathStep(setup: LiveSetup, trace: KernelPathTrace, planReadyAt: number): Promise<KernelPathOutcome> {
  let probe;
  try {
    probe = await (await setup.agents.agent(setup.client)).probe(setup.server.ip, VERIFY_PORTS.kernelPath);
  } catch (e) {
    await trace.stop().catch(() => undefined);
    throw phase('the traced probe', e);
  }
  try {
    const evidence = await trace.stop();
    return { probe, traffic: PROBE_TRAFFIC, trace: evidence, addedMs: Math.round(performance.now() - planReadyAt) };
  } catch (e) {
    throw phase('stopping the trace', e);
  }
}

/**
 * The `kernel-path` check of a run: the backend's expectation judged on the trace of the probe, and
 * the probe itself echoed (a trace of a probe that failed is not the path's). Pure; never throws.
 */
export function kernelPathCheck(evidence: VerifyEvidence): Check {
  const traced = evidence.plan.kernelPath;
  if (!traced) return { name: KERNEL_PATH_CHECK, ok: false, detail: whyMissing(evidence, KERNEL_PATH_STEP) };
  const expectation = KERNEL_PATH_EXPECTATIONS[evidence.backend];
  if (!expectation) return { name: KERNEL_PATH_CHECK, ok: false, detail: `no kernel-path expectation for the ${evidence.backend} backend` };
  const judged = judgeKernelPath(traced.trace, expectation, traced.traffic);
  if (traced.probe.ok) return { ...judged };
  const rest = judged.detail.startsWith('FAILED: ') ? `; ${judged.detail.slice('FAILED: '.length)}` : ` | ${judged.detail}`;
  return { name: KERNEL_PATH_CHECK, ok: false, detail: `FAILED: the traced probe to ${describeProbe(traced.probe)}${rest}` };
}
