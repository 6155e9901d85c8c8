// Istio sidecar interception the Merbridge way: no iptables rule; cgroup/connect4 sends apps to
// their sidecar and sidecars to the destination pod's 15006, getsockopt answers SO_ORIGINAL_DST,
// sockops + sk_msg short-circuit the sidecar legs between sockets of one node (bpf/sockmap/).
import { MapSampler } from '../../evidence/bpf.ts';
import { TraceReader } from '../../evidence/trace-pipe.ts';
import type { KernelFeature } from '../../features/names.ts';
import type { RunningProxy } from '../../proxy/proxy.ts';
import { startSidecars } from '../../proxy/sidecar.ts';
import type { Lab, Pod } from '../../topology/lab.ts';
import { countersAccountFor } from '../../judge/slice.ts';
import type { BackendDescriptor, Installation, PathCounters } from '../descriptor.ts';
import { judgeSockmap } from './checks.ts';
import { installDatapath, readSockhash, SOCKHASH_MAP, type SockmapDatapath } from './datapath.ts';
import { collectSockmapEvidence, type SockmapEvidence } from './evidence.ts';
import { SOCKMAP_PLAN } from './plan.ts';

/** SOCKHASH entries live only as long as their sockets: sample them while traffic flows. */
const SOCKHASH_SAMPLE_MS = 300;
/** Bounds the sampler (about 30 minutes) even if nothing stopped it; the run's teardown does. */
const SOCKHASH_MAX_SAMPLES = 6000;

/** An installed sockmap backend with its live evidence sources, for experiments beyond `lab verify`. */
export interface SockmapInstallation extends Installation<SockmapEvidence> {
  datapath: SockmapDatapath;
  sidecars: Map<string, RunningProxy>;
  /** Samples the SOCKHASH's raw keys (decodeSockKey reads them). */
  sampler: MapSampler<Uint8Array, Uint8Array>;
  trace: TraceReader;
}

export async function installSockmap(lab: Lab, captured: readonly Pod[]): Promise<SockmapInstallation> {
  // The reader starts before the programs attach, so it sees their first line. The run owns it.
  const trace = TraceReader.start(lab, { name: 'sockmap' });
  const datapath = await installDatapath(lab, { mode: 'mesh', pods: captured, hooks: ['connect4', 'connect6', 'getsockopt', 'sockops'] });
  // Owned by the run: teardown stops it however the run ends, before the map's pin is removed.
  const sampler = lab.own(MapSampler.start(datapath.pinnedMap(SOCKHASH_MAP), { intervalMs: SOCKHASH_SAMPLE_MS, maxSamples: SOCKHASH_MAX_SAMPLES, read: readSockhash }));
  const sidecars = await startSidecars(lab, [...captured]);
  return {
    datapath,
    sidecars,
    sampler,
    trace,
    collect: () => collectSockmapEvidence({ datapath, sidecars, sampler, trace, captured }),
    async pathCounters(): Promise<PathCounters> {
      return { ...(await datapath.counters()) };
    },
    async stopProxy(pod) {
      await sidecars.get(pod.name)?.stop();
    },
    async quiet() {
      await sampler.stop();
      await trace.stop();
    },
    async uninstall() {
      await sampler.stop();
      await Promise.all([...sidecars.values()].map((s) => s.stop()));
      await datapath.detach();
      await trace.stop();
    },
  };
}

export const sockmapBackend: BackendDescriptor<SockmapEvidence> = {
  name: 'sockmap',
  description: 'Istio sidecar, eBPF (Merbridge): connect4 rewrite, getsockopt SO_ORIGINAL_DST, sockops + sk_msg redirect',
  display: { label: 'sockmap', color: '#009E73' },
  requires: {
    tools: ['bpftool', 'clang', 'haproxy'],
    features: ['bpf-syscall', 'bpffs', 'tracefs', 'cgroup2', 'cgroup2-socket-match', 'cgroup-connect4', 'cgroup-getsockopt', 'sockops', 'sk-msg', 'bpf-enable-stats'] satisfies KernelFeature[],
  },
  plan: SOCKMAP_PLAN,
  install: ({ lab, captured }) => installSockmap(lab, captured),
  judge: judgeSockmap,
  // connect4 rewrites each app connection to the client sidecar and each sidecar connection to the
  // server's 15006; the app's every byte goes from its socket to the sidecar's by sk_msg (that leg
  // is always in one pod), so the redirected bytes cover what the slice sent.
  judgeSlice: (delta, slice) =>
    countersAccountFor(delta, [
      { counter: 'rewriteOutbound', atLeast: slice.connections, why: 'each app connection sent to its sidecar by connect4' },
      { counter: 'rewriteInbound', atLeast: slice.connections, why: "each sidecar connection sent to the server's 15006 by connect4" },
      { counter: 'msgRedirected', atLeast: 1, why: 'the slice sent messages through sk_msg' },
      ...(slice.bytesSent === undefined ? [] : [{ counter: 'msgRedirectedBytes', atLeast: slice.bytesSent, why: "every byte the client sent redirected from the app's socket" }]),
    ]),
};
