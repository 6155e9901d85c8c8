// Judging TPROXY mode from its evidence: the sidecars' logs of original destinations, the mangle
// (inbound) and nat (outbound) counters, conntrack's proof that inbound was not NATed, the policy
// routing in each pod (and nowhere else), and the pod sysctls TPROXY depends on. Pure functions. The
// same checks judge both rule flavours: the rules are named by sidecarRuleIds and tproxyRuleIds.
import type { ConntrackEntry } from '../../evidence/conntrack.ts';
import { packetsTo, type IptablesSnapshot } from '../../evidence/iptables.ts';
import { connectionsTo, describeConnections, type ProxyConnection } from '../../evidence/proxy-log.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { SidecarRuleIds, TproxyRuleIds } from '../../istio/rule-ids.ts';
import { DEFAULT_TPROXY_CAPTURE } from '../../istio/sidecar-config.ts';
import type { Check } from '../../judge/check.ts';
import { VERIFY_PORTS, type VerifyEvidence } from '../../judge/plan.ts';
import { bulkBytesIntact, iperfThroughPath, peersSeen, probesEchoed } from '../../judge/shared.ts';
import {
  excludedPortsNotCaptured,
  loopbackNotCaptured,
  noSilentBypass,
  outboundCaptured,
  proxyGidNotCaptured,
  proxyUidNotCaptured,
  ruleSeen,
  rulesIn,
  sidecarsListening,
  targetSeen,
  sidecarsOnPath,
  SIDECAR_PROBES,
  type SidecarSockets,
} from '../../judge/sidecar.ts';
import { INBOUND_LISTENER } from '../../proxy/sidecar.ts';
import { TPROXY_POD_SYSCTLS } from './sysctls.ts';

const { tproxyMark, routeTable } = DEFAULT_TPROXY_CAPTURE;
/** `ip rule` prints marks in hex. */
export const hexMark = (mark: number) => `0x${mark.toString(16)}`;

/** The rules the TPROXY checks read, in one flavour. */
export interface TproxyJudgeIds {
  sidecar: SidecarRuleIds;
  tproxy: TproxyRuleIds;
}

export interface IpRule {
  fwmark?: string;
  table?: string;
}
export interface IpRoute {
  type?: string;
  dst?: string;
  dev?: string;
}

export interface TproxyEvidence {
  clientLog: ProxyConnection[];
  serverLog: ProxyConnection[];
  /** Each pod's rules with their counters, all tables (iptables-save -c, or nft -j list ruleset for native nftables). */
  clientRules: IptablesSnapshot;
  serverRules: IptablesSnapshot;
  serverConntrack: ConntrackEntry[];
  clientConntrack: ConntrackEntry[];
  /** `ip rule` and table-133 routes of each captured pod, by pod name. */
  podRouting: Record<string, { rules: IpRule[]; routes: IpRoute[] }>;
  /** `ip rule` of every node namespace and of the root namespace (read only), by place. */
  otherRules: Record<string, IpRule[]>;
  /** The TPROXY sysctls read back in each captured pod, by pod name. */
  podSysctls: Record<string, Record<string, string>>;
  /** What listens in each captured pod after the plan, and its sidecar's pid, by pod name. */
  sidecarSockets: Record<string, SidecarSockets>;
}

type Evidence = VerifyEvidence<TproxyEvidence>;

export function judgeTproxy(e: Evidence, ids: TproxyJudgeIds): Check[] {
  const c = e.collected;
  const onPath = sidecarsOnPath(c.clientLog, c.serverLog);
  const { nat, mangle } = ids.sidecar.tables;
  const clientNat = rulesIn(c.clientRules, nat);
  const clientLoReturns = ruleSeen(rulesIn(c.clientRules, mangle), ids.sidecar.chains.inbound, ids.tproxy.rules.loopbackInbound);
  return [
    sidecarsListening(c.sidecarSockets, { transparentInbound: true }),
    // Outbound is unchanged from REDIRECT mode: nat redirect to the client sidecar's 15001.
    outboundCaptured(e, c.clientLog, clientNat, ids.sidecar),
    inboundCapturedWithOriginalDst(e),
    tproxyCountersMoved(e, ids.sidecar),
    inboundNotNatted(e, ids.sidecar),
    policyRoutingOnlyInPods(e),
    podSysctls(e),
    excludedPortsNotCaptured(e, c.serverLog, { role: 'mangle', rules: rulesIn(c.serverRules, mangle) }, ids.sidecar),
    passthroughNotCaptured(e, ids),
    proxyUidNotCaptured(e, c.clientLog, clientNat, ids.sidecar),
    proxyGidNotCaptured(e, c.clientLog, clientNat, ids.sidecar),
    loopbackNotCaptured(e, c.clientLog, clientNat, ids.sidecar, clientLoReturns),
    noSilentBypass(e, c.clientLog, c.serverLog),
    probesEchoed(e, SIDECAR_PROBES),
    bulkBytesIntact(e, onPath),
    iperfThroughPath(e, onPath),
  ];
}

