// What the tc backend collects after the plan's traffic, as plain data (saved by `lab verify
// --save-evidence`, replayed by judge.test.ts), and the readers that collect it: per-CPU counters,
// the filters tc lists matched to the pinned programs by id (tc shows the kernel's name, truncated
// to 15 characters: "ztunnel_host_in") with each program's run count, the maps' contents, the
// tagged trace lines, the node proxies' logs and the captured pods' netfilter state.
import { pinnedMap, pinnedProgram, type LoadedObject } from '../../bpf/objects.ts';
import { readCounters, readMap } from '../../bpf/maps.ts';
import { pinnedProgramStats, type ProgramStats } from '../../bpf/programs.ts';
import { readNetfilterSummary, type NetfilterSummary } from '../../evidence/netfilter.ts';
import type { TraceLine } from '../../evidence/trace-pipe.ts';
import { listBpfFilters, type TcBpfFilter } from '../../host/tc.ts';
import type { NodeProxyLog } from '../../proxy/node-proxy.ts';
import type { Pod } from '../../topology/lab.ts';
import type { Attachment } from './attach.ts';
import { COUNTER_NAMES, MAP_NAMES, podEntry, proxyEntry, type Counters, type PodEntry, type ProxyEntry, type TcPodValue, type TcProxyValue } from './maps.ts';
import type { ProxySteering } from './steering.ts';

export interface FilterFinding {
  expected: Attachment;
  /** The pinned program's id and run count (run counts are on for the run: lab/bpf/stats.ts). */
  program: Pick<ProgramStats, 'id' | 'name' | 'runCount'>;
  /** The filter tc lists on that device and direction running that program id in direct-action mode, if any. */
  found?: TcBpfFilter;
  /**
   * Other BPF filters on the same hook that tc runs before the lab's (a lower pref), or every other
   * one when the lab's is missing: a neighbour returning TC_ACT_OK there ends the hook before the
   * lab's program runs (tc-filters-not-shadowed).
   */
  ahead: TcBpfFilter[];
}

export interface TcEvidence {
  steering: ProxySteering;
  /** Every counter of tc_counters, summed over CPUs, after the plan. */
  counters: Counters;
  filters: FilterFinding[];
  /** tc_pods: the captured pods the programs know. */
  pods: PodEntry[];
  /** tc_proxies: the node proxies the programs know (slots never written are left out). */
  proxies: ProxyEntry[];
  /** One log per node proxy. */
  nodeProxies: NodeProxyLog[];
  /** trace_pipe lines carrying the run's tag. */
  trace: TraceLine[];
  /** Netfilter state of each captured pod, by pod name. */
  netfilter: Record<string, NetfilterSummary>;
}

export async function readTcCounters(object: LoadedObject): Promise<Counters> {
  return readCounters(pinnedMap(object, MAP_NAMES.counters), COUNTER_NAMES);
}

/** For each expected attachment, the filter tc lists on that device and direction running that program. */
export async function findFilters(object: LoadedObject, expected: readonly Attachment[]): Promise<FilterFinding[]> {
  const programs = new Map<string, ProgramStats>();
  for (const name of new Set(expected.map((a) => a.program))) programs.set(name, await pinnedProgramStats(pinnedProgram(object, name)));
  return Promise.all(
    expected.map(async (a) => {
      const { id, name, runCount } = programs.get(a.program)!;
      const listed = await listBpfFilters(a.netns, a.device, a.direction);
      const found = listed.find((f) => f.programId === id && f.directAction);
      const ahead = listed.filter((f) => f.programId !== id && (found === undefined || f.pref < found.pref));
      return { expected: a, program: { id, name, runCount }, ...(found ? { found } : {}), ahead };
    }),
  );
}

export async function readPodEntries(object: LoadedObject): Promise<PodEntry[]> {
  return (await readMap<number, TcPodValue>(pinnedMap(object, MAP_NAMES.pods))).map((e) => podEntry(e.key, e.value));
}

export async function readProxyEntries(object: LoadedObject): Promise<ProxyEntry[]> {
  return (await readMap<number, TcProxyValue>(pinnedMap(object, MAP_NAMES.proxies))).filter((e) => e.value.host_ifindex !== 0).map((e) => proxyEntry(e.key, e.value));
}

export async function readNetfilter(pods: readonly Pod[]): Promise<Record<string, NetfilterSummary>> {
  return Object.fromEntries(await Promise.all(pods.map(async (p) => [p.name, await readNetfilterSummary(p.netns)] as const)));
}
