// Policy routing inside a captured pod: packets carrying a mark look up a table whose only route says
// every address is local, so they are delivered to a local (transparent) socket whatever their
// destination address. Sidecar TPROXY mode uses it for diverted inbound packets (istio-iptables sets it
// up next to its rules); ambient's in-pod mode uses it for the app's replies to the node proxy.
import type { AmbientInpodConfig } from './ambient.ts';
import { DEFAULT_TPROXY_CAPTURE, type TproxyCaptureConfig } from './sidecar-config.ts';

/** `ip -batch` lines (without the leading `ip`) for one pod's netns. */
export function tproxyPolicyRouting(c: TproxyCaptureConfig = DEFAULT_TPROXY_CAPTURE): string[] {
  return [`rule add fwmark ${c.tproxyMark} lookup ${c.routeTable}`, `route add local 0.0.0.0/0 dev lo table ${c.routeTable}`];
}

/** The `ip -batch` lines that undo tproxyPolicyRouting(). */
export function tproxyPolicyRoutingRemoval(c: TproxyCaptureConfig = DEFAULT_TPROXY_CAPTURE): string[] {
  return [`rule del fwmark ${c.tproxyMark} lookup ${c.routeTable}`, `route flush table ${c.routeTable}`];
}

/**
 * Ambient in-pod: istio-cni's netlink equivalents of `ip rule add fwmark 0x111/0xfff pref 32764
 * lookup 100` and `ip route add local 0.0.0.0/0 dev lo table 100` (cni/pkg/iptables/iptables_linux.go
 * at 1.30.3 quotes both; the route is RTN_LOCAL, scope host, which `route add local` gives).
 */
export function ambientPolicyRouting(c: AmbientInpodConfig): string[] {
  const mark = `0x${c.connMark.toString(16)}/0x${c.connMask.toString(16)}`;
  return [`rule add fwmark ${mark} pref ${c.rulePriority} lookup ${c.routeTable}`, `route add local 0.0.0.0/0 dev lo table ${c.routeTable}`];
}

/** The `ip -batch` lines that undo ambientPolicyRouting(). */
export function ambientPolicyRoutingRemoval(c: AmbientInpodConfig): string[] {
  const mark = `0x${c.connMark.toString(16)}/0x${c.connMask.toString(16)}`;
  return [`rule del fwmark ${mark} pref ${c.rulePriority} lookup ${c.routeTable}`, `route flush table ${c.routeTable}`];
}