/**
 * The server sidecar's transparent 15006 socket logged the app's address as its local address
 * (getsockname: nothing rewrote the packet), and it connected on to the app from 127.0.0.6.
 */
function inboundCapturedWithOriginalDst(e: Evidence): Check {
  const app = `${e.server.ip}:${VERIFY_PORTS.app}`;
  const inbound = connectionsTo(e.collected.serverLog, INBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === app);
  const handedOn = inbound.filter((c) => c.upstreamDst === app && c.upstreamSrc.startsWith(`${ISTIO_PORTS.inboundPassthroughSource}:`));
  const appPeers = peersSeen(e, VERIFY_PORTS.app);
  return {
    name: 'inbound-captured',
    ok: inbound.length > 0 && handedOn.length === inbound.length && appPeers.length > 0 && appPeers.every((p) => p === ISTIO_PORTS.inboundPassthroughSource),
    detail: `server sidecar :15006 ${describeConnections(inbound)}; ${handedOn.length} handed to ${app} from ${ISTIO_PORTS.inboundPassthroughSource}; app saw peers ${appPeers.join(', ') || 'none'}`,
  };
}

/** TPROXY took the first packet of each inbound connection; the divert chain marked the rest. */
function tproxyCountersMoved(e: Evidence, ids: SidecarRuleIds): Check {
  const mangle = rulesIn(e.collected.serverRules, ids.tables.mangle);
  const tproxied = targetSeen(mangle, ids.chains.tproxy, ids.targets.tproxy);
  const diverted = targetSeen(mangle, ids.chains.divert, ids.targets.divertMark);
  return {
    name: 'tproxy-counters',
    ok: tproxied.packets > 0 && diverted.packets > 0,
    detail: `server mangle: ${tproxied.text} (new connections), ${diverted.text} (established, mark ${hexMark(tproxyMark)})`,
  };
}

/**
 * The opposite of REDIRECT mode's inbound-nat-in-conntrack: the server's conntrack entry for the
 * client's connection to the app is its own mirror (reply from :8080, not :15006), and the nat
 * table's inbound redirect never fired. The client's outbound leg is NATed to 15001, as it should be.
 */
function inboundNotNatted(e: Evidence, ids: SidecarRuleIds): Check {
  const { client, server } = e;
  const leg = (x: ConntrackEntry) => x.original.src === client.ip && x.original.dst === server.ip && x.original.dport === VERIFY_PORTS.app;
  const inbound = e.collected.serverConntrack.filter(leg);
  const natted = inbound.filter((x) => x.nat);
  const natRedirects = packetsTo(rulesIn(e.collected.serverRules, ids.tables.nat), ids.chains.inRedirect, ids.targets.redirect);
  const outbound = e.collected.clientConntrack.filter((x) => leg(x) && x.nat && x.reply.sport === ISTIO_PORTS.outboundCapture);
  const sample = (natted[0] ?? inbound[0])?.raw;
  return {
    name: 'inbound-not-natted-in-conntrack',
    ok: inbound.length > 0 && natted.length === 0 && natRedirects === 0 && outbound.length > 0,
    detail:
      `server conntrack: ${inbound.length} entries for ${client.ip} -> ${server.ip}:${VERIFY_PORTS.app}, ${natted.length} NATed` +
      `${sample ? ` (${sample})` : ''}; nat ${ids.chains.inRedirect} matched ${natRedirects} packets; ` +
      `client conntrack: ${outbound.length} outbound entries NATed to :${ISTIO_PORTS.outboundCapture}${outbound[0] ? ` (${outbound[0].raw})` : ''}`,
  };
}

