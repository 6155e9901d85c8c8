// What the ambient backend collects after the plan's traffic, as plain data (saved by `lab verify
// --save-evidence`, replayed by judge.test.ts), and the readers that collect it: each captured pod's
// rules with counters, policy routing, how its replies would be routed, its listening sockets and
// conntrack table; the node proxies' logs; the socket marker's count; and the uncaptured pods' state.
import { readConntrack, type ConntrackEntry } from '../../evidence/conntrack.ts';
import { readIptables, type IptablesSnapshot } from '../../evidence/iptables.ts';
import { readNetfilterSummary, type NetfilterSummary } from '../../evidence/netfilter.ts';
import { ambientInpodConfig, type AmbientInpodConfig } from '../../istio/ambient.ts';
import { nodeProxyLog, type NodeProxy, type NodeProxyLog } from '../../proxy/node-proxy.ts';
import type { SocketMarkCounters, SocketMarker } from '../../proxy/socket-mark.ts';
import type { Lab, Pod } from '../../topology/lab.ts';
import { inpodConfig } from './capture.ts';
import { parseListeningSockets, type ListeningSocket } from './sockets.ts';

/** How a pod routes a reply to another address, with the connection mark and without it (`ip route get`). */
export interface ReplyRoute {
  to: string;
  marked: string;
  unmarked: string;
}

export interface CapturedPodEvidence {
  name: string;
  /** iptables-save -c: the in-pod rules with their counters. */
  rules: IptablesSnapshot;
  /** `ip rule show` lines. */
  ipRules: string[];
  /** `ip route show table <routeTable>` lines. */
  replyTable: string[];
  /** For every other captured pod's address: how this pod's replies to it are routed. */
  replyRoutes: ReplyRoute[];
  /** `ss -Hltnpe` in the pod. */
  listeners: ListeningSocket[];
  /** `conntrack -L -p tcp` in the pod. */
  conntrack: ConntrackEntry[];
}

export interface UncapturedPodEvidence {
  name: string;
  netfilter: NetfilterSummary;
  listeners: ListeningSocket[];
}

export interface AmbientEvidence {
  /** The in-pod constants the rules were written with (each pod's probe source is its node gateway). */
  config: Pick<AmbientInpodConfig, 'outboundPort' | 'inboundPlaintextPort' | 'hbonePort' | 'proxyMark' | 'proxyMask' | 'connMark' | 'connMask' | 'routeTable' | 'rulePriority'>;
  nodeProxies: NodeProxyLog[];
  /** The socket marker on the node proxies' cgroups: sockets it marked. */
  socketMarks: SocketMarkCounters;
  captured: CapturedPodEvidence[];
  /** Every other pod of the lab (bystanders), node proxies excepted. */
  uncaptured: UncapturedPodEvidence[];
}

/** The in-pod constants, the same for every pod (only the probe source differs, and it is not kept here). */
export function inpodConstants(): AmbientEvidence['config'] {
  const { outboundPort, inboundPlaintextPort, hbonePort, proxyMark, proxyMask, connMark, connMask, routeTable, rulePriority } = ambientInpodConfig('0.0.0.0');
  return { outboundPort, inboundPlaintextPort, hbonePort, proxyMark, proxyMask, connMark, connMask, routeTable, rulePriority };
}

const lines = (text: string) => text.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter(Boolean);

async function ipLines(lab: Lab, pod: Pod, args: string[]): Promise<string[]> {
  return lines((await lab.exec(pod, 'ip', args, { inCgroup: false })).stdout);
}

export async function readListeners(lab: Lab, pod: Pod): Promise<ListeningSocket[]> {
  return parseListeningSockets((await lab.exec(pod, 'ss', ['-Hltnpe'], { inCgroup: false })).stdout);
}

async function readCapturedPod(lab: Lab, pod: Pod, others: readonly Pod[]): Promise<CapturedPodEvidence> {
  const c = inpodConfig(pod);
  const mark = `0x${c.connMark.toString(16)}`;
  const route = (to: string, marked: boolean) => ipLines(lab, pod, ['route', 'get', to, 'from', pod.ip, ...(marked ? ['mark', mark] : [])]).then((l) => l.join(' '));
  const [rules, ipRules, replyTable, listeners, conntrack] = await Promise.all([
    readIptables(pod.netns),
    ipLines(lab, pod, ['rule', 'show']),
    ipLines(lab, pod, ['route', 'show', 'table', String(c.routeTable)]),
    readListeners(lab, pod),
    readConntrack(pod.netns),
  ]);
  const replyRoutes: ReplyRoute[] = [];
  for (const other of others) replyRoutes.push({ to: other.ip, marked: await route(other.ip, true), unmarked: await route(other.ip, false) });
  return { name: pod.name, rules, ipRules, replyTable, replyRoutes, listeners, conntrack };
}

export interface AmbientState {
  lab: Lab;
  captured: Pod[];
  proxies: Map<string, NodeProxy>;
  marker: SocketMarker;
}

export async function collectAmbient(state: AmbientState): Promise<AmbientEvidence> {
  const { lab, captured, proxies, marker } = state;
  const proxyPods = new Set([...proxies.values()].map((p) => p.pod.name));
  const uncapturedPods = [...lab.pods.values()].filter((p) => !captured.includes(p) && !proxyPods.has(p.name));
  const capturedEvidence = await Promise.all(captured.map((pod) => readCapturedPod(lab, pod, captured.filter((o) => o !== pod))));
  const uncaptured = await Promise.all(
    uncapturedPods.map(async (pod) => ({ name: pod.name, netfilter: await readNetfilterSummary(pod.netns), listeners: await readListeners(lab, pod) })),
  );
  return {
    config: inpodConstants(),
    nodeProxies: [...proxies.values()].map(nodeProxyLog),
    socketMarks: await marker.counters(),
    captured: capturedEvidence,
    uncaptured,
  };
}
