// Checks that both sidecar modes share, in both rule flavours: in REDIRECT and TPROXY mode alike,
// outbound traffic is nat-redirected to the client sidecar's 15001, the proxy's own UID and loopback
// traffic are let through by the output chain, and the excluded inbound ports RETURN from the inbound
// chain (nat in REDIRECT mode, mangle in TPROXY mode). Rules are found by table, chain and exact text as the
// flavour's reader reports them (lab/istio/rule-ids.ts): iptables-save for iptables, `nft -j list
// ruleset` for native nftables; both readers give the same RuleCounter shape.
import { packetsOfRule, packetsTo, type IptablesSnapshot } from '../evidence/iptables.ts';
import { connectionsTo, describeConnections, type ProxyConnection } from '../evidence/proxy-log.ts';
import { ISTIO_PORTS } from '../istio/ports.ts';
import type { SidecarRuleIds } from '../istio/rule-ids.ts';
import { INBOUND_LISTENER, OUTBOUND_LISTENER } from '../proxy/sidecar.ts';
import type { Check } from './check.ts';
import { PROXY_IDENTITY_PROBES, STANDARD_PROBES, VERIFY_PORTS, type VerifyEvidence } from './plan.ts';
import { excludedProbeNames, peersSeen, whyMissing, type ProxyOnPath } from './shared.ts';

/** The probes a sidecar judge requires: the standard ones, the proxy-GID one, and one to each excluded inbound port. */
export const SIDECAR_PROBES: readonly string[] = [...STANDARD_PROBES, 'proxy-gid', ...excludedProbeNames(ISTIO_PORTS.excludedInbound)];

/** A TCP listening socket in a pod, as `ss -ltnp --inet-sockopt` shows it. */
export interface ListeningSocket {
  port: number;
  /** The processes holding it. */
  pids: number[];
  /** IP_TRANSPARENT is set (a TPROXY listener needs it: the kernel drops what TPROXY assigns to any other socket). */
  transparent: boolean;
}

/** A sidecar's process and what listens in its pod, read after the plan. */
export interface SidecarSockets {
  /** The pid the backend started the sidecar as. */
  pid: number;
  listening: ListeningSocket[];
}

/** The two proxies every captured connection crosses: the client's outbound listener, the server's inbound one. */
export function sidecarsOnPath(clientLog: readonly ProxyConnection[], serverLog: readonly ProxyConnection[]): ProxyOnPath[] {
  return [
    { name: 'client sidecar', connections: clientLog.filter((c) => c.listener === OUTBOUND_LISTENER) },
    { name: 'server sidecar', connections: serverLog.filter((c) => c.listener === INBOUND_LISTENER) },
  ];
}

/**
 * One rule, found by its exact text, and what it matched: its packets, or that it is missing (a
 * deleted rule and a rule that never matched are different breaks, and the detail says which).
 */
export function ruleSeen(snapshot: IptablesSnapshot, chain: string, rule: string): { packets: number; text: string } {
  const present = snapshot.rules.some((r) => r.chain === chain && r.rule === rule);
  const packets = packetsOfRule(snapshot, chain, rule);
  return { packets, text: present ? `${chain} "${rule}" matched ${packets} packets` : `${chain} "${rule}" is missing` };
}

/** The rules of a chain with one target (e.g. ISTIO_REDIRECT's REDIRECT), and what they matched, or that there are none. */
export function targetSeen(snapshot: IptablesSnapshot, chain: string, target: string): { packets: number; text: string } {
  const present = snapshot.rules.some((r) => r.chain === chain && r.target === target);
  const packets = packetsTo(snapshot, chain, target);
  return { packets, text: present ? `${chain} ${target} matched ${packets} packets` : `${chain} has no ${target} rule` };
}

/** The rules of one table: chain names (the inbound chain, the output base chain) exist in several. */
export function rulesIn(snapshot: IptablesSnapshot, table: string): IptablesSnapshot {
  const rules = snapshot.rules.filter((r) => r.table === table);
  return { rules, ruleCount: rules.length };
}

/** The client sidecar logged the server app as original destination, and the outbound redirect fired. */
export function outboundCaptured(evidence: VerifyEvidence, clientLog: readonly ProxyConnection[], clientNat: IptablesSnapshot, ids: SidecarRuleIds): Check {
  const app = `${evidence.server.ip}:${VERIFY_PORTS.app}`;
  const outbound = connectionsTo(clientLog, OUTBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === app);
  const redirected = targetSeen(clientNat, ids.chains.redirect, ids.targets.redirect);
  return {
    name: 'outbound-captured',
    ok: outbound.length > 0 && redirected.packets > 0,
    detail: `client sidecar :${ISTIO_PORTS.outboundCapture} ${describeConnections(outbound)}; ${redirected.text}`,
  };
}

/**
 * A process running as the proxy's UID (and not its GID) reached the server, and the client sidecar
 * never saw it. The probe carries one ID only, so the GID rule cannot stand in for a missing UID rule.
 * The UID rule's counter also moves with the sidecars' own upstream connections; the probe's own
 * evidence is its port in the client sidecar's log.
 */
