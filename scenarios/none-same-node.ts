// The baseline: two pods on one node, no interception. Everything flows directly; the checks prove
// nothing was in the way.
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'none-same-node',
  description: 'baseline: pod to pod on one node with no interception',
  topology: { nodes: [{ name: 'node-a', pods: ['client', 'server'] }] },
  backend: { name: 'none' },
  steps: [{ verify: { client: 'client', server: 'server' } }],
});
