// Checks several backends share. Each returns {name, ok, detail}, and the detail says what was seen.
import type { Check } from '../backends/types.ts';
import { readIptables } from '../evidence/iptables.ts';
import type { ProxyConnection } from '../evidence/proxy-log.ts';
import type { ProbeResult } from '../traffic/agent-protocol.ts';
import type { Pod } from '../topology/lab.ts';
import { VERIFY_PORTS, type ProbeName, type VerifyContext } from './context.ts';

export function describeProbe(probe: ProbeResult | undefined): string {
  if (!probe) return 'probe did not run';
  return probe.ok ? `${probe.target} echoed in ${probe.millis} ms` : `${probe.target} failed: ${probe.error ?? 'no echo'}`;
}

/** The named probes all echoed their payload byte for byte. */
export function probesEchoed(context: VerifyContext, names: readonly ProbeName[]): Check {
  const failed = names.filter((n) => !context.probes.get(n)?.ok);
  return {
    name: 'probes-echoed',
    ok: failed.length === 0,
    detail: failed.length === 0 ? `${names.length} probes echoed their payload intact` : failed.map((n) => `${n}: ${describeProbe(context.probes.get(n))}`).join('; '),
  };
}

export interface ProxyOnPath {
  name: string;
  connections: ProxyConnection[];
}

/**
 * The bulk echo's bytes arrived whole: the client got back exactly what it sent (SHA-256), and each
 * proxy on the path logged that connection with exactly that many bytes in each direction.
 */
export function bulkBytesIntact(context: VerifyContext, proxies: readonly ProxyOnPath[] = []): Check {
  const { bulk } = context;
  const problems: string[] = [];
  if (!bulk.ok) problems.push(`bulk echo to ${bulk.target} failed: ${bulk.error ?? 'digest mismatch'} (${bulk.bytesEchoed} of ${bulk.bytesSent} B back)`);
  const target = `${context.server.ip}:${VERIFY_PORTS.bulk}`;
  const carried = proxies.map(({ name, connections }) => ({ name, conns: connections.filter((c) => c.originalDst === target) }));
  for (const { name, conns } of carried) {
    if (conns.length !== 1) problems.push(`${name} logged ${conns.length} connections to ${target}, expected 1`);
    else if (conns[0]!.fromClient !== bulk.bytesSent || conns[0]!.fromServer !== bulk.bytesSent) {
      problems.push(`${name} carried ${conns[0]!.fromClient} B out and ${conns[0]!.fromServer} B back, expected ${bulk.bytesSent} B each way`);
    }
  }
  const through = carried.length ? `, and ${carried.map((c) => c.name).join(' and ')} each carried exactly ${bulk.bytesSent} B each way` : '';
  return {
    name: 'bytes-intact',
    ok: problems.length === 0,
    detail: problems.length ? problems.join('; ') : `${bulk.bytesSent} B echoed back with equal SHA-256 (${bulk.sha256Sent.slice(0, 12)}...) in ${bulk.millis} ms${through}`,
  };
}

/**
 * iperf3 ran over the backend's path. iperf3's server stops counting when the client ends the test,
 * so bytes still in flight (in a proxy's buffers, in socket queues) are not in its total and are
 * dropped at close: its count is a throughput figure, not an integrity proof (bytes-intact is).
 * What must hold: the server counted bytes, and each proxy on the path carried at least what the
 * server counted (every byte it read passed through them).
 */
export function iperfThroughPath(context: VerifyContext, proxies: readonly ProxyOnPath[] = []): Check {
  const t = context.throughput;
  const problems: string[] = [];
  if (t.bytesReceived === 0) problems.push('the iperf3 server counted no bytes');
  const target = `${context.server.ip}:${VERIFY_PORTS.iperf}`;
  const carried = proxies.map(({ name, connections }) => {
    const conns = connections.filter((c) => c.originalDst === target);
    return { name, count: conns.length, bytes: conns.reduce((sum, c) => sum + c.fromClient, 0) };
  });
  for (const c of carried) {
    if (c.count === 0) problems.push(`${c.name} logged no iperf3 connection`);
    else if (c.bytes < t.bytesReceived) problems.push(`${c.name} carried ${c.bytes} B, less than the ${t.bytesReceived} B the server counted`);
  }
  const rate = `${(t.bitsPerSecond / 1e9).toFixed(2)} Gbit/s; ${t.bytesSent} B sent, ${t.bytesReceived} B counted by the server`;
  const through = carried.map((c) => `${c.name} carried ${c.bytes} B in ${c.count} connections`).join(', ');
  return { name: 'iperf3-through-path', ok: problems.length === 0, detail: [problems.join('; '), rate, through].filter(Boolean).join('; ') };
}

/** eBPF and baseline backends leave the pods' netfilter empty. */
export async function podsHaveNoIptablesRules(pods: readonly Pod[]): Promise<Check> {
  const counts = await Promise.all(pods.map(async (p) => ({ pod: p.name, rules: (await readIptables(p.netns)).ruleCount })));
  const withRules = counts.filter((c) => c.rules > 0);
  return {
    name: 'no-iptables-rules-in-pods',
    ok: withRules.length === 0,
    detail: counts.map((c) => `${c.pod}: ${c.rules} rules`).join(', '),
  };
}

/** The peers the server app saw on a port. */
export function peersSeen(context: VerifyContext, port: number): string[] {
  return [...new Set(context.serverAccepts.filter((a) => a.port === port).map((a) => a.peer))];
}