const isTproxyRule = (r: IpRule) => r.fwmark === hexMark(tproxyMark) && r.table === String(routeTable);

/**
 * `ip rule fwmark 1337 lookup 133` and `local default dev lo table 133` exist in every captured pod,
 * and no rule for that mark or table exists in the node namespaces or the root namespace.
 */
function policyRoutingOnlyInPods(e: Evidence): Check {
  const inPods = Object.entries(e.collected.podRouting).map(([pod, { rules, routes }]) => ({
    pod,
    rule: rules.some(isTproxyRule),
    local: routes.some((r) => r.type === 'local' && r.dst === 'default' && r.dev === 'lo'),
  }));
  const strays = Object.entries(e.collected.otherRules).map(([where, rules]) => ({ where, rules: rules.filter((r) => r.table === String(routeTable) || r.fwmark === hexMark(tproxyMark)).length }));
  return {
    name: 'policy-routing-only-in-pods',
    ok: inPods.length > 0 && inPods.every((p) => p.rule && p.local) && strays.length > 0 && strays.every((x) => x.rules === 0),
    detail:
      inPods.map((p) => `${p.pod}: fwmark ${hexMark(tproxyMark)} lookup ${routeTable} ${p.rule ? 'present' : 'MISSING'}, table ${routeTable} local default dev lo ${p.local ? 'present' : 'MISSING'}`).join('; ') +
      `; ${strays.map((x) => `${x.where}: ${x.rules} such rules`).join(', ')}`,
  };
}

/** rp_filter and src_valid_mark read back as 0 inside every captured pod (docs/architecture.md, traps). */
function podSysctls(e: Evidence): Check {
  const names = Object.keys(TPROXY_POD_SYSCTLS);
  const read = Object.entries(e.collected.podSysctls).map(([pod, values]) => ({ pod, wrong: names.filter((name) => values[name] !== String(TPROXY_POD_SYSCTLS[name])) }));
  return {
    name: 'tproxy-sysctls',
    ok: read.length > 0 && read.every((r) => r.wrong.length === 0),
    detail: read.map((r) => `${r.pod}: ${r.wrong.length ? `not as set: ${r.wrong.join(', ')}` : `${names.length} rp_filter/src_valid_mark values read back 0`}`).join('; ') || 'no pod was read',
  };
}

/**
 * The sidecar's own hand-off to the app (from 127.0.0.6 over lo, marked 1338 by the proxy-owner
 * rule) is let through on both hooks and never comes back to the sidecar: every inbound connection
 * it logged came from the client pod.
 */
function passthroughNotCaptured(e: Evidence, ids: TproxyJudgeIds): Check {
  const { tables, chains, rules } = ids.sidecar;
  const mangle = rulesIn(e.collected.serverRules, tables.mangle);
  const nat = rulesIn(e.collected.serverRules, tables.nat);
  const inboundReturns = ruleSeen(mangle, chains.inbound, ids.tproxy.rules.passthroughInbound);
  const outputReturns = ruleSeen(nat, chains.output, rules.passthroughReturn);
  const proxyMarked = ruleSeen(mangle, ids.tproxy.mangleOutputChain, ids.tproxy.rules.proxyLoopbackMark);
  const looped = e.collected.serverLog.filter((c) => c.listener === INBOUND_LISTENER && !c.client.startsWith(`${e.client.ip}:`));
  return {
    name: 'passthrough-not-captured',
    ok: inboundReturns.packets > 0 && outputReturns.packets > 0 && proxyMarked.packets > 0 && looped.length === 0,
    detail:
      `server: ${ISTIO_PORTS.inboundPassthroughSource} RETURN in mangle ${inboundReturns.text}, in nat ${outputReturns.text}; ` +
      `proxy-owner lo MARK ${hexMark(DEFAULT_TPROXY_CAPTURE.proxyLoopbackMark)}: mangle ${proxyMarked.text}; server sidecar logged ${looped.length} inbound connections not from ${e.client.ip}`,
  };
}
