// Istio's sidecar TPROXY mode: mangle-table TPROXY hands the pod's inbound TCP to the sidecar's
// transparent 15006 listener without rewriting it (the socket's local address is the original
// destination), policy routing delivers the marked packets locally, and outbound stays nat REDIRECT
// to 15001. The sidecar (UID 1337) forwards to the original destination. Two flavours of the same
// rules: `tproxy` (istio-iptables) and `tproxy-nft` (Istio's native nftables).
import { readConntrack } from '../../evidence/conntrack.ts';
import { packetsTo, type IptablesSnapshot } from '../../evidence/iptables.ts';
import { ipBatch, ipJson } from '../../host/ip.ts';
import { setNetnsSysctls } from '../../host/sysctl.ts';
import { tproxyPolicyRouting, tproxyPolicyRoutingRemoval } from '../../istio/policy-routing.ts';
import { sidecarRuleIds, tproxyRuleIds, type RulesFlavour } from '../../istio/rule-ids.ts';
import { DEFAULT_TPROXY_CAPTURE, type TproxyCaptureConfig } from '../../istio/sidecar-config.ts';
import { STANDARD_PLAN } from '../../judge/plan.ts';
import { rulesIn } from '../../judge/sidecar.ts';
import { countersAccountFor } from '../../judge/slice.ts';
import { startSidecars } from '../../proxy/sidecar.ts';
import type { Lab, Pod } from '../../topology/lab.ts';
import type { BackendDescriptor, PathCounters } from '../descriptor.ts';
import { sidecarRules, type SidecarRules } from '../sidecar-rules.ts';
import { sidecarIstioText, sidecarLineFor } from '../istio-rules.ts';
import { readSidecarSockets } from '../sidecar-sockets.ts';
import { judgeTproxy, type IpRoute, type IpRule, type TproxyEvidence } from './checks.ts';
import { TPROXY_POD_SYSCTLS } from './sysctls.ts';

/** What istio-init does in TPROXY mode before the rules, in one pod: the sysctls and the policy routing. */
export async function prepareTproxyPod(pod: Pod, capture: TproxyCaptureConfig = DEFAULT_TPROXY_CAPTURE): Promise<void> {
  await setNetnsSysctls(pod.netns, TPROXY_POD_SYSCTLS);
  await ipBatch(tproxyPolicyRouting(capture), pod.netns);
}

/** What istio-init does in TPROXY mode, in one pod: sysctls, policy routing, then the rules. */
async function capturePod(pod: Pod, rules: SidecarRules, capture: TproxyCaptureConfig): Promise<void> {
  await prepareTproxyPod(pod, capture);
  await rules.apply(pod.netns, rules.tproxyMode(capture));
}

async function releasePod(pod: Pod, rules: SidecarRules, capture: TproxyCaptureConfig): Promise<void> {
  await rules.apply(pod.netns, rules.tproxyRemoval());
  await ipBatch(tproxyPolicyRoutingRemoval(capture), pod.netns);
}

/** Policy routing where it must be (each pod) and where it must not (nodes, and the root namespace, read only). */
async function readRouting(lab: Lab, captured: readonly Pod[]): Promise<Pick<TproxyEvidence, 'podRouting' | 'otherRules'>> {
  const table = String(DEFAULT_TPROXY_CAPTURE.routeTable);
  const podRouting = Object.fromEntries(
    await Promise.all(
      captured.map(async (pod) => [pod.name, { rules: await ipJson<IpRule[]>(['rule', 'show'], pod.netns), routes: await ipJson<IpRoute[]>(['route', 'show', 'table', table], pod.netns) }] as const),
    ),
  );
  const places = [...[...lab.nodes.values()].map((n) => ({ where: `node ${n.name}`, netns: n.netns as string | undefined })), { where: 'root namespace', netns: undefined }];
  const otherRules = Object.fromEntries(await Promise.all(places.map(async ({ where, netns }) => [where, await ipJson<IpRule[]>(['rule', 'show'], netns)] as const)));
  return { podRouting, otherRules };
}

async function readSysctls(lab: Lab, captured: readonly Pod[]): Promise<Record<string, Record<string, string>>> {
  const names = Object.keys(TPROXY_POD_SYSCTLS);
  const read = await Promise.all(
    captured.map(async (pod) => {
      const values = (await lab.exec(pod, 'sysctl', ['-n', ...names], { inCgroup: false })).stdout.trim().split('\n');
      return [pod.name, Object.fromEntries(names.map((name, i) => [name, values[i] ?? '']))] as const;
    }),
  );
  return Object.fromEntries(read);
}

const SHOWN: Record<RulesFlavour, Pick<BackendDescriptor, 'description' | 'display'>> = {
  iptables: {
    description: 'Istio sidecar, iptables mangle TPROXY to a transparent 15006 (inbound) and nat REDIRECT to 15001 (outbound)',
    display: { label: 'tproxy', color: '#56B4E9' },
  },
  nftables: {
    description: 'Istio sidecar, native nftables (nativeNftables, one nft -f transaction per pod): tproxy to a transparent 15006 (inbound), nat redirect to 15001 (outbound)',
    display: { label: 'tproxy-nft', color: '#0072B2' },
  },
};

