// A fault: the server's sidecar dies. Its nat rules still send inbound traffic to 15006, where
// nothing listens, so connections fail instead of reaching the app around the proxy.
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'redirect-sidecar-down',
  description: 'with the server sidecar stopped, inbound connections fail rather than bypass it',
  topology: { nodes: [{ name: 'node-a', pods: ['client', 'server'] }] },
  backend: { name: 'redirect' },
  steps: [
    { probe: { from: 'client', to: 'server', port: 8080, expect: 'echo' } },
    { stopProxy: { pod: 'server' } },
    { probe: { from: 'client', to: 'server', port: 8080, expect: 'fail' } },
    // Excluded ports never went through the sidecar, so they still work.
    { probe: { from: 'client', to: 'server', port: 15021, expect: 'echo' } },
  ],
});
