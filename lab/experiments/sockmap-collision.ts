// The cross-pod 4-tuple collision, tested head-on. The programs' maps are global, and every pod has
// its own 127.0.0.1 and its own port space: had apps been sent to their sidecar at 127.0.0.1:15001,
// two pods using the same local port at once would produce the same SOCKHASH key, and the second
// insert would fail (or, worse, sk_msg would hand one pod's bytes to the other). The backend sends
// apps to <pod IP>:15001 instead. This experiment narrows both client pods' ephemeral range to the
// same two ports, drives iperf3 from both at once, and looks for a moment when the SOCKHASH held
// both pods' app-to-sidecar sockets on the same local port.
//
// The senders are paced (COLLISION_BITRATE). sk_msg's ingress redirect never makes a sender wait
// for its reader (see sockmap-pressure.ts): an unpaced iperf3 outruns its sidecar, and the sidecar's
// queue grew by about 200 MB/s here, 655 MiB over the two flows in 2 s. On a host whose TCP memory
// budget (net.ipv4.tcp_mem, a share of its RAM) is smaller than that, a sidecar's write is refused
// with ENOMEM, HAProxy closes the flow, and iperf3 fails with "Broken pipe": the collision question
// would be answered by the host's RAM. Paced, each flow can queue at most its rate times its
// duration, whatever the sidecar does, and the question stays the one asked.
import { OUTBOUND_LISTENER } from '../proxy/sidecar.ts';
import { setNetnsSysctls } from '../host/sysctl.ts';
import { ISTIO_PORTS } from '../istio/ports.ts';
import { withLab } from '../topology/lab.ts';
import type { Check } from '../judge/check.ts';
import { describeCounters, type SockmapCounters } from '../backends/sockmap/counters.ts';
import { decodeSockKey, formatSockKey, type SockKey } from '../backends/sockmap/layout.ts';
import { explainMisses } from '../backends/sockmap/misses.ts';
import { installSockmap } from '../backends/sockmap/sockmap.ts';
import { parseSockmapEvents } from '../backends/sockmap/trace-events.ts';
import { runIperf3Detailed, type Iperf3Run } from './iperf3-run.ts';
import { createTcpMemcg } from './tcp-memcg.ts';

export const COLLISION_CLIENTS = ['client-1', 'client-2'] as const;
export const COLLISION_PORT_RANGE = '40000 40001';
const IPERF_PORTS = [5201, 5202];
/** Per flow: 2 s at 100 Mbit/s queue at most 25 MB even if a sidecar read nothing. */
export const COLLISION_BITRATE = '100M';

export interface CollisionResult {
  runId: string;
  flows: Array<{ pod: string; ip: string; target: string; throughput: Iperf3Run; sidecarLogged: number }>;
  /** Samples in which both pods' app sockets to their sidecars shared a local port. */
  sharedPortSamples: number;
  samples: number;
  example: string[];
  counters: SockmapCounters;
  checks: Check[];
  ok: boolean;
}

const appToSidecar = (key: SockKey) => key.remote.port === ISTIO_PORTS.outboundCapture && key.local.ip === key.remote.ip;

export interface CollisionOptions {
  seconds?: number;
  /** iperf3 -b per flow; `false` leaves the senders unpaced (to show what pacing prevents). */
  bitrate?: string | false;
  /**
   * A TCP memory budget for each sidecar (cgroup v1, see tcp-memcg.ts): the collision question must
   * get the same answer on a host with little memory for TCP.
   */
  sidecarTcpMemLimitBytes?: number;
}

export async function runCollisionExperiment(options: CollisionOptions = {}): Promise<CollisionResult> {
  const seconds = options.seconds ?? 3;
  const bitrate = options.bitrate ?? COLLISION_BITRATE;
  return withLab({ nodes: [{ name: 'node-a', pods: [...COLLISION_CLIENTS, 'server'] }] }, async (lab) => {
    const clients = COLLISION_CLIENTS.map((name) => lab.pod(name));
    const server = lab.pod('server');
    for (const client of clients) await setNetnsSysctls(client.netns, { 'net.ipv4.ip_local_port_range': COLLISION_PORT_RANGE });
    const installation = await installSockmap(lab, [...clients, server]);
    if (options.sidecarTcpMemLimitBytes !== undefined) {
      for (const [pod, sidecar] of installation.sidecars) createTcpMemcg(lab, `${pod}-sidecar`, options.sidecarTcpMemLimitBytes).add(sidecar.pid);
    }
    let throughputs: Iperf3Run[];
    try {
      throughputs = await Promise.all(
        clients.map((client, i) =>
          runIperf3Detailed(lab, { client, server, address: server.ip, port: IPERF_PORTS[i]!, seconds, length: '64K', ...(bitrate === false ? {} : { bitrate }) }),
        ),
      );
    } finally {
      await installation.sampler.stop();
    }
    const counters = await installation.datapath.counters();
    let sharedPortSamples = 0;
    let example: string[] = [];
    for (const snapshot of installation.sampler.snapshots()) {
      const keys = snapshot.entries.map((e) => decodeSockKey(e.key)).filter(appToSidecar);
      const [first, second] = clients.map((c) => keys.filter((k) => k.local.ip === c.ip));
      const shared = first!.find((a) => second!.some((b) => b.local.port === a.local.port));
      if (shared) {
        sharedPortSamples++;
        if (example.length === 0) example = keys.filter((k) => k.local.port === shared.local.port).map(formatSockKey);
      }
    }
    const flows = clients.map((client, i) => {
      const target = `${server.ip}:${IPERF_PORTS[i]}`;
      const log = installation.sidecars.get(client.name)?.connections() ?? [];
      return { pod: client.name, ip: client.ip, target, throughput: throughputs[i]!, sidecarLogged: log.filter((c) => c.listener === OUTBOUND_LISTENER && c.originalDst === target).length };
    });
    const misses = explainMisses(parseSockmapEvents(await installation.trace.stop()), counters.msgMiss);
    await installation.uninstall();
    const checks: Check[] = [
      {
        name: 'same-port-two-pods-at-once',
        ok: sharedPortSamples > 0,
        detail: `${sharedPortSamples} of ${installation.sampler.sampleCount} SOCKHASH samples held both pods' app sockets to their sidecars on the same local port, under distinct keys: ${example.join(', ') || 'never'}`,
      },
      { name: 'no-insert-collision', ok: counters.sockhashInsertFailed === 0 && counters.sockhashInserted > 0, detail: describeCounters(counters, ['sockhashInserted', 'sockhashInsertFailed']) },
      {
        name: 'both-flows-through-their-sidecars',
        ok: flows.every((f) => f.throughput.ok && f.throughput.bytesReceived > 0 && f.sidecarLogged > 0) && counters.msgRedirected > 0,
        detail:
          flows
            .map((f) => `${f.pod} -> ${f.target}: ${f.throughput.ok ? `${f.throughput.bytesReceived} B at ${(f.throughput.bitsPerSecond / 1e6).toFixed(0)} Mbit/s` : `iperf3 failed: ${f.throughput.error}`}, its sidecar logged ${f.sidecarLogged}`)
            .join('; ') +
          `; ${describeCounters(counters, ['msgRedirected', 'msgRedirectedBytes'])}`,
      },
      { name: 'sk-msg-misses-explained', ok: misses.unexplained.length === 0, detail: misses.detail },
    ];
    return { runId: lab.runId, flows, sharedPortSamples, samples: installation.sampler.sampleCount, example, counters, checks, ok: checks.every((c) => c.ok) };
  });
}
