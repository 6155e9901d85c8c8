// Istio sidecar interception the Merbridge way: no iptables rule; cgroup/connect4 sends apps to
// their sidecar and sidecars to the destination pod's 15006, getsockopt answers SO_ORIGINAL_DST,
// sockops + sk_msg short-circuit the sidecar legs between sockets of one node (bpf/sockmap/).
import { MapSampler } from '../../evidence/bpf.ts';
import { TraceReader } from '../../evidence/trace-pipe.ts';
import type { RunningProxy } from '../../proxy/proxy.ts';
import { startSidecars } from '../../proxy/sidecar.ts';
import type { Lab, Pod } from '../../topology/lab.ts';
import type { Backend, Installation } from '../types.ts';
import { runExtraProbes, sockmapChecks } from './checks.ts';
import { installDatapath, SOCKHASH_MAP, type SockmapDatapath } from './datapath.ts';

/** SOCKHASH entries live only as long as their sockets: sample them while traffic flows. */
const SOCKHASH_SAMPLE_MS = 300;
/** Bounds the sampler (about 30 minutes), whatever the run does. */
const SOCKHASH_MAX_SAMPLES = 6000;

/** An installed sockmap backend with its evidence sources, for experiments beyond `lab verify`. */
export interface SockmapInstallation extends Installation {
  datapath: SockmapDatapath;
  sidecars: Map<string, RunningProxy>;
  sampler: MapSampler;
  trace: TraceReader;
}

export async function installSockmap(lab: Lab, captured: readonly Pod[]): Promise<SockmapInstallation> {
  // The reader starts before the programs attach, so it sees their first line.
  const trace = TraceReader.start(lab, { name: 'sockmap' });
  const datapath = await installDatapath(lab, { mode: 'mesh', pods: captured, hooks: ['connect4', 'connect6', 'getsockopt', 'sockops'] });
  const sampler = MapSampler.start(datapath.pinnedMap(SOCKHASH_MAP), { intervalMs: SOCKHASH_SAMPLE_MS, maxSamples: SOCKHASH_MAX_SAMPLES });
  const sidecars = await startSidecars(lab, [...captured]);
  return {
    datapath,
    sidecars,
    sampler,
    trace,
    async verify(context) {
      // Extra probes first, while the trace reader still reads.
      const extraProbes = await runExtraProbes(context);
      await sampler.stop();
      // Trace lines arrive asynchronously: stopping the reader lets the last ones settle.
      const traceLines = await trace.stop();
      return sockmapChecks(context, { datapath, sidecars, traceLines, sockhashSeen: sampler.distinctKeys(), samples: sampler.sampleCount, captured, extraProbes });
    },
    async uninstall() {
      await sampler.stop();
      await Promise.all([...sidecars.values()].map((s) => s.stop()));
      await datapath.detach();
      await trace.stop();
    },
  };
}

export const sockmapBackend: Backend = {
  name: 'sockmap',
  summary: 'Istio sidecar, eBPF (Merbridge): connect4 rewrite, getsockopt SO_ORIGINAL_DST, sockops + sk_msg redirect',
  requiredTools: ['bpftool', 'clang', 'haproxy'],
  install: ({ lab, captured }) => installSockmap(lab, captured),
};
