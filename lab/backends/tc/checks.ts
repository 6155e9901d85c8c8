// Verdicts for the tc backend, each from kernel or proxy evidence, each with the figures it saw.
// Pure functions of the evidence gathered in verify.ts, so the reasoning can be read in one place.
import type { ProxyConnection } from '../../evidence/proxy-log.ts';
import { describeConnections } from '../../evidence/proxy-log.ts';
import type { TraceLine } from '../../evidence/trace-pipe.ts';
import type { AcceptRecord, ProbeResult } from '../../traffic/agent-protocol.ts';
import { describeProbe } from '../../verify/checks.ts';
import type { Check } from '../types.ts';
import type { Counters, FilterFinding } from './evidence.ts';
import type { ProxySteering } from './steering.ts';

export function filtersAttachedCheck(findings: readonly FilterFinding[]): Check {
  const missing = findings.filter((f) => !f.found);
  // Namespace names lose their "lab-<run>-" prefix: "ztunnel-1/eth0 ingress".
  const where = (f: FilterFinding) => `${f.expected.program} on ${f.expected.netns.replace(/^lab-[^-]+-/, '')}/${f.expected.device} ${f.expected.direction}`;
  return {
    name: 'tc-filters-attached',
    ok: findings.length > 0 && missing.length === 0,
    detail: missing.length
      ? `missing: ${missing.map(where).join('; ')}`
      : `${findings.length} direct-action filters listed by tc filter show: ${findings.map((f) => `${where(f)} (prog id ${f.found!.programId}, ran ${f.program.runCount} times)`).join('; ')}`,
  };
}

const show = (counters: Partial<Counters>, names: ReadonlyArray<keyof Counters>) => names.map((n) => `${n}=${counters[n] ?? 0}`).join(' ');

/** The programs redirected both ways and the proxy side took every captured connection. */
export function redirectCountersCheck(counters: Counters, steering: ProxySteering): Check {
  const steered = steering === 'sk-assign' ? counters.assign_listener : counters.mark_outbound + counters.mark_inbound;
  const problems: string[] = [];
  if (counters.outbound_redirect === 0) problems.push('app_outbound redirected nothing');
  if (counters.inbound_redirect === 0) problems.push('app_inbound redirected nothing');
  if (counters.proxy_return === 0) problems.push('ztunnel_host_ingress returned nothing to a pod');
  if (steered === 0) problems.push(`the proxy-side program (${steering}) steered no connection`);
  if (counters.assign_failed + counters.no_proxy + counters.no_listener > 0) problems.push('packets were dropped or found no proxy');
  const names: Array<keyof Counters> = ['outbound_redirect', 'inbound_redirect', 'proxy_return', 'inbound_skip_from_proxy', 'proxy_pass', 'node_bypass'];
  names.push(...(steering === 'sk-assign' ? (['assign_listener', 'assign_established'] as const) : (['mark_outbound', 'mark_inbound'] as const)));
  // no_socket: mid-connection packets whose socket lookup missed, dropped for TCP to retransmit (shown, not judged:
  // bytes-intact judges whether the stream survived).
  names.push('assign_failed', 'no_listener', 'no_proxy', 'no_socket');
  return { name: 'redirect-counters', ok: problems.length === 0, detail: [problems.join('; '), `per-CPU sums: ${show(counters, names)}`].filter(Boolean).join('; ') };
}

/** trace_pipe (the run's tag only) shows the connection's outbound and inbound redirects and its steering. */
export function traceCheck(lines: readonly TraceLine[], expected: { outbound: string; inbound: string; steering: ProxySteering }): Check {
  const has = (prefix: string) => lines.filter((l) => l.message.startsWith(prefix));
  const outbound = has(`tc outbound ${expected.outbound}`);
  const inbound = has(`tc inbound ${expected.inbound}`);
  const steeredWord = expected.steering === 'sk-assign' ? 'assign' : 'mark';
  const steeredOut = has(`tc ${steeredWord} ${expected.outbound}`);
  const steeredIn = has(`tc ${steeredWord} ${expected.inbound}`);
  const ok = outbound.length > 0 && inbound.length > 0 && steeredOut.length > 0 && steeredIn.length > 0;
  const sample = [outbound[0], steeredOut[0], inbound[0], steeredIn[0]].filter((l): l is TraceLine => l !== undefined).map((l) => `"${l.message}"`);
  return {
    name: 'trace-shows-redirects',
    ok,
    detail:
      `${lines.length} tagged lines; outbound ${expected.outbound}: ${outbound.length} (${steeredWord} ${steeredOut.length}), ` +
      `inbound ${expected.inbound}: ${inbound.length} (${steeredWord} ${steeredIn.length}); e.g. ${sample.join(', ') || 'none'}`,
  };
}

