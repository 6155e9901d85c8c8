// Istio's sidecar interception rules, generated as iptables-restore input and applied atomically,
// as istio-iptables does. The chains and their order follow istio-iptables' own golden files
// (tools/istio-iptables/pkg/capture/testdata in istio/istio); lab/istio/testdata/ pins our output.
import { ISTIO_PORTS } from './ports.ts';

export interface IstioCaptureConfig {
  proxyUid: number;
  proxyGid: number;
  outboundCapturePort: number;
  inboundCapturePort: number;
  /** Inbound destination ports that bypass the sidecar (15008 HBONE first, as Istio emits it). */
  excludedInboundPorts: readonly number[];
}

export const DEFAULT_CAPTURE: IstioCaptureConfig = {
  proxyUid: ISTIO_PORTS.proxyUid,
  proxyGid: ISTIO_PORTS.proxyGid,
  outboundCapturePort: ISTIO_PORTS.outboundCapture,
  inboundCapturePort: ISTIO_PORTS.inboundCapture,
  excludedInboundPorts: [ISTIO_PORTS.hbone, ...ISTIO_PORTS.excludedInbound],
};

/** The nat table's builtin chains and the chains Istio adds to it. */
export const NAT_CHAINS = ['ISTIO_INBOUND', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT', 'ISTIO_REDIRECT'] as const;

/**
 * ISTIO_OUTPUT: what leaves the pod's sockets. Order matters, first match wins:
 *  - inbound passthrough (the sidecar handing a connection to its app from 127.0.0.6) is left alone;
 *  - the proxy talking over lo to a non-loopback local address (its own pod IP) is sent back to the
 *    inbound listener, so pod-to-itself traffic still gets inbound policy;
 *  - other lo traffic, and all other traffic of the proxy's UID/GID, is left alone (no loop);
 *  - 127.0.0.1 is left alone; everything else goes to the outbound listener.
 */
function outputRules(c: IstioCaptureConfig): string[] {
  const rules = ['-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN'];
  for (const [match, id] of [['--uid-owner', c.proxyUid], ['--gid-owner', c.proxyGid]] as const) {
    rules.push(
      // HBONE (15008) over loopback is never sent back to the inbound listener (Istio 1.20+).
      `-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport ${ISTIO_PORTS.hbone} -m owner ${match} ${id} -j ISTIO_IN_REDIRECT`,
      `-A ISTIO_OUTPUT -o lo -m owner ! ${match} ${id} -j RETURN`,
      `-A ISTIO_OUTPUT -m owner ${match} ${id} -j RETURN`,
    );
  }
  rules.push('-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN', '-A ISTIO_OUTPUT -j ISTIO_REDIRECT');
  return rules;
}

/** The nat table for sidecar REDIRECT mode: inbound to 15006, outbound to 15001. */
export function redirectModeNatTable(c: IstioCaptureConfig = DEFAULT_CAPTURE): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...NAT_CHAINS.map((chain) => `:${chain} - [0:0]`),
    '-A PREROUTING -p tcp -j ISTIO_INBOUND',
    '-A OUTPUT -p tcp -j ISTIO_OUTPUT',
    ...c.excludedInboundPorts.map((port) => `-A ISTIO_INBOUND -p tcp --dport ${port} -j RETURN`),
    '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
    `-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${c.inboundCapturePort}`,
    ...outputRules(c),
    `-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports ${c.outboundCapturePort}`,
    'COMMIT',
    '',
  ].join('\n');
}
