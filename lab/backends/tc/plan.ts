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

export const TC_PLAN: TrafficPlan = { bystanders: true, extraProbes: Object.values(TC_PROBES) };
