// The node proxy: the role ztunnel plays in Istio ambient. One per node, in its own namespace joined
// to the node like a pod, running HAProxy with transparent listeners on 15001 (outbound) and 15006
// (inbound) that forward to each connection's original destination from the proxy's own address.
import type { LoadedObject } from '../../bpf/objects.ts';
import { ipBatch } from '../../host/ip.ts';
import { iptablesRestore } from '../../host/iptables.ts';
import { setNetnsSysctls } from '../../host/sysctl.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import { RunningProxy } from '../../proxy/proxy.ts';
import type { Lab, LabNode, Pod } from '../../topology/lab.ts';
import { attachAll, type Attachment } from './attach.ts';
import { deviceInfo } from './devices.ts';
import { arrayIndex, encodeProxy, MAP_NAMES, updateMap } from './maps.ts';
import { proxyPolicyRouting, STEERING_PROGRAM, tproxyFallbackRules, type ProxySteering } from './steering.ts';

export interface NodeProxy {
  node: LabNode;
  /** The proxy's namespace, built like a pod (eth0, /32 address, host veth on the node). */
  pod: Pod;
  proxy: RunningProxy;
  attachments: Attachment[];
}

export const nodeProxyName = (node: LabNode) => `ztunnel-${node.index}`;

export const NODE_PROXY_LISTENERS = [
  { name: 'outbound', port: ISTIO_PORTS.outboundCapture, transparent: true },
  { name: 'inbound', port: ISTIO_PORTS.inboundCapture, transparent: true },
];

export function mapPath(object: LoadedObject, name: string): string {
  const path = object.maps.get(name);
  if (!path) throw new Error(`tc_redirect.bpf.o has no map ${name}`);
  return path;
}

export async function startNodeProxy(lab: Lab, node: LabNode, object: LoadedObject, steering: ProxySteering): Promise<NodeProxy> {
  const [pod] = await lab.addPods(node, [nodeProxyName(node)]);
  if (!pod) throw new Error(`could not add the node proxy namespace to ${node.name}`);
  // Captured packets arrive on eth0 addressed to other hosts; reverse-path filtering would drop them.
  // SYN cookies off: ztunnel_tproxy hands only SYNs to a listener, so a handshake completed by a
  // cookie (an ACK arriving at the listener) would never reach it.
  await setNetnsSysctls(pod.netns, { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0, 'net.ipv4.conf.eth0.rp_filter': 0, 'net.ipv4.tcp_syncookies': 0 });
  await ipBatch(proxyPolicyRouting(), pod.netns);
  if (steering === 'tproxy-mark') await iptablesRestore(pod.netns, tproxyFallbackRules({ outbound: ISTIO_PORTS.outboundCapture, inbound: ISTIO_PORTS.inboundCapture }));
  // Listen before any packet is steered here, so no captured SYN finds an empty port.
  const proxy = await RunningProxy.start(lab, pod, { listeners: NODE_PROXY_LISTENERS }, 'node-proxy');
  const [hostSide, eth0] = await Promise.all([deviceInfo(node.netns, pod.hostVeth), deviceInfo(pod.netns, 'eth0')]);
  await updateMap(mapPath(object, MAP_NAMES.proxies), arrayIndex(node.index), encodeProxy({ hostIfindex: hostSide.ifindex, mac: eth0.mac, nodeIp: node.gateway }));
  const attachments: Attachment[] = [
    { netns: pod.netns, device: 'eth0', direction: 'ingress', program: STEERING_PROGRAM[steering] },
    { netns: node.netns, device: pod.hostVeth, direction: 'ingress', program: 'ztunnel_host_ingress' },
  ];
  await attachAll(lab, object, attachments);
  return { node, pod, proxy, attachments };
}
