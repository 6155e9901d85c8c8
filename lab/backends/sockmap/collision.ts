// The cross-pod 4-tuple collision, tested head-on. The programs' maps are global, and every pod has
// its own 127.0.0.1 and its own port space: had apps been sent to their sidecar at 127.0.0.1:15001,
// two pods using the same local port at once would produce the same SOCKHASH key, and the second
// insert would fail (or, worse, sk_msg would hand one pod's bytes to the other). The backend sends
// apps to <pod IP>:15001 instead. This experiment narrows both client pods' ephemeral range to the
// same two ports, drives iperf3 from both at once, and looks for a moment when the SOCKHASH held
// both pods' app-to-sidecar sockets on the same local port.
import { OUTBOUND_LISTENER } from '../../proxy/sidecar.ts';
import { setNetnsSysctls } from '../../host/sysctl.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import { runIperf3 } from '../../traffic/iperf3.ts';
import type { ThroughputResult } from '../../traffic/types.ts';
import { withLab } from '../../topology/lab.ts';
import type { Check } from '../types.ts';
import { describeCounters, type SockmapCounters } from './counters.ts';
import { decodeSockKey, formatSockKey, type SockKey } from './layout.ts';
import { explainMisses } from './misses.ts';
import { installSockmap } from './sockmap.ts';
import { parseSockmapEvents } from './trace-events.ts';

export const COLLISION_CLIENTS = ['client-1', 'client-2'] as const;
export const COLLISION_PORT_RANGE = '40000 40001';
const IPERF_PORTS = [5201, 5202];

export interface CollisionResult {
  runId: string;
  flows: Array<{ pod: string; ip: string; target: string; throughput: ThroughputResult; sidecarLogged: number }>;
  /** Samples in which both pods' app sockets to their sidecars shared a local port. */
  sharedPortSamples: number;
  samples: number;
  example: string[];
  counters: SockmapCounters;
  checks: Check[];
  ok: boolean;
}

const appToSidecar = (key: SockKey) => key.remote.port === ISTIO_PORTS.outboundCapture && key.local.ip === key.remote.ip;

export async function runCollisionExperiment(options: { seconds?: number } = {}): Promise<CollisionResult> {
  const seconds = options.seconds ?? 3;
  return withLab({ nodes: [{ name: 'node-a', pods: [...COLLISION_CLIENTS, 'server'] }] }, async (lab) => {
    const clients = COLLISION_CLIENTS.map((name) => lab.pod(name));
    const server = lab.pod('server');
    for (const client of clients) await setNetnsSysctls(client.netns, { 'net.ipv4.ip_local_port_range': COLLISION_PORT_RANGE });
    const installation = await installSockmap(lab, [...clients, server]);
    let throughputs: ThroughputResult[];
    try {
      throughputs = await Promise.all(
        clients.map((client, i) => runIperf3(lab, { client, server, address: server.ip, port: IPERF_PORTS[i]!, seconds, length: '64K' })),
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
        ok: flows.every((f) => f.throughput.bytesReceived > 0 && f.sidecarLogged > 0) && counters.msgRedirected > 0,
        detail:
          flows.map((f) => `${f.pod} -> ${f.target}: ${(f.throughput.bitsPerSecond / 1e9).toFixed(2)} Gbit/s, its sidecar logged ${f.sidecarLogged}`).join('; ') +
          `; ${describeCounters(counters, ['msgRedirected', 'msgRedirectedBytes'])}`,
      },
      { name: 'sk-msg-misses-explained', ok: misses.unexplained.length === 0, detail: misses.detail },
    ];
    return { runId: lab.runId, flows, sharedPortSamples, samples: installation.sampler.sampleCount, example, counters, checks, ok: checks.every((c) => c.ok) };
  });
}
