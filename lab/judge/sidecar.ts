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
import { STANDARD_PROBES, VERIFY_PORTS, type VerifyEvidence } from './plan.ts';
import { excludedProbeNames, peersSeen, type ProxyOnPath } from './shared.ts';

/** The probes a sidecar plan sends: the standard ones and one to each excluded inbound port. */
export const SIDECAR_PROBES: readonly string[] = [...STANDARD_PROBES, ...excludedProbeNames(ISTIO_PORTS.excludedInbound)];

/** The two proxies every captured connection crosses: the client's outbound listener, the server's inbound one. */
export function sidecarsOnPath(clientLog: readonly ProxyConnection[], serverLog: readonly ProxyConnection[]): ProxyOnPath[] {
  return [
    { name: 'client sidecar', connections: clientLog.filter((c) => c.listener === OUTBOUND_LISTENER) },
    { name: 'server sidecar', connections: serverLog.filter((c) => c.listener === INBOUND_LISTENER) },
  ];
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
  const redirected = packetsTo(clientNat, ids.chains.redirect, ids.targets.redirect);
  return {
    name: 'outbound-captured',
    ok: outbound.length > 0 && redirected > 0,
    detail: `client sidecar :${ISTIO_PORTS.outboundCapture} ${describeConnections(outbound)}; ${ids.chains.redirect} ${ids.targets.redirect} matched ${redirected} packets`,
  };
}

/** A process running as the proxy's UID reached the server, and the client sidecar never saw it. */
export function proxyUidNotCaptured(evidence: VerifyEvidence, clientLog: readonly ProxyConnection[], clientNat: IptablesSnapshot, ids: SidecarRuleIds): Check {
  const uidOutbound = connectionsTo(clientLog, OUTBOUND_LISTENER, VERIFY_PORTS.proxyUid).length;
  const uidReturns = packetsOfRule(clientNat, ids.chains.output, ids.rules.proxyUidReturn);
  return {
    name: 'proxy-uid-not-captured',
    ok: evidence.plan.probes['proxy-uid']?.ok === true && uidOutbound === 0 && uidReturns > 0,
    detail: `UID ${ISTIO_PORTS.proxyUid} probe to :${VERIFY_PORTS.proxyUid}: client sidecar logged ${uidOutbound}; ${ids.chains.output} "${ids.rules.proxyUidReturn}" matched ${uidReturns} packets`,
  };
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
    returns: packetsOfRule(inbound.rules, ids.chains.inbound, ids.rules.excludedInbound(port)),
    peers: peersSeen(evidence, port),
  }));
  return {
    name: 'excluded-ports-not-captured',
    ok: excluded.every((x) => x.inbound === 0 && x.returns > 0 && x.peers.length > 0 && !x.peers.includes(ISTIO_PORTS.inboundPassthroughSource)),
    detail: excluded.map((x) => `:${x.port} ${inbound.role} RETURN matched ${x.returns} packets, server sidecar logged ${x.inbound}, app saw ${x.peers.join(', ') || 'nothing'}`).join('; '),
  };
}

/**
 * 127.0.0.1 is left alone: the client sidecar never saw the loopback probe, and the output chain's
 * loopback RETURNs (to 127.0.0.1, and over lo from any UID but the proxy's) matched. In TPROXY mode
 * the probe must also have RETURNed on arrival over lo (`mangleLoReturns`: the packets of the mangle inbound chain's lo RETURN).
 */
export function loopbackNotCaptured(evidence: VerifyEvidence, clientLog: readonly ProxyConnection[], clientNat: IptablesSnapshot, ids: SidecarRuleIds, mangleLoReturns?: number): Check {
  const captured = clientLog.filter((c) => c.originalDst.endsWith(`:${VERIFY_PORTS.loopback}`)).length;
  const returns = [ids.rules.localhostReturn, ids.rules.loopbackNonProxyReturn].map((rule) => packetsOfRule(clientNat, ids.chains.output, rule));
  const inbound = mangleLoReturns === undefined ? '' : `, mangle lo RETURN ${mangleLoReturns}`;
  return {
    name: 'loopback-not-captured',
    ok: evidence.plan.probes['loopback']?.ok === true && captured === 0 && returns.reduce((a, b) => a + b, 0) > 0 && (mangleLoReturns === undefined || mangleLoReturns > 0),
    detail: `127.0.0.1:${VERIFY_PORTS.loopback}: client sidecar logged ${captured}; nat loopback RETURN rules matched ${returns.join(' + ')} packets${inbound}`,
  };
}
