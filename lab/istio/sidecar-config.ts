// What a sidecar's capture rules depend on: the subset of istio-iptables' (and istio-nftables')
// configuration the lab reproduces, named after the istio-iptables flag that sets each field. The
// defaults are what Istio's injector passes to istio-init (lab/istio/testdata/istio-<tag>/injector/),
// so the lab's default pod is an injected pod.
import { ISTIO_PORTS } from './ports.ts';
import { CURRENT_ISTIO_LINE, type IstioLine } from './version.ts';

export interface IstioCaptureConfig {
  /** Which Istio line's rules to generate, where they differ (see lab/istio/version.ts). */
  istioVersion: IstioLine;
  /** -u: the proxy's UID, whose traffic is never captured. */
  proxyUid: number;
  /** -g: the proxy's GID (istio-iptables defaults it to the UID). */
  proxyGid: number;
  /** -p: the outbound listener. */
  outboundCapturePort: number;
  /** -z: the inbound listener. */
  inboundCapturePort: number;
  /** -e: the HBONE tunnel port, whose inbound traffic ISTIO_INBOUND RETURNs first. */
  inboundTunnelPort: number;
  /** -b: '*' captures every inbound port (the injector's value), '' captures none. */
  inboundPortsInclude: '*' | '';
  /** -d: inbound ports left alone when inboundPortsInclude is '*', in the order given. */
  excludedInboundPorts: readonly number[];
  /** -i: '*' captures every outbound destination (the injector's value), '' none. */
  outboundIpRangesInclude: '*' | '';
  /** -x: outbound IPv4 CIDRs left alone. */
  excludedOutboundCidrs: readonly string[];
  /** -o: outbound destination ports left alone (istio-cni's sidecar plugin passes 15020). */
  excludedOutboundPorts: readonly number[];
}

/**
 * The injector's istio-init arguments, `-p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x "" -b '*'
 * -d 15090,15021,15020` (identical in 1.24.6 and 1.30.3), with istio-iptables' defaults for the rest.
 * Not configured, as in an injected IPv4 pod: DNS capture, IPv6, interface exclusions.
 */
export const DEFAULT_CAPTURE: IstioCaptureConfig = {
  istioVersion: CURRENT_ISTIO_LINE,
  proxyUid: ISTIO_PORTS.proxyUid,
  proxyGid: ISTIO_PORTS.proxyGid,
  outboundCapturePort: ISTIO_PORTS.outboundCapture,
  inboundCapturePort: ISTIO_PORTS.inboundCapture,
  inboundTunnelPort: ISTIO_PORTS.hbone,
  inboundPortsInclude: '*',
  excludedInboundPorts: ISTIO_PORTS.excludedInbound,
  outboundIpRangesInclude: '*',
  excludedOutboundCidrs: [],
  excludedOutboundPorts: [],
};

/**
 * Where TPROXY mode's inbound HBONE (15008) goes.
 *  - 'tproxied' (Istio): istio-iptables writes the 15008 RETURN into the nat ISTIO_INBOUND chain in
 *    every mode, but in TPROXY mode no PREROUTING rule jumps to that chain, so inbound 15008 is
 *    TPROXYed to 15006 like any other port.
 *  - 'bypassed' (a lab departure, off by default): the RETURN is also put in the mangle ISTIO_INBOUND
 *    chain, so inbound 15008 is never captured, as in REDIRECT mode.
 */
export type TproxyHboneInbound = 'tproxied' | 'bypassed';

/** TPROXY mode adds two packet marks and a routing table (istio-iptables' defaults, -t and -r). */
export interface TproxyCaptureConfig extends IstioCaptureConfig {
  /** Set on every inbound packet sent to the sidecar; policy routing delivers this mark locally. */
  tproxyMark: number;
  /** Set on the proxy's own loopback traffic to a non-127.0.0.1 address, so inbound capture sees it. */
  proxyLoopbackMark: number;
  /** The table `ip rule fwmark <tproxyMark>` looks up: one `local 0.0.0.0/0 dev lo` route. */
  routeTable: number;
  hboneInbound: TproxyHboneInbound;
}

export const DEFAULT_TPROXY_CAPTURE: TproxyCaptureConfig = {
  ...DEFAULT_CAPTURE,
  tproxyMark: 1337,
  proxyLoopbackMark: 1338,
  routeTable: 133,
  hboneInbound: 'tproxied',
};
