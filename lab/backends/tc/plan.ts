// What the tc backend adds to the standard verify plan: an uncaptured pod beside the client and one
// beside the server, and three probes, each on its own port so that its evidence (the peer the app
// saw, the counters that moved while it ran, proxy log lines for its destination) is its own.
import type { ExtraProbe, TrafficPlan } from '../../judge/plan.ts';

export const TC_PROBES = {
  /** The node's own traffic to a captured pod (kubelet probes in Kubernetes): never redirected. */
  nodeToPod: { name: 'node-to-captured-pod', from: 'server-node', to: 'server', port: 9080 },
  /** Two pods nobody captured: they talk directly. */
  uncaptured: { name: 'uncaptured-pods', from: 'bystander-near-client', to: 'bystander-near-server', port: 9081 },
  /** An uncaptured pod dialling the captured server: inbound capture, in either placement. */
  uncapturedToCaptured: { name: 'uncaptured-to-captured', from: 'bystander-near-client', to: 'server', port: 9082 },
} as const satisfies Record<string, ExtraProbe>;

/**
 * The captured probe runs first. The plan reads the counters before a probe as soon as the step before
 * it returns, and a captured connection's last packets (its close, through the node proxy) can still be
 * on their way then: counted by app_outbound/app_inbound inside the next probe's window. After each
 * extra probe the plan waits for closes to land before reading; with the captured probe first, that
 * wait stands between the plan's last captured connection (outside-cgroup, then this one) and the
 * windows of the two probes whose redirect counters must not move.
 */
export const TC_PLAN: TrafficPlan = { bystanders: true, extraProbes: [TC_PROBES.uncapturedToCaptured, TC_PROBES.nodeToPod, TC_PROBES.uncaptured] };
