// The `tc` backend: Istio ambient's eBPF redirection as Istio 1.20 shipped it. No sidecar and no
// iptables in the pods: tc programs on each captured pod's host veth steer its traffic to a
// per-node proxy (HAProxy playing ztunnel), and a program in the proxy's namespace hands each
// connection to the proxy's transparent listener (bpf_sk_assign, or the TPROXY-mark fallback).
import { loadObject } from '../../bpf/objects.ts';
import { enableBpfStats } from '../../evidence/bpf.ts';
import { runTag, TraceReader } from '../../evidence/trace-pipe.ts';
import type { Backend, InstallRequest, Installation } from '../types.ts';
import { detachAll } from './attach.ts';
import { capturePod, releasePod } from './capture.ts';
import { arrayIndex, encodeConfig, MAP_NAMES, updateMap } from './maps.ts';
import { mapPath, startNodeProxy, type NodeProxy } from './node-proxy.ts';
import { TcState } from './state.ts';
import { chooseSteering, type ProxySteering } from './steering.ts';
import { tcVerify } from './verify.ts';

export const TC_OBJECT = 'tc_redirect';

export interface TcInstallation extends Installation {
  readonly state: TcState;
}

export interface TcOptions {
  /** Force the proxy-side steering; by default sk_assign where the kernel has it. */
  steering?: ProxySteering;
}

export async function installTc({ lab, captured }: InstallRequest, options: TcOptions = {}): Promise<TcInstallation> {
  const steering = options.steering ?? (await chooseSteering());
  const object = await loadObject(lab, TC_OBJECT);
  // Run counts per program, reported beside each filter (restored at teardown).
  await enableBpfStats(lab);
  await updateMap(mapPath(object, MAP_NAMES.config), arrayIndex(0), encodeConfig(runTag(lab.runId)));
  // Before any traffic: the reader's instance only holds lines printed after it exists.
  const trace = TraceReader.start(lab, { name: 'tc' });
  const proxies = new Map<string, NodeProxy>();
  // Proxies first: a captured pod's packets must always find its node proxy listening.
  for (const node of new Set(captured.map((p) => p.node))) proxies.set(node.name, await startNodeProxy(lab, node, object, steering));
  for (const pod of captured) await capturePod(lab, object, pod);
  const state = new TcState(object, steering, proxies, [...captured], trace);
  return {
    state,
    verify: (context) => tcVerify(context, state),
    async uninstall() {
      // Pods first, so none of their packets is redirected to a proxy that is going away.
      for (const pod of captured) await releasePod(object, pod);
      for (const p of proxies.values()) {
        await detachAll(p.attachments);
        await p.proxy.stop();
      }
      await trace.stop();
    },
  };
}

export const tcBackend: Backend = {
  name: 'tc',
  summary: "Istio ambient eBPF redirection (1.20): tc programs on pod veths steer to a per-node proxy (HAProxy as ztunnel) via bpf_sk_assign",
  requiredTools: ['tc', 'bpftool', 'clang', 'haproxy', 'ss', 'nsenter'],
  install: (request) => installTc(request),
};