export function proxyUidNotCaptured(evidence: VerifyEvidence, clientLog: readonly ProxyConnection[], clientNat: IptablesSnapshot, ids: SidecarRuleIds): Check {
  return proxyIdentityNotCaptured(evidence, 'proxy-uid', clientLog, clientNat, ids.chains.output, ids.rules.proxyUidReturn);
}

/**
 * A process running as the proxy's GID (and not its UID) reached the server, and the client sidecar
 * never saw it: Istio's GID rule let it out. Only this probe moves that rule's counter (the sidecar's
 * own connections match the UID rule first).
 */
export function proxyGidNotCaptured(evidence: VerifyEvidence, clientLog: readonly ProxyConnection[], clientNat: IptablesSnapshot, ids: SidecarRuleIds): Check {
  return proxyIdentityNotCaptured(evidence, 'proxy-gid', clientLog, clientNat, ids.chains.output, ids.rules.proxyGidReturn);
}

function proxyIdentityNotCaptured(evidence: VerifyEvidence, probe: keyof typeof PROXY_IDENTITY_PROBES, clientLog: readonly ProxyConnection[], clientNat: IptablesSnapshot, chain: string, rule: string): Check {
  const { port, uid, gid } = PROXY_IDENTITY_PROBES[probe];
  const captured = connectionsTo(clientLog, OUTBOUND_LISTENER, port).length;
  const returns = ruleSeen(clientNat, chain, rule);
  const result = evidence.plan.probes[probe];
  return {
    name: `${probe}-not-captured`,
    ok: result?.ok === true && captured === 0 && returns.packets > 0,
    detail: `UID ${uid} GID ${gid} probe to :${port}: ${result ? (result.ok ? 'echoed' : `failed: ${result.error ?? 'no echo'}`) : whyMissing(evidence, `probe ${probe}`)}; client sidecar logged ${captured}; ${returns.text}`,
  };
}

/**
 * Each captured pod's sidecar is the process that holds its pod's :15001 and :15006, and in TPROXY
 * mode :15006 is transparent. A stopped sidecar leaves the ports to no one; one restarted by someone
 * else is another pid (whose log the lab does not read); one restarted without `transparent` makes
 * the kernel drop every connection TPROXY hands it.
 */
export function sidecarsListening(sockets: Readonly<Record<string, SidecarSockets>> | undefined, options: { transparentInbound: boolean }): Check {
  const ports = [ISTIO_PORTS.outboundCapture, ISTIO_PORTS.inboundCapture];
  const pods = Object.entries(sockets ?? {});
  const problems: string[] = [];
  for (const [pod, { pid, listening }] of pods) {
    for (const port of ports) {
      const socket = listening.find((l) => l.port === port);
      if (!socket) problems.push(`${pod}: nothing listens on :${port} (the sidecar, pid ${pid}, is not listening)`);
      else if (!socket.pids.includes(pid)) problems.push(`${pod}: :${port} is held by ${socket.pids.length ? `pid ${socket.pids.join(', ')}` : 'no process'}, not the sidecar (pid ${pid})`);
      if (socket && port === ISTIO_PORTS.inboundCapture && options.transparentInbound && !socket.transparent) problems.push(`${pod}: :${port} is not transparent (no IP_TRANSPARENT: TPROXY cannot hand it connections)`);
    }
  }
  const seen = pods.map(([pod, { pid }]) => `${pod}: :${ports.join(' and :')} held by the sidecar (pid ${pid})${options.transparentInbound ? `, :${ISTIO_PORTS.inboundCapture} transparent` : ''}`).join('; ');
  return {
    name: 'sidecars-listening',
    ok: pods.length > 0 && problems.length === 0,
    detail: pods.length === 0 ? 'no sidecar sockets were read' : problems.length ? problems.join('; ') : seen,
  };
}

/** The plan's connections from the client app to the server that both sidecars must carry. */
const CAPTURED_PROBES = ['app', 'outside-cgroup', ...excludedProbeNames(ISTIO_PORTS.excludedInbound)];

/**
 * No connection of the plan went around a sidecar, counted connection by connection rather than by
 * one event:
 * - every probe the client app sent to the server (each its own port), and the kernel-path probe,
 *   is in the client sidecar's outbound log under its own source address and port;
 * - every connection the server app accepted on a port the sidecar captures (all but the excluded
 *   inbound ports) came from the sidecar's 127.0.0.6, and the sidecar handed the app exactly as many
 *   connections on that port as the app accepted.
 */
