// `verify` for the tc backend: a few probes of its own on top of the standard plan (the node's own
// traffic, two pods nobody captured, an uncaptured pod dialling a captured one so inbound capture
// shows in both placements), then the verdicts from counters, filters, trace lines and proxy logs.

import type { ProxyConnection } from '../../evidence/proxy-log.ts';
import { Agent } from '../../traffic/agent.ts';
import type { Lab, LabNode, Pod } from '../../topology/lab.ts';
import { bulkBytesIntact, iperfThroughPath, podsHaveNoIptablesRules, probesEchoed, type ProxyOnPath } from '../../verify/checks.ts';
import { VERIFY_PORTS, type VerifyContext } from '../../verify/context.ts';
import type { Check } from '../types.ts';
import {
  filtersAttachedCheck,
  nodeTrafficCheck,
  originalDstCheck,
  peersOn,
  proxyNotRecapturedCheck,
  redirectCountersCheck,
  traceCheck,
  uncapturedDirectCheck,
} from './checks.ts';
import { counterDelta } from '../../evidence/bpf.ts';
import { findFilters, readCounters, type Counters } from './evidence.ts';
import type { TcState } from './state.ts';

/** A port only this verify's own listener in the server pod uses, so its evidence is unambiguous. */
export const EXTRA_PORT = 9080;
/** HAProxy logs a connection when it closes: give the close a moment to reach the log. */
const LOG_SETTLE_MS = 300;

const settle = () => new Promise((r) => setTimeout(r, LOG_SETTLE_MS));

let bystanderSerial = 0;

async function addBystander(lab: Lab, node: LabNode): Promise<Pod> {
  const [pod] = await lab.addPods(node, [`plain-${++bystanderSerial}`]);
  if (!pod) throw new Error(`could not add an uncaptured pod to ${node.name}`);
  return pod;
}

export async function tcVerify(context: VerifyContext, state: TcState): Promise<Check[]> {
  const { lab, client, server } = context;
  const clientProxy = state.proxyOf(client);
  const serverProxy = state.proxyOf(server);
  const allLogs = (): ProxyConnection[] => [...state.proxies.values()].flatMap((p) => p.proxy.connections());
  const appTarget = `${server.ip}:${VERIFY_PORTS.app}`;
  const extraTarget = `${server.ip}:${EXTRA_PORT}`;

  // Bystanders: one uncaptured pod beside the client, one beside the server.
  const [plainNearClient, plainNearServer] = [await addBystander(lab, client.node), await addBystander(lab, server.node)];
  const agents = await Promise.all([Agent.start(lab, plainNearClient), Agent.start(lab, plainNearServer), Agent.start(lab, server)]);
  const [nearClientAgent, nearServerAgent, serverExtraAgent] = agents;
  try {
    await nearServerAgent.listen(plainNearServer.ip, VERIFY_PORTS.app);
    await serverExtraAgent.listen(server.ip, EXTRA_PORT);

    // The node's own traffic (kubelet probes in Kubernetes) to a captured pod.
    const beforeNode = await readCounters(state.object);
    const nodeProbe = await context.probe(server.node, server.ip, EXTRA_PORT);
    await settle();
    const afterNode = await readCounters(state.object);
    const nodeEvidence = {
      probe: nodeProbe,
      peersSeen: peersOn(await serverExtraAgent.accepts(), EXTRA_PORT),
      expectedPeer: server.node.gateway,
      delta: counterDelta(afterNode, beforeNode),
      proxyLines: allLogs().filter((c) => c.client.startsWith(`${server.node.gateway}:`)),
    };

    // Two pods nobody captured.
    const directProbe = await nearClientAgent.probe(plainNearServer.ip, VERIFY_PORTS.app);
    await settle();
    const afterDirect = await readCounters(state.object);
    const directEvidence = {
      probe: directProbe,
      peersSeen: peersOn(await nearServerAgent.accepts(), VERIFY_PORTS.app),
      expectedPeer: plainNearClient.ip,
      delta: counterDelta(afterDirect, afterNode),
      proxyLines: allLogs().filter((c) => c.originalDst.startsWith(`${plainNearServer.ip}:`) || c.client.startsWith(`${plainNearClient.ip}:`)),
    };

    // An uncaptured pod dialling the captured server: inbound capture, in either placement.
    const inboundProbe = await nearClientAgent.probe(server.ip, EXTRA_PORT);
    await settle();
    const counters: Counters = await readCounters(state.object);
    const serverPeers = peersOn(await serverExtraAgent.accepts(), EXTRA_PORT);

    const clientLog = clientProxy.proxy.connections();
    const serverLog = serverProxy.proxy.connections();
    const lines = state.trace.lines();
    const onPath: ProxyOnPath[] = [{ name: `${clientProxy.pod.name} (outbound)`, connections: clientLog.filter((c) => c.listener === 'outbound') }];
    if (serverProxy !== clientProxy) onPath.push({ name: `${serverProxy.pod.name} (inbound)`, connections: serverLog.filter((c) => c.listener === 'inbound') });

    const checks: Check[] = [
      filtersAttachedCheck(await findFilters(state.object, state.attachments())),
      probesEchoed(context, [...context.probes.keys()]),
      redirectCountersCheck(counters, state.steering),
      traceCheck(lines, { outbound: `${client.ip}->${appTarget}`, inbound: `${plainNearClient.ip}->${extraTarget}`, steering: state.steering }),
      originalDstCheck('outbound-original-dst-logged', clientLog, { listener: 'outbound', clientIp: client.ip, originalDst: appTarget }),
      originalDstCheck('inbound-original-dst-logged', serverLog, { listener: 'inbound', clientIp: plainNearClient.ip, originalDst: extraTarget }),
      {
        name: 'server-saw-node-proxy',
        ok: inboundProbe.ok && serverPeers.includes(serverProxy.pod.ip),
        detail: `uncaptured ${plainNearClient.ip} -> ${extraTarget}: ${inboundProbe.ok ? 'echoed' : inboundProbe.error}; the app saw peers ${serverPeers.join(', ')} (node proxy ${serverProxy.pod.ip})`,
      },
    ];
    if (serverProxy !== clientProxy) {
      // Cross-node: the server node's proxy captured the client node proxy's upstream connection.
      checks.push(originalDstCheck('cross-node-inbound-original-dst-logged', serverLog, { listener: 'inbound', clientIp: clientProxy.pod.ip, originalDst: appTarget }));
    }
    checks.push(
      await podsHaveNoIptablesRules([client, server]),
      uncapturedDirectCheck(directEvidence),
      nodeTrafficCheck(nodeEvidence),
      proxyNotRecapturedCheck(
        [...state.proxies.values()].map((p) => ({ name: p.pod.name, ip: p.pod.ip, log: p.proxy.connections() })),
        counters,
      ),
      bulkBytesIntact(context, onPath),
      iperfThroughPath(context, onPath),
    );
    return checks;
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
  }
}

