// Istio's sidecar TPROXY mode on one node: mangle TPROXY to a transparent 15006 for inbound (no NAT,
// the sidecar reads the original destination with getsockname), nat REDIRECT to 15001 for outbound.
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'tproxy-same-node',
  description: 'Istio sidecar TPROXY mode, client and server pods on one node',
  topology: { nodes: [{ name: 'node-a', pods: ['client', 'server'] }] },
  backend: { name: 'tproxy' },
  steps: [
    { verify: { client: 'client', server: 'server' } },
    // A pod calling its own IP: the lo guards in ISTIO_OUTPUT and ISTIO_INBOUND let it through.
    { probe: { from: 'client', to: 'client', port: 9090 } },
  ],
});
