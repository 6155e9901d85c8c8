// Istio's sidecar REDIRECT mode: nat-table rules send the pod's inbound TCP to the sidecar's 15006
// and its outbound TCP to 15001; the sidecar (UID 1337) forwards to the original destination.
import { readConntrack } from '../../evidence/conntrack.ts';
import { packetsTo, readIptables } from '../../evidence/iptables.ts';
import { iptablesRestore } from '../../host/iptables.ts';
import { redirectModeNatTable } from '../../istio/iptables.ts';
import { STANDARD_PLAN } from '../../judge/plan.ts';
import { startSidecars } from '../../proxy/sidecar.ts';
import { countersAccountFor } from '../../judge/slice.ts';
import type { BackendDescriptor, PathCounters } from '../descriptor.ts';
import { judgeRedirect, type RedirectEvidence } from './checks.ts';

export const redirectBackend: BackendDescriptor<RedirectEvidence> = {
  name: 'redirect',
  description: "Istio sidecar, iptables nat REDIRECT to 15001/15006 (istio-iptables' default mode)",
  display: { label: 'redirect', color: '#E69F00' },
  requires: { tools: ['iptables-restore', 'iptables-save', 'haproxy', 'conntrack'], features: ['iptables-redirect'] },
  plan: STANDARD_PLAN,
  async install({ lab, captured }) {
    const [client, server] = captured;
    if (!client || !server) throw new Error('the redirect backend captures a client and a server pod');
    // Rules before sidecars, as in a pod: istio-init runs before istio-proxy starts. The rules
    // live in the pods' own netns and vanish with them.
    await Promise.all(captured.map((pod) => iptablesRestore(pod.netns, redirectModeNatTable())));
    const sidecars = await startSidecars(lab, captured);
    const log = (pod: string) => sidecars.get(pod)?.connections() ?? [];
    return {
      async collect() {
        const [clientRules, serverRules, serverConntrack] = await Promise.all([readIptables(client.netns), readIptables(server.netns), readConntrack(server.netns)]);
        return { clientLog: log(client.name), serverLog: log(server.name), clientRules, serverRules, serverConntrack };
      },
      async pathCounters(): Promise<PathCounters> {
        const [clientRules, serverRules] = await Promise.all([readIptables(client.netns), readIptables(server.netns)]);
        return {
          'client ISTIO_REDIRECT packets': packetsTo(clientRules, 'ISTIO_REDIRECT', 'REDIRECT'),
          'server ISTIO_IN_REDIRECT packets': packetsTo(serverRules, 'ISTIO_IN_REDIRECT', 'REDIRECT'),
          'client sidecar connections': log(client.name).length,
          'server sidecar connections': log(server.name).length,
        };
      },
      async stopProxy(pod) {
        await sidecars.get(pod.name)?.stop();
      },
      async uninstall() {
        await Promise.all([...sidecars.values()].map((s) => s.stop()));
      },
    };
  },
  judge: judgeRedirect,
  // nat rules see only a connection's first packet: one REDIRECT per connection on each side, and
  // each sidecar logs every connection once it closes.
  judgeSlice: (delta, slice) =>
    countersAccountFor(delta, [
      { counter: 'client ISTIO_REDIRECT packets', atLeast: slice.connections, why: 'each connection redirected to the client sidecar' },
      { counter: 'server ISTIO_IN_REDIRECT packets', atLeast: slice.connections, why: 'each connection redirected to the server sidecar' },
      { counter: 'client sidecar connections', atLeast: slice.connections, why: 'each connection logged by the client sidecar' },
      { counter: 'server sidecar connections', atLeast: slice.connections, why: 'each connection logged by the server sidecar' },
    ]),
};
