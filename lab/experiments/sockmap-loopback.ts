// The classic sockmap seed example as an experiment: one pod, sockops + sk_msg only (no proxy, no
// connect rewrite), iperf3 from the pod to itself on 127.0.0.1. Throughput is measured without the
// programs, then with them, and the sockmap run is judged on kernel evidence: the four ESTABLISHED
// events (control and data connection, both ends), the SOCKHASH holding them, sk_msg redirecting.
// Run once with the server bound to 127.0.0.1 and once on iperf3's default dual-stack [::]
// listener, whose accepted sockets are IPv4-mapped IPv6 (the lab reports which family each end had).
import { counterDelta, MapSampler } from '../evidence/bpf.ts';
import { TraceReader } from '../evidence/trace-pipe.ts';
import { runIperf3 } from '../traffic/iperf3.ts';
import type { ThroughputResult } from '../traffic/types.ts';
import { withLab, type Lab, type Pod } from '../topology/lab.ts';
import type { Check } from '../judge/check.ts';
import { describeCounters, type SockmapCounters } from '../backends/sockmap/counters.ts';
import { installDatapath, readSockhash, SK_MSG_PROGRAM, SOCKHASH_MAP, type SockmapDatapath } from '../backends/sockmap/datapath.ts';
import { decodeSockKey, formatSockKey } from '../backends/sockmap/layout.ts';
import { explainMisses } from '../backends/sockmap/misses.ts';
import { eventsOf, parseSockmapEvents, type EventOf } from '../backends/sockmap/trace-events.ts';

export const LOOPBACK_POD = 'app';
export const LOOPBACK_PORT = 5201;
export type ListenerKind = 'ipv4' | 'dual-stack';

export interface LoopbackOptions {
  /** iperf3 seconds per run. */
  seconds?: number;
  /** Write size (-l). */
  length?: string;
  listeners?: readonly ListenerKind[];
  /** The iperf3 server's port (-p); LOOPBACK_PORT unless given (the seed's own example used 10000). */
  port?: number;
}

export interface EstablishedSummary {
  side: 'active' | 'passive';
  family: string;
  socket: string;
  action: string;
}

export interface LoopbackVariant {
  listener: ListenerKind;
  baseline: ThroughputResult;
  sockmap: ThroughputResult;
  /** sockmap Gbit/s over baseline Gbit/s. */
  speedup: number;
  /** What the programs counted during the sockmap run alone. */
  counters: SockmapCounters;
  established: EstablishedSummary[];
  /** Distinct SOCKHASH entries seen while iperf3 ran. */
  sockhashSeen: string[];
  skMsgRuns: number;
  checks: Check[];
  ok: boolean;
}

export interface LoopbackResult {
  runId: string;
  port: number;
  seconds: number;
  length: string;
  variants: LoopbackVariant[];
  ok: boolean;
}

const gbps = (t: ThroughputResult) => (t.bitsPerSecond / 1e9).toFixed(2);

function iperfOptions(pod: Pod, listener: ListenerKind, port: number, seconds: number, length: string) {
  return { client: pod, server: pod, address: '127.0.0.1', port, seconds, length, serverBind: listener === 'ipv4' ? ('address' as const) : ('dual-stack' as const) };
}

const touchesPort = (port: number) => (e: EventOf<'established'>) => e.key !== undefined && (e.key.local.port === port || e.key.remote.port === port);

async function measureWithPrograms(lab: Lab, pod: Pod, datapath: SockmapDatapath, trace: TraceReader, listener: ListenerKind, port: number, seconds: number, length: string) {
  const before = await datapath.counters();
  const runsBefore = (await datapath.programStats()).find((p) => p.name === SK_MSG_PROGRAM)?.runCount ?? 0;
  const linesBefore = trace.lines().length;
  const sampler = MapSampler.start(datapath.pinnedMap(SOCKHASH_MAP), { intervalMs: 400, maxSamples: Math.ceil((seconds * 1000) / 400) + 10, read: readSockhash });
  let throughput: ThroughputResult;
  try {
    throughput = await runIperf3(lab, iperfOptions(pod, listener, port, seconds, length));
  } finally {
    await sampler.stop();
  }
  // Trace lines arrive asynchronously; give the last ones a moment.
  await new Promise((r) => setTimeout(r, 300));
  const events = parseSockmapEvents(trace.lines().slice(linesBefore));
  const counters = counterDelta(await datapath.counters(), before);
  const runsAfter = (await datapath.programStats()).find((p) => p.name === SK_MSG_PROGRAM)?.runCount ?? 0;
  const sockhashSeen = [...sampler.distinctKeys().values()].map((k) => formatSockKey(decodeSockKey(k.key)));
  return { throughput, events, counters, skMsgRuns: runsAfter - runsBefore, sockhashSeen };
}

