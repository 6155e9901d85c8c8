// Judging REDIRECT mode from its evidence: the sidecars' logs of original destinations, the nat
// counters, the peer address the app saw, and conntrack's record of the NAT. Pure functions. The same
// checks judge both rule flavours: the rules are named by sidecarRuleIds(flavour).
import type { ConntrackEntry } from '../../evidence/conntrack.ts';
import type { IptablesSnapshot } from '../../evidence/iptables.ts';
import { connectionsTo, describeConnections, type ProxyConnection } from '../../evidence/proxy-log.ts';
import { ISTIO_PORTS } from '../../istio/ports.ts';
import type { SidecarRuleIds } from '../../istio/rule-ids.ts';
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
  rulesIn,
  sidecarsListening,
  sidecarsOnPath,
  SIDECAR_PROBES,
  targetSeen,
  type SidecarSockets,
} from '../../judge/sidecar.ts';
import { INBOUND_LISTENER } from '../../proxy/sidecar.ts';

export interface RedirectEvidence {
  /** Each sidecar's connection log. */
  clientLog: ProxyConnection[];
  serverLog: ProxyConnection[];
  /** Each pod's rules with their counters (iptables-save -c, or nft -j list ruleset for native nftables). */
  clientRules: IptablesSnapshot;
  serverRules: IptablesSnapshot;
  serverConntrack: ConntrackEntry[];
  /** What listens in each captured pod after the plan, and its sidecar's pid, by pod name. */
  sidecarSockets: Record<string, SidecarSockets>;
}

type Evidence = VerifyEvidence<RedirectEvidence>;

function inboundCaptured(e: Evidence, ids: SidecarRuleIds): Check {
  const app = `${e.server.ip}:${VERIFY_PORTS.app}`;
  const inbound = connectionsTo(e.collected.serverLog, INBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === app);
  const inRedirected = targetSeen(rulesIn(e.collected.serverRules, ids.tables.nat), ids.chains.inRedirect, ids.targets.redirect);
  const appPeers = peersSeen(e, VERIFY_PORTS.app);
  return {
    name: 'inbound-captured',
    ok: inbound.length > 0 && inRedirected.packets > 0 && appPeers.length > 0 && appPeers.every((p) => p === ISTIO_PORTS.inboundPassthroughSource),
    detail: `server sidecar :${ISTIO_PORTS.inboundCapture} ${describeConnections(inbound)}; ${inRedirected.text}; app saw peers ${appPeers.join(', ') || 'none'}`,
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

export function judgeRedirect(e: Evidence, ids: SidecarRuleIds): Check[] {
  const c = e.collected;
  const clientNat = rulesIn(c.clientRules, ids.tables.nat);
  const onPath = sidecarsOnPath(c.clientLog, c.serverLog);
  return [
    sidecarsListening(c.sidecarSockets, { transparentInbound: false }),
    outboundCaptured(e, c.clientLog, clientNat, ids),
    inboundCaptured(e, ids),
    inboundNatInConntrack(e),
    excludedPortsNotCaptured(e, c.serverLog, { role: 'nat', rules: rulesIn(c.serverRules, ids.tables.nat) }, ids),
    proxyUidNotCaptured(e, c.clientLog, clientNat, ids),
    proxyGidNotCaptured(e, c.clientLog, clientNat, ids),
    loopbackNotCaptured(e, c.clientLog, clientNat, ids),
    noSilentBypass(e, c.clientLog, c.serverLog),
    probesEchoed(e, SIDECAR_PROBES),
    bulkBytesIntact(e, onPath),
    iperfThroughPath(e, onPath),
  ];
}
