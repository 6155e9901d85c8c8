// Putting a pod into ambient capture and taking it out again, the work istio-cni's node agent does:
// the in-pod rules and policy routing (lab/istio generators, Istio 1.30.3's own rules), and the
// listeners the node proxy holds inside the pod's namespace.
import { ipBatch } from '../../host/ip.ts';
import { iptablesRestore } from '../../host/iptables.ts';
import { ambientInpodConfig, ambientInpodIptables, ambientInpodRemoval, type AmbientInpodConfig } from '../../istio/ambient.ts';
import { ambientPolicyRouting, ambientPolicyRoutingRemoval } from '../../istio/policy-routing.ts';
import type { ProxyListener } from '../../proxy/haproxy-config.ts';
import type { Pod } from '../../topology/lab.ts';

/**
 * A pod's in-pod configuration: Istio's constants, with the pod's node gateway as the probe source
 * (the address the node netns, where a kubelet would run, uses toward its pods; Istio's
 * 169.254.7.127 is outside the lab's range: see lab/istio/testdata/README.md).
 */
export const inpodConfig = (pod: Pod): AmbientInpodConfig => ambientInpodConfig(pod.node.gateway);

/** The node proxy's listener names for a pod: "<pod>.outbound", "<pod>.inbound", "<pod>.hbone". */
export const LISTENER_KINDS = ['outbound', 'inbound', 'hbone'] as const;
export type ListenerKind = (typeof LISTENER_KINDS)[number];
export const listenerName = (pod: string, kind: ListenerKind) => `${pod}.${kind}`;

/** The pod and kind a listener name stands for, or undefined for a name this backend did not give. */
export function listenerOf(name: string): { pod: string; kind: ListenerKind } | undefined {
  const dot = name.lastIndexOf('.');
  const kind = name.slice(dot + 1) as ListenerKind;
  return dot > 0 && LISTENER_KINDS.includes(kind) ? { pod: name.slice(0, dot), kind } : undefined;
}

/**
 * ztunnel's three listeners inside a captured pod, as HAProxy listeners created in the pod's netns:
 *   15001 outbound: REDIRECTed app connections, forwarded to their original destination from the pod
 *         itself (so they leave with the pod's address, marked so the pod's rules let them go);
 *   15006 inbound plaintext: REDIRECTed connections to the app, handed to the app from the client's
 *         own address (IP_TRANSPARENT), so the app sees the real client;
 *   15008 HBONE: never redirected; the lab speaks no HBONE, so it logs and closes what reaches it.
 */
export function inpodListeners(pod: Pod): ProxyListener[] {
  const c = inpodConfig(pod);
  return [
    { name: listenerName(pod.name, 'outbound'), port: c.outboundPort, namespace: pod.netns, upstreamNamespace: pod.netns },
    { name: listenerName(pod.name, 'inbound'), port: c.inboundPlaintextPort, namespace: pod.netns, upstreamNamespace: pod.netns, upstreamFromClientIp: true },
    { name: listenerName(pod.name, 'hbone'), port: c.hbonePort, namespace: pod.netns, upstream: 'none' },
  ];
}

/** Writes the pod's in-pod rules (iptables-restore, atomic per table) and its policy routing. */
export async function applyInpodRules(pod: Pod): Promise<void> {
  const c = inpodConfig(pod);
  await iptablesRestore(pod.netns, ambientInpodIptables(c));
  await ipBatch(ambientPolicyRouting(c), pod.netns);
}

/** Removes what applyInpodRules wrote: the tables emptied, the rule and table 100 gone. */
export async function removeInpodRules(pod: Pod): Promise<void> {
  const c = inpodConfig(pod);
  await iptablesRestore(pod.netns, ambientInpodRemoval(c));
  await ipBatch(ambientPolicyRoutingRemoval(c), pod.netns);
}