function judge(listener: ListenerKind, port: number, m: Awaited<ReturnType<typeof measureWithPrograms>>): Check[] {
  const established = eventsOf(m.events, 'established').filter(touchesPort(port));
  const active = established.filter((e) => e.side === 'active');
  const passive = established.filter((e) => e.side === 'passive');
  const inserted = established.filter((e) => e.action === 'inserted');
  const expectedPassiveFamily = listener === 'ipv4' ? 'ipv4' : 'ipv4-mapped-ipv6';
  const misses = explainMisses(m.events, m.counters.msgMiss);
  const c = m.counters;
  return [
    {
      name: 'four-established-events',
      ok: active.length === 2 && passive.length === 2 && inserted.length === 4 && passive.every((e) => e.family === expectedPassiveFamily),
      detail:
        `${established.length} ESTABLISHED events on :${port} (${active.length} active, ${passive.length} passive, ${inserted.length} inserted): ` +
        established.map((e) => `${e.side} ${e.family} ${e.key ? formatSockKey(e.key) : '?'} ${e.action}`).join('; '),
    },
    {
      name: 'sockhash-held-sockets',
      ok: m.sockhashSeen.length >= 2,
      detail: `SOCKHASH held ${m.sockhashSeen.length} distinct sockets while iperf3 ran: ${m.sockhashSeen.join(', ') || 'none'}`,
    },
    {
      name: 'sk-msg-redirected',
      ok: c.msgRedirected > 0 && m.skMsgRuns > 0 && c.msgRedirectedBytes >= m.throughput.bytesReceived,
      detail: `sk_msg ran ${m.skMsgRuns} times by bpf_stats, ${c.msgRedirected + c.msgMiss + c.msgNoKey} by its own counters, redirected ${c.msgRedirected} messages (${c.msgRedirectedBytes} B; iperf3 received ${m.throughput.bytesReceived} B)`,
    },
    { name: 'sk-msg-misses-explained', ok: misses.unexplained.length === 0, detail: misses.detail },
    {
      name: 'nothing-bypassed',
      ok: c.establishedUnsupported === 0 && c.sockhashInsertFailed === 0 && c.msgNoKey === 0,
      detail: describeCounters(c, ['establishedActive', 'establishedPassive', 'establishedUnsupported', 'sockhashInserted', 'sockhashInsertFailed', 'msgNoKey']),
    },
    {
      name: 'iperf3-completed',
      ok: m.throughput.bytesReceived > 0,
      detail: `${gbps(m.throughput)} Gbit/s, sent ${m.throughput.bytesSent} B, received ${m.throughput.bytesReceived} B`,
    },
  ];
}

/**
 * Runs the experiment in an existing lab, in `pod` (which nothing else may use meanwhile: sockops in
 * SOCKMAP_MODE_ALL inserts every socket of the lab's cgroups). The programs are detached at the end;
 * the lab's teardown unpins them.
 */
export async function measureLoopback(lab: Lab, pod: Pod, options: LoopbackOptions = {}): Promise<LoopbackResult> {
  const seconds = options.seconds ?? 5;
  const length = options.length ?? '64K';
  const listeners = options.listeners ?? ['ipv4', 'dual-stack'];
  const port = options.port ?? LOOPBACK_PORT;
  // Baselines first, while nothing is attached: the same pod, the same cgroup, no programs.
  const baselines = new Map<ListenerKind, ThroughputResult>();
  for (const listener of listeners) baselines.set(listener, await runIperf3(lab, iperfOptions(pod, listener, port, seconds, length)));
  const trace = TraceReader.start(lab, { name: 'sockmap-loopback' });
  const variants: LoopbackVariant[] = [];
  try {
    const datapath = await installDatapath(lab, { mode: 'all', pods: [pod], hooks: ['sockops'] });
    try {
      for (const listener of listeners) {
        const measured = await measureWithPrograms(lab, pod, datapath, trace, listener, port, seconds, length);
        const baseline = baselines.get(listener)!;
        const checks = judge(listener, port, measured);
        variants.push({
          listener,
          baseline,
          sockmap: measured.throughput,
          speedup: measured.throughput.bitsPerSecond / baseline.bitsPerSecond,
          counters: measured.counters,
          established: eventsOf(measured.events, 'established')
            .filter(touchesPort(port))
            .map((e) => ({ side: e.side, family: e.family, socket: e.key ? formatSockKey(e.key) : '?', action: e.action })),
          sockhashSeen: measured.sockhashSeen,
          skMsgRuns: measured.skMsgRuns,
          checks,
          ok: checks.every((c) => c.ok),
        });
      }
    } finally {
      await datapath.detach();
    }
  } finally {
    await trace.stop();
  }
  return { runId: lab.runId, port, seconds, length, variants, ok: variants.length > 0 && variants.every((v) => v.ok) };
}

/** Runs the loopback experiment in a one-pod lab of its own and tears it down. */
export async function runLoopbackExperiment(options: LoopbackOptions = {}): Promise<LoopbackResult> {
  return withLab({ nodes: [{ name: 'node-a', pods: [LOOPBACK_POD] }] }, (lab) => measureLoopback(lab, lab.pod(LOOPBACK_POD), options));
}

/** Every variant's checks, named by variant, plus the side-by-side figures (for a scenario step). */
export function loopbackChecks(result: LoopbackResult): Check[] {
  return [
    ...result.variants.flatMap((v) => v.checks.map((c) => ({ ...c, name: `${v.listener}: ${c.name}` }))),
    {
      name: 'throughput-side-by-side',
      ok: result.variants.every((v) => v.baseline.bytesReceived > 0 && v.sockmap.bytesReceived > 0),
      detail: formatLoopbackResult(result),
    },
  ];
}

/** The side-by-side table the scenario prints. */
export function formatLoopbackResult(result: LoopbackResult): string {
  const rows = result.variants.map(
    (v) =>
      `  ${v.listener.padEnd(10)} without ${gbps(v.baseline).padStart(6)} Gbit/s   with sockmap ${gbps(v.sockmap).padStart(6)} Gbit/s   x${v.speedup.toFixed(2)}   ` +
      `redirects ${v.counters.msgRedirected}, established ${v.established.map((e) => `${e.side}/${e.family}`).join(' ')}`,
  );
  return [`iperf3 -l ${result.length}, ${result.seconds} s, one pod, 127.0.0.1:${result.port} (run ${result.runId})`, ...rows].join('\n');
}
