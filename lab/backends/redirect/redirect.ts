// Istio's sidecar REDIRECT mode: nat rules send the pod's inbound TCP to the sidecar's 15006 and its
// outbound TCP to 15001; the sidecar (UID 1337) forwards to the original destination. Two flavours
// of the same rules: `redirect` (istio-iptables) and `redirect-nft` (Istio's native nftables).
import { readConntrack } from '../../evidence/conntrack.ts';
import { packetsTo, type IptablesSnapshot } from '../../evidence/iptables.ts';
import { sidecarRuleIds, type RulesFlavour } from '../../istio/rule-ids.ts';
import { DEFAULT_CAPTURE, type IstioCaptureConfig } from '../../istio/sidecar-config.ts';
import { STANDARD_PLAN } from '../../judge/plan.ts';
import { rulesIn } from '../../judge/sidecar.ts';
import { countersAccountFor } from '../../judge/slice.ts';
import { startSidecars } from '../../proxy/sidecar.ts';
import type { BackendDescriptor, PathCounters } from '../descriptor.ts';
import { judgeRedirect, type RedirectEvidence } from './checks.ts';
import { sidecarRules } from '../sidecar-rules.ts';
import { sidecarIstioText, sidecarLineFor } from '../istio-rules.ts';
import { readSidecarSockets } from '../sidecar-sockets.ts';

const SHOWN: Record<RulesFlavour, Pick<BackendDescriptor, 'description' | 'display'>> = {
  iptables: { description: "Istio sidecar, iptables nat REDIRECT to 15001/15006 (istio-iptables' default mode)", display: { label: 'redirect', color: '#E69F00' } },
  nftables: {
    description: 'Istio sidecar, native nftables (nativeNftables, one nft -f transaction per pod) nat redirect to 15001/15006',
    display: { label: 'redirect-nft', color: '#D55E00' },
  },
};

/**
 * REDIRECT mode in one rule flavour. `capture` is the istio-iptables configuration the rules are
 * generated from (the injector's by default); the judge expects the default's excluded inbound ports.
 */
export function redirectBackendOf(flavour: RulesFlavour, capture: IstioCaptureConfig = DEFAULT_CAPTURE): BackendDescriptor<RedirectEvidence> {
  const rules = sidecarRules(flavour);
  const ids = sidecarRuleIds(flavour, capture);
  const nat = (snapshot: IptablesSnapshot, chain: string) => packetsTo(rulesIn(snapshot, ids.tables.nat), chain, ids.targets.redirect);
  return {
    name: `redirect${rules.suffix}`,
    ...SHOWN[flavour],
    istio: sidecarIstioText(flavour, capture.istioVersion),
    withIstioVersion: (version) => redirectBackendOf(flavour, { ...capture, istioVersion: sidecarLineFor(flavour, version) }),
    requires: { tools: [...rules.tools, 'haproxy', 'conntrack'], features: [...rules.features.redirect] },
    plan: STANDARD_PLAN,
    async install({ lab, captured }) {
      const [client, server] = captured;
      if (!client || !server) throw new Error('the redirect backend captures a client and a server pod');
      // Rules before sidecars, as in a pod: istio-init runs before istio-proxy starts. The rules
      // live in the pods' own netns and vanish with them.
      await Promise.all(captured.map((pod) => rules.apply(pod.netns, rules.redirectMode(capture))));
      const sidecars = await startSidecars(lab, captured);
      const log = (pod: string) => sidecars.get(pod)?.connections() ?? [];
      const sockets = async () => Object.fromEntries(await Promise.all(captured.map(async (pod) => [pod.name, await readSidecarSockets(lab, pod, sidecars.get(pod.name)!.pid)] as const)));
      return {
        async collect() {
          const [clientRules, serverRules, serverConntrack, sidecarSockets] = await Promise.all([rules.read(client.netns), rules.read(server.netns), readConntrack(server.netns), sockets()]);
          return { clientLog: log(client.name), serverLog: log(server.name), clientRules, serverRules, serverConntrack, sidecarSockets };
        },
        async pathCounters(): Promise<PathCounters> {
          const [clientRules, serverRules] = await Promise.all([rules.read(client.netns), rules.read(server.netns)]);
          return {
            [`client ${ids.chains.redirect} packets`]: nat(clientRules, ids.chains.redirect),
            [`server ${ids.chains.inRedirect} packets`]: nat(serverRules, ids.chains.inRedirect),
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
    judge: (evidence) => judgeRedirect(evidence, ids),
    // nat rules see only a connection's first packet: one redirect per connection on each side, and
    // each sidecar logs every connection once it closes.
    judgeSlice: (delta, slice) =>
      countersAccountFor(delta, [
        { counter: `client ${ids.chains.redirect} packets`, atLeast: slice.connections, why: 'each connection redirected to the client sidecar' },
        { counter: `server ${ids.chains.inRedirect} packets`, atLeast: slice.connections, why: 'each connection redirected to the server sidecar' },
        { counter: 'client sidecar connections', atLeast: slice.connections, why: 'each connection logged by the client sidecar' },
        { counter: 'server sidecar connections', atLeast: slice.connections, why: 'each connection logged by the server sidecar' },
      ]),
  };
}

export const redirectBackend = redirectBackendOf('iptables');
export const redirectNftBackend = redirectBackendOf('nftables');
