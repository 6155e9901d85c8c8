// What the ambient backend adds to the standard verify plan: an uncaptured pod beside the client and
// one beside the server, and four probes, each on its own port so that its evidence (the counters
// that moved while it ran, proxy log lines for its destination, the peer the app saw) is its own.
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { ExtraProbe, TrafficPlan } from '../../judge/plan.ts';

export const AMBIENT_PROBES = {
  /** One captured connection on its own, so the counters around it count exactly its redirects. */
  capturedPair: { name: 'captured-pair', from: 'client', to: 'server', port: 9083 },
  /**
   * An uncaptured pod dialling the captured server's HBONE port: never redirected, it reaches the node
   * proxy's own 15008 listener in the pod. The lab speaks no HBONE, so that listener closes it: the
   * probe gets no echo, by design (nothing listens on the app side either).
   */
  hbone: { name: 'hbone-port', from: 'bystander-near-client', to: 'server', port: ISTIO_PORTS.hbone, listen: false },
  /** Two pods nobody captured: they talk directly. */
  uncaptured: { name: 'uncaptured-pods', from: 'bystander-near-client', to: 'bystander-near-server', port: 9081 },
  /** The node's own traffic to a captured pod (kubelet probes in Kubernetes): accepted, never redirected. */
  nodeToPod: { name: 'node-to-captured-pod', from: 'server-node', to: 'server', port: 9080 },
} as const satisfies Record<string, ExtraProbe>;

export const AMBIENT_PLAN: TrafficPlan = { bystanders: true, extraProbes: Object.values(AMBIENT_PROBES) };
