// The node proxy: the role ztunnel plays in Istio ambient. One HAProxy per node, in its own namespace
// joined to the node like a pod, with transparent listeners that forward each connection to its
// original destination from the proxy's own address.
//
// Nothing here knows how traffic reaches the proxy: the backend passes what its steering needs in
// the proxy namespace (sysctls, `ip` lines, a prepare step for rules) and wires its own datapath to
// the returned NodeProxy. The tc backend uses it with tc programs; a backend with another steering
// (ambient's in-pod rules) can start the same proxy. (It lives in the tc folder until a second
// backend uses it; it imports nothing from tc.)
import type { ProxyConnection } from '../../evidence/proxy-log.ts';
import { ipBatch } from '../../host/ip.ts';
import { setNetnsSysctls } from '../../host/sysctl.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { ProxyListener } from '../../proxy/haproxy-config.ts';
import { RunningProxy } from '../../proxy/proxy.ts';
import type { Lab, LabNode, Pod } from '../../topology/lab.ts';

export interface NodeProxy {
  node: LabNode;
  /** The proxy's namespace, built like a pod (eth0, /32 address, host veth on the node). */
  pod: Pod;
  proxy: RunningProxy;
}

/** ztunnel's outbound and inbound listeners, transparent: they accept connections for any address. */
export const NODE_PROXY_LISTENERS: ProxyListener[] = [
  { name: 'outbound', port: ISTIO_PORTS.outboundCapture, transparent: true },
  { name: 'inbound', port: ISTIO_PORTS.inboundCapture, transparent: true },
];

export interface NodeProxyOptions {
  listeners?: ProxyListener[];
  /** sysctls of the proxy namespace, set before anything else. */
  sysctls?: Record<string, string | number>;
  /** `ip -batch` lines run in the proxy namespace before the proxy starts (policy routing). */
  ipSetup?: string[];
  /** Runs after sysctls and `ip` lines, before the proxy listens (e.g. loading rules into its namespace). */
  prepare?: (pod: Pod) => Promise<void>;
}

export const nodeProxyName = (node: LabNode) => `ztunnel-${node.index}`;

/**
 * Adds the node's proxy namespace and starts the proxy in it; resolves once every listener listens,
 * so that nothing the backend steers there afterwards finds an empty port. The run's ledger records
 * the process, so teardown stops it however the run ends.
 */
export async function startNodeProxy(lab: Lab, node: LabNode, options: NodeProxyOptions = {}): Promise<NodeProxy> {
  const [pod] = await lab.addPods(node, [nodeProxyName(node)]);
  if (!pod) throw new Error(`could not add the node proxy namespace to ${node.name}`);
  if (options.sysctls) await setNetnsSysctls(pod.netns, options.sysctls);
  if (options.ipSetup?.length) await ipBatch(options.ipSetup, pod.netns);
  await options.prepare?.(pod);
  const proxy = await RunningProxy.start(lab, pod, { listeners: options.listeners ?? NODE_PROXY_LISTENERS }, 'node-proxy');
  return { node, pod, proxy };
}

/** A node proxy's log, as plain data (evidence). */
export interface NodeProxyLog {
  /** The node's name and 1-based index. */
  node: string;
  nodeIndex: number;
  /** The proxy namespace's name and address (the source of its upstream connections). */
  name: string;
  ip: string;
  connections: ProxyConnection[];
}

export function nodeProxyLog(p: NodeProxy): NodeProxyLog {
  return { node: p.node.name, nodeIndex: p.node.index, name: p.pod.name, ip: p.pod.ip, connections: p.proxy.connections() };
}

/** The proxy serving a node, from a run's evidence. */
export const proxyOfNode = (logs: readonly NodeProxyLog[], node: string): NodeProxyLog | undefined => logs.find((l) => l.node === node);
