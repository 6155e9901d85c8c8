// Istio's sidecar TPROXY mode across the underlay: client on node-a, server on node-b. The inbound
// packets arrive from another node, so TPROXY's policy routing and the pod's rp_filter/src_valid_mark
// settings are on the path.
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'tproxy-cross-node',
  description: 'Istio sidecar TPROXY mode, client and server pods on two nodes joined by an underlay',
  topology: {
    nodes: [
      { name: 'node-a', pods: ['client'] },
      { name: 'node-b', pods: ['server'] },
    ],
  },
  backend: { name: 'tproxy' },
  steps: [{ verify: { client: 'client', server: 'server' } }],
});
