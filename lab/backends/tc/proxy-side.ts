// The tc backend's side of the shared node proxy (lab/proxy/node-proxy.ts): its listeners, what its
// namespace needs for the chosen steering, and the wiring of the proxy into the datapath (its
// tc_proxies entry, the steering program on its eth0, ztunnel_host_ingress on its host veth).
import { pinnedMap, type LoadedObject } from '../../bpf/objects.ts';
import { updateMap } from '../../bpf/maps.ts';
import { iptablesRestore } from '../../host/iptables.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { ProxyListener } from '../../proxy/haproxy-config.ts';
import type { NodeProxy, NodeProxyOptions } from '../../proxy/node-proxy.ts';
import type { Lab } from '../../topology/lab.ts';
import { attachAll, type Attachment } from './attach.ts';
import { deviceInfo } from './devices.ts';
import { MAP_NAMES, proxyValue } from './maps.ts';
import { proxyPolicyRouting, STEERING_PROGRAM, tproxyFallbackRules, type ProxySteering } from './steering.ts';

/**
 * ztunnel's outbound and inbound listeners, in the proxy's own namespace, transparent: the steering
 * program hands them connections for any address.
 */
export const NODE_PROXY_LISTENERS: ProxyListener[] = [
  { name: 'outbound', port: ISTIO_PORTS.outboundCapture, transparent: true },
  { name: 'inbound', port: ISTIO_PORTS.inboundCapture, transparent: true },
];

/** The proxy namespace's setup for a steering. */
export function proxyNamespaceSetup(steering: ProxySteering): Omit<NodeProxyOptions, 'listeners'> {
  return {
    // Captured packets arrive on eth0 addressed to other hosts; reverse-path filtering would drop them.
    // SYN cookies off: ztunnel_tproxy hands only SYNs to a listener, so a handshake completed by a
    // cookie (an ACK arriving at the listener) would never reach it.
    sysctls: { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0, 'net.ipv4.conf.eth0.rp_filter': 0, 'net.ipv4.tcp_syncookies': 0 },
    ipSetup: proxyPolicyRouting(),
    ...(steering === 'tproxy-mark' ? { prepare: (pod) => iptablesRestore(pod.netns, tproxyFallbackRules()) } : {}),
  };
}

export function proxyAttachments(p: NodeProxy, steering: ProxySteering): Attachment[] {
  return [
    { netns: p.pod.netns, device: 'eth0', direction: 'ingress', program: STEERING_PROGRAM[steering] },
    { netns: p.node.netns, device: p.pod.hostVeth, direction: 'ingress', program: 'ztunnel_host_ingress' },
  ];
}

/** Makes a started node proxy the target of its node's captured pods. */
export async function wireNodeProxy(lab: Lab, object: LoadedObject, p: NodeProxy, steering: ProxySteering): Promise<Attachment[]> {
  const [hostSide, eth0] = await Promise.all([deviceInfo(p.node.netns, p.pod.hostVeth), deviceInfo(p.pod.netns, 'eth0')]);
  await updateMap(pinnedMap(object, MAP_NAMES.proxies), p.node.index, proxyValue({ hostIfindex: hostSide.ifindex, mac: eth0.mac, nodeIp: p.node.gateway }));
  const attachments = proxyAttachments(p, steering);
  await attachAll(lab, object, attachments);
  return attachments;
}
