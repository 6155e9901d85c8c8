// Istio's default sidecar mode across the underlay: client on node-a, server on node-b.
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'redirect-cross-node',
  description: 'Istio sidecar REDIRECT mode, client and server pods on two nodes joined by an underlay',
  topology: {
    nodes: [
      { name: 'node-a', pods: ['client'] },
      { name: 'node-b', pods: ['server'] },
    ],
  },
  backend: { name: 'redirect' },
  steps: [{ verify: { client: 'client', server: 'server' } }],
});
