// The `ambient` backend: Istio ambient's in-pod redirection (Istio 1.24 and later, REDIRECT mode).
// No sidecar: istio-cni writes rules inside each captured pod's netns (lab/istio/ambient.ts, Istio
// 1.30.3's own rules) that send the pod's TCP to listeners the node proxy (ztunnel; here one HAProxy
// per node) holds inside that netns. The proxy's sockets carry mark 0x539, which the rules let pass
// and turn into connmark 0x111, whose table-100 route brings the app's replies back to the proxy.
import type { KernelFeature } from '../../features/names.ts';
import { readIptables } from '../../evidence/iptables.ts';
import { CURRENT_ISTIO_LINE, describeIstioLine } from '../../istio/version.ts';
import { NodeProxy } from '../../proxy/node-proxy.ts';
import { SocketMarker } from '../../proxy/socket-mark.ts';
import type { Pod } from '../../topology/lab.ts';
import type { BackendDescriptor, InstallRequest, Installation, PathCounters } from '../descriptor.ts';
import { applyInpodRules, inpodConfig, inpodListeners, removeInpodRules } from './capture.ts';
import { podPathCounters } from './counters.ts';
import { collectAmbient, inpodConstants, type AmbientEvidence, type AmbientState } from './evidence.ts';
import { judgeAmbient, judgeAmbientSlice } from './judge.ts';
import { AMBIENT_PLAN } from './plan.ts';

export interface AmbientInstallation extends Installation<AmbientEvidence> {
  readonly state: AmbientState;
  /**
   * Takes a pod out of capture, as istio-cni does when a pod leaves the mesh: its in-pod rules and
   * policy routing are removed, then its node proxy closes the listeners it held in the pod.
   */
  release(pod: Pod): Promise<void>;
}

/** The node proxy serving a pod's node. */
export function nodeProxyOf(state: AmbientState, pod: Pod): NodeProxy {
  const proxy = state.proxies.get(pod.node.name);
  if (!proxy) throw new Error(`node ${pod.node.name} has no node proxy (is ${pod.name} captured?)`);
  return proxy;
}

export async function ambientPathCounters(state: AmbientState): Promise<PathCounters> {
  const log = [...state.proxies.values()].flatMap((p) => p.connections());
  const perPod = await Promise.all(state.captured.map(async (pod) => podPathCounters(pod.name, await readIptables(pod.netns), inpodConfig(pod), log)));
  return Object.assign({}, ...perPod) as PathCounters;
}

export async function installAmbient({ lab, captured }: InstallRequest): Promise<AmbientInstallation> {
  // Loaded once, attached to each node proxy's cgroup before that proxy creates its first socket.
  const marker = await SocketMarker.load(lab, inpodConstants().proxyMark);
  const state: AmbientState = { lab, captured: [...captured], proxies: new Map(), marker };
  // The node proxies first, holding their listeners in the pods before any rule sends traffic there:
  // a captured connection never meets a port nothing listens on.
  for (const node of new Set(captured.map((p) => p.node))) {
    const pods = captured.filter((p) => p.node === node);
    const proxy = await NodeProxy.start(lab, node, { listeners: pods.flatMap(inpodListeners), prepare: (pod) => marker.attach(lab, pod) });
    state.proxies.set(node.name, proxy);
  }
  for (const pod of captured) await applyInpodRules(pod);
  return {
    state,
    collect: () => collectAmbient(state),
    pathCounters: () => ambientPathCounters(state),
    async stopProxy(pod) {
      await nodeProxyOf(state, pod).stop();
    },
    async release(pod) {
      const at = state.captured.indexOf(pod);
      if (at < 0) throw new Error(`${pod.name} is not captured`);
      // Rules first, so that no connection is redirected to a listener that is about to close.
      await removeInpodRules(pod);
      state.captured.splice(at, 1);
      await nodeProxyOf(state, pod).reconfigure(state.captured.filter((p) => p.node === pod.node).flatMap(inpodListeners));
    },
    async uninstall() {
      for (const pod of state.captured) await removeInpodRules(pod);
      for (const proxy of state.proxies.values()) await proxy.stop();
      await marker.detach();
    },
  };
}

export const ambientBackend: BackendDescriptor<AmbientEvidence> = {
  name: 'ambient',
  description: 'Istio ambient in-pod redirection (1.24+): nat REDIRECT inside each pod to a per-node proxy (HAProxy as ztunnel) listening in the pod, mark 0x539 and table 100',
  display: { label: 'ambient', color: '#D55E00' },
  // One generator, no per-line option: its rules equal istio-cni's 1.30.3 goldens (and, with DNS
  // capture on, 1.24.6's default.golden too; test/unit/istio-ambient-conformance.test.ts).
  istio: describeIstioLine(CURRENT_ISTIO_LINE),
  requires: {
    tools: ['iptables-restore', 'iptables-save', 'nft', 'haproxy', 'conntrack', 'ip', 'ss', 'bpftool', 'clang'],
    // bpf-syscall, bpffs, cgroup2 and cgroup2-socket-match: the socket marker on the node proxy's cgroup (lab/proxy/socket-mark.ts).
    features: ['netns-veth', 'iptables-redirect', 'bpf-syscall', 'bpffs', 'cgroup2', 'cgroup2-socket-match'] satisfies KernelFeature[],
  },
  plan: AMBIENT_PLAN,
  install: (request) => installAmbient(request),
  judge: judgeAmbient,
  judgeSlice: judgeAmbientSlice,
};

/** The ambient installation behind a generic one (scenarios reach `release` through it). */
export function asAmbientInstallation(installation: Installation): AmbientInstallation {
  if (!('release' in installation) || !('state' in installation)) throw new Error('this installation is not the ambient backend');
  return installation as AmbientInstallation;
}