/** The node proxy logged the original destination of a captured connection, on the listener for its direction. */
export function originalDstCheck(name: string, log: readonly ProxyConnection[], expected: { listener: 'outbound' | 'inbound'; clientIp: string; originalDst: string }): Check {
  const matching = log.filter((c) => c.listener === expected.listener && c.originalDst === expected.originalDst && c.client.startsWith(`${expected.clientIp}:`));
  return {
    name,
    ok: matching.length > 0 && matching.every((c) => c.fromClient > 0 && c.fromClient === c.fromServer),
    detail: `${expected.listener} listener, ${expected.clientIp} -> ${expected.originalDst}: ${describeConnections(matching)}; ${matching.map((c) => `${c.fromClient}/${c.fromServer} B`).join(', ')}`,
  };
}

/** What a bypass probe should leave behind: an echo, the peer address unchanged, no redirect, no proxy log line. */
export interface BypassEvidence {
  probe: ProbeResult;
  /** Peers the destination app saw for this probe's port. */
  peersSeen: string[];
  expectedPeer: string;
  /** Counter movement during the probe. */
  delta: Counters;
  /** Proxy log lines (all proxies) that name this probe's source or destination. */
  proxyLines: ProxyConnection[];
}

function bypassProblems(e: BypassEvidence): string[] {
  const problems: string[] = [];
  if (!e.probe.ok) problems.push(describeProbe(e.probe));
  if (!e.peersSeen.includes(e.expectedPeer)) problems.push(`the app saw peers ${e.peersSeen.join(', ') || 'none'}, not ${e.expectedPeer}`);
  if (e.delta.outbound_redirect + e.delta.inbound_redirect > 0) problems.push(`redirects moved (outbound +${e.delta.outbound_redirect}, inbound +${e.delta.inbound_redirect})`);
  if (e.proxyLines.length > 0) problems.push(`a node proxy logged it: ${describeConnections(e.proxyLines)}`);
  return problems;
}

export function uncapturedDirectCheck(e: BypassEvidence): Check {
  const problems = bypassProblems(e);
  return {
    name: 'uncaptured-pods-direct',
    ok: problems.length === 0,
    detail: problems.length ? problems.join('; ') : `${describeProbe(e.probe)}; app saw peer ${e.expectedPeer} itself; redirect counters +0; no proxy log line`,
  };
}

export function nodeTrafficCheck(e: BypassEvidence): Check {
  const problems = bypassProblems(e);
  if (e.delta.node_bypass === 0) problems.push('node_bypass did not move');
  return {
    name: 'node-traffic-not-redirected',
    ok: problems.length === 0,
    detail: problems.length ? problems.join('; ') : `${describeProbe(e.probe)} from the node (${e.expectedPeer}); node_bypass +${e.delta.node_bypass}; redirect counters +0; no proxy log line`,
  };
}

/** The proxy's own connections are not captured again: no proxy accepted a connection from a proxy of its node. */
export function proxyNotRecapturedCheck(logs: ReadonlyArray<{ name: string; ip: string; log: ProxyConnection[] }>, counters: Counters): Check {
  const loops = logs.flatMap(({ name, ip, log }) => log.filter((c) => c.client.startsWith(`${ip}:`)).map((c) => `${name} accepted its own connection to ${c.originalDst}`));
  return {
    name: 'proxy-traffic-not-recaptured',
    ok: loops.length === 0 && counters.inbound_skip_from_proxy > 0,
    detail: loops.length
      ? loops.join('; ')
      : `app_inbound let ${counters.inbound_skip_from_proxy} proxy packets through; ${logs.map((l) => `${l.name}: ${l.log.length} connections, none from itself`).join('; ')}`,
  };
}

export const peersOn = (accepts: readonly AcceptRecord[], port: number) => [...new Set(accepts.filter((a) => a.port === port).map((a) => a.peer))];
