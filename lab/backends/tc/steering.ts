// How a captured packet, redirected into the node proxy's namespace with a foreign destination,
// reaches the proxy's listener. Istio 1.20 did it with bpf_sk_assign from a tc ingress program
// (kernel 5.7+); where the kernel lacks that helper, the program only marks the packet and
// iptables TPROXY in the proxy namespace does the steering. Both need the policy route that
// delivers any destination locally.
import { bpftoolJson } from '../../host/bpftool.ts';

export type ProxySteering = 'sk-assign' | 'tproxy-mark';

/** The program on the proxy's eth0 ingress for each steering (bpf/tc/tc_redirect.bpf.c). */
export const STEERING_PROGRAM: Record<ProxySteering, string> = {
  'sk-assign': 'ztunnel_tproxy',
  'tproxy-mark': 'ztunnel_ingress',
};

/** Marks and ports shared with bpf/tc/tc_redirect.h. */
export const PROXY_LOCAL_MARK = 0x400;
export const TPROXY_OUTBOUND_MARK = 0x539;
export const TPROXY_INBOUND_MARK = 0x53a;
export const PROXY_ROUTE_TABLE = 100;

interface FeatureProbe {
  helpers?: Record<string, string[]>;
}

/** True when tc (sched_cls) programs may call bpf_sk_assign on this kernel, as bpftool's probe says. */
export function skAssignAvailable(probe: FeatureProbe): boolean {
  return probe.helpers?.sched_cls_available_helpers?.includes('bpf_sk_assign') ?? false;
}

/** The steering this kernel supports, sk_assign preferred (no netfilter on the data path). */
export async function chooseSteering(): Promise<ProxySteering> {
  return skAssignAvailable(await bpftoolJson<FeatureProbe>(['feature', 'probe', 'kernel'])) ? 'sk-assign' : 'tproxy-mark';
}

/** `ip` lines for the proxy namespace: marked packets are delivered locally, whatever their destination. */
export function proxyPolicyRouting(): string[] {
  const mask = '0xfff';
  return [`rule add fwmark 0x${PROXY_LOCAL_MARK.toString(16)}/${mask} lookup ${PROXY_ROUTE_TABLE}`, `route add local default dev lo table ${PROXY_ROUTE_TABLE}`];
}

/**
 * The fallback's mangle table in the proxy namespace (iptables-restore input). Packets of
 * connections the proxy already holds find their transparent socket; new captured connections,
 * marked by ztunnel_ingress, are TPROXYed to 15001 (outbound) or 15006 (inbound).
 */
export function tproxyFallbackRules(ports: { outbound: number; inbound: number }): string {
  const local = `0x${PROXY_LOCAL_MARK.toString(16)}/0xfff`;
  return [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    `-A PREROUTING -p tcp -m socket --transparent -j MARK --set-xmark ${local}`,
    `-A PREROUTING -p tcp -m mark --mark 0x${TPROXY_OUTBOUND_MARK.toString(16)} -j TPROXY --on-port ${ports.outbound} --tproxy-mark ${local}`,
    `-A PREROUTING -p tcp -m mark --mark 0x${TPROXY_INBOUND_MARK.toString(16)} -j TPROXY --on-port ${ports.inbound} --tproxy-mark ${local}`,
    'COMMIT',
    '',
  ].join('\n');
}
