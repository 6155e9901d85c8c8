// Judging REDIRECT mode from its evidence: the sidecars' logs of original destinations, the nat
// counters, the peer address the app saw, and conntrack's record of the NAT. Pure functions.
import type { ConntrackEntry } from '../../evidence/conntrack.ts';
import { packetsOfRule, packetsTo, type IptablesSnapshot } from '../../evidence/iptables.ts';
import { connectionsTo, describeConnections, type ProxyConnection } from '../../evidence/proxy-log.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { Check } from '../../judge/check.ts';
import { STANDARD_PROBES, VERIFY_PORTS, type VerifyEvidence } from '../../judge/plan.ts';
import { bulkBytesIntact, excludedProbeNames, iperfThroughPath, peersSeen, probesEchoed, type ProxyOnPath } from '../../judge/shared.ts';
import { outboundCaptured, proxyUidNotCaptured } from '../../judge/sidecar.ts';
import { INBOUND_LISTENER, OUTBOUND_LISTENER } from '../../proxy/sidecar.ts';

export interface RedirectEvidence {
  /** Each sidecar's connection log. */
  clientLog: ProxyConnection[];
  serverLog: ProxyConnection[];
  /** Each pod's rules with their counters (iptables-save -c). */
  clientRules: IptablesSnapshot;
  serverRules: IptablesSnapshot;
  serverConntrack: ConntrackEntry[];
}

/** ISTIO_OUTPUT's two rules that let loopback traffic go, as iptables-save prints them. */
export const LOOPBACK_RETURNS = ['-d 127.0.0.1/32 -j RETURN', `-o lo -m owner ! --uid-owner ${ISTIO_PORTS.proxyUid} -j RETURN`] as const;

type Evidence = VerifyEvidence<RedirectEvidence>;

function inboundCaptured(e: Evidence): Check {
  const app = `${e.server.ip}:${VERIFY_PORTS.app}`;
  const inbound = connectionsTo(e.collected.serverLog, INBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === app);
  const inRedirected = packetsTo(e.collected.serverRules, 'ISTIO_IN_REDIRECT', 'REDIRECT');
  const appPeers = peersSeen(e, VERIFY_PORTS.app);
  return {
    name: 'inbound-captured',
    ok: inbound.length > 0 && inRedirected > 0 && appPeers.length > 0 && appPeers.every((p) => p === ISTIO_PORTS.inboundPassthroughSource),
    detail: `server sidecar :${ISTIO_PORTS.inboundCapture} ${describeConnections(inbound)}; ISTIO_IN_REDIRECT matched ${inRedirected} packets; app saw peers ${appPeers.join(', ') || 'none'}`,
  };
}

function inboundNatInConntrack(e: Evidence): Check {
  const natted = e.collected.serverConntrack.filter((c) => c.original.dport === VERIFY_PORTS.app && c.nat && c.reply.sport === ISTIO_PORTS.inboundCapture);
  return {
    name: 'inbound-nat-in-conntrack',
    ok: natted.length > 0,
    detail: natted.length ? `conntrack: ${natted[0]!.raw}` : `no NATed conntrack entry for :${VERIFY_PORTS.app} (entries: ${e.collected.serverConntrack.length})`,
  };
}

function excludedPortsNotCaptured(e: Evidence): Check {
  const excluded = ISTIO_PORTS.excludedInbound.map((port) => ({
    port,
    inbound: connectionsTo(e.collected.serverLog, INBOUND_LISTENER, port).length,
    peers: peersSeen(e, port),
  }));
  return {
    name: 'excluded-ports-not-captured',
    ok: excluded.every((x) => x.inbound === 0 && x.peers.length > 0 && !x.peers.includes(ISTIO_PORTS.inboundPassthroughSource)),
    detail: excluded.map((x) => `:${x.port} server sidecar logged ${x.inbound}, app saw ${x.peers.join(', ') || 'nothing'}`).join('; '),
  };
}

function loopbackNotCaptured(e: Evidence): Check {
  const captured = e.collected.clientLog.filter((c) => c.originalDst.endsWith(`:${VERIFY_PORTS.loopback}`)).length;
  const returns = LOOPBACK_RETURNS.map((rule) => packetsOfRule(e.collected.clientRules, 'ISTIO_OUTPUT', rule));
  return {
    name: 'loopback-not-captured',
    ok: e.plan.probes['loopback']?.ok === true && captured === 0 && returns.reduce((a, b) => a + b, 0) > 0,
    detail: `127.0.0.1:${VERIFY_PORTS.loopback}: client sidecar logged ${captured}; loopback RETURN rules matched ${returns.join(' + ')} packets`,
  };
}

export function judgeRedirect(e: Evidence): Check[] {
  const onPath: ProxyOnPath[] = [
    { name: 'client sidecar', connections: e.collected.clientLog.filter((c) => c.listener === OUTBOUND_LISTENER) },
    { name: 'server sidecar', connections: e.collected.serverLog.filter((c) => c.listener === INBOUND_LISTENER) },
  ];
  return [
    outboundCaptured(e, e.collected.clientLog, e.collected.clientRules),
    inboundCaptured(e),
    inboundNatInConntrack(e),
    excludedPortsNotCaptured(e),
    proxyUidNotCaptured(e, e.collected.clientLog, e.collected.clientRules),
    loopbackNotCaptured(e),
    probesEchoed(e, [...STANDARD_PROBES, ...excludedProbeNames(ISTIO_PORTS.excludedInbound)]),
    bulkBytesIntact(e, onPath),
    iperfThroughPath(e, onPath),
  ];
}
