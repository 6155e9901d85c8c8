// Checks several backends share, as pure functions of a run's evidence. Each returns {name, ok,
// detail}, and the detail says what was seen. A step of the plan that failed makes every check that
// needs its result fail with that step's error, rather than throw.
import type { ProxyConnection } from '../evidence/proxy-log.ts';
import type { NetfilterSummary } from '../evidence/netfilter.ts';
import type { ProbeResult } from '../traffic/agent-protocol.ts';
import type { Check } from './check.ts';
import { VERIFY_PORTS, type VerifyEvidence } from './plan.ts';

export function describeProbe(probe: ProbeResult | undefined): string {
  if (!probe) return 'probe did not run';
  return probe.ok ? `${probe.target} echoed in ${probe.millis} ms` : `${probe.target} failed: ${probe.error ?? 'no echo'}`;
}

/** Why a step's result is missing: its recorded failure, or that it never ran. */
export function whyMissing(evidence: VerifyEvidence, step: string): string {
  const failure = evidence.plan.failures.find((f) => f.step === step);
  return failure ? `the ${step} step failed: ${failure.error}` : `the ${step} step did not run`;
}

/**
 * Every step of the plan ran. A failed step is also failed in each check that needed its result;
 * this check names them all in one place, so that no failure can go unreported.
 */
export function planCompleted(evidence: VerifyEvidence): Check {
  const { failures } = evidence.plan;
  return {
    name: 'plan-completed',
    ok: failures.length === 0,
    detail: failures.length === 0 ? 'every step of the plan ran' : failures.map((f) => `${f.step}: ${f.error}`).join('; '),
  };
}

/** The names of the standard plan's probes to the excluded inbound ports. */
export function excludedProbeNames(ports: readonly number[]): string[] {
  return ports.map((p) => `excluded-${p}`);
}

/** The named probes all echoed their payload byte for byte. */
export function probesEchoed(evidence: VerifyEvidence, names: readonly string[]): Check {
  const failed = names.filter((n) => !evidence.plan.probes[n]?.ok);
  return {
    name: 'probes-echoed',
    ok: names.length > 0 && failed.length === 0,
    detail: failed.length === 0 ? `${names.length} probes echoed their payload intact` : failed.map((n) => `${n}: ${describeProbe(evidence.plan.probes[n])}`).join('; '),
  };
}

/** The peers a pod's app saw on a port (the server pod's unless another pod is named). */
export function peersSeen(evidence: VerifyEvidence, port: number, pod = evidence.server.name): string[] {
  return [...new Set((evidence.plan.accepts[pod] ?? []).filter((a) => a.port === port).map((a) => a.peer))];
}

export interface ProxyOnPath {
  name: string;
  connections: readonly ProxyConnection[];
}

/**
 * The bulk echo's bytes arrived whole: the client got back exactly what it sent (SHA-256), and each
 * proxy on the path logged that connection with exactly that many bytes in each direction.
 */
export function bulkBytesIntact(evidence: VerifyEvidence, proxies: readonly ProxyOnPath[] = []): Check {
  const { bulk } = evidence.plan;
  if (!bulk) return { name: 'bytes-intact', ok: false, detail: whyMissing(evidence, 'bulk') };
  const problems: string[] = [];
  if (!bulk.ok) problems.push(`bulk echo to ${bulk.target} failed: ${bulk.error ?? 'digest mismatch'} (${bulk.bytesEchoed} of ${bulk.bytesSent} B back)`);
  const target = `${evidence.server.ip}:${VERIFY_PORTS.bulk}`;
  const carried = proxies.map(({ name, connections }) => ({ name, conns: connections.filter((c) => c.originalDst === target) }));
  for (const { name, conns } of carried) {
    if (conns.length !== 1) problems.push(`${name} logged ${conns.length} connections to ${target}, expected 1`);
    else if (conns[0]!.fromClient !== bulk.bytesSent || conns[0]!.fromServer !== bulk.bytesSent) {
      // The proxy's termination state says which side ended the connection first, and how.
      problems.push(`${name} carried ${conns[0]!.fromClient} B out and ${conns[0]!.fromServer} B back, expected ${bulk.bytesSent} B each way (termination ${conns[0]!.termination || '?'})`);
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
export function iperfThroughPath(evidence: VerifyEvidence, proxies: readonly ProxyOnPath[] = []): Check {
  const t = evidence.plan.throughput;
  if (!t) return { name: 'iperf3-through-path', ok: false, detail: whyMissing(evidence, 'iperf3') };
  const problems: string[] = [];
  if (t.bytesReceived === 0) problems.push('the iperf3 server counted no bytes');
  const target = `${evidence.server.ip}:${VERIFY_PORTS.iperf}`;
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

/**
 * eBPF and baseline backends leave the pods' netfilter empty: no iptables rule, and no nftables table
 * of any family (which also catches native nft rules that iptables-save cannot show). The name is
 * the one users already know from `lab verify` output; it covers nftables too.
 */
export function noNetfilterInPods(netfilter: Readonly<Record<string, NetfilterSummary>>): Check {
  const pods = Object.entries(netfilter);
  const withState = pods.filter(([, n]) => n.iptablesRules > 0 || n.nftTables.length > 0);
  return {
    name: 'no-iptables-rules-in-pods',
    ok: pods.length > 0 && withState.length === 0,
    detail: pods.map(([pod, n]) => `${pod}: ${n.iptablesRules} iptables rules, ${n.nftTables.length ? `nft tables ${n.nftTables.join(', ')}` : 'no nft table'}`).join('; ') || 'no pod was read',
  };
}
