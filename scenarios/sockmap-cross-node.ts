// Merbridge-style sidecar interception across two nodes: the cross-node legs stay out of the
// sockhash so their bytes really cross the underlay; the same-node legs are short-circuited.
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'sockmap-cross-node',
  description: 'Merbridge-style eBPF sidecar interception, client and server pods on two nodes',
  topology: {
    nodes: [
      { name: 'node-a', pods: ['client'] },
      { name: 'node-b', pods: ['server'] },
    ],
  },
  backend: { name: 'sockmap' },
  steps: [{ verify: { client: 'client', server: 'server' } }],
});
