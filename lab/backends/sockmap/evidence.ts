// What a sockmap run leaves to judge, read into plain data after the plan's traffic: the programs'
// counters and run counts, the SOCKHASH keys seen while traffic flowed, the programs' trace lines,
// the sidecars' connection logs, and each pod's netfilter state (none is expected).
import type { ProgramStats } from '../../bpf/programs.ts';
import type { MapSampler } from '../../evidence/bpf.ts';
import { readNetfilterSummary, type NetfilterSummary } from '../../evidence/netfilter.ts';
import type { ProxyConnection } from '../../evidence/proxy-log.ts';
import type { TraceLine, TraceReader } from '../../evidence/trace-pipe.ts';
import type { RunningProxy } from '../../proxy/proxy.ts';
import type { Pod } from '../../topology/lab.ts';
import type { SockmapCounters } from './counters.ts';
import type { SockmapDatapath } from './datapath.ts';
import { decodeSockKey, type SockKey } from './layout.ts';

export interface SockhashSeen {
  key: SockKey;
  /** In how many samples the key was present. */
  samples: number;
}

export interface SockmapEvidence {
  counters: SockmapCounters;
  /** Run counts of every program the backend attached (bpf_stats), sk_msg's among them. */
  programs: ProgramStats[];
  /** The SOCKHASH, sampled while traffic flowed (its entries leave with their sockets). */
  sockhash: { samples: number; keys: SockhashSeen[] };
  /** The programs' tagged trace lines (bpf_printk), in order. */
  traceLines: TraceLine[];
  /** Each captured pod's sidecar connection log, by pod name. */
  sidecarLogs: Record<string, ProxyConnection[]>;
  /** Each captured pod's netfilter state, by pod name. */
  netfilter: Record<string, NetfilterSummary>;
}

/** The live sources a sockmap installation reads its evidence from. */
export interface SockmapSources {
  datapath: SockmapDatapath;
  sidecars: ReadonlyMap<string, RunningProxy>;
  sampler: MapSampler<Uint8Array, Uint8Array>;
  trace: TraceReader;
  captured: readonly Pod[];
}

/** Trace lines reach the reader asynchronously: give the last ones of the plan time to arrive. */
const TRACE_SETTLE_MS = 200;

/** Reads the run's evidence without stopping any source, so that it can be read again later. */
export async function collectSockmapEvidence(sources: SockmapSources): Promise<SockmapEvidence> {
  await new Promise((r) => setTimeout(r, TRACE_SETTLE_MS));
  const [counters, programs, netfilter] = await Promise.all([
    sources.datapath.counters(),
    sources.datapath.programStats(),
    Promise.all(sources.captured.map(async (pod) => [pod.name, await readNetfilterSummary(pod.netns)] as const)),
  ]);
  return {
    counters,
    programs,
    sockhash: { samples: sources.sampler.sampleCount, keys: [...sources.sampler.distinctKeys().values()].map((k) => ({ key: decodeSockKey(k.key), samples: k.samples })) },
    traceLines: sources.trace.lines(),
    sidecarLogs: Object.fromEntries([...sources.sidecars].map(([pod, sidecar]) => [pod, sidecar.connections()])),
    netfilter: Object.fromEntries(netfilter),
  };
}
