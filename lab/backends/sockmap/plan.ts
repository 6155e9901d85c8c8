// What the sockmap backend adds to the standard verify plan: two probes from the client pod, each
// asking one question the standard probes cannot.
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { ExtraProbe, TrafficPlan } from '../../judge/plan.ts';

/** To the server pod's HBONE port, where nothing listens: must reach the pod unrewritten and be refused by it. */
export const HBONE_PROBE = { name: 'hbone', from: 'client', to: 'server', port: ISTIO_PORTS.hbone, listen: false } as const satisfies ExtraProbe;

/**
 * The app's question again, from an AF_INET6 socket dialling ::ffff:<server IP>: connect6 must capture
 * it like IPv4. On a port of its own: on the app probe's port, its connect events and the connection
 * the server app accepted were read as the app probe's too (a connect6 detached made inbound-captured
 * fail on this probe's direct connection, and connect6's rewrite stood in for connect4's in the trace).
 */
export const MAPPED_IPV6_PROBE = { name: 'app-ipv4-mapped-ipv6', from: 'client', to: 'server', port: 9084, mappedIpv6: true } as const satisfies ExtraProbe;

export const SOCKMAP_PLAN: TrafficPlan = { bystanders: false, extraProbes: [HBONE_PROBE, MAPPED_IPV6_PROBE] };
