// Checks of the outbound side that both iptables sidecar modes share: in REDIRECT and TPROXY mode
// alike, outbound traffic is nat-REDIRECTed to the client sidecar's 15001 and the proxy's own UID is
// let through by ISTIO_OUTPUT. Rules are found by their exact iptables-save text.
import { packetsOfRule, packetsTo, type IptablesSnapshot } from '../evidence/iptables.ts';
import { connectionsTo, describeConnections, type ProxyConnection } from '../evidence/proxy-log.ts';
import { ISTIO_PORTS } from '../istio/ports.ts';
import { OUTBOUND_LISTENER } from '../proxy/sidecar.ts';
import type { Check } from './check.ts';
import { VERIFY_PORTS, type VerifyEvidence } from './plan.ts';

/** ISTIO_OUTPUT's "the proxy's own UID goes out untouched" rule, as iptables-save prints it. */
export const PROXY_UID_RETURN = `-m owner --uid-owner ${ISTIO_PORTS.proxyUid} -j RETURN`;

/** The client sidecar logged the server app as original destination, and ISTIO_REDIRECT fired. */
export function outboundCaptured(evidence: VerifyEvidence, clientLog: readonly ProxyConnection[], clientNat: IptablesSnapshot): Check {
  const app = `${evidence.server.ip}:${VERIFY_PORTS.app}`;
  const outbound = connectionsTo(clientLog, OUTBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === app);
  const redirected = packetsTo(clientNat, 'ISTIO_REDIRECT', 'REDIRECT');
  return {
    name: 'outbound-captured',
    ok: outbound.length > 0 && redirected > 0,
    detail: `client sidecar :${ISTIO_PORTS.outboundCapture} ${describeConnections(outbound)}; ISTIO_REDIRECT REDIRECT matched ${redirected} packets`,
  };
}

/** A process running as the proxy's UID reached the server, and the client sidecar never saw it. */
export function proxyUidNotCaptured(evidence: VerifyEvidence, clientLog: readonly ProxyConnection[], clientNat: IptablesSnapshot): Check {
  const uidOutbound = connectionsTo(clientLog, OUTBOUND_LISTENER, VERIFY_PORTS.proxyUid).length;
  const uidReturns = packetsOfRule(clientNat, 'ISTIO_OUTPUT', PROXY_UID_RETURN);
  return {
    name: 'proxy-uid-not-captured',
    ok: evidence.plan.probes['proxy-uid']?.ok === true && uidOutbound === 0 && uidReturns > 0,
    detail: `UID ${ISTIO_PORTS.proxyUid} probe to :${VERIFY_PORTS.proxyUid}: client sidecar logged ${uidOutbound}; ISTIO_OUTPUT "${PROXY_UID_RETURN}" matched ${uidReturns} packets`,
  };
}
