// How a captured packet, redirected into the node proxy's namespace with a foreign destination,
// reaches the proxy's listener. Istio 1.20 did it with bpf_sk_assign from a tc ingress program
// (kernel 5.7+); where the kernel lacks that helper, the program only marks the packet and
// iptables TPROXY in the proxy namespace does the steering. Both need the policy route that
// delivers any destination locally.
//
// The ports and marks below are the single source: the lab writes them into tc_config for the
// programs, and uses the same values for the listeners, the policy route and the TPROXY rules.
import { featureResult } from '../../features/derive.ts';
import { probeKernelFeatures } from '../../features/probe.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';

export type ProxySteering = 'sk-assign' | 'tproxy-mark';

/** The program on the proxy's eth0 ingress for each steering (bpf/tc/tc_redirect.bpf.c). */
export const STEERING_PROGRAM: Record<ProxySteering, string> = {
  'sk-assign': 'ztunnel_tproxy',
  'tproxy-mark': 'ztunnel_ingress',
};

/** Packets steered to a proxy socket carry this mark; the policy route delivers them locally. */
export const PROXY_LOCAL_MARK = 0x400;
/** The fallback's marks: ztunnel_ingress sets them, the mangle table's TPROXY rules match them. */
export const TPROXY_OUTBOUND_MARK = 0x539;
export const TPROXY_INBOUND_MARK = 0x53a;
/** The part of the mark the policy route and the rules look at. */
export const MARK_MASK = 0xfff;
export const PROXY_ROUTE_TABLE = 100;

/** The node proxy's listener ports, as Istio's ztunnel has them. */
export const PROXY_PORTS = { outbound: ISTIO_PORTS.outboundCapture, inbound: ISTIO_PORTS.inboundCapture, hbone: ISTIO_PORTS.hbone } as const;

const hex = (n: number) => `0x${n.toString(16)}`;

/** The steering this kernel supports (the lab's feature probe: a tc program calling bpf_sk_assign loads), sk_assign preferred. */
export async function chooseSteering(): Promise<ProxySteering> {
  const { results } = await probeKernelFeatures();
  return featureResult(results, 'bpf-sk-assign').present ? 'sk-assign' : 'tproxy-mark';
}

/** `ip` lines for the proxy namespace: marked packets are delivered locally, whatever their destination. */
export function proxyPolicyRouting(): string[] {
  return [`rule add fwmark ${hex(PROXY_LOCAL_MARK)}/${hex(MARK_MASK)} lookup ${PROXY_ROUTE_TABLE}`, `route add local default dev lo table ${PROXY_ROUTE_TABLE}`];
}

/**
 * The fallback's mangle table in the proxy namespace (iptables-restore input). Packets of
 * connections the proxy already holds find their transparent socket; new captured connections,
 * marked by ztunnel_ingress, are TPROXYed to 15001 (outbound) or 15006 (inbound).
 */
export function tproxyFallbackRules(ports: { outbound: number; inbound: number } = PROXY_PORTS): string {
  const local = `${hex(PROXY_LOCAL_MARK)}/${hex(MARK_MASK)}`;
  return [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    `-A PREROUTING -p tcp -m socket --transparent -j MARK --set-xmark ${local}`,
    `-A PREROUTING -p tcp -m mark --mark ${hex(TPROXY_OUTBOUND_MARK)} -j TPROXY --on-port ${ports.outbound} --tproxy-mark ${local}`,
    `-A PREROUTING -p tcp -m mark --mark ${hex(TPROXY_INBOUND_MARK)} -j TPROXY --on-port ${ports.inbound} --tproxy-mark ${local}`,
    'COMMIT',
    '',
  ].join('\n');
}
