// A live setup: a topology for one placement, a backend installed on its client and server pods, and
// the apps of the standard plan ready to answer. `lab verify` judges one; `lab bench` measures many,
// side by side; scenarios drive their own steps through one.
import type { BackendDescriptor, Installation } from '../backends/descriptor.ts';
import { backendByName } from '../backends/index.ts';
import type { Placement } from '../judge/plan.ts';
import { AgentPool } from '../traffic/agent-pool.ts';
import { withLab, type Lab, type Pod, type TopologySpec } from '../topology/lab.ts';
import { collectAndJudge } from './collect.ts';
import type { CapturedPair } from './pair.ts';
import { startStandardApps } from './plan-runner.ts';

export type { CapturedPair, VerifyOutcome } from './pair.ts';

export const CLIENT_POD = 'client';
export const SERVER_POD = 'server';
/** Uncaptured pods beside the client and the server, for backends whose plan asks for them. */
export const BYSTANDER_PODS = { nearClient: 'plain-c', nearServer: 'plain-s' } as const;

export function placementTopology(placement: Placement, options: { bystanders?: boolean } = {}): TopologySpec {
  const extra = (pod: string) => (options.bystanders ? [pod] : []);
  return placement === 'same-node'
    ? { nodes: [{ name: 'node-a', pods: [CLIENT_POD, SERVER_POD, ...extra(BYSTANDER_PODS.nearClient), ...extra(BYSTANDER_PODS.nearServer)] }] }
    : {
        nodes: [
          { name: 'node-a', pods: [CLIENT_POD, ...extra(BYSTANDER_PODS.nearClient)] },
          { name: 'node-b', pods: [SERVER_POD, ...extra(BYSTANDER_PODS.nearServer)] },
        ],
      };
}

/** The pair for an installed lab: its agents started, ready for the plan or a scenario's steps. */
export async function preparePair(
  lab: Lab,
  descriptor: BackendDescriptor,
  installation: Installation,
  client: Pod,
  server: Pod,
  options: { agents?: AgentPool; bystanders?: { nearClient: Pod; nearServer: Pod } } = {},
): Promise<CapturedPair> {
  const agents = options.agents ?? new AgentPool(lab);
  await startStandardApps(agents, client, server);
  const [clientAgent, serverAgent] = await Promise.all([agents.agent(client), agents.agent(server)]);
  const pair: CapturedPair = {
    lab,
    descriptor,
    backend: descriptor.name,
    placement: client.node === server.node ? 'same-node' : 'cross-node',
    client,
    server,
    ...(options.bystanders ? { bystanders: options.bystanders } : {}),
    agents,
    clientAgent,
    serverAgent,
    installation,
    verify: (verifyOptions = {}) => collectAndJudge(pair, { iperfSeconds: verifyOptions.iperfSeconds ?? 2 }),
  };
  return pair;
}

/**
 * The uncaptured pods a backend's plan asks for, beside the client and the server: the ones the
 * topology already has, or new ones (a scenario's topology does not name them).
 */
export async function bystandersFor(lab: Lab, client: Pod, server: Pod): Promise<{ nearClient: Pod; nearServer: Pod }> {
  const podNamed = async (name: string, beside: Pod) => lab.pods.get(name) ?? (await lab.addPods(beside.node, [name]))[0]!;
  return { nearClient: await podNamed(BYSTANDER_PODS.nearClient, client), nearServer: await podNamed(BYSTANDER_PODS.nearServer, server) };
}

/**
 * Builds the pair for a placement, installs the backend (by name, or a descriptor such as one for
 * another Istio version), starts the apps; always tears down.
 */
export async function withCapturedPair<T>(backend: string | BackendDescriptor, placement: Placement, body: (pair: CapturedPair) => Promise<T>, options: { runId?: string } = {}): Promise<T> {
  const descriptor = typeof backend === 'string' ? backendByName(backend) : backend;
  const bystanders = descriptor.plan.bystanders;
  return withLab(
    placementTopology(placement, { bystanders }),
    async (lab) => {
      const client = lab.pod(CLIENT_POD);
      const server = lab.pod(SERVER_POD);
      const installation = await descriptor.install({ lab, captured: [client, server] });
      const around = bystanders ? await bystandersFor(lab, client, server) : undefined;
      return body(await preparePair(lab, descriptor, installation, client, server, around ? { bystanders: around } : {}));
    },
    options,
  );
}
