// TPROXY mode's policy routing, as istio-iptables sets it up next to its rules: packets carrying the
// TPROXY mark look up a table whose only route says every address is local, so a diverted packet is
// delivered to the local (transparent) listener whatever its destination address.
import { DEFAULT_TPROXY_CAPTURE, type TproxyCaptureConfig } from './iptables.ts';

/** `ip -batch` lines (without the leading `ip`) for one pod's netns. */
export function tproxyPolicyRouting(c: TproxyCaptureConfig = DEFAULT_TPROXY_CAPTURE): string[] {
  return [`rule add fwmark ${c.tproxyMark} lookup ${c.routeTable}`, `route add local 0.0.0.0/0 dev lo table ${c.routeTable}`];
}

/** The `ip -batch` lines that undo tproxyPolicyRouting(). */
export function tproxyPolicyRoutingRemoval(c: TproxyCaptureConfig = DEFAULT_TPROXY_CAPTURE): string[] {
  return [`rule del fwmark ${c.tproxyMark} lookup ${c.routeTable}`, `route flush table ${c.routeTable}`];
}
