// Judging TPROXY mode from its evidence: the sidecars' logs of original destinations, the mangle
// (inbound) and nat (outbound) counters, conntrack's proof that inbound was not NATed, the policy
// routing in each pod (and nowhere else), and the pod sysctls TPROXY depends on. Pure functions.
import type { ConntrackEntry } from '../../evidence/conntrack.ts';
import { packetsOfRule, packetsTo, type IptablesSnapshot } from '../../evidence/iptables.ts';
import { connectionsTo, describeConnections, type ProxyConnection } from '../../evidence/proxy-log.ts';
import { DEFAULT_TPROXY_CAPTURE } from '../../istio/iptables.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { Check } from '../../judge/check.ts';
import { STANDARD_PROBES, VERIFY_PORTS, type VerifyEvidence } from '../../judge/plan.ts';
import { bulkBytesIntact, excludedProbeNames, iperfThroughPath, peersSeen, probesEchoed, type ProxyOnPath } from '../../judge/shared.ts';
import { outboundCaptured, proxyUidNotCaptured } from '../../judge/sidecar.ts';
import { INBOUND_LISTENER, OUTBOUND_LISTENER } from '../../proxy/sidecar.ts';
import { TPROXY_POD_SYSCTLS } from './sysctls.ts';

const { tproxyMark, routeTable } = DEFAULT_TPROXY_CAPTURE;
/** iptables-save and `ip rule` print marks in hex. */
export const hexMark = (mark: number) => `0x${mark.toString(16)}`;

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
  /** Each pod's rules with their counters (iptables-save -c), all tables. */
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
}

type Evidence = VerifyEvidence<TproxyEvidence>;

/** The evidence of one pod's rules, split by table: chain names (ISTIO_INBOUND, OUTPUT) exist in both. */
function table(snapshot: IptablesSnapshot, name: string): IptablesSnapshot {
  const rules = snapshot.rules.filter((r) => r.table === name);
  return { rules, ruleCount: rules.length };
}

export function judgeTproxy(e: Evidence): Check[] {
  const c = e.collected;
  const onPath: ProxyOnPath[] = [
    { name: 'client sidecar', connections: c.clientLog.filter((x) => x.listener === OUTBOUND_LISTENER) },
    { name: 'server sidecar', connections: c.serverLog.filter((x) => x.listener === INBOUND_LISTENER) },
  ];
  const clientNat = table(c.clientRules, 'nat');
  return [
    // Outbound is unchanged from REDIRECT mode: nat REDIRECT to the client sidecar's 15001.
    outboundCaptured(e, c.clientLog, clientNat),
    inboundCapturedWithOriginalDst(e),
    tproxyCountersMoved(e),
    inboundNotNatted(e),
    policyRoutingOnlyInPods(e),
    podSysctls(e),
    excludedPortsNotCaptured(e),
    passthroughNotCaptured(e),
    proxyUidNotCaptured(e, c.clientLog, clientNat),
    loopbackNotCaptured(e),
    probesEchoed(e, [...STANDARD_PROBES, ...excludedProbeNames(ISTIO_PORTS.excludedInbound)]),
    bulkBytesIntact(e, onPath),
    iperfThroughPath(e, onPath),
  ];
}

/** The rules these checks read, as iptables-save prints them (exact text, never a substring). */
export const TPROXY_RULES = {
  excludedReturn: (port: number) => `-p tcp -m tcp --dport ${port} -j RETURN`,
  passthroughInbound: `-s ${ISTIO_PORTS.inboundPassthroughSource}/32 -i lo -p tcp -j RETURN`,
  passthroughOutput: `-s ${ISTIO_PORTS.inboundPassthroughSource}/32 -o lo -j RETURN`,
  proxyLoopbackMark: `! -d 127.0.0.1/32 -o lo -p tcp -m owner --uid-owner ${ISTIO_PORTS.proxyUid} -j MARK --set-xmark ${hexMark(DEFAULT_TPROXY_CAPTURE.proxyLoopbackMark)}/0xffffffff`,
  loopbackInbound: `-i lo -p tcp -m mark ! --mark ${hexMark(DEFAULT_TPROXY_CAPTURE.proxyLoopbackMark)} -j RETURN`,
  loopbackOutput: ['-d 127.0.0.1/32 -j RETURN', `-o lo -m owner ! --uid-owner ${ISTIO_PORTS.proxyUid} -j RETURN`],
} as const;

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

/** TPROXY took the first packet of each inbound connection; ISTIO_DIVERT marked the rest. */
function tproxyCountersMoved(e: Evidence): Check {
  const mangle = table(e.collected.serverRules, 'mangle');
  const tproxied = packetsTo(mangle, 'ISTIO_TPROXY', 'TPROXY');
  const diverted = packetsTo(mangle, 'ISTIO_DIVERT', 'MARK');
  return {
    name: 'tproxy-counters',
    ok: tproxied > 0 && diverted > 0,
    detail: `server mangle: ISTIO_TPROXY TPROXY matched ${tproxied} packets (new connections), ISTIO_DIVERT MARK ${hexMark(tproxyMark)} matched ${diverted} (established)`,
  };
}

