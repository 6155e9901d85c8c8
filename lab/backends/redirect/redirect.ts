// Istio's sidecar REDIRECT mode: nat-table rules send the pod's inbound TCP to the sidecar's 15006
// and its outbound TCP to 15001; the sidecar (UID 1337) forwards to the original destination.
import { iptablesRestore } from '../../host/iptables.ts';
import { redirectModeNatTable } from '../../istio/iptables.ts';
import { startSidecars } from '../../proxy/sidecar.ts';
import type { Backend, Installation } from '../types.ts';
import { redirectChecks } from './checks.ts';

export const redirectBackend: Backend = {
  name: 'redirect',
  summary: "Istio sidecar, iptables nat REDIRECT to 15001/15006 (istio-iptables' default mode)",
  requiredTools: ['iptables-restore', 'iptables-save', 'haproxy', 'conntrack'],
  async install({ lab, captured }): Promise<Installation> {
    // Rules before sidecars, as in a pod: istio-init runs before istio-proxy starts. The rules
    // live in the pods' own netns and vanish with them.
    await Promise.all(captured.map((pod) => iptablesRestore(pod.netns, redirectModeNatTable())));
    const sidecars = await startSidecars(lab, captured);
    return {
      verify: (context) => redirectChecks(context, sidecars),
      async stopProxy(pod) {
        await sidecars.get(pod.name)?.stop();
      },
      async uninstall() {
        await Promise.all([...sidecars.values()].map((s) => s.stop()));
      },
    };
  },
};
