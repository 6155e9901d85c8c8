// The `tc` backend: Istio ambient's eBPF redirection as Istio 1.20 shipped it. No sidecar and no
// iptables in the pods: tc programs on each captured pod's host veth steer its traffic to a
// per-node proxy (HAProxy playing ztunnel), and a program in the proxy's namespace hands each
// connection to the proxy's transparent listener (bpf_sk_assign, or the TPROXY-mark fallback).
import { loadObject, pinnedMap, type LoadedObject } from '../../bpf/objects.ts';
import { updateMap } from '../../bpf/maps.ts';
import { enableBpfStats } from '../../bpf/stats.ts';
import { runTag, TraceReader } from '../../evidence/trace-pipe.ts';
import type { KernelFeature } from '../../features/names.ts';
import type { Pod } from '../../topology/lab.ts';
import { countersAccountFor } from '../../judge/slice.ts';
import { NodeProxy, nodeProxyLog } from '../../proxy/node-proxy.ts';
import type { BackendDescriptor, InstallRequest, Installation, PathCounters } from '../descriptor.ts';
import { detachAll, type Attachment } from './attach.ts';
import { capturePod, podAttachments, releasePod } from './capture.ts';
import { findFilters, readNetfilter, readPodEntries, readProxyEntries, readTcCounters, type TcEvidence } from './evidence.ts';
import { judgeTc } from './judge.ts';
import { MAP_NAMES, tcConfig } from './maps.ts';
import { TC_PLAN } from './plan.ts';
import { NODE_PROXY_LISTENERS, proxyAttachments, proxyNamespaceSetup, wireNodeProxy } from './proxy-side.ts';
import { chooseSteering, type ProxySteering } from './steering.ts';

export const TC_OBJECT = 'tc_redirect';

/** What an installed tc backend holds, for tests and experiments beyond `lab verify`. */
export interface TcState {
  object: LoadedObject;
  steering: ProxySteering;
  /** One node proxy per node with captured pods, by node name. */
  proxies: Map<string, NodeProxy>;
  captured: Pod[];
  trace: TraceReader;
}

export interface TcInstallation extends Installation<TcEvidence> {
  readonly state: TcState;
}

export interface TcOptions {
  /** Force the proxy-side steering; by default sk_assign where the kernel has it. */
  steering?: ProxySteering;
}

/** The node proxy serving a pod's node. */
export function proxyOf(state: TcState, pod: Pod): NodeProxy {
  const proxy = state.proxies.get(pod.node.name);
  if (!proxy) throw new Error(`node ${pod.node.name} has no node proxy (is ${pod.name} captured?)`);
  return proxy;
}

/** Every filter the backend attached: the proxies' and the captured pods'. */
export function attachmentsOf(state: TcState): Attachment[] {
  return [...[...state.proxies.values()].flatMap((p) => proxyAttachments(p, state.steering)), ...state.captured.flatMap(podAttachments)];
}

export async function collectTc(state: TcState): Promise<TcEvidence> {
  const { object } = state;
  const [counters, filters, pods, proxies, netfilter] = await Promise.all([
    readTcCounters(object),
    findFilters(object, attachmentsOf(state)),
    readPodEntries(object),
    readProxyEntries(object),
    readNetfilter(state.captured),
  ]);
  return { steering: state.steering, counters, filters, pods, proxies, nodeProxies: [...state.proxies.values()].map(nodeProxyLog), trace: state.trace.lines(), netfilter };
}

/** The program counters, and how many connections the node proxies have logged (each logs a connection as it closes). */
export async function tcPathCounters(state: TcState): Promise<PathCounters> {
  const counters = await readTcCounters(state.object);
  const logged = [...state.proxies.values()].reduce((sum, p) => sum + p.connections().length, 0);
  return { ...counters, proxy_connections: logged };
}

export async function installTc({ lab, captured }: InstallRequest, options: TcOptions = {}): Promise<TcInstallation> {
  const steering = options.steering ?? (await chooseSteering());
  const object = await loadObject(lab, TC_OBJECT);
  // Run counts per program, reported beside each filter.
  await enableBpfStats(lab);
  // The config first: the proxy-side programs steer nothing until it holds the ports and marks.
  await updateMap(pinnedMap(object, MAP_NAMES.config), 0, tcConfig(runTag(lab.runId)));
  // Before any traffic: the reader's instance only holds lines printed after it exists.
  const trace = TraceReader.start(lab, { name: 'tc' });
  const state: TcState = { object, steering, proxies: new Map(), captured: [...captured], trace };
  // Proxies first: a captured pod's packets must always find its node proxy listening.
  for (const node of new Set(captured.map((p) => p.node))) {
    const proxy = await NodeProxy.start(lab, node, { listeners: NODE_PROXY_LISTENERS, ...proxyNamespaceSetup(steering) });
    await wireNodeProxy(lab, object, proxy, steering);
    state.proxies.set(node.name, proxy);
  }
  for (const pod of captured) await capturePod(lab, object, pod);
  return {
    state,
    collect: () => collectTc(state),
    pathCounters: () => tcPathCounters(state),
    async stopProxy(pod) {
      await proxyOf(state, pod).stop();
    },
    async quiet() {
      await trace.stop();
    },
    async uninstall() {
      // Pods first, so none of their packets is redirected to a proxy that is going away.
      for (const pod of captured) await releasePod(object, pod);
      for (const p of state.proxies.values()) {
        await detachAll(proxyAttachments(p, steering));
        await p.stop();
      }
      await trace.stop();
    },
  };
}

export const tcBackend: BackendDescriptor<TcEvidence> = {
  name: 'tc',
  description: 'Istio ambient eBPF redirection (1.20): tc programs on pod veths steer to a per-node proxy (HAProxy as ztunnel) via bpf_sk_assign',
  display: { label: 'tc', color: '#CC79A7' },
  requires: {
    tools: ['tc', 'bpftool', 'clang', 'haproxy', 'ss', 'nsenter'],
    features: ['bpf-syscall', 'btf', 'bpffs', 'tracefs', 'netns-veth', 'tc-clsact', 'bpf-enable-stats'] satisfies KernelFeature[],
    // Steering: bpf_sk_assign, or without it the TPROXY-mark fallback (steering.ts).
    oneOf: [['bpf-sk-assign', 'iptables-tproxy']],
  },
  plan: TC_PLAN,
  install: (request) => installTc(request),
  judge: judgeTc,
  // Every connection's packets are redirected to a node proxy on the way out, its SYN is steered to
  // the proxy's listener (sk_assign or the TPROXY mark), a node proxy delivers its packets to the
  // pods, and the proxy logs it. (app_inbound redirects only traffic from another node: on one node
  // the proxy's own packets reach the server directly, so its counter is no per-slice proof.)
  judgeSlice: (delta, slice) =>
    countersAccountFor({ ...delta, steered: (delta['assign_listener'] ?? 0) + (delta['mark_outbound'] ?? 0) + (delta['mark_inbound'] ?? 0) }, [
      { counter: 'outbound_redirect', atLeast: slice.connections, why: "each connection's packets sent to the node proxy by app_outbound" },
      { counter: 'proxy_return', atLeast: slice.connections, why: "each connection's packets delivered from a node proxy to a pod" },
      { counter: 'steered', atLeast: slice.connections, why: "each connection's SYN handed to a proxy listener" },
      { counter: 'proxy_connections', atLeast: slice.connections, why: 'each connection logged by a node proxy' },
    ]),
};
