// Merbridge-style sidecar interception in eBPF, one node: cgroup connect4 sends app connections to
// the sidecar, sockops files sockets into a sockhash, sk_msg short-circuits same-node legs, and a
// cgroup getsockopt hook answers SO_ORIGINAL_DST. No iptables rule anywhere.
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'sockmap-same-node',
  description: 'Merbridge-style eBPF sidecar interception, client and server pods on one node',
  topology: { nodes: [{ name: 'node-a', pods: ['client', 'server'] }] },
  backend: { name: 'sockmap' },
  steps: [{ verify: { client: 'client', server: 'server' } }],
});
