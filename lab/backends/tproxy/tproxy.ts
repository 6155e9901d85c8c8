// Istio's sidecar TPROXY mode: mangle-table TPROXY hands the pod's inbound TCP to the sidecar's
// transparent 15006 listener without rewriting it (the socket's local address is the original
// destination), policy routing delivers the marked packets locally, and outbound stays nat REDIRECT
// to 15001. The sidecar (UID 1337) forwards to the original destination.
import { ipBatch } from '../../host/ip.ts';
import { iptablesRestore } from '../../host/iptables.ts';
import { setNetnsSysctls } from '../../host/sysctl.ts';
import { tproxyModeRemoval, tproxyModeTables } from '../../istio/iptables.ts';
import { tproxyPolicyRouting, tproxyPolicyRoutingRemoval } from '../../istio/policy-routing.ts';
import { startSidecars } from '../../proxy/sidecar.ts';
import type { Pod } from '../../topology/lab.ts';
import type { Backend, Installation } from '../types.ts';
import { tproxyChecks } from './checks.ts';
import { TPROXY_POD_SYSCTLS } from './sysctls.ts';

/** What istio-init does in TPROXY mode, in one pod: sysctls, policy routing, then the rules. */
async function capturePod(pod: Pod): Promise<void> {
  await setNetnsSysctls(pod.netns, TPROXY_POD_SYSCTLS);
  await ipBatch(tproxyPolicyRouting(), pod.netns);
  await iptablesRestore(pod.netns, tproxyModeTables());
}

async function releasePod(pod: Pod): Promise<void> {
  await iptablesRestore(pod.netns, tproxyModeRemoval());
  await ipBatch(tproxyPolicyRoutingRemoval(), pod.netns);
}

export const tproxyBackend: Backend = {
  name: 'tproxy',
  summary: 'Istio sidecar, iptables mangle TPROXY to a transparent 15006 (inbound) and nat REDIRECT to 15001 (outbound)',
  requiredTools: ['iptables-restore', 'iptables-save', 'ip', 'sysctl', 'haproxy', 'conntrack'],
  async install({ lab, captured }): Promise<Installation> {
    // Rules before sidecars, as in a pod: istio-init runs before istio-proxy starts. Rules, marks,
    // routes and sysctls all live in the pods' own netns and vanish with them.
    await Promise.all(captured.map(capturePod));
    const sidecars = await startSidecars(lab, captured, { transparentInbound: true });
    return {
      verify: (context) => tproxyChecks(context, sidecars, captured),
      async stopProxy(pod) {
        await sidecars.get(pod.name)?.stop();
      },
      async uninstall() {
        // Rules first, so no connection is diverted to a sidecar that is already gone.
        await Promise.all(captured.map(releasePod));
        await Promise.all([...sidecars.values()].map((s) => s.stop()));
      },
    };
  },
};
