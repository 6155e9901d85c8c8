// Istio's default sidecar mode on one node: nat REDIRECT to 15001/15006, HAProxy sidecars as UID 1337.
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'redirect-same-node',
  description: 'Istio sidecar REDIRECT mode, client and server pods on one node',
  topology: { nodes: [{ name: 'node-a', pods: ['client', 'server'] }] },
  backend: { name: 'redirect' },
  steps: [
    { verify: { client: 'client', server: 'server' } },
    // A pod calling its own IP goes through both of its listeners (outbound, then inbound).
    { probe: { from: 'client', to: 'client', port: 9090 } },
  ],
});
