// A fault: the node proxy (ztunnel) dies. The captured pods' in-pod rules still send their traffic to
// 15001 and 15006 inside the pods, where nothing listens any more, so their connections fail instead
// of reaching the app around the proxy. Pods outside capture are not affected.
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'ambient-node-proxy-down',
  description: "with the node proxy stopped, captured pods' connections fail rather than bypass it; uncaptured pods still talk",
  topology: { nodes: [{ name: 'node-a', pods: ['client', 'server', 'plain-a', 'plain-b'] }] },
  backend: { name: 'ambient', capture: ['client', 'server'] },
  steps: [
    { probe: { from: 'client', to: 'server', port: 8080, expect: 'echo' } },
    { probe: { from: 'plain-a', to: 'server', port: 8081, expect: 'echo' } },
    { stopProxy: { pod: 'server' } },
    // Outbound from a captured pod: REDIRECTed to 15001, where nothing listens.
    { probe: { from: 'client', to: 'plain-b', port: 8082, expect: 'fail' } },
    // Inbound to a captured pod: REDIRECTed to 15006, where nothing listens.
    { probe: { from: 'plain-a', to: 'server', port: 8081, expect: 'fail' } },
    { probe: { from: 'client', to: 'server', port: 8080, expect: 'fail' } },
    // Nobody captured these two: they never went through the node proxy.
    { probe: { from: 'plain-a', to: 'plain-b', port: 8083, expect: 'echo' } },
  ],
});
