// Checks of the outbound side that both iptables sidecar modes share: in REDIRECT and TPROXY mode
// alike, outbound traffic is nat-REDIRECTed to the client sidecar's 15001 and the proxy's own UID is
// let through by ISTIO_OUTPUT.
import type { Check } from '../backends/types.ts';
import { packetsMatching, packetsTo, type IptablesSnapshot } from '../evidence/iptables.ts';
import { connectionsTo, describeConnections, type ProxyConnection } from '../evidence/proxy-log.ts';
import { ISTIO_PORTS } from '../istio/ports.ts';
import { OUTBOUND_LISTENER } from '../proxy/sidecar.ts';
import { VERIFY_PORTS, type VerifyContext } from './context.ts';

/** The client sidecar logged the server app as original destination, and ISTIO_REDIRECT fired. */
export function outboundCaptured(context: VerifyContext, clientLog: readonly ProxyConnection[], clientRules: IptablesSnapshot): Check {
  const app = `${context.server.ip}:${VERIFY_PORTS.app}`;
  const outbound = connectionsTo(clientLog, OUTBOUND_LISTENER, VERIFY_PORTS.app).filter((c) => c.originalDst === app);
  const redirected = packetsTo(clientRules, 'ISTIO_REDIRECT', 'REDIRECT');
  return {
    name: 'outbound-captured',
    ok: outbound.length > 0 && redirected > 0,
    detail: `client sidecar :${ISTIO_PORTS.outboundCapture} ${describeConnections(outbound)}; ISTIO_REDIRECT REDIRECT matched ${redirected} packets`,
  };
}

/** A process running as the proxy's UID reached the server, and the client sidecar never saw it. */
export function proxyUidNotCaptured(context: VerifyContext, clientLog: readonly ProxyConnection[], clientRules: IptablesSnapshot): Check {
  const uidOutbound = connectionsTo(clientLog, OUTBOUND_LISTENER, VERIFY_PORTS.proxyUid).length;
  const uidReturns = packetsMatching(clientRules, 'ISTIO_OUTPUT', `--uid-owner ${ISTIO_PORTS.proxyUid} -j RETURN`);
  return {
    name: 'proxy-uid-not-captured',
    ok: context.probes.get('proxy-uid')?.ok === true && uidOutbound === 0 && uidReturns > 0,
    detail: `UID ${ISTIO_PORTS.proxyUid} probe to :${VERIFY_PORTS.proxyUid}: client sidecar logged ${uidOutbound}; ISTIO_OUTPUT uid-owner RETURN matched ${uidReturns} packets`,
  };
}