/**
 * The opposite of REDIRECT mode's inbound-nat-in-conntrack: the server's conntrack entry for the
 * client's connection to the app is its own mirror (reply from :8080, not :15006), and the nat
 * table's inbound redirect never fired. The client's outbound leg is NATed to 15001, as it should be.
 */
function inboundNotNatted(e: Evidence): Check {
  const { client, server } = e;
  const leg = (x: ConntrackEntry) => x.original.src === client.ip && x.original.dst === server.ip && x.original.dport === VERIFY_PORTS.app;
  const inbound = e.collected.serverConntrack.filter(leg);
  const natted = inbound.filter((x) => x.nat);
  const natRedirects = packetsTo(table(e.collected.serverRules, 'nat'), 'ISTIO_IN_REDIRECT', 'REDIRECT');
  const outbound = e.collected.clientConntrack.filter((x) => leg(x) && x.nat && x.reply.sport === ISTIO_PORTS.outboundCapture);
  const sample = (natted[0] ?? inbound[0])?.raw;
  return {
    name: 'inbound-not-natted-in-conntrack',
    ok: inbound.length > 0 && natted.length === 0 && natRedirects === 0 && outbound.length > 0,
    detail:
      `server conntrack: ${inbound.length} entries for ${client.ip} -> ${server.ip}:${VERIFY_PORTS.app}, ${natted.length} NATed` +
      `${sample ? ` (${sample})` : ''}; nat ISTIO_IN_REDIRECT matched ${natRedirects} packets; ` +
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

function excludedPortsNotCaptured(e: Evidence): Check {
  const mangle = table(e.collected.serverRules, 'mangle');
  const excluded = ISTIO_PORTS.excludedInbound.map((port) => ({
    port,
    inbound: connectionsTo(e.collected.serverLog, INBOUND_LISTENER, port).length,
    returns: packetsOfRule(mangle, 'ISTIO_INBOUND', TPROXY_RULES.excludedReturn(port)),
    peers: peersSeen(e, port),
  }));
  return {
    name: 'excluded-ports-not-captured',
    ok: excluded.every((x) => x.inbound === 0 && x.returns > 0 && x.peers.length > 0 && !x.peers.includes(ISTIO_PORTS.inboundPassthroughSource)),
    detail: excluded.map((x) => `:${x.port} mangle RETURN matched ${x.returns} packets, server sidecar logged ${x.inbound}, app saw ${x.peers.join(', ') || 'nothing'}`).join('; '),
  };
}

/**
 * The sidecar's own hand-off to the app (from 127.0.0.6 over lo, marked 1338 by the proxy-owner
 * rule) is let through on both hooks and never comes back to the sidecar: every inbound connection
 * it logged came from the client pod.
 */
function passthroughNotCaptured(e: Evidence): Check {
  const mangle = table(e.collected.serverRules, 'mangle');
  const nat = table(e.collected.serverRules, 'nat');
  const inboundReturns = packetsOfRule(mangle, 'ISTIO_INBOUND', TPROXY_RULES.passthroughInbound);
  const outputReturns = packetsOfRule(nat, 'ISTIO_OUTPUT', TPROXY_RULES.passthroughOutput);
  const proxyMarked = packetsOfRule(mangle, 'OUTPUT', TPROXY_RULES.proxyLoopbackMark);
  const looped = e.collected.serverLog.filter((c) => c.listener === INBOUND_LISTENER && !c.client.startsWith(`${e.client.ip}:`));
  return {
    name: 'passthrough-not-captured',
    ok: inboundReturns > 0 && outputReturns > 0 && proxyMarked > 0 && looped.length === 0,
    detail:
      `server: mangle ISTIO_INBOUND ${ISTIO_PORTS.inboundPassthroughSource} RETURN matched ${inboundReturns} packets, nat ISTIO_OUTPUT ${ISTIO_PORTS.inboundPassthroughSource} RETURN ${outputReturns}, ` +
      `proxy-owner lo MARK ${hexMark(DEFAULT_TPROXY_CAPTURE.proxyLoopbackMark)} ${proxyMarked}; server sidecar logged ${looped.length} inbound connections not from ${e.client.ip}`,
  };
}

/** 127.0.0.1 is left alone leaving the socket (nat) and arriving on lo (mangle, TPROXY's 127.0.0.1 exclusion). */
function loopbackNotCaptured(e: Evidence): Check {
  const captured = e.collected.clientLog.filter((c) => c.originalDst.endsWith(`:${VERIFY_PORTS.loopback}`)).length;
  const nat = table(e.collected.clientRules, 'nat');
  const outputReturns = TPROXY_RULES.loopbackOutput.reduce((sum, rule) => sum + packetsOfRule(nat, 'ISTIO_OUTPUT', rule), 0);
  const inboundReturns = packetsOfRule(table(e.collected.clientRules, 'mangle'), 'ISTIO_INBOUND', TPROXY_RULES.loopbackInbound);
  return {
    name: 'loopback-not-captured',
    ok: e.plan.probes['loopback']?.ok === true && captured === 0 && outputReturns > 0 && inboundReturns > 0,
    detail: `127.0.0.1:${VERIFY_PORTS.loopback}: client sidecar logged ${captured}; nat loopback RETURN rules matched ${outputReturns} packets, mangle lo RETURN ${inboundReturns}`,
  };
}