export function noSilentBypass(evidence: VerifyEvidence, clientLog: readonly ProxyConnection[], serverLog: readonly ProxyConnection[]): Check {
  const problems: string[] = [];
  const outbound = clientLog.filter((c) => c.listener === OUTBOUND_LISTENER);
  const sent = [
    ...CAPTURED_PROBES.map((name) => ({ name, probe: evidence.plan.probes[name] })),
    { name: 'kernel-path', probe: evidence.plan.kernelPath?.probe },
  ];
  let matched = 0;
  for (const { name, probe } of sent) {
    if (!probe?.local) continue; // a probe that never connected: probes-echoed names it
    if (outbound.some((c) => c.client === probe.local && c.originalDst === probe.target)) matched++;
    else problems.push(`the ${name} probe's connection ${probe.local} -> ${probe.target} is not in the client sidecar's log`);
  }
  const accepts = evidence.plan.accepts[evidence.server.name];
  if (!accepts) problems.push(whyMissing(evidence, `read ${evidence.server.name}'s accepted connections`));
  const excluded = new Set<number>(ISTIO_PORTS.excludedInbound);
  const ports = [...new Set((accepts ?? []).map((a) => a.port))].filter((p) => !excluded.has(p)).sort((a, b) => a - b);
  const perPort = ports.map((port) => {
    const accepted = (accepts ?? []).filter((a) => a.port === port);
    const direct = accepted.filter((a) => a.peer !== ISTIO_PORTS.inboundPassthroughSource);
    const handed = serverLog.filter((c) => c.listener === INBOUND_LISTENER && c.upstreamDst === `${evidence.server.ip}:${port}`).length;
    if (direct.length) problems.push(`the server app accepted ${direct.length} connection(s) on :${port} from ${[...new Set(direct.map((a) => a.peer))].join(', ')}, not from its sidecar`);
    if (accepted.length !== handed) problems.push(`the server app accepted ${accepted.length} connection(s) on :${port}, its sidecar handed it ${handed}`);
    return `:${port} ${accepted.length}`;
  });
  const summary = `${matched} of the plan's ${sent.length} captured probe connections found in the client sidecar's log by source port; server app accepts, all through its sidecar: ${perPort.join(', ') || 'none'}`;
  return { name: 'no-silent-bypass', ok: problems.length === 0 && matched > 0, detail: problems.length ? `${problems.join('; ')} (${summary})` : summary };
}

/**
 * Each excluded inbound port reached the app directly: its RETURN in the inbound chain matched, the
 * server sidecar logged nothing for it, and the app saw a peer other than the sidecar's 127.0.0.6.
 * `inbound` holds the rules of the table whose inbound chain captures (nat, or mangle in TPROXY mode).
 */
export function excludedPortsNotCaptured(evidence: VerifyEvidence, serverLog: readonly ProxyConnection[], inbound: { role: string; rules: IptablesSnapshot }, ids: SidecarRuleIds): Check {
  const excluded = ISTIO_PORTS.excludedInbound.map((port) => ({
    port,
    inbound: connectionsTo(serverLog, INBOUND_LISTENER, port).length,
    returns: ruleSeen(inbound.rules, ids.chains.inbound, ids.rules.excludedInbound(port)),
    peers: peersSeen(evidence, port),
  }));
  return {
    name: 'excluded-ports-not-captured',
    ok: excluded.every((x) => x.inbound === 0 && x.returns.packets > 0 && x.peers.length > 0 && !x.peers.includes(ISTIO_PORTS.inboundPassthroughSource)),
    detail: excluded.map((x) => `:${x.port} ${inbound.role} ${x.returns.text}, server sidecar logged ${x.inbound}, app saw ${x.peers.join(', ') || 'nothing'}`).join('; '),
  };
}

/**
 * 127.0.0.1 is left alone: the client sidecar never saw the loopback probe, and the output chain's
 * loopback RETURNs (to 127.0.0.1, and over lo from any UID but the proxy's) matched. In TPROXY mode
 * the probe must also have RETURNed on arrival over lo (`mangleLoReturns`: the packets of the mangle inbound chain's lo RETURN).
 */
export function loopbackNotCaptured(evidence: VerifyEvidence, clientLog: readonly ProxyConnection[], clientNat: IptablesSnapshot, ids: SidecarRuleIds, mangleLoReturns?: { packets: number; text: string }): Check {
  const captured = clientLog.filter((c) => c.originalDst.endsWith(`:${VERIFY_PORTS.loopback}`)).length;
  const returns = [ids.rules.localhostReturn, ids.rules.loopbackNonProxyReturn].map((rule) => ruleSeen(clientNat, ids.chains.output, rule));
  const inbound = mangleLoReturns === undefined ? '' : `; mangle lo RETURN: ${mangleLoReturns.text}`;
  return {
    name: 'loopback-not-captured',
    ok: evidence.plan.probes['loopback']?.ok === true && captured === 0 && returns.reduce((a, b) => a + b.packets, 0) > 0 && (mangleLoReturns === undefined || mangleLoReturns.packets > 0),
    detail: `127.0.0.1:${VERIFY_PORTS.loopback}: client sidecar logged ${captured}; nat loopback RETURN rules: ${returns.map((r) => r.text).join(', ')}${inbound}`,
  };
}
