// A pod leaves the mesh: istio-cni removes its in-pod rules and policy routing, and the node proxy
// closes the listeners it held in the pod. Its traffic goes direct again, nothing of the capture is
// left in it, and the pod still captured on the same node keeps its capture.
import { probePath, releaseFromCapture } from '../lab/backends/ambient/steps.ts';
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'ambient-release-pod',
  description: 'removing a pod from ambient capture restores direct traffic and leaves no rule, route or listener behind',
  topology: { nodes: [{ name: 'node-a', pods: ['client', 'server', 'plain'] }] },
  backend: { name: 'ambient', capture: ['client', 'server'] },
  steps: [
    { custom: { name: 'client -> plain, client captured', run: (c) => probePath(c, { from: 'client', to: 'plain', port: 9090, expect: 'captured' }) } },
    { custom: { name: 'take client out of capture', run: (c) => releaseFromCapture(c, 'client') } },
    { custom: { name: 'client -> plain, client released', run: (c) => probePath(c, { from: 'client', to: 'plain', port: 9091, expect: 'direct' }) } },
    { custom: { name: 'plain -> server, server still captured', run: (c) => probePath(c, { from: 'plain', to: 'server', port: 9092, expect: 'captured' }) } },
  ],
});