/**
 * TPROXY mode in one rule flavour. `capture` is the istio-iptables configuration the rules are
 * generated from (the injector's, with TPROXY's marks, by default); the judge expects the default's
 * excluded inbound ports, marks and routing table.
 */
export function tproxyBackendOf(flavour: RulesFlavour, capture: TproxyCaptureConfig = DEFAULT_TPROXY_CAPTURE): BackendDescriptor<TproxyEvidence> {
  const rules = sidecarRules(flavour);
  const ids = { sidecar: sidecarRuleIds(flavour, capture), tproxy: tproxyRuleIds(flavour, capture) };
  const { nat, mangle } = ids.sidecar.tables;
  const { chains, targets } = ids.sidecar;
  const count = (snapshot: IptablesSnapshot, table: string, chain: string, target: string) => packetsTo(rulesIn(snapshot, table), chain, target);
  return {
    name: `tproxy${rules.suffix}`,
    ...SHOWN[flavour],
    istio: sidecarIstioText(flavour, capture.istioVersion),
    withIstioVersion: (version) => tproxyBackendOf(flavour, { ...capture, istioVersion: sidecarLineFor(flavour, version) }),
    requires: { tools: [...rules.tools, 'ip', 'sysctl', 'haproxy', 'conntrack'], features: [...rules.features.tproxy] },
    plan: STANDARD_PLAN,
    async install({ lab, captured }) {
      const [client, server] = captured;
      if (!client || !server) throw new Error('the tproxy backend captures a client and a server pod');
      // Rules before sidecars, as in a pod: istio-init runs before istio-proxy starts. Rules, marks,
      // routes and sysctls all live in the pods' own netns and vanish with them.
      await Promise.all(captured.map((pod) => capturePod(pod, rules, capture)));
      const sidecars = await startSidecars(lab, captured, { transparentInbound: true });
      const log = (pod: string) => sidecars.get(pod)?.connections() ?? [];
      const sockets = async () => Object.fromEntries(await Promise.all(captured.map(async (pod) => [pod.name, await readSidecarSockets(lab, pod, sidecars.get(pod.name)!.pid)] as const)));
      return {
        async collect() {
          const [clientRules, serverRules, serverConntrack, clientConntrack, routing, podSysctls, sidecarSockets] = await Promise.all([
            rules.read(client.netns),
            rules.read(server.netns),
            readConntrack(server.netns),
            readConntrack(client.netns),
            readRouting(lab, captured),
            readSysctls(lab, captured),
            sockets(),
          ]);
          return { clientLog: log(client.name), serverLog: log(server.name), clientRules, serverRules, serverConntrack, clientConntrack, ...routing, podSysctls, sidecarSockets };
        },
        async pathCounters(): Promise<PathCounters> {
          const [clientRules, serverRules] = await Promise.all([rules.read(client.netns), rules.read(server.netns)]);
          return {
            [`client ${chains.redirect} packets`]: count(clientRules, nat, chains.redirect, targets.redirect),
            [`server ${chains.tproxy} packets`]: count(serverRules, mangle, chains.tproxy, targets.tproxy),
            [`server ${chains.divert} packets`]: count(serverRules, mangle, chains.divert, targets.divertMark),
            'client sidecar connections': log(client.name).length,
            'server sidecar connections': log(server.name).length,
          };
        },
        async stopProxy(pod) {
          await sidecars.get(pod.name)?.stop();
        },
        async uninstall() {
          // Rules first, so no connection is diverted to a sidecar that is already gone.
          await Promise.all(captured.map((pod) => releasePod(pod, rules, capture)));
          await Promise.all([...sidecars.values()].map((s) => s.stop()));
        },
      };
    },
    judge: (evidence) => judgeTproxy(evidence, ids),
    // Outbound: nat sees each connection's first packet. Inbound: TPROXY takes each connection's first
    // packet, and every later packet of it is diverted; each sidecar logs every connection it closes.
    judgeSlice: (delta, slice) =>
      countersAccountFor(delta, [
        { counter: `client ${chains.redirect} packets`, atLeast: slice.connections, why: 'each connection redirected to the client sidecar' },
        { counter: `server ${chains.tproxy} packets`, atLeast: slice.connections, why: 'each connection TPROXYed to the server sidecar' },
        { counter: 'client sidecar connections', atLeast: slice.connections, why: 'each connection logged by the client sidecar' },
        { counter: 'server sidecar connections', atLeast: slice.connections, why: 'each connection logged by the server sidecar' },
      ]),
  };
}

export const tproxyBackend = tproxyBackendOf('iptables');
export const tproxyNftBackend = tproxyBackendOf('nftables');
