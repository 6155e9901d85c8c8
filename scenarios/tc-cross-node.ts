// Istio ambient's eBPF redirection (1.20): tc programs on the pods' host veths send captured traffic
// to a node proxy (HAProxy with transparent listeners, playing ztunnel); no sidecars, no iptables.
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'tc-cross-node',
  description: 'ambient tc eBPF redirection to a node proxy, client and server on two nodes',
  topology: { nodes: [{ name: 'node-a', pods: ['client'] }, { name: 'node-b', pods: ['server'] }] },
  backend: { name: 'tc' },
  steps: [{ verify: { client: 'client', server: 'server' } }],
});
